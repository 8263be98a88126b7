package doctor

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/pkg/policy"
)

// CheckKubeRouterDeviations flags policies whose enforcement by kube-router
// differs from the API's semantics (ENGINE-006, ENGINE-007). Both were
// found by the differential test (test/e2e/differential_test.go) and
// reproduced by hand; explain and probe follow the API, so on these
// policies probe reports mismatches.
func CheckKubeRouterDeviations(s *Snapshot, engines []Engine) []Finding {
	if !hasEngine(engines, "kube-router") {
		return nil
	}
	var out []Finding
	for i := range s.Policies {
		np := &s.Policies[i]
		subject := np.Namespace + "/" + np.Name
		if pairs := sharedChainPairs(s, np); len(pairs) > 0 {
			out = append(out, Finding{ID: "ENGINE-006", Severity: Warn, Subject: subject,
				Message: fmt.Sprintf("kube-router evaluates a policy's ingress and egress rules in one chain: %s isolates the egress of the pods it selects, yet its ingress rules let them reach each other (%s) even where no egress rule allows it",
					np.Name, strings.Join(pairs, ", ")),
				Fix: "split the policy: one with policyTypes [Egress] and the egress rules, one with the ingress rules (kube-router then enforces both)"})
		}
		for _, where := range mergedIPBlocks(np) {
			out = append(out, Finding{ID: "ENGINE-007", Severity: Warn, Subject: subject + " " + where,
				Message: fmt.Sprintf("kube-router applies every except of %s to all of that rule's ipBlocks (one ipset, longest prefix wins), so addresses another ipBlock of the rule includes are denied", where),
				Fix:     "put each ipBlock that has an except in a rule of its own (peers of different rules are not merged)"})
		}
	}
	return out
}

// sharedChainPairs lists "a -> b" for pods a, b both selected by an
// egress-isolating policy whose own ingress rules admit a into b.
func sharedChainPairs(s *Snapshot, np *networkingv1.NetworkPolicy) []string {
	_, egress := policy.PolicyTypes(np)
	if !egress || len(np.Spec.Ingress) == 0 {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return nil
	}
	var selected []corev1.Pod
	for _, p := range s.Pods {
		if p.Namespace == np.Namespace && !p.Spec.HostNetwork && sel.Matches(labels.Set(p.Labels)) {
			selected = append(selected, p)
		}
	}
	nsLabels := map[string]labels.Set{}
	for _, ns := range s.Namespaces {
		nsLabels[ns.Name] = labels.Set(ns.Labels)
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range selected {
		for _, b := range selected {
			if a.Name == b.Name {
				continue
			}
			for _, rule := range np.Spec.Ingress {
				if peersAdmit(rule.From, a, np.Namespace, nsLabels) {
					pair := fmt.Sprintf("%s -> %s", a.Name, b.Name)
					if !seen[pair] {
						seen[pair] = true
						out = append(out, pair)
					}
					break
				}
			}
		}
	}
	sort.Strings(out)
	if len(out) > 3 {
		out = append(out[:3], fmt.Sprintf("%d more", len(out)-3))
	}
	return out
}

// peersAdmit: an empty peer list admits everyone; otherwise some peer
// matches the pod (selectors, or an ipBlock holding its IP).
func peersAdmit(peers []networkingv1.NetworkPolicyPeer, pod corev1.Pod, policyNS string, nsLabels map[string]labels.Set) bool {
	if len(peers) == 0 {
		return true
	}
	for _, peer := range peers {
		if peer.IPBlock != nil {
			if ipBlockHolds(peer.IPBlock, pod.Status.PodIP) {
				return true
			}
			continue
		}
		nsOK := pod.Namespace == policyNS
		if peer.NamespaceSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
			nsOK = err == nil && sel.Matches(nsLabels[pod.Namespace])
		}
		podOK := true
		if peer.PodSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
			podOK = err == nil && sel.Matches(labels.Set(pod.Labels))
		}
		if nsOK && podOK {
			return true
		}
	}
	return false
}

func ipBlockHolds(b *networkingv1.IPBlock, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !cidr.Contains(addr) {
		return false
	}
	for _, e := range b.Except {
		if ex, err := netip.ParsePrefix(e); err == nil && ex.Contains(addr) {
			return false
		}
	}
	return true
}

// mergedIPBlocks names the rules ("ingress[0]") with an except of one
// ipBlock inside another ipBlock's CIDR.
func mergedIPBlocks(np *networkingv1.NetworkPolicy) []string {
	var out []string
	check := func(where string, peers []networkingv1.NetworkPolicyPeer) {
		for i, p := range peers {
			if p.IPBlock == nil {
				continue
			}
			for _, e := range p.IPBlock.Except {
				ex, err := netip.ParsePrefix(e)
				if err != nil {
					continue
				}
				for j, q := range peers {
					if j == i || q.IPBlock == nil {
						continue
					}
					if cidr, err := netip.ParsePrefix(q.IPBlock.CIDR); err == nil && cidr.Masked().Contains(ex.Masked().Addr()) && ex.Bits() > cidr.Bits() {
						out = append(out, where)
						return
					}
				}
			}
		}
	}
	for i, r := range np.Spec.Ingress {
		check(fmt.Sprintf("ingress[%d]", i), r.From)
	}
	for i, r := range np.Spec.Egress {
		check(fmt.Sprintf("egress[%d]", i), r.To)
	}
	return out
}
