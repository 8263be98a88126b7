package posture

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// IDShadowedRule is a cluster-scoped Allow rule that can never match.
const IDShadowedRule = "AUDIT-012"

// shadowFindings are AUDIT-012: Allow rules of AdminNetworkPolicies,
// BaselineAdminNetworkPolicies and ClusterNetworkPolicies that an earlier
// Deny or Pass rule covers whole — same direction, a subject, peers and
// ports at least as wide — so that the Allow never decides anything. Only
// what is certain is reported: an earlier rule of the same policy, of a
// policy of the same tier and API generation at a lower priority (equal
// priorities and the two generations are not ordered by the API), or an
// admin-tier Deny above a baseline-tier Allow. Coverage is judged from
// the rules as written (empty selectors, equal selectors, CIDRs within
// CIDRs, ports within ranges): a rule covered only by several earlier
// rules together is not reported.
func shadowFindings(policies []*model.ClusterPolicy) []Finding {
	var out []Finding
	for _, p := range policies {
		if !decidable(p) {
			continue
		}
		for _, ingress := range []bool{true, false} {
			for i, r := range clusterRules(p, ingress) {
				if r.Action != model.ActionAllow || !plainRule(r) {
					continue
				}
				if by, ok := shadowing(policies, p, i, ingress); ok {
					out = append(out, shadowFinding(clusterRuleRef(p, ingress, i, r), by))
				}
			}
		}
	}
	return out
}

// decidable: a policy the API orders as the engine does (not the EKS
// agent's kind, which ignores rule order) and that the API server would
// accept whole.
func decidable(p *model.ClusterPolicy) bool {
	return p.Family != model.FamilyAWS && len(p.Problems) == 0 && p.Unresolvable == ""
}

// plainRule: a rule whose peers and ports are all known (a rule with an
// unknown one fails closed and is judged by other findings, not here).
func plainRule(r model.ClusterRule) bool {
	if r.Gate != nil || r.NamedPorts || len(r.Peers) == 0 {
		return false
	}
	for _, p := range r.Peers {
		if p.Unknown {
			return false
		}
	}
	for _, p := range r.Ports {
		if p.Unknown {
			return false
		}
	}
	return true
}

func clusterRules(p *model.ClusterPolicy, ingress bool) []model.ClusterRule {
	if ingress {
		return p.Ingress
	}
	return p.Egress
}

func clusterRuleRef(p *model.ClusterPolicy, ingress bool, i int, r model.ClusterRule) string {
	ref := fmt.Sprintf("%s/%s %s[%d]", strings.ToLower(p.Kind), p.Name, direction(ingress), i)
	if r.Name != "" {
		ref += " (" + r.Name + ")"
	}
	return ref
}

// shadowing is the first earlier Deny or Pass rule that covers rule i of
// p, named with its action.
func shadowing(policies []*model.ClusterPolicy, p *model.ClusterPolicy, i int, ingress bool) (string, bool) {
	r := clusterRules(p, ingress)[i]
	for _, q := range policies {
		limit, ok := earlierRules(q, p, i, ingress)
		if !ok {
			continue
		}
		for j, e := range clusterRules(q, ingress)[:limit] {
			if covers(q, e, p, r) && (q.Tier == p.Tier || e.Action == model.ActionDeny) {
				return clusterRuleRef(q, ingress, j, e) + " " + actionWord(e), true
			}
		}
	}
	return "", false
}

// earlierRules is how many of q's rules come before rule i of p whatever
// the order the API leaves open (0, false: none).
func earlierRules(q, p *model.ClusterPolicy, i int, ingress bool) (int, bool) {
	switch {
	case !decidable(q):
		return 0, false
	case q == p:
		return i, true
	case q.Tier == model.TierAdmin && p.Tier == model.TierBaseline,
		q.Tier == p.Tier && q.Family == p.Family && q.Priority < p.Priority:
		return len(clusterRules(q, ingress)), true
	}
	return 0, false
}

