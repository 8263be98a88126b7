package policy

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// naiveTieredVerdict is the reference with the cluster-scoped tiers,
// written from the API's wording and sharing no code with the engine. It
// tries every order the API allows (policies of one tier at the same
// priority, and the two API generations against each other, in any
// order) and both answers for every rule the model cannot decide (a
// domain name, a pod without an address); a verdict is certain only when
// every possibility agrees.
func naiveTieredVerdict(m *model.Model, f Flow) Verdict {
	if len(m.ClusterPolicies) == 0 {
		return naiveVerdict(m, f)
	}
	if f.From.Pod != nil && f.From.Pod == f.To.Pod && !f.Replicas {
		return Allowed
	}
	if (f.From.Pod != nil && f.From.Pod.HostNetwork) || (f.To.Pod != nil && f.To.Pod.HostNetwork) || len(m.OtherLayers) > 0 {
		return Unspecified
	}
	egress := map[Verdict]bool{Allowed: true}
	if f.From.Pod != nil {
		egress = naiveTieredSide(m, f, f.From.Pod, f.To, false)
	}
	ingress := map[Verdict]bool{Allowed: true}
	if f.To.Pod != nil {
		ingress = naiveTieredSide(m, f, f.To.Pod, f.From, true)
	}
	canDeny := egress[Denied] || ingress[Denied]
	canAllow := egress[Allowed] && ingress[Allowed]
	switch {
	case canDeny && !canAllow:
		return Denied
	case canAllow && !canDeny:
		return Allowed
	}
	return Unspecified
}

// naiveTieredSide returns every verdict the side can have.
func naiveTieredSide(m *model.Model, f Flow, subject *model.Pod, peer Endpoint, ingress bool) map[Verdict]bool {
	dir := networkingv1.PolicyTypeEgress
	if ingress {
		dir = networkingv1.PolicyTypeIngress
	}
	npAllows := naiveDirection(m, f, subject, peer, dir)
	npIsolates := naiveIsolated(m, subject, dir)
	out := map[Verdict]bool{}
	for _, admin := range naiveTier(m, f, subject, peer, ingress, model.TierAdmin) {
		switch admin {
		case model.ActionAllow:
			out[Allowed] = true
		case model.ActionDeny:
			out[Denied] = true
		default: // Pass, or nothing matched
			if npIsolates {
				out[map[bool]Verdict{true: Allowed, false: Denied}[npAllows]] = true
				continue
			}
			for _, baseline := range naiveTier(m, f, subject, peer, ingress, model.TierBaseline) {
				if baseline == model.ActionDeny {
					out[Denied] = true
				} else {
					out[Allowed] = true
				}
			}
		}
	}
	return out
}

func naiveIsolated(m *model.Model, subject *model.Pod, dir networkingv1.PolicyType) bool {
	for _, np := range m.Policies {
		if np.Namespace != subject.Namespace || !naiveSelects(&np.Spec.PodSelector, subject.Labels) {
			continue
		}
		in, eg := PolicyTypes(np)
		if (dir == networkingv1.PolicyTypeIngress && in) || (dir == networkingv1.PolicyTypeEgress && eg) {
			return true
		}
	}
	return false
}

// naiveTier lists every action the tier can end with ("" when nothing
// matched), over every allowed order of its policies.
func naiveTier(m *model.Model, f Flow, subject *model.Pod, peer Endpoint, ingress bool, tier model.Tier) []model.Action {
	var policies []*model.ClusterPolicy
	for _, p := range m.ClusterPolicies {
		rules := p.Egress
		if ingress {
			rules = p.Ingress
		}
		if p.Tier == tier && len(rules) > 0 && !subject.HostNetwork && naiveSubject(m, p, subject) {
			policies = append(policies, p)
		}
	}
	results := map[model.Action]bool{}
	permute(policies, func(order []*model.ClusterPolicy) {
		// The API orders policies of one generation by priority only.
		for i := range order {
			for j := i + 1; j < len(order); j++ {
				if order[i].Family == order[j].Family && order[i].Priority > order[j].Priority {
					return
				}
			}
		}
		var rules []model.ClusterRule
		for _, p := range order {
			if ingress {
				rules = append(rules, p.Ingress...)
			} else {
				rules = append(rules, p.Egress...)
			}
		}
		naiveFirstMatch(m, f, peer, rules, results)
	})
	out := []model.Action{}
	for a := range results {
		out = append(out, a)
	}
	return out
}

