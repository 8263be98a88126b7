package policy

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Hint is an explanation beyond the verdict. Codes are stable
// identifiers (documented in the README); messages are for people.
type Hint struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Hint codes.
const (
	HintSelfTraffic            = "SelfTraffic"
	HintHostNetwork            = "HostNetworkPod"
	HintOtherPolicyLayers      = "OtherPolicyLayers"
	HintNotIsolated            = "NotIsolated"
	HintOtherPortAllowed       = "OtherPortAllowed"
	HintServicePortInPolicy    = "ServicePortInPolicy"
	HintProtocolMismatch       = "ProtocolMismatch"
	HintNamedPortNotDeclared   = "NamedPortNotDeclared"
	HintNamespaceLabelMissing  = "NamespaceLabelMissing"
	HintPodLabelMismatch       = "PodLabelMismatch"
	HintPodSelectorOwnNS       = "PodSelectorOnlyOwnNamespace"
	HintSelectorMatchesNothing = "SelectorMatchesNothing"
	HintIPBlockMatchesPod      = "IPBlockMatchesPod"
	HintPodWithoutIP           = "PodWithoutIP"
	HintDNSUDPOnly             = "DNSUDPOnly"
	HintForgeableNamespace     = "ForgeableNamespaceLabel"
	HintServicePortUsed        = "ServicePortUsed"
	HintInvalidPolicy          = "InvalidPolicy"
	HintPoliciesUnreadable     = "PoliciesUnreadable"
	HintNamespaceLabelsUnknown = "NamespaceLabelsUnknown"
	// The cluster-scoped tiers.
	HintClusterPoliciesUnreadable = "ClusterPoliciesUnreadable"
	HintUndefinedOrder            = "UndefinedOrder"
	HintPassToBaseline            = "PassFallsToBaseline"
	HintAdminOverrides            = "AdminOverridesNetworkPolicy"
	HintClusterNamedPort          = "NamedPortNotOnSubject"
	HintClusterPolicyInvalid      = "InvalidClusterPolicy"
	// The EKS network policy agent's own ClusterNetworkPolicy.
	HintEKSRuleOrder  = "EKSRuleOrderIgnored"
	HintEKSStrictMode = "EKSStrictMode"
)

func (e *Engine) hints(f Flow, r *Result, self bool) []Hint {
	h := &hintSet{seen: map[string]bool{}}
	if self {
		h.add(HintSelfTraffic, "%s is talking to itself, which NetworkPolicy always allows", f.From)
	}
	for _, ep := range []Endpoint{f.From, f.To} {
		if ep.Pod != nil && ep.Pod.HostNetwork {
			h.add(HintHostNetwork, "%s runs on the host network: its traffic uses the node's address and NetworkPolicy cannot be relied on for it", ep)
		}
	}
	if len(e.model.OtherLayers) > 0 {
		h.add(HintOtherPolicyLayers, "other policy layers are present (%s): they are evaluated besides NetworkPolicy, so NetworkPolicy alone does not decide", strings.Join(e.model.OtherLayers, ", "))
	}
	if unread := e.model.ClusterPoliciesUnreadable(); len(unread) > 0 {
		h.add(HintClusterPoliciesUnreadable, "%s could not be read (%s), and they can decide any flow, so the answer is unknown", strings.Join(unread, ", "), model.RBACRefusal("list", model.QualifiedClusterResource(unread[0]), ""))
	}
	for _, ep := range []Endpoint{f.From, f.To} {
		if !e.readable(ep) {
			h.add(HintPoliciesUnreadable, "the NetworkPolicies of namespace %s could not be read (%s), so its side is unknown", ep.Pod.Namespace, model.RBACRefusal("list", "networkpolicies", ep.Pod.Namespace))
		}
		if !e.labelsKnown(ep) && r.Verdict == Unspecified && e.labelsMayDecide(f, r) {
			h.add(HintNamespaceLabelsUnknown, "the labels of namespace %s could not be read (%s) and a namespaceSelector looks at labels other than its name, so the answer is unknown", ep.Pod.Namespace, model.RBACRefusal("list", "namespaces", ""))
		}
	}
	for _, side := range []struct {
		s       *Side
		pod     *model.Pod
		ingress bool
	}{{r.Egress, f.From.Pod, false}, {r.Ingress, f.To.Pod, true}} {
		if side.s == nil {
			continue
		}
		dir := "egress"
		if side.ingress {
			dir = "ingress"
		}
		e.tierHints(h, f, side.s, side.pod, dir, side.ingress)
		e.awsHints(h, f, side.s, side.pod, side.ingress)
		if side.s.Tier == TierNone && side.s.Baseline == nil {
			h.add(HintNotIsolated, "no NetworkPolicy selects %s for %s, so all %s is allowed", side.pod.Key(), dir, dir)
			continue
		}
		if side.s.Tier != TierNetworkPolicy {
			continue
		}
		e.allowedHints(h, f, side.s, side.ingress)
		if len(side.s.AllowedBy) == 0 {
			e.nearMisses(h, f, side.pod, side.ingress)
		}
	}
	e.calicoHints(h, f, r)
	e.ciliumHints(h, f, r)
	if r.Verdict != Allowed {
		e.typoHints(h, f)
	}
	e.dnsHint(h, f, r)
	for _, p := range e.Problems {
		if involves(p, f) {
			h.add(HintInvalidPolicy, "%s", p)
		}
	}
	return h.list
}

