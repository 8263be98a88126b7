package policy

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// The queries below answer "which pods does this select" with the same
// compiled selectors the verdicts use, so checks elsewhere (doctor) never
// match selectors or ipBlocks on their own.

func (e *Engine) compiled(np *networkingv1.NetworkPolicy) *compiledPolicy {
	for _, cp := range e.policies {
		if cp.np == np || (cp.np.Namespace == np.Namespace && cp.np.Name == np.Name) {
			return cp
		}
	}
	return nil
}

// Selected returns the pods a policy of the model selects (its
// podSelector in its namespace); none for an unknown policy.
func (e *Engine) Selected(np *networkingv1.NetworkPolicy) []*model.Pod {
	cp := e.compiled(np)
	if cp == nil {
		return nil
	}
	var out []*model.Pod
	for i, p := range e.model.Pods {
		if cp.selected.has(i) {
			out = append(out, p)
		}
	}
	return out
}

// RuleAdmits reports whether rule i of the policy's ingress (or egress)
// names pod among its peers: a rule without peers admits every pod, an
// ipBlock peer admits a pod whose IP it holds.
func (e *Engine) RuleAdmits(np *networkingv1.NetworkPolicy, ingress bool, i int, pod *model.Pod) bool {
	cp := e.compiled(np)
	if cp == nil {
		return false
	}
	rules := cp.egressRules
	if ingress {
		rules = cp.ingressRules
	}
	if i < 0 || i >= len(rules) {
		return false
	}
	rule := &rules[i]
	return rule.allPeers || e.anyPeerMatches(rule, PodEndpoint(pod))
}

// PodsWithLabels returns the pods of the namespace whose labels include
// every pair of set, as a Service selector or matchLabels picks them (an
// empty set picks every pod).
func (e *Engine) PodsWithLabels(namespace string, set map[string]string) []*model.Pod {
	sel := labels.SelectorFromSet(set)
	var out []*model.Pod
	for _, p := range e.model.Pods {
		if p.Namespace == namespace && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// Declares reports whether the pod declares the port (a number, or a name)
// for the protocol (TCP when empty).
func Declares(pod *model.Pod, port intstr.IntOrString, proto corev1.Protocol) bool {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, cp := range pod.Ports {
		if cp.Protocol == proto && ((port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.Port == port.IntVal)) {
			return true
		}
	}
	return false
}

// OverlappingExcepts reports whether an except of one ipBlock peer lies
// inside another ipBlock peer's CIDR (a finer prefix): the API keeps the
// peers apart, an enforcer that merges them does not.
func OverlappingExcepts(peers []networkingv1.NetworkPolicyPeer) bool {
	var blocks []*ipBlock
	for _, p := range peers {
		if p.IPBlock == nil {
			blocks = append(blocks, nil)
			continue
		}
		b, err := parseIPBlock(p.IPBlock)
		if err != nil {
			b = nil
		}
		blocks = append(blocks, b)
	}
	for i, b := range blocks {
		if b == nil {
			continue
		}
		for _, ex := range b.except {
			for j, o := range blocks {
				if j != i && o != nil && o.cidr.Contains(ex.Addr()) && ex.Bits() > o.cidr.Bits() {
					return true
				}
			}
		}
	}
	return false
}

// HasLabels reports whether have includes every pair of want, as a
// Service selector or matchLabels matches (an empty want matches all).
func HasLabels(have, want map[string]string) bool {
	return labels.SelectorFromSet(want).Matches(labels.Set(have))
}
