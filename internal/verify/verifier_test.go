package verify

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// fakeProber answers each planned check with what observe says, and
// counts its rounds.
type fakeProber struct {
	rounds  int
	checked []string
	observe func(round int, c probe.Planned) string
	// agent, when set instead of observe, is what the agent reports for
	// a check and the source's mesh, interpreted as probe does.
	agent func(round int, c probe.Planned) (string, *probe.Mesh)
}

func (f *fakeProber) Run(_ context.Context, plans []probe.SourcePlan, _ probe.DenyMode, _ io.Writer) []probe.Observation {
	f.rounds++
	var out []probe.Observation
	for _, p := range plans {
		for _, c := range p.Checks {
			f.checked = append(f.checked, c.From+" -> "+c.To+" "+c.PortLabel)
			if f.agent != nil {
				outcome, mesh := f.agent(f.rounds, c)
				out = append(out, probe.InterpretFrom(c, probe.Result{ID: c.ID, Kind: c.Kind, Outcome: outcome}, probe.Reject, mesh))
				continue
			}
			out = append(out, probe.Observation{From: c.From, To: c.To, Port: c.PortLabel, Kind: c.Kind, Expected: c.Expected, Result: f.observe(f.rounds, c)})
		}
	}
	return out
}

// fakeClock advances only when the verifier sleeps.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time                           { return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) { c.now = c.now.Add(d) }

func backendBaseline() []*networkingv1.NetworkPolicy {
	port := intstr.FromInt32(3001)
	return []*networkingv1.NetworkPolicy{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "backend-dev", Name: "allow-from-frontend"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "frontend-dev"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: &port}},
			}},
		}}}
}

func newVerifier(p *fakeProber) (*Verifier, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	v := New(verifyModel(), p)
	v.Settle, v.Now, v.Sleep, v.Mode = 10*time.Second, clock.Now, clock.Sleep, probe.Drop
	return v, clock
}

// The connection the new rule allows is probed although its verdict does
// not change (open before, allowed after); connections the policies do not
// touch are not.
func TestVerifierProbesWhatTheNewPoliciesAllow(t *testing.T) {
	p := &fakeProber{observe: func(int, probe.Planned) string { return probe.ResultOK }}
	v, _ := newVerifier(p)
	if err := v.Namespace(context.Background(), "backend-dev", backendBaseline()); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.checked, "\n")
	if got != "frontend-dev/frontend-1 -> backend-dev/backend-1 http (3001/TCP)" {
		t.Errorf("probed, want only the connection the new rule allows:\n%s", got)
	}
	if p.rounds != 1 || len(v.Observations) == 0 || Summarize(v.Observations) == "" {
		t.Errorf("rounds %d, observations %v", p.rounds, v.Observations)
	}
}

// A mismatch is retried until Settle has passed, then it counts; one that
// clears within Settle does not.
func TestVerifierRetriesUntilSettled(t *testing.T) {
	persistent := &fakeProber{observe: func(int, probe.Planned) string { return probe.ResultMismatch }}
	v, clock := newVerifier(persistent)
	start := clock.now
	err := v.Namespace(context.Background(), "backend-dev", backendBaseline())
	var mm *MismatchError
	if !errors.As(err, &mm) || mm.CouldNotRun || mm.Namespace != "backend-dev" {
		t.Fatalf("err = %v", err)
	}
	if persistent.rounds < 2 || clock.now.Sub(start) < v.Settle-2*time.Second {
		t.Errorf("gave up after %d rounds and %s", persistent.rounds, clock.now.Sub(start))
	}

	clears := &fakeProber{observe: func(round int, _ probe.Planned) string {
		if round < 3 {
			return probe.ResultMismatch
		}
		return probe.ResultOK
	}}
	v, _ = newVerifier(clears)
	if err := v.Namespace(context.Background(), "backend-dev", backendBaseline()); err != nil || clears.rounds != 3 {
		t.Fatalf("a mismatch that settles: %v after %d rounds", err, clears.rounds)
	}

	broken := &fakeProber{observe: func(int, probe.Planned) string { return probe.ResultError }}
	v, _ = newVerifier(broken)
	if err := v.Namespace(context.Background(), "backend-dev", backendBaseline()); !errors.As(err, &mm) || !mm.CouldNotRun {
		t.Fatalf("probes that cannot run: %v", err)
	}
}

