package policy

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// The EKS network policy agent decides its ClusterNetworkPolicy
// (networking.k8s.aws) unlike the upstream kind it mirrors. From the
// agent's source (tc.v4ingress.bpf.c evaluateClusterPolicyByLookUp,
// utils.ComputeTrieValueForCPE) and its controller's
// (clusternetworkpolicy_resolver.go):
//
//   - every rule of every policy selecting the pod is one entry (priority,
//     action, port) on the peer's address: rule order does not exist;
//   - per tier the lowest priority wins, and at one priority the lowest
//     action index: Deny, then Accept, then Pass;
//   - an ingress rule is resolved in the namespaces its first peer selects,
//     so it matches nothing when that peer selects no namespace;
//   - a named port makes the controller fail on the policy;
//   - at most 24 entries per address are kept, chosen in Go's map order;
//   - in strict mode a pod no NetworkPolicy selects is denied both ways
//     unless a ClusterNetworkPolicy accepts (pod state DEFAULT_DENY).

// TierStrictMode is the tier of a side the EKS agent's strict mode decided.
const TierStrictMode TierName = "strict-mode"

// awsEntryLimit is MAX_PORT_PROTOCOL: entries per address beyond it are
// dropped in an order the agent does not define.
const awsEntryLimit = 24

// awsGroup gathers the matches of one priority of the agent's policies.
type awsGroup struct{ yes, maybe outcomes }

func (g *awsGroup) add(o outcomes, m match) {
	if m == matchYes {
		g.yes |= o
	} else {
		g.maybe |= o
	}
}

// outcomes: the lowest action index among the matches wins; a match that
// may not be one leaves the next action possible too.
func (g *awsGroup) outcomes() outcomes {
	var out outcomes
	for _, o := range [...]outcomes{outDeny, outAllow, outPass} {
		if g.yes&o != 0 {
			return out | o
		}
		if g.maybe&o != 0 {
			out |= o
		}
	}
	return out | outNext
}

// awsPolicyMatches adds every matching rule of one policy to the group.
func (e *Engine) awsPolicyMatches(pi int32, cp *compiledCluster, f Flow, peerEnd Endpoint, ingress bool, res *tierResult, g *awsGroup) {
	rules := cp.egress
	if ingress {
		rules = cp.ingress
	}
	var seen outcomes
	for ri := range rules {
		cr := &rules[ri]
		m := e.clusterRuleMatch(cr, peerEnd, f)
		if m == matchNo {
			continue
		}
		o := actionOutcome(cr.rule.Action)
		if cr.denyAll {
			o = outDeny
		}
		if seen&o == 0 || m == matchMaybe {
			res.add(tierHit{policy: pi, rule: int16(ri), outcome: o, maybe: m == matchMaybe})
		}
		seen |= o
		g.add(o, m)
	}
}

// gateOpen reports whether a rule's gate selector matches some namespace.
func (e *Engine) gateOpen(g *model.Gate) bool {
	if g.Namespaces == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(g.Namespaces)
	if err != nil {
		return false
	}
	for _, ns := range e.model.Namespaces {
		if sel.Matches(labels.Set(ns.Labels)) {
			return true
		}
	}
	return false
}

// awsEntryKey is one entry of the agent's map for an address, as its
// controller deduplicates them.
type awsEntryKey struct {
	protocol   corev1.Protocol
	start, end int32
	priority   int32
	action     model.Action
}

// awsEntries counts, up to the limit plus one, the entries the agent
// stores for the peer's address on the subject pod, both tiers together.
func (e *Engine) awsEntries(subject int, peerEnd Endpoint, ingress bool) int {
	keys := map[awsEntryKey]bool{}
	for _, index := range []*tierIndex{&e.adminOf, &e.baselineOf} {
		lists := index.egress
		if ingress {
			lists = index.ingress
		}
		if lists == nil {
			continue
		}
		for _, pi := range lists[subject] {
			cp := e.cluster[pi]
			if cp.p.Family != model.FamilyAWS {
				continue
			}
			e.addAWSEntries(keys, cp, peerEnd, ingress)
			if len(keys) > awsEntryLimit {
				return len(keys)
			}
		}
	}
	return len(keys)
}

