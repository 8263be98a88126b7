package verify

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

func verifyModel() *model.Model {
	pod := func(ns, name, app, ip string) *model.Pod {
		return &model.Pod{Namespace: ns, Name: name, Labels: map[string]string{"app": app}, IPs: []netip.Addr{netip.MustParseAddr(ip)},
			Phase: corev1.PodRunning, Ready: true, Owner: &model.Owner{Kind: "deployment", Name: app},
			Ports: []model.ContainerPort{{Name: "http", Port: 3001, Protocol: corev1.ProtocolTCP}}}
	}
	m := &model.Model{Pods: []*model.Pod{pod("backend-dev", "backend-1", "backend", "198.18.0.5"), pod("frontend-dev", "frontend-1", "frontend", "198.18.0.6")}}
	m.Normalize()
	return m
}

// What a phase changes: the landed policies replace same-named ones, the
// external ipBlocks become checks where the verdict changes, and DNS is
// looked up when a phase opens port 53.
func TestVerifyPhaseChanges(t *testing.T) {
	before := verifyModel()
	denyEgress := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "backend-dev", Name: "deny-all"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}
	isolated := policy.After(before, map[string][]*networkingv1.NetworkPolicy{"backend-dev": {denyEgress}}, nil)
	if len(before.Policies) != 0 || len(isolated.Policies) != 1 {
		t.Fatalf("withNamespacePolicies must not touch its input: %d %d", len(before.Policies), len(isolated.Policies))
	}
	port80, tcp := intstr.FromInt32(80), corev1.ProtocolTCP
	external := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "backend-dev", Name: "allow-egress-external"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "backend"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "198.51.100.0/24"}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: &port80, Protocol: &tcp}, {Protocol: &tcp}}, // no port: not probed
			}}}}
	after := policy.After(isolated, map[string][]*networkingv1.NetworkPolicy{"backend-dev": {denyEgress, external}}, nil)
	pairs := externalPairs(policy.New(isolated), policy.New(after), after, "backend-dev", []*networkingv1.NetworkPolicy{external})
	var got []string
	for _, p := range pairs {
		got = append(got, fmt.Sprintf("%s -> %s:%d", p.From.Key(), p.ToIP, p.Port))
	}
	if diff := cmp.Diff([]string{"backend-dev/backend-1 -> 198.51.100.1:80"}, got); diff != "" {
		t.Errorf("external pairs (-want +got):\n%s", diff)
	}
	// The namespace's policies are replaced as a whole (a pruned one goes).
	again := policy.After(after, map[string][]*networkingv1.NetworkPolicy{"backend-dev": {external.DeepCopy()}}, nil)
	if len(again.Policies) != 1 {
		t.Errorf("policies after replacing the namespace's: %d", len(again.Policies))
	}
	// Already allowed before the phase: nothing to probe.
	if p := externalPairs(policy.New(before), policy.New(policy.After(before, map[string][]*networkingv1.NetworkPolicy{"backend-dev": {external}}, nil)), after, "backend-dev", nil); len(p) != 0 {
		t.Errorf("no landed policy, no pairs: %v", p)
	}

	port53 := intstr.FromInt32(53)
	dns := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &port53}}}}}}
	if !touchesDNS(nil, []*networkingv1.NetworkPolicy{dns}) || touchesDNS(nil, []*networkingv1.NetworkPolicy{external}) || !touchesDNS([]policy.FlowChange{{Port: 53}}, nil) {
		t.Error("touchesDNS")
	}
}

func TestKeepChecks(t *testing.T) {
	plans := []probe.SourcePlan{{Checks: []probe.Planned{
		{Check: probe.Check{ID: "0", Kind: probe.KindTCP}, From: "a/x", To: "b/y", PortLabel: "80/TCP"},
		{Check: probe.Check{ID: "1", Kind: probe.KindTCP}, From: "a/x", To: "b/y", PortLabel: "443/TCP"},
	}}, {Checks: []probe.Planned{{Check: probe.Check{ID: "0", Kind: probe.KindTCP}, From: "c/z", To: "b/y", PortLabel: "80/TCP"}}}}
	kept := keepChecks(plans, []string{"a/x|b/y|443/TCP|tcp"})
	if len(kept) != 1 || len(kept[0].Checks) != 1 || kept[0].Checks[0].PortLabel != "443/TCP" || kept[0].Checks[0].ID != "0" {
		t.Errorf("kept %+v", kept)
	}
}