// naiveFirstMatch walks the rules; an uncertain rule is tried both ways.
func naiveFirstMatch(m *model.Model, f Flow, peer Endpoint, rules []model.ClusterRule, results map[model.Action]bool) {
	for i, r := range rules {
		switch naiveRuleMatches(m, f, peer, r) {
		case "yes":
			results[naiveAction(r)] = true
			return
		case "maybe":
			results[naiveAction(r)] = true
			naiveFirstMatch(m, f, peer, rules[i+1:], results)
			return
		}
	}
	results[""] = true
}

// naiveAction: a rule that fails closed denies.
func naiveAction(r model.ClusterRule) model.Action {
	if r.Action != model.ActionAllow && naiveFailsClosed(r) {
		return model.ActionDeny
	}
	return r.Action
}

func naiveFailsClosed(r model.ClusterRule) bool {
	for _, p := range r.Peers {
		if p.Unknown || (p.Namespaces != nil && !naiveValid(p.Namespaces)) || (p.Pods != nil && (!naiveValid(&p.Pods.NamespaceSelector) || !naiveValid(&p.Pods.PodSelector))) || (p.Nodes != nil && !naiveValid(p.Nodes)) {
			return true
		}
	}
	for _, p := range r.Ports {
		if p.Unknown {
			return true
		}
	}
	return false
}

func naiveValid(s *metav1.LabelSelector) bool {
	_, err := metav1.LabelSelectorAsSelector(s)
	return err == nil
}

func naiveSubject(m *model.Model, p *model.ClusterPolicy, pod *model.Pod) bool {
	ns := m.Namespace(pod.Namespace)
	switch {
	case p.Subject.Namespaces != nil:
		return naiveSelects(p.Subject.Namespaces, ns.Labels)
	case p.Subject.Pods != nil:
		return naiveSelects(&p.Subject.Pods.NamespaceSelector, ns.Labels) && naiveSelects(&p.Subject.Pods.PodSelector, pod.Labels)
	}
	return false
}

// naiveRuleMatches is "yes", "no" or "maybe".
func naiveRuleMatches(m *model.Model, f Flow, peer Endpoint, r model.ClusterRule) string {
	if r.Action != model.ActionAllow && naiveFailsClosed(r) {
		return "yes"
	}
	best := "no"
	for _, p := range r.Peers {
		switch got := naivePeerMatches(m, peer, p); {
		case got == "yes":
			best = "yes"
		case got == "maybe" && best == "no":
			best = "maybe"
		}
	}
	if best == "no" {
		return "no"
	}
	if r.Ports == nil {
		return best
	}
	for _, p := range r.Ports {
		if naiveClusterPort(f, p) {
			return best
		}
	}
	return "no"
}

