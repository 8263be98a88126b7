//go:build e2e

package e2e

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// kube-router's departures from the NetworkPolicy API that the
// differential test found, each reproduced by hand on the local cluster
// and flagged by doctor (ENGINE-006/007/008). The engine follows the API;
// this file models kube-router so that a disagreement it accounts for is
// reported as that deviation rather than as an engine bug. Anything it
// does not account for fails the test.
const (
	// Each NetworkPolicy is one iptables chain holding its ingress rules
	// (source in the peers, destination among the policy's pods) and its
	// egress rules (source among its pods, destination in the peers), for
	// the directions in its policyTypes; a pod's egress check jumps to the
	// chains of the policies isolating its egress, its ingress check to
	// those isolating its ingress, and any rule in a chain accepts. So a
	// policy isolating both directions lets its ingress rules accept during
	// the egress check of its own pods, and its egress rules during the
	// ingress check. By hand: pods a, b, one policy {podSelector: {},
	// policyTypes: [Ingress, Egress], ingress: [{from: [{podSelector: {}}]}]}:
	// a -> b connects although a's egress is isolated with no egress rule
	// (with the egress isolation in a separate policy it is dropped); and
	// {podSelector: {}, policyTypes: [Ingress, Egress], egress: [{to:
	// [{podSelector: {role: b}}]}]}: a -> b connects although b's ingress is
	// isolated with no ingress rule. With only one direction in policyTypes
	// the other direction's rules are ignored, as the API says.
	sharedChainDeviation = "kube-router-shared-policy-chain"
	// The ipBlocks of one rule share one ipset with their excepts as
	// "nomatch" entries, longest prefix winning: an except of one ipBlock
	// also removes those addresses from the rule's other ipBlocks. By
	// hand: from [{ipBlock: 198.18.0.0/16}, {ipBlock: A/30 except A/32}]
	// drops A; the same ipBlocks in two rules admit it.
	mergedIPBlockDeviation = "kube-router-merged-ipblock-except"
	// Named ports of an egress rule are resolved only on the pods its
	// selectors pick: a pod reached through an ipBlock peer never matches
	// a named port, although the API resolves it on the destination pod.
	namedPortIPBlockDeviation = "kube-router-named-port-ipblock"
	// Named ports of an egress rule without peers (every destination) are
	// turned into the numbers they name on the policy namespace's pods,
	// and those numbers are allowed to every destination, outside the
	// cluster too, whereas the API resolves the name on each destination
	// pod (and never on an outside address). By hand: egress [{ports:
	// [{port: metrics}]}] from a pod declaring metrics=8080 reaches another
	// pod's 8080 that is not named metrics.
	namedPortAnywhereDeviation = "kube-router-named-port-any-destination"
)

type kubeRouterModel struct {
	m           *model.Model
	api         *policy.Engine
	alone       map[string]*policy.Engine // each rewrite on its own
	transformed *policy.Engine            // all of them
	tm          *model.Model              // the model with all of them
}

type rewrite struct{ merge, namedIPBlock, namedAnywhere bool }

func newKubeRouterModel(m *model.Model) *kubeRouterModel {
	k := &kubeRouterModel{m: m, api: policy.New(m),
		alone: map[string]*policy.Engine{
			mergedIPBlockDeviation:     policy.New(rewritePolicies(m, rewrite{merge: true})),
			namedPortIPBlockDeviation:  policy.New(rewritePolicies(m, rewrite{namedIPBlock: true})),
			namedPortAnywhereDeviation: policy.New(rewritePolicies(m, rewrite{namedAnywhere: true})),
		},
	}
	k.tm = rewritePolicies(m, rewrite{true, true, true})
	k.transformed = policy.New(k.tm)
	return k
}