type hintSet struct {
	list []Hint
	seen map[string]bool
}

func (h *hintSet) add(code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if h.seen[code+msg] {
		return
	}
	h.seen[code+msg] = true
	h.list = append(h.list, Hint{Code: code, Message: msg})
}

func involves(problem string, f Flow) bool {
	for _, ep := range []Endpoint{f.From, f.To} {
		if ep.Pod != nil && strings.HasPrefix(problem, ep.Pod.Namespace+"/") {
			return true
		}
	}
	return false
}

// allowedHints comments on what allowed a side: an ipBlock that matched a
// pod address, a namespace label that any namespace could carry.
func (e *Engine) allowedHints(h *hintSet, f Flow, s *Side, ingress bool) {
	for _, ref := range s.AllowedBy {
		if ref.Peer == nil {
			continue
		}
		peer := e.peerOf(ref, ingress)
		if peer == nil {
			continue
		}
		other := f.To
		if ingress {
			other = f.From
		}
		if peer.ipBlock != nil && other.Pod != nil {
			h.add(HintIPBlockMatchesPod, "%s rule %d allows %s through ipBlock %s, which matches the pod's address; implementations differ on ipBlock for pod traffic (some see the node's or a NAT address)", ref.Name, ref.Rule, other, peer.raw.IPBlock.CIDR)
		}
		if ns := peer.raw.NamespaceSelector; ns != nil {
			if keys := forgeableKeys(ns); len(keys) > 0 {
				h.add(HintForgeableNamespace, "%s rule %d selects namespaces by %s, a label anyone who can edit a namespace can add; %s=<name> cannot be forged", ref.Name, ref.Rule, strings.Join(keys, ", "), model.MetadataNameLabel)
			}
		}
	}
}

func (e *Engine) peerOf(ref RuleRef, ingress bool) *compiledPeer {
	for _, cp := range e.policies {
		if cp.np.Namespace != ref.Namespace || cp.np.Name != ref.Name {
			continue
		}
		rules := cp.egressRules
		if ingress {
			rules = cp.ingressRules
		}
		if ref.Rule < len(rules) && ref.Peer != nil && *ref.Peer < len(rules[ref.Rule].peers) {
			return &rules[ref.Rule].peers[*ref.Peer]
		}
	}
	return nil
}