func naivePeerMatches(m *model.Model, ep Endpoint, p model.ClusterPeer) string {
	yes := map[bool]string{true: "yes", false: "no"}
	switch {
	case p.Unknown:
		return "no"
	case p.Namespaces != nil:
		return yes[ep.Pod != nil && naiveSelects(p.Namespaces, m.Namespace(ep.Pod.Namespace).Labels)]
	case p.Pods != nil:
		return yes[ep.Pod != nil && naiveSelects(&p.Pods.NamespaceSelector, m.Namespace(ep.Pod.Namespace).Labels) && naiveSelects(&p.Pods.PodSelector, ep.Pod.Labels)]
	case p.Nodes != nil:
		if ep.Pod != nil {
			return "no"
		}
		for _, n := range m.Nodes {
			for _, a := range n.Addresses {
				if a == ep.IP && naiveSelects(p.Nodes, n.Labels) {
					return "yes"
				}
			}
		}
		if m.CouldNotRead("nodes", "") {
			return "maybe"
		}
		return "no"
	case len(p.Networks) > 0:
		addrs := []netip.Addr{ep.IP}
		if ep.Pod != nil {
			if len(ep.Pod.IPs) == 0 {
				// No address yet: networks spanning every address of the
				// cluster's families hold it; any other a pod can be
				// given may.
				v4, v6 := naiveFamilies(m)
				all4, all6 := false, false
				for _, c := range p.Networks {
					switch strings.TrimSpace(c) {
					case "0.0.0.0/0":
						all4 = true
					case "::/0":
						all6 = true
					}
				}
				if (!v4 || all4) && (!v6 || all6) {
					return "yes"
				}
				for _, c := range p.Networks {
					if prefix, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil && !naiveReserved(prefix) {
						return "maybe"
					}
				}
				return "no"
			}
			addrs = ep.Pod.IPs
		}
		for _, c := range p.Networks {
			prefix, err := netip.ParsePrefix(strings.TrimSpace(c))
			if err != nil {
				continue
			}
			for _, a := range addrs {
				if prefix.Contains(a) {
					return "yes"
				}
			}
		}
		return "no"
	case len(p.DomainNames) > 0:
		if ep.Pod == nil {
			return "maybe"
		}
	}
	return "no"
}

// naiveFamilies: the IP families in the model, IPv4 when it has no address.
func naiveFamilies(m *model.Model) (v4, v6 bool) {
	var all []netip.Addr
	for _, p := range m.Pods {
		all = append(all, p.IPs...)
	}
	for _, s := range m.Services {
		all = append(all, s.ClusterIPs...)
	}
	for _, n := range m.Nodes {
		all = append(all, n.Addresses...)
	}
	for _, a := range all {
		if a.Is4() || a.Is4In6() {
			v4 = true
		} else {
			v6 = true
		}
	}
	if !v4 && !v6 {
		v4 = true
	}
	return v4, v6
}

// naiveReserved: link-local, loopback, multicast and reserved ranges.
func naiveReserved(p netip.Prefix) bool {
	a := p.Masked().Addr()
	if !a.Is4() {
		// IPv6: the prefixes the test generates are whole ranges; check the start only.
		return a.IsLoopback() || a.IsLinkLocalUnicast() && p.Bits() >= 10 || a.IsMulticast() && p.Bits() >= 8
	}
	b := a.As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n |= uint32(1)<<(32-p.Bits()) - 1
	if p.Bits() == 0 {
		n = ^uint32(0)
	}
	last := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	for _, r := range []func(netip.Addr) bool{
		func(x netip.Addr) bool { return x.As4()[0] == 0 },
		netip.Addr.IsLoopback,
		netip.Addr.IsLinkLocalUnicast,
		func(x netip.Addr) bool { return x.As4()[0] >= 224 },
	} {
		if r(a) && r(last) {
			return true
		}
	}
	return false
}

func naiveClusterPort(f Flow, p model.ClusterPort) bool {
	if p.Unknown {
		return false
	}
	if p.Name != "" {
		if f.To.Pod == nil {
			return false
		}
		for _, cp := range f.To.Pod.Ports {
			if cp.Name == p.Name && cp.Protocol == f.Protocol && cp.Port == f.Port {
				return true
			}
		}
		return false
	}
	proto := p.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	if proto != f.Protocol {
		return false
	}
	return p.Port == 0 || (f.Port >= p.Port && f.Port <= p.EndPort)
}

func permute[T any](xs []T, visit func([]T)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(xs) {
			visit(xs)
			return
		}
		for i := k; i < len(xs); i++ {
			xs[k], xs[i] = xs[i], xs[k]
			rec(k + 1)
			xs[k], xs[i] = xs[i], xs[k]
		}
	}
	rec(0)
}
