package canary

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/launch"
)

const serverIP = "10.0.0.7"

// answer is what the fake prober returns for one call.
type answer struct {
	outcome string
	ms      int64
	err     error
}

// call is what the canary asked the prober, and how many NetworkPolicies
// its namespace held at that moment.
type call struct {
	namespace string
	labels    map[string]string
	plan      probe.Plan
	policies  int
}

// fakeProber answers in order and records each call; onCall (if set)
// runs before call n returns.
type fakeProber struct {
	cs      *fake.Clientset
	answers []answer
	calls   []call
	onCall  func(n int)
}

func (p *fakeProber) RunStandalone(_ context.Context, namespace string, podLabels map[string]string, plan probe.Plan) ([]probe.Result, error) {
	nps, err := p.cs.Tracker().List(networkingv1.SchemeGroupVersion.WithResource("networkpolicies"), networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), namespace)
	if err != nil {
		return nil, err
	}
	n := len(p.calls)
	p.calls = append(p.calls, call{namespace: namespace, labels: podLabels, plan: plan, policies: len(nps.(*networkingv1.NetworkPolicyList).Items)})
	if p.onCall != nil {
		p.onCall(n)
	}
	if n >= len(p.answers) {
		return nil, errors.New("unexpected probe")
	}
	a := p.answers[n]
	if a.err != nil {
		return nil, a.err
	}
	return []probe.Result{{ID: "0", Kind: probe.KindTCP, Target: serverIP, Port: serverPort, Outcome: a.outcome, MS: a.ms}}, nil
}

// kubelet makes every read of a pod show status: the fake clientset runs
// no pods, so the test plays the node.
func kubelet(cs *fake.Clientset, status corev1.PodStatus) {
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		get := a.(k8stesting.GetAction)
		obj, err := cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), get.GetNamespace(), get.GetName())
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		pod.Status = status
		return true, pod, nil
	})
}

func running() corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodRunning, PodIP: serverIP}
}

// refuse makes every verb on resource fail with err.
func refuse(cs *fake.Clientset, verb, resource string, err error) {
	cs.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, err
	})
}

// deleteContext records whether the namespace was deleted with a live
// context; the fake clientset itself ignores contexts.
type deleteContext struct {
	kubernetes.Interface
	deleteCtxErr []error
}

func (d *deleteContext) CoreV1() corev1client.CoreV1Interface {
	return coreWithNamespaces{CoreV1Interface: d.Interface.CoreV1(), d: d}
}

type coreWithNamespaces struct {
	corev1client.CoreV1Interface
	d *deleteContext
}

func (c coreWithNamespaces) Namespaces() corev1client.NamespaceInterface {
	return namespacesRecordingDelete{NamespaceInterface: c.CoreV1Interface.Namespaces(), d: c.d}
}

type namespacesRecordingDelete struct {
	corev1client.NamespaceInterface
	d *deleteContext
}

func (n namespacesRecordingDelete) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	n.d.deleteCtxErr = append(n.d.deleteCtxErr, ctx.Err())
	return n.NamespaceInterface.Delete(ctx, name, opts)
}

type harness struct {
	cs     *fake.Clientset
	client *deleteContext
	prober *fakeProber
	sleeps []time.Duration
	// onSleep (if set) runs inside the fake settle wait.
	onSleep func()
	log     bytes.Buffer
	opts    Options
}

// newHarness: a cluster whose server pod runs, a prober giving answers,
// a clock that returns at once.
func newHarness(answers ...answer) *harness {
	cs := fake.NewClientset()
	h := &harness{cs: cs, client: &deleteContext{Interface: cs}, prober: &fakeProber{cs: cs, answers: answers}}
	kubelet(cs, running())
	h.opts = Options{Image: "probe:test", PullPolicy: corev1.PullIfNotPresent, Wait: 2 * time.Second, Log: &h.log,
		Prober: h.prober, PollInterval: time.Millisecond, Sleep: func(_ context.Context, d time.Duration) {
			h.sleeps = append(h.sleeps, d)
			if h.onSleep != nil {
				h.onSleep()
			}
		}}
	return h
}

func (h *harness) run(ctx context.Context) doctor.Finding {
	return Run(ctx, h.client, h.opts)
}