// covers: rule e of q (a Deny or Pass) matches all the traffic rule r of
// p matches.
func covers(q *model.ClusterPolicy, e model.ClusterRule, p *model.ClusterPolicy, r model.ClusterRule) bool {
	if e.Action == model.ActionAllow || !plainRule(e) {
		return false
	}
	if q != p && !subjectCovers(q.Subject, p.Subject) {
		return false
	}
	return peersCover(e.Peers, r.Peers) && portsCover(e.Ports, r.Ports)
}

func emptySelector(s *metav1.LabelSelector) bool {
	return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// allPods: a selector of every pod of every namespace.
func allPods(namespaces *metav1.LabelSelector, pods *model.NamespacedPods) bool {
	return emptySelector(namespaces) || pods != nil && emptySelector(&pods.NamespaceSelector) && emptySelector(&pods.PodSelector)
}

func subjectCovers(q, p model.ClusterSubject) bool {
	return reflect.DeepEqual(q, p) || allPods(q.Namespaces, q.Pods) ||
		q.Namespaces != nil && p.Pods != nil && reflect.DeepEqual(*q.Namespaces, p.Pods.NamespaceSelector)
}

// peersCover: every peer of r is within one peer of e.
func peersCover(e, r []model.ClusterPeer) bool {
	for _, rp := range r {
		covered := false
		for _, ep := range e {
			covered = covered || peerCovers(ep, rp)
		}
		if !covered {
			return false
		}
	}
	return true
}

func peerCovers(e, r model.ClusterPeer) bool {
	podPeer := r.Namespaces != nil || r.Pods != nil
	switch {
	case reflect.DeepEqual(e, r):
		return true
	case podPeer && allPods(e.Namespaces, e.Pods):
		return true
	case e.Namespaces != nil && r.Pods != nil:
		return reflect.DeepEqual(*e.Namespaces, r.Pods.NamespaceSelector)
	case len(e.Networks) > 0 && len(r.Networks) > 0:
		return networksCover(e.Networks, r.Networks)
	}
	return false
}

// networksCover: every CIDR of r is within one of e.
func networksCover(e, r []string) bool {
	for _, rs := range r {
		rp, err := netip.ParsePrefix(rs)
		if err != nil {
			return false
		}
		covered := false
		for _, es := range e {
			ep, err := netip.ParsePrefix(es)
			covered = covered || err == nil && ep.Bits() <= rp.Bits() && ep.Contains(rp.Addr())
		}
		if !covered {
			return false
		}
	}
	return true
}

// portsCover: every port r matches, e matches (no ports: every port).
func portsCover(e, r []model.ClusterPort) bool {
	if e == nil {
		return true
	}
	if r == nil {
		return false
	}
	for _, rp := range r {
		covered := false
		for _, ep := range e {
			covered = covered || portCovers(ep, rp)
		}
		if !covered {
			return false
		}
	}
	return true
}

func portCovers(e, r model.ClusterPort) bool {
	switch {
	case r.Name != "" || e.Name != "":
		return e.Name != "" && e.Name == r.Name
	case e.Protocol != r.Protocol:
		return false
	case e.Port == 0:
		return true
	case r.Port == 0:
		return false
	}
	return e.Port <= r.Port && portEnd(r) <= portEnd(e)
}

func portEnd(p model.ClusterPort) int32 {
	if p.EndPort != 0 {
		return p.EndPort
	}
	return p.Port
}

func shadowFinding(rule, by string) Finding {
	return Finding{ID: IDShadowedRule, Severity: Low, Objects: []string{rule, by},
		Message: rule + " can never allow anything: " + by + " comes first and matches all its traffic",
		Why:     "a cluster-scoped rule that never matches says an intent the cluster does not enforce: whoever reads the Allow believes the traffic is let through",
		Fix:     "move the Allow before the rule that shadows it (an earlier rule, or a policy with a lower priority), narrow that rule, or delete the Allow"}
}

func actionWord(r model.ClusterRule) string {
	if r.ActionAsWritten != "" {
		return r.ActionAsWritten
	}
	return string(r.Action)
}
