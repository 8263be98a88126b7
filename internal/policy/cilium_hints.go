package policy

import (
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Hints under Cilium: the classic traps of its policy language.
const (
	// HintCiliumL7: allowed at L4, requests filtered above it.
	HintCiliumL7 = "CiliumL7Filtered"
	// HintCiliumCIDRNotPod: a CIDR rule (or a NetworkPolicy ipBlock) holds
	// the peer pod's address, but CIDR selectors never select pods.
	HintCiliumCIDRNotPod = "CiliumCIDRDoesNotSelectPods"
	// HintCiliumPeerOwnNamespace: a CiliumNetworkPolicy peer without a
	// namespace label stays in the policy's namespace.
	HintCiliumPeerOwnNamespace = "CiliumPeerOnlyOwnNamespace"
	// HintCiliumOtherSideDenies: this side opened it, the other side's
	// default deny still applies.
	HintCiliumOtherSideDenies = "CiliumOtherSideDenies"
	// HintCiliumFQDNWithoutDNS: toFQDNs learns addresses from DNS answers
	// Cilium's DNS proxy sees; no DNS rule selects the pod.
	HintCiliumFQDNWithoutDNS = "CiliumFQDNWithoutDNSRule"
	// HintCiliumDenyWins: a deny entry matched; deny wins over any allow.
	HintCiliumDenyWins = "CiliumDenyWins"
	// HintCiliumPolicyRefused: a Cilium policy the agent refuses is not
	// enforced.
	HintCiliumPolicyRefused = "CiliumPolicyRefused"
)

// ciliumHints explain what Cilium's rules did to the flow.
func (e *Engine) ciliumHints(h *hintSet, f Flow, r *Result) {
	l := e.cilium
	if l == nil {
		return
	}
	sides := []struct {
		s       *Side
		self    Endpoint
		peer    Endpoint
		ingress bool
	}{{r.Egress, f.From, f.To, false}, {r.Ingress, f.To, f.From, true}}
	for i, side := range sides {
		if side.s == nil || side.s.Cilium == nil {
			continue
		}
		c := side.s.Cilium
		other := sides[1-i].s
		switch c.Decision {
		case "allow":
			if c.L7 {
				h.add(HintCiliumL7, "allowed at L4; requests are filtered by the L7 rules of %s: the connection opens, a request they do not allow is refused (HTTP 403, a DNS refusal)", strings.Join(c.L7Policies, ", "))
			}
			if other != nil && other.Cilium != nil && other.Cilium.Decision == "default-deny" {
				h.add(HintCiliumOtherSideDenies, "%s allows it, but %s is default-deny and nothing allows it there: Cilium needs both the source's egress and the destination's ingress", side.self, sides[1-i].self)
			}
		case "deny":
			h.add(HintCiliumDenyWins, "%s: deny entries win over every allow, whatever policy allows it", c.Matches[0].String())
		case "default-deny":
			e.ciliumNearMisses(h, side.self, side.peer, side.ingress)
		}
		if side.self.Pod != nil && !side.ingress {
			e.ciliumFQDNHint(h, side.self)
		}
	}
	for _, why := range l.ignored {
		for _, ep := range []Endpoint{f.From, f.To} {
			if ep.Pod != nil && (strings.Contains(why, "/"+ep.Pod.Namespace+"/") || strings.HasPrefix(why, model.CiliumClusterwideNetworkPolicyKind+"/")) {
				h.add(HintCiliumPolicyRefused, "%s: Cilium's agent refuses it, so it is not enforced", why)
			}
		}
	}
}

// ciliumNearMisses: allow entries that look as if they should have
// matched.
func (e *Engine) ciliumNearMisses(h *hintSet, self, peer Endpoint, ingress bool) {
	l := e.cilium
	end := l.end(e, peer)
	if end.class < 0 {
		return
	}
	section := ciliumEgress
	if ingress {
		section = ciliumIngress
	}
	for _, ri := range l.rulesFor(l.classOf[e.indexOf(self)], ingress) {
		r := l.rules[ri]
		for i := range r.sections[section] {
			pe := &r.sections[section][i]
			for _, b := range pe.cidrs {
				for _, a := range end.pod.IPs {
					if b.contains(a) {
						h.add(HintCiliumCIDRNotPod, "%s %s[%d] holds %s's address %s in %s, but under Cilium CIDR rules (and NetworkPolicy ipBlock) never select pods: select it with %s instead", r.ref(), ciliumSectionNames[section], pe.index, end.pod.Key(), a, b.cidr, endpointsWord(ingress, r.kind))
					}
				}
			}
			if r.namespace == "" || r.kind == "NetworkPolicy" || end.pod.Namespace == r.namespace {
				continue
			}
			for k, w := range pe.written {
				if !w.hasKey(ciliumNamespaceKey) && !w.hasKey(ciliumAnyNamespaceKey) && w.matches(end.labels) {
					h.add(HintCiliumPeerOwnNamespace, "%s %s[%d] %s would select %s, but a CiliumNetworkPolicy's peer without a namespace label only selects pods of its own namespace %s: add k8s:io.kubernetes.pod.namespace: %s", r.ref(), ciliumSectionNames[section], pe.index, selectorText(ingress, "Endpoints", k), end.pod.Key(), r.namespace, end.pod.Namespace)
				}
			}
		}
	}
}

func endpointsWord(ingress bool, kind string) string {
	switch {
	case kind == "NetworkPolicy":
		return "a podSelector/namespaceSelector peer"
	case ingress:
		return "fromEndpoints"
	}
	return "toEndpoints"
}

// ciliumFQDNHint: a rule selecting the pod for egress uses toFQDNs and no
// rule selecting it has DNS rules: Cilium's DNS proxy never sees the
// pod's lookups, so toFQDNs matches no address.
func (e *Engine) ciliumFQDNHint(h *hintSet, self Endpoint) {
	l := e.cilium
	fqdn, dns := "", false
	for _, ri := range l.rulesFor(l.classOf[e.indexOf(self)], false) {
		r := l.rules[ri]
		for i := range r.sections[ciliumEgress] {
			pe := &r.sections[ciliumEgress][i]
			if pe.fqdn && fqdn == "" {
				fqdn = r.ref()
			}
			dns = dns || pe.dns
		}
	}
	if fqdn != "" && !dns {
		h.add(HintCiliumFQDNWithoutDNS, "%s uses toFQDNs for %s, but no egress rule selecting it has DNS rules (toPorts port 53 with rules: dns): Cilium learns the names' addresses from the DNS answers its proxy sees, so toFQDNs matches nothing and DNS itself may be denied", fqdn, self)
	}
}