// created returns the canary's creates of resource.
func (h *harness) created(resource string) []k8stesting.CreateAction {
	var creates []k8stesting.CreateAction
	for _, a := range h.cs.Actions() {
		if c, ok := a.(k8stesting.CreateAction); ok && a.GetVerb() == "create" && a.GetResource().Resource == resource {
			creates = append(creates, c)
		}
	}
	return creates
}

// namespace is the scratch namespace the canary created.
func (h *harness) namespace(t *testing.T) string {
	t.Helper()
	created := h.created("namespaces")
	if len(created) != 1 {
		t.Fatalf("created %d namespaces, want 1", len(created))
	}
	ns := created[0].GetObject().(*corev1.Namespace)
	if !strings.HasPrefix(ns.Name, "netbaseline-canary-") || ns.Labels["app.kubernetes.io/managed-by"] == "" {
		t.Fatalf("scratch namespace %q labels %v: not the canary's", ns.Name, ns.Labels)
	}
	return ns.Name
}

// assertCleanedUp: the scratch namespace was deleted, once, with a live
// context, and no namespace is left.
func (h *harness) assertCleanedUp(t *testing.T) {
	t.Helper()
	ns := h.namespace(t)
	var deleted []string
	for _, a := range h.cs.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok && a.GetResource().Resource == "namespaces" {
			deleted = append(deleted, d.GetName())
		}
	}
	if len(deleted) != 1 || deleted[0] != ns {
		t.Fatalf("deleted namespaces %v, want [%s]", deleted, ns)
	}
	if len(h.client.deleteCtxErr) != 1 || h.client.deleteCtxErr[0] != nil {
		t.Fatalf("the namespace was deleted with a dead context: %v", h.client.deleteCtxErr)
	}
	left, err := h.cs.Tracker().List(corev1.SchemeGroupVersion.WithResource("namespaces"), corev1.SchemeGroupVersion.WithKind("Namespace"), "")
	if err != nil || len(left.(*corev1.NamespaceList).Items) != 0 {
		t.Fatalf("namespaces left: %v %v", left, err)
	}
}

func assertFinding(t *testing.T, got doctor.Finding, sev doctor.Severity, msg, fix string) {
	t.Helper()
	if got.ID != "CANARY-001" || got.Subject != "canary" {
		t.Errorf("finding %s/%s, want CANARY-001/canary", got.ID, got.Subject)
	}
	if got.Severity != sev || got.Message != msg || got.Fix != fix {
		t.Errorf("finding\n  %s %q fix %q\nwant\n  %s %q fix %q", got.Severity, got.Message, got.Fix, sev, msg, fix)
	}
}

func TestPassWhenTheDenyAllStopsTheClient(t *testing.T) {
	h := newHarness(answer{outcome: probe.Connected, ms: 12}, answer{outcome: probe.Timeout})
	f := h.run(context.Background())
	assertFinding(t, f, doctor.Pass, "enforcement is real: the client connected without a policy (12 ms) and got timeout under deny-all", "")
	h.assertCleanedUp(t)
	ns := h.namespace(t)
	if !strings.Contains(h.log.String(), "Canary: namespace "+ns+" (deleted afterwards)") {
		t.Errorf("log: %q", h.log.String())
	}
	if len(h.prober.calls) != 2 {
		t.Fatalf("%d probes, want 2", len(h.prober.calls))
	}
	// Before without a policy, after under the deny-all, settled between.
	if h.prober.calls[0].policies != 0 || h.prober.calls[1].policies != 1 {
		t.Errorf("policies at each probe: %d then %d, want 0 then 1", h.prober.calls[0].policies, h.prober.calls[1].policies)
	}
	if len(h.sleeps) != 1 || h.sleeps[0] != 2*time.Second {
		t.Errorf("settle waits %v, want [2s]", h.sleeps)
	}
	want := probe.Check{ID: "0", Kind: probe.KindTCP, Target: serverIP, Port: 8080, TimeoutMS: 3000}
	for i, c := range h.prober.calls {
		if c.namespace != ns || c.labels["app"] != "canary-client" {
			t.Errorf("probe %d from %s %v, want a canary-client in %s", i, c.namespace, c.labels, ns)
		}
		if len(c.plan.Checks) != 1 || c.plan.Checks[0] != want || c.plan.DeadlineMS != 6000 || c.plan.StartDelayMS != 1000 {
			t.Errorf("probe %d plan %+v, want one %+v", i, c.plan, want)
		}
	}
}