// explain names the deviation that makes kube-router's verdict the
// observed one, or "" when the model does not account for it.
func (k *kubeRouterModel) explain(f policy.Flow, observed string) string {
	want := policy.Verdict(observed)
	if k.api.Evaluate(f, false).Verdict == want {
		return ""
	}
	var names []string
	for _, name := range []string{mergedIPBlockDeviation, namedPortIPBlockDeviation, namedPortAnywhereDeviation} {
		if k.alone[name].Evaluate(f, false).Verdict == want {
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		return strings.Join(names, "+")
	}
	if k.transformed.Evaluate(f, false).Verdict == want {
		return "kube-router-rewrites-combined"
	}
	if k.sharedChain(k.api, k.m, f) == want {
		return sharedChainDeviation
	}
	if k.sharedChain(k.transformed, k.tm, f) == want {
		return sharedChainDeviation + "+rewrites"
	}
	return ""
}

// sharedChain is the verdict with the other direction's rules of each
// policy isolating both directions also accepting.
func (k *kubeRouterModel) sharedChain(e *policy.Engine, m *model.Model, f policy.Flow) policy.Verdict {
	r := e.Evaluate(f, true)
	egressOK := r.Egress == nil || r.Egress.Allows()
	if !egressOK {
		for _, name := range r.Egress.IsolatedBy {
			np := policyNamed(m, f.From.Pod.Namespace, name)
			if np == nil || f.To.Pod == nil || !k.targets(np, f.To.Pod) {
				continue
			}
			if in, _ := policy.PolicyTypes(np); !in {
				continue
			}
			for _, rule := range np.Spec.Ingress {
				if k.peersMatch(rule.From, np.Namespace, f.From) && portsMatch(rule.Ports, f) {
					egressOK = true
				}
			}
		}
	}
	ingressOK := r.Ingress == nil || r.Ingress.Allows()
	if !ingressOK {
		for _, name := range r.Ingress.IsolatedBy {
			np := policyNamed(m, f.To.Pod.Namespace, name)
			if np == nil || !k.targets(np, f.From.Pod) {
				continue
			}
			if _, eg := policy.PolicyTypes(np); !eg {
				continue
			}
			for _, rule := range np.Spec.Egress {
				if k.peersMatch(rule.To, np.Namespace, f.To) && portsMatch(rule.Ports, f) {
					ingressOK = true
				}
			}
		}
	}
	if egressOK && ingressOK {
		return policy.Allowed
	}
	return policy.Denied
}

// targets: the policy selects the pod.
func (k *kubeRouterModel) targets(np *networkingv1.NetworkPolicy, p *model.Pod) bool {
	return p.Namespace == np.Namespace && selects(&np.Spec.PodSelector, p.Labels)
}

func policyNamed(m *model.Model, ns, name string) *networkingv1.NetworkPolicy {
	for _, np := range m.Policies {
		if np.Namespace == ns && np.Name == name {
			return np
		}
	}
	return nil
}

func (k *kubeRouterModel) peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNS string, ep policy.Endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	addr := ep.IP
	if ep.Pod != nil && len(ep.Pod.IPs) > 0 {
		addr = ep.Pod.IPs[0]
	}
	for _, p := range peers {
		if p.IPBlock != nil {
			if inIPBlock(p.IPBlock, addr) {
				return true
			}
			continue
		}
		if ep.Pod == nil {
			continue
		}
		nsOK := ep.Pod.Namespace == policyNS
		if p.NamespaceSelector != nil {
			ns := k.m.Namespace(ep.Pod.Namespace)
			nsOK = ns != nil && selects(p.NamespaceSelector, ns.Labels)
		}
		if nsOK && (p.PodSelector == nil || selects(p.PodSelector, ep.Pod.Labels)) {
			return true
		}
	}
	return false
}

func selects(ls *metav1.LabelSelector, l map[string]string) bool {
	sel, err := metav1.LabelSelectorAsSelector(ls)
	return err == nil && sel.Matches(labels.Set(l))
}

func inIPBlock(b *networkingv1.IPBlock, a netip.Addr) bool {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !a.IsValid() || !cidr.Masked().Contains(a) {
		return false
	}
	for _, e := range b.Except {
		if ex, err := netip.ParsePrefix(e); err == nil && ex.Masked().Contains(a) {
			return false
		}
	}
	return true
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, f policy.Flow) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != f.Protocol {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.IntValue() == 0: // named: resolved on the destination pod
			if f.To.Pod != nil {
				if n, ok := f.To.Pod.NamedPort(p.Port.String(), proto); ok && n == f.Port {
					return true
				}
			}
		case p.EndPort != nil:
			if f.Port >= int32(p.Port.IntValue()) && f.Port <= *p.EndPort {
				return true
			}
		case int32(p.Port.IntValue()) == f.Port:
			return true
		}
	}
	return false
}

