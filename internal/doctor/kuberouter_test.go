package doctor

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
)

func TestKubeRouterDeviations(t *testing.T) {
	pod := func(name, ip string, l map[string]string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: l}, Status: corev1.PodStatus{PodIP: ip}}
	}
	pods := []corev1.Pod{pod("a", "198.18.0.2", map[string]string{"role": "a"}), pod("b", "198.18.0.3", map[string]string{"role": "b"})}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	np := func(name string, spec networkingv1.NetworkPolicySpec) networkingv1.NetworkPolicy {
		return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: spec}
	}
	all := metav1.LabelSelector{}
	ipb := func(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
	}
	cases := []struct {
		name string
		np   networkingv1.NetworkPolicy
		want []string
	}{
		{"egress isolated, ingress from the namespace's pods: shared chain", np("p", networkingv1.NetworkPolicySpec{PodSelector: all, PolicyTypes: both,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &all}}}}}), []string{"ENGINE-006 ns/p ingress[0]"}},
		{"ingress only: nothing to bypass", np("p", networkingv1.NetworkPolicySpec{PodSelector: all,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &all}}}}}), nil},
		{"egress isolated, the ingress rule admits none of its pods", np("p", networkingv1.NetworkPolicySpec{PodSelector: all, PolicyTypes: both,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "c"}}}}}}}), nil},
		{"ipBlock peer holding a's IP", np("p", networkingv1.NetworkPolicySpec{PodSelector: all, PolicyTypes: both,
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{ipb("198.18.0.2/32")}}}}), []string{"ENGINE-006 ns/p ingress[0]"}},
		{"two ipBlocks, an except of one inside the other", np("p", networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"role": "b"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{ipb("198.18.0.0/16"), ipb("198.18.0.0/30", "198.18.0.2/32")}}}}), []string{"ENGINE-007 ns/p ingress[0]"}},
		{"the same ipBlocks in two rules", np("p", networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"role": "b"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{ipb("198.18.0.0/16")}}, {From: []networkingv1.NetworkPolicyPeer{ipb("198.18.0.0/30", "198.18.0.2/32")}}}}), nil},
		{"excepts inside their own ipBlock only", np("p", networkingv1.NetworkPolicySpec{PodSelector: all, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{ipb("10.0.0.0/8", "10.1.0.0/16"), ipb("192.168.0.0/16")}}}}), nil},
	}
	http := intstr.FromString("http")
	cases = append(cases, []struct {
		name string
		np   networkingv1.NetworkPolicy
		want []string
	}{
		{"policyTypes [Egress] with a leftover ingress rule: ignored, as the API says", np("p", networkingv1.NetworkPolicySpec{PodSelector: all, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}), nil},
		{"both directions, an egress rule to its own pods", np("p", networkingv1.NetworkPolicySpec{PodSelector: all, PolicyTypes: both,
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "b"}}}}}}}), []string{"ENGINE-006 ns/p egress[0]"}},
		{"named port to every destination", np("p", networkingv1.NetworkPolicySpec{PodSelector: all, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &http}}}}}), []string{"ENGINE-008 ns/p egress[0]"}},
		{"named port to selected pods: fine", np("p", networkingv1.NetworkPolicySpec{PodSelector: all, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &all}}, Ports: []networkingv1.NetworkPolicyPort{{Port: &http}}}}}), nil},
		{"named port towards an ipBlock", np("p", networkingv1.NetworkPolicySpec{PodSelector: all, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{ipb("198.18.0.0/16")}, Ports: []networkingv1.NetworkPolicyPort{{Port: &http}}}}}), []string{"ENGINE-008 ns/p egress[0]"}},
	}...)
	kr := []Engine{{Name: "kube-router"}}
	cfg := config.Default()
	cfg.Namespaces = append(cfg.Namespaces, config.Namespace{Name: "ns"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Pods: pods, Policies: []networkingv1.NetworkPolicy{tc.np}}
			var got []string
			for _, f := range checkKubeRouterDeviations(s, cfg, kr) {
				got = append(got, f.ID+" "+f.Subject)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if fs := checkKubeRouterDeviations(s, cfg, []Engine{{Name: "Calico"}}); len(fs) != 0 {
				t.Errorf("only kube-router deviates: %+v", fs)
			}
		})
	}
}