func TestFailWhenTheClientStillConnectsUnderDenyAll(t *testing.T) {
	h := newHarness(answer{outcome: probe.Connected, ms: 5}, answer{outcome: probe.Connected, ms: 4})
	f := h.run(context.Background())
	assertFinding(t, f, doctor.Fail, "enforcement is NOT real: a deny-all NetworkPolicy was created and the client still connected",
		"install or enable a NetworkPolicy engine (see ENGINE-001)")
	h.assertCleanedUp(t)
	if len(h.prober.calls) != 2 || h.prober.calls[1].policies != 1 {
		t.Errorf("probes %+v: want the second under the deny-all", h.prober.calls)
	}
}

// The deny-all isolates the server for ingress and nothing else: the
// client is not selected, egress is not restricted, no peer is allowed.
func TestDenyAllSelectsTheServerForIngressOnly(t *testing.T) {
	h := newHarness(answer{outcome: probe.Connected}, answer{outcome: probe.Refused})
	h.run(context.Background())
	ns := h.namespace(t)
	pods, policies := h.created("pods"), h.created("networkpolicies")
	if len(pods) != 1 || len(policies) != 1 {
		t.Fatalf("created %d pods and %d policies, want 1 and 1", len(pods), len(policies))
	}
	server, deny := pods[0].GetObject().(*corev1.Pod), policies[0].GetObject().(*networkingv1.NetworkPolicy)
	if pods[0].GetNamespace() != ns || policies[0].GetNamespace() != ns || deny.Name != "deny-all" {
		t.Fatalf("server %s/%s, policy %s/%s: want both in %s", pods[0].GetNamespace(), server.Name, policies[0].GetNamespace(), deny.Name, ns)
	}
	if got := server.Spec.Containers[0].Args; len(got) != 1 || got[0] != "--serve=:8080" || server.Spec.Containers[0].Image != "probe:test" {
		t.Errorf("server container %s %v", server.Spec.Containers[0].Image, got)
	}
	sel, err := metav1.LabelSelectorAsSelector(&deny.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(server.Labels)) {
		t.Errorf("deny-all selector %s does not select the server %v", sel, server.Labels)
	}
	if sel.Matches(labels.Set(h.prober.calls[0].labels)) {
		t.Errorf("deny-all selector %s selects the client %v too", sel, h.prober.calls[0].labels)
	}
	if len(deny.Spec.PolicyTypes) != 1 || deny.Spec.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
		t.Errorf("policy types %v, want [Ingress]", deny.Spec.PolicyTypes)
	}
	if len(deny.Spec.Ingress) != 0 || len(deny.Spec.Egress) != 0 {
		t.Errorf("rules %v %v: a deny-all has none", deny.Spec.Ingress, deny.Spec.Egress)
	}
}

func TestNamespaceRefusedIsInfo(t *testing.T) {
	h := newHarness()
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "", errors.New("no RBAC"))
	refuse(h.cs, "create", "namespaces", forbidden)
	f := h.run(context.Background())
	assertFinding(t, f, doctor.Info, "could not run the canary: "+forbidden.Error(), "it needs create on namespaces, pods and networkpolicies")
	if len(h.prober.calls) != 0 || len(h.created("pods")) != 0 || len(h.client.deleteCtxErr) != 0 {
		t.Errorf("went on without a namespace: %d probes, %d pods, %d deletes", len(h.prober.calls), len(h.created("pods")), len(h.client.deleteCtxErr))
	}
}

