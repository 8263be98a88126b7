package posture

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// notIsolated is the By of a side nothing decides (allowed by default).
const notIsolated = "no policy isolates it in this direction"

// way is one thing that lets a side through, keyed so that the regions
// and pods it admits add up under it.
type way struct {
	key, who, by string
}

// ways names what let an allowed side through, as the policies wrote it:
// every NetworkPolicy peer that allowed, or the tier rule that decided.
func (a *Analyzer) ways(side *policy.Side, ingress bool) []way {
	switch {
	case side.Tier == policy.TierNone:
		return []way{{key: "none", who: "anyone", by: notIsolated}}
	case side.Tier == policy.TierNetworkPolicy && len(side.AllowedBy) > 0:
		out := make([]way, 0, len(side.AllowedBy))
		for _, ref := range side.AllowedBy {
			out = append(out, a.ruleWay(ref, ingress))
		}
		return out
	case side.Admin != nil && side.Tier == policy.TierAdmin:
		return []way{{key: "admin:" + side.Admin.String(), who: "the peers of " + side.Admin.Kind + " " + side.Admin.Name + " rule " + fmt.Sprint(side.Admin.Rule), by: side.Admin.String()}}
	case side.Baseline != nil && side.Tier == policy.TierBaseline:
		return []way{{key: "baseline:" + side.Baseline.String(), who: "the peers of " + side.Baseline.Kind + " " + side.Baseline.Name + " rule " + fmt.Sprint(side.Baseline.Rule), by: side.Baseline.String()}}
	case side.Calico != nil:
		return []way{{key: "calico:" + side.Calico.String(), who: "the peers of Calico's rule", by: side.Calico.String()}}
	case side.Cilium != nil:
		return []way{{key: "cilium:" + side.Cilium.String(), who: "the peers of Cilium's rule", by: side.Cilium.String()}}
	}
	return []way{{key: "tier:" + string(side.Tier), who: "what the " + string(side.Tier) + " tier allows", by: string(side.Tier)}}
}

// wayKey names a NetworkPolicy rule's peer (-1: the rule has none).
type wayKey struct {
	namespace, name string
	rule, peer      int
	ingress         bool
}

// ruleWay describes the peer of a NetworkPolicy rule that allowed, once.
func (a *Analyzer) ruleWay(ref policy.RuleRef, ingress bool) way {
	key := wayKey{namespace: ref.Namespace, name: ref.Name, rule: ref.Rule, peer: -1, ingress: ingress}
	if ref.Peer != nil {
		key.peer = *ref.Peer
	}
	if w, ok := a.wayOf[key]; ok {
		return w
	}
	w := a.describeRule(ref, ingress)
	a.wayOf[key] = w
	return w
}

// describeRule words the peer of a NetworkPolicy rule.
func (a *Analyzer) describeRule(ref policy.RuleRef, ingress bool) way {
	by := fmt.Sprintf("NetworkPolicy %s/%s %s[%d]", ref.Namespace, ref.Name, direction(ingress), ref.Rule)
	np := a.policies[ref.Namespace+"/"+ref.Name]
	if ref.Peer == nil || np == nil {
		return way{key: by, who: "anyone", by: by + " (no peers: every peer)"}
	}
	by += fmt.Sprintf(" peer %d", *ref.Peer)
	return way{key: by, who: describePeer(rulePeers(np, ingress, ref.Rule)[*ref.Peer], ref.Namespace), by: by}
}

func direction(ingress bool) string {
	if ingress {
		return "ingress"
	}
	return "egress"
}

func rulePeers(np *networkingv1.NetworkPolicy, ingress bool, rule int) []networkingv1.NetworkPolicyPeer {
	if ingress {
		return np.Spec.Ingress[rule].From
	}
	return np.Spec.Egress[rule].To
}

// describePeer says whom a NetworkPolicy peer admits, future pods
// included: "any pod in namespaces matching team=payments".
func describePeer(p networkingv1.NetworkPolicyPeer, policyNS string) string {
	switch {
	case p.IPBlock != nil:
		if len(p.IPBlock.Except) == 0 {
			return p.IPBlock.CIDR
		}
		return p.IPBlock.CIDR + " except " + strings.Join(p.IPBlock.Except, ", ")
	case p.NamespaceSelector == nil:
		return podsPhrase(p.PodSelector) + " in namespace " + policyNS
	case p.PodSelector == nil && isEmpty(p.NamespaceSelector):
		return "any pod in the cluster"
	}
	return podsPhrase(p.PodSelector) + " in " + namespacesPhrase(p.NamespaceSelector)
}

func isEmpty(s *metav1.LabelSelector) bool {
	return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

func podsPhrase(s *metav1.LabelSelector) string {
	if s == nil || isEmpty(s) {
		return "any pod"
	}
	return "pods " + metav1.FormatLabelSelector(s)
}

func namespacesPhrase(s *metav1.LabelSelector) string {
	if isEmpty(s) {
		return "any namespace"
	}
	return "namespaces matching " + metav1.FormatLabelSelector(s)
}