// rewritePolicies rewrites the policies as kube-router enforces them:
// merge gives each ipBlock the narrower excepts of its rule's other
// ipBlocks (longest prefix wins); named drops named ports for an egress
// rule's ipBlock peers. policyTypes are made explicit so that dropping a
// rule never changes which pods are isolated.
func rewritePolicies(m *model.Model, rw rewrite) *model.Model {
	next := *m
	next.Policies = nil
	for _, np := range m.Policies {
		c := np.DeepCopy()
		in, eg := policy.PolicyTypes(np)
		c.Spec.PolicyTypes = nil
		if in {
			c.Spec.PolicyTypes = append(c.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		}
		if eg {
			c.Spec.PolicyTypes = append(c.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
		if rw.merge {
			for i := range c.Spec.Ingress {
				c.Spec.Ingress[i].From = mergeIPBlocks(c.Spec.Ingress[i].From)
			}
			for i := range c.Spec.Egress {
				c.Spec.Egress[i].To = mergeIPBlocks(c.Spec.Egress[i].To)
			}
		}
		if rw.namedIPBlock {
			var rules []networkingv1.NetworkPolicyEgressRule
			for _, r := range c.Spec.Egress {
				rules = append(rules, splitNamedPorts(r)...)
			}
			c.Spec.Egress = rules
		}
		if rw.namedAnywhere {
			var rules []networkingv1.NetworkPolicyEgressRule
			for _, r := range c.Spec.Egress {
				if r, ok := numberNamedPorts(r, m.PodsIn(np.Namespace)); ok {
					rules = append(rules, r)
				}
			}
			c.Spec.Egress = rules
		}
		next.Policies = append(next.Policies, c)
	}
	return &next
}

func mergeIPBlocks(peers []networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer {
	var excepts []netip.Prefix
	for _, p := range peers {
		if p.IPBlock != nil {
			for _, e := range p.IPBlock.Except {
				if pr, err := netip.ParsePrefix(e); err == nil {
					excepts = append(excepts, pr.Masked())
				}
			}
		}
	}
	out := make([]networkingv1.NetworkPolicyPeer, len(peers))
	for i, p := range peers {
		out[i] = p
		if p.IPBlock == nil {
			continue
		}
		cidr, err := netip.ParsePrefix(p.IPBlock.CIDR)
		if err != nil {
			continue
		}
		cidr = cidr.Masked()
		b := p.IPBlock.DeepCopy()
		seen := map[string]bool{}
		for _, e := range b.Except {
			seen[e] = true
		}
		for _, e := range excepts {
			if e.Bits() > cidr.Bits() && cidr.Contains(e.Addr()) && !seen[e.String()] {
				b.Except = append(b.Except, e.String())
				seen[e.String()] = true
			}
		}
		out[i].IPBlock = b
	}
	return out
}

// splitNamedPorts: an egress rule with ipBlock peers and named ports
// becomes one rule for its selector peers (every port) and one for its
// ipBlocks without the named ports (none if only named ports remain).
func splitNamedPorts(r networkingv1.NetworkPolicyEgressRule) []networkingv1.NetworkPolicyEgressRule {
	var selectors, blocks []networkingv1.NetworkPolicyPeer
	for _, p := range r.To {
		if p.IPBlock != nil {
			blocks = append(blocks, p)
		} else {
			selectors = append(selectors, p)
		}
	}
	var numbered []networkingv1.NetworkPolicyPort
	hasNamed := false
	for _, p := range r.Ports {
		if p.Port != nil && p.Port.IntValue() == 0 {
			hasNamed = true
			continue
		}
		numbered = append(numbered, p)
	}
	if len(blocks) == 0 || !hasNamed {
		return []networkingv1.NetworkPolicyEgressRule{r}
	}
	var out []networkingv1.NetworkPolicyEgressRule
	if len(selectors) > 0 {
		out = append(out, networkingv1.NetworkPolicyEgressRule{To: selectors, Ports: r.Ports})
	}
	if len(numbered) > 0 {
		out = append(out, networkingv1.NetworkPolicyEgressRule{To: blocks, Ports: numbered})
	}
	return out
}

// numberNamedPorts: a rule to every destination gets, for each named port,
// the numbers the policy namespace's pods give that name; a rule left with
// only unresolvable names matches nothing (ok false).
func numberNamedPorts(r networkingv1.NetworkPolicyEgressRule, pods []*model.Pod) (networkingv1.NetworkPolicyEgressRule, bool) {
	if len(r.To) > 0 || len(r.Ports) == 0 {
		return r, true
	}
	var ports []networkingv1.NetworkPolicyPort
	seen := map[string]bool{}
	for _, p := range r.Ports {
		if p.Port == nil || p.Port.IntValue() != 0 {
			ports = append(ports, p)
			continue
		}
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		for _, pod := range pods {
			if n, ok := pod.NamedPort(p.Port.String(), proto); ok && !seen[fmt.Sprint(n, proto)] {
				seen[fmt.Sprint(n, proto)] = true
				num, pr := intstr.FromInt32(n), proto
				ports = append(ports, networkingv1.NetworkPolicyPort{Port: &num, Protocol: &pr})
			}
		}
	}
	if len(ports) == 0 {
		return r, false
	}
	r.Ports = ports
	return r, true
}
