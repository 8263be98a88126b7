package probe

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

func checkLines(plans []SourcePlan) []string {
	var out []string
	for _, p := range plans {
		for _, c := range p.Checks {
			out = append(out, c.From+" -> "+c.To+" "+c.Kind+" "+c.Target+":"+strconv.Itoa(int(c.Port))+" "+c.PortLabel+" "+string(c.Expected))
		}
	}
	return out
}

func TestMatrixPairs(t *testing.T) {
	m := sampleModel(t)
	e := policy.New(m)
	pairs := MatrixPairs(e, m.Pods, m.PodsIn("b"))
	plans, skipped := PlanPairs(e, pairs, nil, time.Second)
	// client-2 stands for its group, the pending pod cannot run a probe,
	// and server-1 does not probe itself.
	want := []string{"a/client-1 -> b/server-1 tcp 10.0.1.1:3001 http (3001/TCP) allowed"}
	if diff := cmp.Diff(want, checkLines(plans)); diff != "" || len(skipped) != 0 {
		t.Errorf("(-want +got):\n%s\nskipped %v", diff, skipped)
	}
	if plans[0].Checks[0].TimeoutMS != 1000 || plans[0].Checks[0].ID != "0" {
		t.Errorf("check fields: %+v", plans[0].Checks[0])
	}
}

func TestChangePairs(t *testing.T) {
	before := sampleModel(t)
	after := sampleModel(t)
	after.Policies = []*networkingv1.NetworkPolicy{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "deny-all"},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}}
	after.Normalize()
	eb, ea := policy.New(before), policy.New(after)
	changes := policy.FlowChanges(eb, ea, map[string]bool{"b": true})
	pairs := ChangePairs(after, changes)
	// A pending source, an SCTP and a UDP port are reported as skipped.
	pending := after.Pod("a", "pending")
	server := after.Pod("b", "server-1")
	pairs = append(pairs, Pair{From: pending, To: server, Port: 3001, Protocol: corev1.ProtocolTCP},
		Pair{From: after.Pod("a", "client-1"), To: server, Port: 9, Protocol: corev1.ProtocolSCTP},
		Pair{From: after.Pod("a", "client-1"), To: server, Port: 9, Protocol: corev1.ProtocolUDP})
	plans, skipped := PlanPairs(ea, pairs, []string{"server.b.svc.cluster.local"}, time.Second)
	want := []string{
		"a/client-1 -> b/server-1 tcp 10.0.1.1:3001 http (3001/TCP) denied",
		"a/client-1 -> dns server.b.svc.cluster.local dns :0 53/UDP unspecified",
		"a/client-1 -> dns server.b.svc.cluster.local dns :0 53/TCP unspecified",
	}
	if diff := cmp.Diff(want, checkLines(plans)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(skipped) != 3 {
		t.Errorf("skipped: %+v", skipped)
	}
}

// A pod being deleted, alone or with its namespace, never runs a probe: it
// may vanish in the middle of the check (a canary namespace still
// terminating once made apply --verify fail).
func TestTerminatingPodsAreNotProbed(t *testing.T) {
	now := metav1.Now()
	running := func(ns, name string, deleting bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "198.18.0.20", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
		if deleting {
			p.DeletionTimestamp = &now
		}
		return p
	}
	namespaces := []corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "going", DeletionTimestamp: &now}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
	}
	pods := []corev1.Pod{running("shop", "web", false), running("shop", "old", true), running("going", "canary", false)}
	m := model.FromObjects(namespaces, pods, nil, nil)
	for _, tt := range []struct {
		ns, name string
		want     bool
	}{{"shop", "web", true}, {"shop", "old", false}, {"going", "canary", false}} {
		p := m.Pod(tt.ns, tt.name)
		if p == nil || Probeable(p) != tt.want {
			t.Errorf("%s/%s: probeable %v, want %v (%+v)", tt.ns, tt.name, p != nil && Probeable(p), tt.want, p)
		}
	}
}