// Every way the canary cannot conclude, after its namespace exists: the
// finding says so (never Pass or Fail) and the namespace goes.
func TestInconclusiveOutcomesCleanUp(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name    string
		answers []answer
		setup   func(h *harness)
		sev     doctor.Severity
		msg     string
		fix     string
		probes  int
	}{
		{name: "server pod refused", setup: func(h *harness) { refuse(h.cs, "create", "pods", boom) },
			sev: doctor.Info, msg: "could not run the canary: boom"},
		{name: "server image cannot be pulled", setup: func(h *harness) {
			kubelet(h.cs, corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "pull access denied"}}}}})
		}, sev: doctor.Info, msg: "could not run the canary: the server pod did not start: the canary image cannot be pulled: pull access denied (set --image)"},
		{name: "server never runs", setup: func(h *harness) {
			kubelet(h.cs, corev1.PodStatus{Phase: corev1.PodPending})
			h.opts.Wait = 20 * time.Millisecond
		}, sev: doctor.Info, msg: "could not run the canary: the server pod did not start: context deadline exceeded"},
		{name: "client refused without a policy", answers: []answer{{outcome: probe.Refused}}, probes: 1,
			sev: doctor.Warn, msg: "canary inconclusive: without any policy the client could not reach the server (refused <nil>)", fix: "check pod networking itself first"},
		{name: "client could not run without a policy", answers: []answer{{err: boom}}, probes: 1,
			sev: doctor.Warn, msg: "canary inconclusive: without any policy the client could not reach the server ( boom)", fix: "check pod networking itself first"},
		{name: "deny-all refused", answers: []answer{{outcome: probe.Connected}}, probes: 1,
			setup: func(h *harness) { refuse(h.cs, "create", "networkpolicies", boom) },
			sev:   doctor.Info, msg: "could not run the canary: boom"},
		{name: "client could not run under deny-all", answers: []answer{{outcome: probe.Connected}, {err: boom}}, probes: 2,
			sev: doctor.Warn, msg: "canary inconclusive: boom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(tc.answers...)
			if tc.setup != nil {
				tc.setup(h)
			}
			f := h.run(context.Background())
			assertFinding(t, f, tc.sev, tc.msg, tc.fix)
			if len(h.prober.calls) != tc.probes {
				t.Errorf("%d probes, want %d", len(h.prober.calls), tc.probes)
			}
			h.assertCleanedUp(t)
		})
	}
}

// Ctrl-C during the settle wait: no probe under a half-settled policy,
// a Warn (neither Pass nor Fail), and the namespace still goes.
func TestCancelDuringSettleIsInconclusive(t *testing.T) {
	h := newHarness(answer{outcome: probe.Connected}, answer{outcome: probe.Timeout})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.onSleep = cancel
	f := h.run(ctx)
	assertFinding(t, f, doctor.Warn, "canary inconclusive: interrupted while the deny-all settled (context canceled)", "")
	if len(h.prober.calls) != 1 {
		t.Errorf("%d probes, want only the one before the deny-all", len(h.prober.calls))
	}
	h.assertCleanedUp(t)
}

// The real settle wait (nil Sleep) ends as soon as the context is
// cancelled, not after its 2 seconds.
func TestRealSettleWaitEndsOnCancel(t *testing.T) {
	h := newHarness(answer{outcome: probe.Connected}, answer{outcome: probe.Timeout})
	h.opts.Sleep = nil
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancelled once the settle wait has begun.
	h.prober.onCall = func(int) { time.AfterFunc(50*time.Millisecond, cancel) }
	start := time.Now()
	f := h.run(ctx)
	if took := time.Since(start); took > time.Second {
		t.Errorf("returned after %v: the settle wait ignored the cancel", took)
	}
	if f.Severity != doctor.Warn || !strings.HasPrefix(f.Message, "canary inconclusive: interrupted") {
		t.Errorf("finding %s %q, want Warn inconclusive: interrupted", f.Severity, f.Message)
	}
	if len(h.prober.calls) != 1 {
		t.Errorf("%d probes, want 1", len(h.prober.calls))
	}
	h.assertCleanedUp(t)
}

// Nil seams are the real ones: the prober is a launch.Runner on the
// same clientset, image, pull policy, wait and log.
func TestNilSeamsAreTheRealOnes(t *testing.T) {
	cs := fake.NewClientset()
	var log bytes.Buffer
	o := Options{Image: "probe:test", PullPolicy: corev1.PullAlways, Wait: time.Minute, Log: &log}.withDefaults(cs)
	if o.Sleep == nil || o.PollInterval != 500*time.Millisecond {
		t.Errorf("sleep %v, poll interval %v", o.Sleep == nil, o.PollInterval)
	}
	r, ok := o.Prober.(*launch.Runner)
	if !ok {
		t.Fatalf("prober %T, want *launch.Runner", o.Prober)
	}
	if r.Client != cs || r.Image != "probe:test" || r.PullPolicy != corev1.PullAlways || r.Wait != time.Minute || r.Log != &log {
		t.Errorf("runner %+v: not built from the options", r)
	}
}