// missingKeys lists the keys a selector requires that the labels lack.
func missingKeys(ls *metav1.LabelSelector, have map[string]string) []string {
	var keys []string
	for k := range ls.MatchLabels {
		if _, ok := have[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, req := range ls.MatchExpressions {
		if req.Operator != metav1.LabelSelectorOpIn && req.Operator != metav1.LabelSelectorOpExists {
			continue
		}
		if _, ok := have[req.Key]; !ok {
			keys = append(keys, req.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

// forgeableKeys lists the namespace label keys a selector relies on other
// than the automatic name label.
func forgeableKeys(ls *metav1.LabelSelector) []string {
	var keys []string
	for k := range ls.MatchLabels {
		if k != model.MetadataNameLabel {
			keys = append(keys, k)
		}
	}
	for _, req := range ls.MatchExpressions {
		if req.Key != model.MetadataNameLabel && req.Operator == "In" {
			keys = append(keys, req.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

// nearMisses explains a denied side: rules whose peer matched but not the
// port, and rules whose port matched but not the peer.
func (e *Engine) nearMisses(h *hintSet, f Flow, pod *model.Pod, ingress bool) {
	idx := e.podIndex[pod]
	policies := e.egressOf[idx]
	if ingress {
		policies = e.ingressOf[idx]
	}
	other := f.To
	if ingress {
		other = f.From
	}
	for _, pi := range policies {
		cp := e.policies[pi]
		rules := cp.egressRules
		if ingress {
			rules = cp.ingressRules
		}
		for ri := range rules {
			rule := &rules[ri]
			peerOK := len(e.matchingPeers(rule, other)) > 0
			portOK := len(matchingPorts(rule.ports, f.To, f.Port, f.Protocol)) > 0
			switch {
			case peerOK && !portOK:
				e.portMiss(h, f, cp.np, ri, rule)
			case portOK && !peerOK:
				e.peerMiss(h, f, cp.np, ri, rule, other)
			}
		}
	}
	e.emptySelections(h, f)
}

func (e *Engine) portMiss(h *hintSet, f Flow, np *networkingv1.NetworkPolicy, ri int, rule *compiledRule) {
	want := fmt.Sprintf("%d/%s", f.Port, f.Protocol)
	var allowed []string
	for k := range rule.ports {
		p := &rule.ports[k]
		proto := protocolOf(p)
		switch {
		case p.Port == nil:
			allowed = append(allowed, "every "+string(proto)+" port")
		case p.Port.Type == intstr.String:
			if f.To.Pod == nil {
				allowed = append(allowed, "the named port "+p.Port.StrVal)
				continue
			}
			n, ok := f.To.Pod.NamedPort(p.Port.StrVal, proto)
			if !ok {
				h.add(HintNamedPortNotDeclared, "%s rule %d allows the named port %s/%s, which %s does not declare", np.Name, ri, p.Port.StrVal, proto, f.To)
				continue
			}
			allowed = append(allowed, fmt.Sprintf("%s (%d/%s)", p.Port.StrVal, n, proto))
		default:
			if p.EndPort != nil {
				allowed = append(allowed, fmt.Sprintf("%d-%d/%s", p.Port.IntVal, *p.EndPort, proto))
			} else {
				allowed = append(allowed, fmt.Sprintf("%d/%s", p.Port.IntVal, proto))
			}
			if proto != f.Protocol && p.Port.IntVal == f.Port {
				h.add(HintProtocolMismatch, "%s rule %d allows %d/%s but not %s", np.Name, ri, f.Port, proto, want)
			}
			if svc := e.serviceMapping(f.To, p.Port.IntVal, proto, f.Port); svc != "" {
				h.add(HintServicePortInPolicy, "%s rule %d allows %d/%s, the port of %s; NetworkPolicy sees the pod port %s after the Service is resolved", np.Name, ri, p.Port.IntVal, proto, svc, want)
			}
		}
	}
	if len(allowed) > 0 {
		h.add(HintOtherPortAllowed, "%s rule %d would allow this peer on %s, not on %s", np.Name, ri, strings.Join(allowed, ", "), want)
	}
}

// serviceMapping names the Service that maps servicePort to the pod's
// port, if one selects the destination pod.
func (e *Engine) serviceMapping(dst Endpoint, servicePort int32, proto corev1.Protocol, podPort int32) string {
	if dst.Pod == nil {
		return ""
	}
	for _, svc := range e.model.Services {
		if svc.Namespace != dst.Pod.Namespace || len(svc.Selector) == 0 || !labels.SelectorFromSet(svc.Selector).Matches(labels.Set(dst.Pod.Labels)) {
			continue
		}
		for _, sp := range svc.Ports {
			if sp.Port != servicePort || sp.Protocol != proto {
				continue
			}
			if target, ok := ResolveTargetPort(dst.Pod, sp); ok && target == podPort && target != servicePort {
				return "svc/" + svc.Name
			}
		}
	}
	return ""
}

// ResolveTargetPort maps a Service port to the pod's port number: a
// numeric targetPort as is (the port itself when unset), a named one
// through the pod's declared ports.
func ResolveTargetPort(pod *model.Pod, sp model.ServicePort) (int32, bool) {
	switch {
	case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
		return pod.NamedPort(sp.TargetPort.StrVal, sp.Protocol)
	case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal, true
	}
	return sp.Port, true
}

func (e *Engine) peerMiss(h *hintSet, f Flow, np *networkingv1.NetworkPolicy, ri int, rule *compiledRule, other Endpoint) {
	for j := range rule.peers {
		p := &rule.peers[j]
		where := fmt.Sprintf("%s rule %d peer %d", np.Name, ri, j)
		if p.invalid != "" {
			continue
		}
		if p.ipBlock != nil {
			if other.Pod != nil && len(other.Pod.IPs) == 0 && !p.ipBlock.holdsEveryPod {
				h.add(HintPodWithoutIP, "%s is ipBlock %s, but %s has no IP in the input, so only a block of every address can be known to match it; it is read as no match", where, p.raw.IPBlock.CIDR, other)
			}
			continue
		}
		if other.Pod == nil {
			continue
		}
		ns := e.ns[other.Pod.Namespace]
		podOK := p.podSelector == nil || p.podSelector.Matches(labels.Set(other.Pod.Labels))
		switch {
		case p.nsSelector == nil && other.Pod.Namespace != np.Namespace && podOK:
			h.add(HintPodSelectorOwnNS, "%s has only a podSelector, which selects pods of the policy's own namespace %s; %s is in %s, so add a namespaceSelector to the same peer", where, np.Namespace, other, other.Pod.Namespace)
		case p.nsSelector != nil && !p.nsSelector.Matches(labels.Set(ns.Labels)) && podOK:
			// Only a label the namespace lacks is a near miss; another
			// value means the rule is for another namespace.
			if missing := missingKeys(p.raw.NamespaceSelector, ns.Labels); len(missing) > 0 {
				h.add(HintNamespaceLabelMissing, "%s wants namespaces matching %s; namespace %s lacks the label %s (it has %s)", where, p.nsSelector, ns.Name, strings.Join(missing, ", "), labels.Set(ns.Labels))
			}
		case !podOK && (p.nsSelector == nil && other.Pod.Namespace == np.Namespace || p.nsSelector != nil && p.nsSelector.Matches(labels.Set(ns.Labels))):
			h.add(HintPodLabelMismatch, "%s wants pods matching %s; %s has labels %s", where, p.podSelector, other, labels.Set(other.Pod.Labels))
		}
		if p.pods != nil && p.pods.pods().count() == 0 {
			h.add(HintSelectorMatchesNothing, "%s matches no pod in the input", where)
		}
	}
}

// emptySelections points at policies of the two namespaces that select no
// pod at all: often the allow rule meant for this flow with a typo.
func (e *Engine) emptySelections(h *hintSet, f Flow) {
	for _, ep := range []Endpoint{f.From, f.To} {
		if ep.Pod == nil {
			continue
		}
		for _, cp := range e.policies {
			if cp.np.Namespace == ep.Pod.Namespace && cp.selectedCount == 0 {
				h.add(HintSelectorMatchesNothing, "%s/%s selects no pod (podSelector %s)", cp.np.Namespace, cp.np.Name, selectorString(&cp.np.Spec.PodSelector))
			}
		}
	}
}

func selectorString(ls *metav1.LabelSelector) string {
	if s, err := metav1.LabelSelectorAsSelector(ls); err == nil {
		if str := s.String(); str != "" {
			return str
		}
		return "{} (every pod)"
	}
	return "invalid"
}

// tierHints explain the classic traps of the cluster-scoped tiers.
func (e *Engine) tierHints(h *hintSet, f Flow, s *Side, pod *model.Pod, dir string, ingress bool) {
	if s.Undecided != "" {
		if strings.Contains(s.Undecided, "; unknown whether") {
			h.add(HintUndefinedOrder, "%s of %s is unknown: %s", dir, pod.Key(), s.Undecided)
		} else {
			h.add(HintUndefinedOrder, "%s of %s is unknown: %s; the API leaves the order open (policies at one priority, or AdminNetworkPolicy against ClusterNetworkPolicy): give them distinct priorities to decide it", dir, pod.Key(), s.Undecided)
		}
	}
	if s.Admin != nil && s.Admin.Action == string(model.ActionPass) && s.Tier == TierBaseline {
		h.add(HintPassToBaseline, "%s passes %s on to NetworkPolicy, but no NetworkPolicy selects %s for %s, so the baseline tier decides: %s", s.Admin.Name, dir, pod.Key(), dir, s.Baseline)
	}
	if s.Tier == TierAdmin && s.Admin != nil && s.Isolated {
		npAllows := len(s.AllowedBy) > 0
		switch {
		case s.Verdict == Allowed && !npAllows:
			h.add(HintAdminOverrides, "%s allows this %s although the NetworkPolicies of %s (%s) would deny it: the admin tier comes before NetworkPolicy", s.Admin.Name, dir, pod.Namespace, strings.Join(s.IsolatedBy, ", "))
		case s.Verdict == Denied && npAllows:
			h.add(HintAdminOverrides, "%s denies this %s although NetworkPolicy %s allows it: the admin tier comes before NetworkPolicy", s.Admin.Name, dir, s.AllowedBy[0].Name)
		}
	}
	for _, tier := range []*tierIndex{&e.adminOf, &e.baselineOf} {
		if tier.ingress == nil {
			continue
		}
		policies := tier.egress[e.podIndex[pod]]
		if ingress {
			policies = tier.ingress[e.podIndex[pod]]
		}
		for _, pi := range policies {
			cp := e.cluster[pi]
			rules, compiled, other := cp.p.Egress, cp.egress, f.To
			if ingress {
				rules, compiled, other = cp.p.Ingress, cp.ingress, f.From
			}
			for ri, r := range rules {
				if !e.anyClusterPeer(&compiled[ri], other) {
					continue
				}
				for _, port := range r.Ports {
					if port.Name != "" && f.To.Pod != nil && !declaresName(f.To.Pod, port.Name) {
						h.add(HintClusterNamedPort, "%s rule %d matches the named port %q, which %s does not declare, so the rule never matches it", cp.p.Name, ri, port.Name, f.To)
					}
				}
			}
			for _, problem := range cp.p.Problems {
				h.add(HintClusterPolicyInvalid, "%s: %s", cp.p.Ref(), problem)
			}
		}
	}
}

func (e *Engine) anyClusterPeer(cr *compiledClusterRule, ep Endpoint) bool {
	for j := range cr.peers {
		if e.clusterPeerMatch(&cr.peers[j], ep) != matchNo {
			return true
		}
	}
	return false
}

func declaresName(p *model.Pod, name string) bool {
	for _, cp := range p.Ports {
		if cp.Name == name {
			return true
		}
	}
	return false
}

// dnsHint warns when DNS is allowed over UDP only: answers over 512 bytes
// and some resolvers retry over TCP, which then fails.
func (e *Engine) dnsHint(h *hintSet, f Flow, r *Result) {
	if f.Port != 53 || f.Protocol != corev1.ProtocolUDP || r.Egress == nil || !r.Egress.Isolated || !r.Egress.Allows() {
		return
	}
	tcp := f
	tcp.Protocol = corev1.ProtocolTCP
	if !e.side(&Side{}, tcp, f.From.Pod, false, explained).Allows() {
		h.add(HintDNSUDPOnly, "%s may send DNS to %s over UDP but not over TCP; large answers and TCP fallback will fail", f.From, f.To)
	}
}