// A connect a mesh proxy took is neither a pass nor a mismatch: the
// verifier stops with InconclusiveError (apply keeps the state, undoes
// nothing) and does not retry it.
// kube-router's reject-mode refusals stay inconclusive passes.
func TestVerifierStopsOnAMeshRedirect(t *testing.T) {
	uid := int64(1337)
	istio := &probe.Mesh{Name: probe.MeshIstio, Mode: probe.MeshSidecar, BypassUID: &uid, BypassGID: &uid}
	redirected := &fakeProber{agent: func(int, probe.Planned) (string, *probe.Mesh) { return probe.Redirected, istio }}
	v, _ := newVerifier(redirected)
	err := v.Namespace(context.Background(), "backend-dev", backendBaseline())
	var inc *InconclusiveError
	if !errors.As(err, &inc) || inc.Namespace != "backend-dev" || len(inc.Through) != 1 || !inc.KeepApplied() {
		t.Fatalf("err = %v", err)
	}
	if redirected.rounds != 1 {
		t.Errorf("a redirect was retried: %d rounds", redirected.rounds)
	}
	msg := err.Error()
	if !strings.Contains(msg, "could not be verified: 1 connection(s) went through a mesh proxy") ||
		!strings.Contains(msg, "frontend-dev/frontend-1 -> backend-dev/backend-1 http (3001/TCP)") || !strings.Contains(msg, "istio sidecar, not bypassed") {
		t.Errorf("message: %s", msg)
	}
	if errors.As(err, new(*MismatchError)) {
		t.Error("a mesh redirect reads as a mismatch, which would undo the apply")
	}

	refused := &fakeProber{agent: func(int, probe.Planned) (string, *probe.Mesh) { return probe.Refused, nil }}
	v, _ = newVerifier(refused)
	if err := v.Namespace(context.Background(), "backend-dev", backendBaseline()); err != nil {
		t.Errorf("a reject-mode refusal no longer passes: %v", err)
	}
	if len(v.Observations) != 1 || v.Observations[0].Result != probe.ResultInconclusive || v.Observations[0].MeshInconclusive() {
		t.Errorf("observations: %+v", v.Observations)
	}
}

// A pod of a system namespace (CoreDNS) is not probed from unless asked:
// its ephemeral container would stay in its spec. The log says what was
// left out.
func TestVerifierLeavesSystemPodsAloneUnlessAsked(t *testing.T) {
	withDNS := func() *model.Model {
		m := verifyModel()
		m.Pods = append(m.Pods, &model.Pod{Namespace: "kube-system", Name: "coredns-1", Labels: map[string]string{"k8s-app": "kube-dns"},
			IPs: []netip.Addr{netip.MustParseAddr("198.18.0.2")}, Phase: corev1.PodRunning, Ready: true, Owner: &model.Owner{Kind: "deployment", Name: "coredns"}})
		m.Normalize()
		return m
	}
	denyAll := []*networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "backend-dev", Name: "deny-all"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}}
	for _, system := range []bool{false, true} {
		p := &fakeProber{observe: func(int, probe.Planned) string { return probe.ResultOK }}
		var log strings.Builder
		v := New(withDNS(), p)
		v.Mode, v.Log, v.SystemPods = probe.Drop, &log, system
		if err := v.Namespace(context.Background(), "backend-dev", denyAll); err != nil {
			t.Fatal(err)
		}
		fromDNS := strings.Contains(strings.Join(p.checked, "\n"), "kube-system/coredns-1 ->")
		if fromDNS != system || strings.Contains(log.String(), "from pods of system namespaces not probed") == system {
			t.Errorf("SystemPods %v: probed from CoreDNS %v; checks %v; log:\n%s", system, fromDNS, p.checked, log.String())
		}
	}
}
