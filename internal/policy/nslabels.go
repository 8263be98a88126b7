package policy

import (
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// namespaceLabelsUnknown is the set of namespaces whose labels could not
// be read, kept only when some namespaceSelector looks at a label other
// than the automatic name label (otherwise every selector is decided by
// what is known).
func namespaceLabelsUnknown(m *model.Model) map[string]bool {
	unknown := m.NamespaceLabelsUnknown()
	if len(unknown) == 0 || !selectorsNeedNamespaceLabels(m) {
		return nil
	}
	set := make(map[string]bool, len(unknown))
	for _, ns := range unknown {
		set[ns] = true
	}
	return set
}

// selectorsNeedNamespaceLabels: a NetworkPolicy peer or a cluster-scoped
// policy's subject or peer selects namespaces by a label other than
// kubernetes.io/metadata.name.
func selectorsNeedNamespaceLabels(m *model.Model) bool {
	for _, np := range m.Policies {
		if rulesNeedLabels(np, true) || rulesNeedLabels(np, false) {
			return true
		}
	}
	for _, cp := range m.ClusterPolicies {
		if clusterPolicyNeedsLabels(cp) {
			return true
		}
	}
	return false
}

// rulesNeedLabels: a peer of the policy's ingress (or egress) rules
// selects namespaces by a label other than their name.
func rulesNeedLabels(np *networkingv1.NetworkPolicy, ingress bool) bool {
	if ingress {
		for _, r := range np.Spec.Ingress {
			if peersNeedLabels(r.From) {
				return true
			}
		}
		return false
	}
	for _, r := range np.Spec.Egress {
		if peersNeedLabels(r.To) {
			return true
		}
	}
	return false
}

func peersNeedLabels(peers []networkingv1.NetworkPolicyPeer) bool {
	for _, p := range peers {
		if needsLabels(p.NamespaceSelector) {
			return true
		}
	}
	return false
}

func clusterPolicyNeedsLabels(cp *model.ClusterPolicy) bool {
	if needsLabels(cp.Subject.Namespaces) || (cp.Subject.Pods != nil && needsLabels(&cp.Subject.Pods.NamespaceSelector)) {
		return true
	}
	for _, rules := range [][]model.ClusterRule{cp.Ingress, cp.Egress} {
		for _, r := range rules {
			for _, p := range r.Peers {
				if needsLabels(p.Namespaces) || (p.Pods != nil && needsLabels(&p.Pods.NamespaceSelector)) {
					return true
				}
			}
		}
	}
	return false
}

// needsLabels: the selector's answer depends on a namespace label other
// than the automatic name label (nil and {} do not: they match by name or
// match everything).
func needsLabels(s *metav1.LabelSelector) bool {
	if s == nil {
		return false
	}
	for k := range s.MatchLabels {
		if k != model.MetadataNameLabel {
			return true
		}
	}
	for _, r := range s.MatchExpressions {
		if r.Key != model.MetadataNameLabel {
			return true
		}
	}
	return false
}

// labelsMayDecide reports whether the flow's verdict may depend on the
// labels of a namespace that could not be read: a policy that selects one
// side has a rule whose namespaceSelector needs the other side's
// namespace labels (unless a rule that needs none already allows it), or
// a cluster-scoped policy (whose subjects and peers select by namespace)
// needs them. Such a verdict is unspecified, never "does not match".
func (e *Engine) labelsMayDecide(f Flow, r *Result) bool {
	fromUnknown := f.From.Pod != nil && e.nsLabelsUnknown[f.From.Pod.Namespace]
	toUnknown := f.To.Pod != nil && e.nsLabelsUnknown[f.To.Pod.Namespace]
	if !fromUnknown && !toUnknown {
		return false
	}
	if e.clusterNeedsLabels {
		return true
	}
	return (fromUnknown && f.To.inCluster() && e.sideNeedsLabels(f, r.Ingress, true)) ||
		(toUnknown && f.From.inCluster() && e.sideNeedsLabels(f, r.Egress, false))
}

// sideNeedsLabels: the side's policies look at the other namespace's
// labels, and no rule that does not allowed the flow.
func (e *Engine) sideNeedsLabels(f Flow, s *Side, ingress bool) bool {
	subject, of := f.From, e.egressOf
	if ingress {
		subject, of = f.To, e.ingressOf
	}
	policies := of[e.indexOf(subject)]
	if !e.policiesNeedLabels(policies, ingress) {
		return false
	}
	if !s.Allows() {
		return e.labelsCouldAllow(f, policies, ingress)
	}
	return !e.allowedWithoutLabels(f, subject.Pod, ingress)
}

// labelsCouldAllow: a rule of the policies, on the flow's port, has a
// peer whose namespaceSelector needs the unread labels and whose pod
// selector admits the peer pod: with the real labels it might allow.
func (e *Engine) labelsCouldAllow(f Flow, policies []int32, ingress bool) bool {
	peerEnd := f.To
	if ingress {
		peerEnd = f.From
	}
	if peerEnd.Pod == nil {
		return false
	}
	for _, pi := range policies {
		cp := e.policies[pi]
		rules := cp.egressRules
		if ingress {
			rules = cp.ingressRules
		}
		for ri := range rules {
			if e.ruleCouldAllowByLabels(&rules[ri], peerEnd, f) {
				return true
			}
		}
	}
	return false
}

func (e *Engine) ruleCouldAllowByLabels(rule *compiledRule, peerEnd Endpoint, f Flow) bool {
	if len(rule.ports) > 0 && !anyPortMatches(rule.ports, f.To, f.Port, f.Protocol) {
		return false
	}
	for j := range rule.peers {
		peer := &rule.peers[j]
		if !needsLabels(peer.raw.NamespaceSelector) || peer.invalid != "" {
			continue
		}
		if peer.podSelector == nil || peer.podSelector.Matches(labels.Set(peerEnd.Pod.Labels)) {
			return true
		}
	}
	return false
}

// allowedWithoutLabels: some rule allows the side through a peer that
// does not look at namespace labels (rare enough to explain the side
// again for its AllowedBy).
func (e *Engine) allowedWithoutLabels(f Flow, subject *model.Pod, ingress bool) bool {
	var s Side
	e.side(&s, f, subject, ingress, explained)
	for _, ref := range s.AllowedBy {
		if ref.Peer == nil {
			return true // a rule without peers admits every peer
		}
		if peer, ok := e.rulePeer(subject, ref, ingress); ok && !needsLabels(peer.NamespaceSelector) {
			return true
		}
	}
	return false
}

// rulePeer finds the peer a RuleRef names among the subject's policies.
func (e *Engine) rulePeer(subject *model.Pod, ref RuleRef, ingress bool) (networkingv1.NetworkPolicyPeer, bool) {
	for _, np := range e.model.Policies {
		if np.Namespace != subject.Namespace || np.Name != ref.Name {
			continue
		}
		var peers []networkingv1.NetworkPolicyPeer
		if ingress && ref.Rule < len(np.Spec.Ingress) {
			peers = np.Spec.Ingress[ref.Rule].From
		} else if !ingress && ref.Rule < len(np.Spec.Egress) {
			peers = np.Spec.Egress[ref.Rule].To
		}
		if *ref.Peer < len(peers) {
			return peers[*ref.Peer], true
		}
	}
	return networkingv1.NetworkPolicyPeer{}, false
}

func (e *Engine) policiesNeedLabels(policies []int32, ingress bool) bool {
	for _, i := range policies {
		if rulesNeedLabels(e.policies[i].np, ingress) {
			return true
		}
	}
	return false
}

// labelsKnown reports whether the labels of the endpoint's namespace were
// read (or are not needed by any selector).
func (e *Engine) labelsKnown(ep Endpoint) bool {
	return ep.Pod == nil || !e.nsLabelsUnknown[ep.Pod.Namespace]
}

// NamespaceLabelsUnknown lists, sorted, the namespaces whose unread labels
// a selector of this engine's policies needs.
func (e *Engine) NamespaceLabelsUnknown() []string {
	out := make([]string, 0, len(e.nsLabelsUnknown))
	for ns := range e.nsLabelsUnknown {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}