func (e *Engine) addAWSEntries(keys map[awsEntryKey]bool, cp *compiledCluster, peerEnd Endpoint, ingress bool) {
	rules := cp.egress
	if ingress {
		rules = cp.ingress
	}
	priority := cp.p.Priority
	if cp.p.Tier == model.TierBaseline {
		priority += 2000
	}
	for ri := range rules {
		cr := &rules[ri]
		if !e.anyClusterPeerMayMatch(cr, peerEnd) {
			continue
		}
		if cr.rule.Ports == nil {
			keys[awsEntryKey{priority: priority, action: cr.rule.Action}] = true
			continue
		}
		for _, p := range cr.rule.Ports {
			k := awsEntryKey{protocol: p.Protocol, start: p.Port, priority: priority, action: cr.rule.Action}
			if p.EndPort != p.Port {
				k.end = p.EndPort
			}
			keys[k] = true
		}
	}
}

func (e *Engine) anyClusterPeerMayMatch(cr *compiledClusterRule, ep Endpoint) bool {
	for j := range cr.peers {
		if e.clusterPeerMatch(&cr.peers[j], ep) != matchNo {
			return true
		}
	}
	return false
}

// awsOverflow reports whether the agent may have dropped entries for the
// flow's peer on this side; compiled once, checked only where a pod's
// policies hold more entries than the limit at all.
func (e *Engine) awsOverflow(f Flow, ingress bool) bool {
	if !e.awsMayOverflow {
		return false
	}
	subject, peerEnd := f.From, f.To
	if ingress {
		subject, peerEnd = f.To, f.From
	}
	return e.awsEntries(e.indexOf(subject), peerEnd, ingress) > awsEntryLimit
}

// findAWSOverflow sets awsMayOverflow when the agent's policies selecting
// some pod hold more entries, every address and direction together, than
// one address may: only then is a flow's own count needed.
func (e *Engine) findAWSOverflow() {
	for i := range e.model.Pods {
		n := 0
		for _, index := range []*tierIndex{&e.adminOf, &e.baselineOf} {
			for _, lists := range [][][]int32{index.ingress, index.egress} {
				if lists == nil {
					continue
				}
				for _, pi := range lists[i] {
					n += awsRuleEntries(e.cluster[pi])
				}
			}
		}
		if n > awsEntryLimit {
			e.awsMayOverflow = true
			return
		}
	}
}

func awsRuleEntries(cp *compiledCluster) int {
	if cp.p.Family != model.FamilyAWS {
		return 0
	}
	n := 0
	for _, rules := range [][]compiledClusterRule{cp.ingress, cp.egress} {
		for ri := range rules {
			n += max(1, len(rules[ri].rule.Ports))
		}
	}
	return n
}

// strictDefault is what a side gets from the EKS agent when no tier
// decides it: in strict mode a pod that no NetworkPolicy selects (either
// direction) keeps the DEFAULT_DENY state.
func (e *Engine) strictDefault(ep Endpoint) outcomes {
	mode := e.model.AWSPolicyMode
	if mode != model.AWSModeStrict && mode != model.AWSModeUnknown {
		return outAllow
	}
	if ep.Pod == nil || ep.Pod.HostNetwork {
		return outAllow
	}
	idx := e.indexOf(ep)
	if len(e.ingressOf[idx]) > 0 || len(e.egressOf[idx]) > 0 {
		return outAllow
	}
	if mode == model.AWSModeStrict {
		return outDeny
	}
	return outAllow | outDeny
}

// strictReason explains a side the strict mode decided or left open.
func strictReason(mode string) string {
	if mode == model.AWSModeStrict {
		return "the EKS network policy agent runs in strict mode and no NetworkPolicy selects the pod"
	}
	return fmt.Sprintf("the EKS network policy agent's enforcing mode could not be read; in %s mode a pod no NetworkPolicy selects is denied", model.AWSModeStrict)
}
