package doctor

import (
	"fmt"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// checkKubeRouterDeviations flags policies whose enforcement by kube-router
// differs from the API's semantics (ENGINE-006, ENGINE-007, ENGINE-008).
// All were found by the differential test (test/e2e/differential_test.go)
// and reproduced by hand; explain and probe follow the API, so on these
// policies probe reports mismatches.
func checkKubeRouterDeviations(s *Snapshot, cfg *config.Config, engines []Engine) []Finding {
	if !hasEngine(engines, "kube-router") {
		return nil
	}
	var out []Finding
	for i := range s.Policies {
		np := &s.Policies[i]
		if cfg.FindNamespace(np.Namespace) == nil {
			continue // doctor checks the app namespaces, like its other checks
		}
		subject := np.Namespace + "/" + np.Name
		for _, f := range sharedChainFindings(s, np) {
			f.Subject = subject + " " + f.Subject
			out = append(out, f)
		}
		for _, where := range mergedIPBlocks(np) {
			out = append(out, Finding{ID: "ENGINE-007", Severity: Warn, Subject: subject + " " + where,
				Message: fmt.Sprintf("kube-router applies every except of %s to all of that rule's ipBlocks (one ipset, longest prefix wins), so addresses another ipBlock of the rule includes are denied", where),
				Fix:     "put each ipBlock that has an except in a rule of its own (peers of different rules are not merged)"})
		}
		for i, r := range np.Spec.Egress {
			if !hasNamedPort(r.Ports) {
				continue
			}
			switch {
			case len(r.To) == 0:
				out = append(out, Finding{ID: "ENGINE-008", Severity: Warn, Subject: fmt.Sprintf("%s egress[%d]", subject, i),
					Message: fmt.Sprintf("egress[%d] allows named ports to every destination: kube-router turns each name into the numbers the namespace's pods give it and allows those numbers to every destination, outside the cluster too, not only to pods that declare the name", i),
					Fix:     "list the destination pods with selectors, or use port numbers"})
			case hasIPBlock(r.To):
				out = append(out, Finding{ID: "ENGINE-008", Severity: Warn, Subject: fmt.Sprintf("%s egress[%d]", subject, i),
					Message: fmt.Sprintf("egress[%d] combines named ports with ipBlock peers: kube-router resolves named ports only on the pods a rule's selectors pick, so pods reached through the ipBlock are denied on those ports", i),
					Fix:     "use port numbers for the ipBlock peers, or select those pods with pod/namespace selectors"})
			}
		}
	}
	return out
}

// sharedChainFindings: kube-router keeps a policy's ingress and egress
// rules in one chain, so a policy isolating both directions also accepts,
// during the egress check of its pods, on its ingress rules (source in the
// peers, destination among its pods), and during their ingress check on
// its egress rules (source among its pods, destination in the peers).
func sharedChainFindings(s *Snapshot, np *networkingv1.NetworkPolicy) []Finding {
	ingress, egress := policy.PolicyTypes(np)
	if !ingress || !egress {
		return nil
	}
	e := s.Engine()
	var selected []*model.Pod
	for _, p := range e.Selected(np) {
		if !p.HostNetwork {
			selected = append(selected, p)
		}
	}
	if len(selected) < 2 {
		return nil // a pod reaching itself is always allowed
	}
	matching := func(ingress bool, rule int) []string {
		var names []string
		for _, p := range selected {
			if e.RuleAdmits(np, ingress, rule, p) {
				names = append(names, p.Name)
			}
		}
		sort.Strings(names)
		if len(names) > 3 {
			names = append(names[:3], fmt.Sprintf("%d more", len(names)-3))
		}
		return names
	}
	var out []Finding
	for i, r := range np.Spec.Ingress {
		if pods := matching(true, i); len(pods) > 0 {
			out = append(out, Finding{ID: "ENGINE-006", Severity: Warn, Subject: fmt.Sprintf("ingress[%d]", i),
				Message: fmt.Sprintf("kube-router evaluates a policy's ingress and egress rules in one chain: %s isolates the egress of its pods, yet its ingress[%d] admits %s, so their egress to the policy's pods on %s is accepted even where no egress rule allows it",
					np.Name, i, strings.Join(pods, ", "), policy.DescribePorts(r.Ports)),
				Fix: "split the policy: one with policyTypes [Egress] and the egress rules, one with policyTypes [Ingress] and the ingress rules"})
		}
	}
	for i, r := range np.Spec.Egress {
		if pods := matching(false, i); len(pods) > 0 {
			out = append(out, Finding{ID: "ENGINE-006", Severity: Warn, Subject: fmt.Sprintf("egress[%d]", i),
				Message: fmt.Sprintf("kube-router evaluates a policy's ingress and egress rules in one chain: %s isolates the ingress of its pods, yet its egress[%d] lets them reach %s, so that ingress from the policy's pods on %s is accepted even where no ingress rule allows it",
					np.Name, i, strings.Join(pods, ", "), policy.DescribePorts(r.Ports)),
				Fix: "split the policy: one with policyTypes [Egress] and the egress rules, one with policyTypes [Ingress] and the ingress rules"})
		}
	}
	return out
}

func hasNamedPort(ports []networkingv1.NetworkPolicyPort) bool {
	for _, p := range ports {
		if p.Port != nil && p.Port.Type == intstr.String {
			return true
		}
	}
	return false
}

func hasIPBlock(peers []networkingv1.NetworkPolicyPeer) bool {
	for _, p := range peers {
		if p.IPBlock != nil {
			return true
		}
	}
	return false
}

// mergedIPBlocks names the rules ("ingress[0]") with an except of one
// ipBlock inside another ipBlock's CIDR.
func mergedIPBlocks(np *networkingv1.NetworkPolicy) []string {
	var out []string
	for i, r := range np.Spec.Ingress {
		if policy.OverlappingExcepts(r.From) {
			out = append(out, fmt.Sprintf("ingress[%d]", i))
		}
	}
	for i, r := range np.Spec.Egress {
		if policy.OverlappingExcepts(r.To) {
			out = append(out, fmt.Sprintf("egress[%d]", i))
		}
	}
	return out
}
