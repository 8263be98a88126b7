package ciliumref

// Kubernetes NetworkPolicy as Cilium converts it into its own rules.
//
// Source: pkg/k8s/network_policy.go (newest, returning types.PolicyEntries):
//   - the subject is podSelector (keys with source k8s) plus
//     k8s:io.kubernetes.pod.namespace=<ns>;
//   - a peer with a namespaceSelector becomes
//     {k8s:io.cilium.k8s.namespace.labels.<key>..., podSelector...,
//     k8s:io.cilium.k8s.policy.cluster=<cluster>}; an empty namespaceSelector
//     becomes "k8s:io.kubernetes.pod.namespace Exists"; a peer with only a
//     podSelector gets the policy's namespace; ipBlock becomes a CIDR
//     selector (so, under Cilium, never a pod);
//   - a rule without from/to matches every peer (types.WildcardSelector,
//     world included); ports apply to every peer of the rule; a port without
//     protocol is TCP, without number is every port ("0"), endPort makes a
//     range, a string is a named port;
//   - every K8s rule has DefaultDeny=true; an empty ingress list becomes one
//     rule selecting nothing when policyTypes has Ingress or lacks Egress,
//     and an empty egress list likewise when policyTypes has Egress. Note
//     that the ingress/egress lists are converted whatever policyTypes says.

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (ctx *evalCtx) compileKNP(obj map[string]any) error {
	var np networkingv1.NetworkPolicy
	if err := decodeInto(obj, &np); err != nil {
		return err
	}
	ns := np.Namespace
	if ns == "" {
		ns = "default"
	}
	origin := policyName("NetworkPolicy", ns, np.Name)
	subject, err := k8sSelector(toRaw(&np.Spec.PodSelector))
	if err != nil {
		return fmt.Errorf("%s podSelector: %w", origin, err)
	}
	subject.addMatch("k8s", nsLabel, ns)
	cr := compiledRule{origin: origin, subject: subject, defaultDeny: [2]bool{true, true}}
	for i, r := range np.Spec.Ingress {
		entries, err := ctx.knpEntries(r.From, r.Ports, ns, fmt.Sprintf("%s ingress[%d]", origin, i))
		if err != nil {
			return err
		}
		cr.allows[dirIngress] = append(cr.allows[dirIngress], entries...)
	}
	for i, r := range np.Spec.Egress {
		entries, err := ctx.knpEntries(r.To, r.Ports, ns, fmt.Sprintf("%s egress[%d]", origin, i))
		if err != nil {
			return err
		}
		cr.allows[dirEgress] = append(cr.allows[dirEgress], entries...)
	}
	hasIngress, hasEgress := hasPolicyType(np.Spec.PolicyTypes, "Ingress"), hasPolicyType(np.Spec.PolicyTypes, "Egress")
	if len(cr.allows[dirIngress]) == 0 && (hasIngress || !hasEgress) {
		cr.allows[dirIngress] = []entry{{desc: origin + " (ingress default deny)"}}
	}
	if len(cr.allows[dirEgress]) == 0 && hasEgress {
		cr.allows[dirEgress] = []entry{{desc: origin + " (egress default deny)"}}
	}
	ctx.rules = append(ctx.rules, cr)
	return nil
}

func hasPolicyType(types []networkingv1.PolicyType, t string) bool {
	for _, x := range types {
		if string(x) == t {
			return true
		}
	}
	return false
}

// toRaw converts a metav1 selector into the evaluator's raw form.
func toRaw(ls *metav1.LabelSelector) *rawLabelSelector {
	if ls == nil {
		return nil
	}
	raw := &rawLabelSelector{MatchLabels: ls.MatchLabels}
	for _, e := range ls.MatchExpressions {
		raw.MatchExpressions = append(raw.MatchExpressions, struct {
			Key      string   `json:"key"`
			Operator string   `json:"operator"`
			Values   []string `json:"values,omitempty"`
		}{Key: e.Key, Operator: string(e.Operator), Values: e.Values})
	}
	return raw
}

// knpEntries converts one K8s rule: one entry per peer (or one wildcard
// entry), all sharing the rule's ports.
func (ctx *evalCtx) knpEntries(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, ns, desc string) ([]entry, error) {
	l4, err := knpPorts(ports)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", desc, err)
	}
	base := entry{desc: desc, hasL4: len(l4) > 0, ports: l4}
	if len(peers) == 0 {
		// FromEndpoints/ToEndpoints in Cilium's conversion, so requirements
		// of CNP rules selecting the same pod fold into it (requires.go).
		base.peers = []peer{{kind: peerSelector, sel: selector{matchLabels: map[string]string{}}, endpoints: true}}
		return []entry{base}, nil
	}
	var out []entry
	for i, p := range peers {
		e := base
		e.desc = fmt.Sprintf("%s peer[%d]", desc, i)
		e.peers = nil
		if p.NamespaceSelector != nil || p.PodSelector != nil {
			sel, err := ctx.knpPeerSelector(p, ns)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.desc, err)
			}
			e.peers = append(e.peers, peer{kind: peerSelector, sel: sel, endpoints: true})
		}
		if p.IPBlock != nil {
			cidr := cidrRule{Cidr: p.IPBlock.CIDR, Except: p.IPBlock.Except}
			if err := validateCIDRs(nil, []cidrRule{cidr}); err != nil {
				return nil, fmt.Errorf("%s: %w", e.desc, err)
			}
			e.peers = append(e.peers, cidrPeers(nil, []cidrRule{cidr})...)
		}
		out = append(out, e)
	}
	return out, nil
}

// knpPeerSelector is parseNetworkPolicyPeer.
func (ctx *evalCtx) knpPeerSelector(p networkingv1.NetworkPolicyPeer, ns string) (selector, error) {
	pod, err := k8sSelector(toRaw(p.PodSelector))
	if err != nil {
		return pod, err
	}
	if !pod.hasKey("k8s", "io.cilium.k8s.policy.cluster") {
		pod.addMatch("k8s", "io.cilium.k8s.policy.cluster", ctx.clusterName)
	}
	if p.NamespaceSelector == nil {
		pod.addMatch("k8s", nsLabel, ns)
		return pod, nil
	}
	nsSel, err := k8sSelector(toRaw(p.NamespaceSelector))
	if err != nil {
		return pod, err
	}
	out := pod.clone()
	for _, r := range nsSel.requirements() {
		r.key = nsLabelPrefix + "." + r.key
		if r.op == "In" && len(r.values) == 1 {
			out.addMatch(r.source, r.key, r.values[0])
			continue
		}
		out.exprs = append(out.exprs, r)
	}
	if nsSel.isWildcard() {
		out.addExists("k8s", nsLabel)
	}
	return out, nil
}

// knpPorts is parsePorts.
func knpPorts(ports []networkingv1.NetworkPolicyPort) ([]portProto, error) {
	var out []portProto
	for _, p := range ports {
		proto := "TCP"
		if p.Protocol != nil {
			var err error
			if proto, err = parseProto(string(*p.Protocol)); err != nil {
				return nil, err
			}
		}
		pp := portProto{proto: proto}
		if p.Port != nil {
			port, name, err := parsePort(p.Port.String())
			if err != nil {
				return nil, err
			}
			pp.port, pp.name = port, name
		}
		if p.EndPort != nil {
			pp.endPort = *p.EndPort
		}
		out = append(out, pp)
	}
	return out, nil
}
