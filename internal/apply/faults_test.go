package apply

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// testbed is a fake cluster holding the sample app, a recorder of every
// state the namespaces' policies pass through, and a fault to inject.
type testbed struct {
	t     *testing.T
	cs    *fake.Clientset
	model *model.Model
	mu    sync.Mutex
	// states are the policies of the cluster before each write and at
	// the end.
	states [][]*networkingv1.NetworkPolicy
	writes int
	// failAt makes the Nth real write fail with fail (0: never).
	failAt int
	fail   func() error
	// onWrite runs before each real write (Ctrl-C at the Nth write).
	onWrite func(n int)
	log     []string
}

func sampleModel(t *testing.T) *model.Model {
	t.Helper()
	m, err := read.LoadFiles([]string{"../../testdata/sample-app.yaml"}, nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	// Give the pods addresses, as a live cluster would.
	ip := netip.MustParseAddr("198.18.0.10")
	for _, p := range m.Pods {
		p.IPs = []netip.Addr{ip}
		ip = ip.Next()
	}
	return m
}

func newTestbed(t *testing.T, extra ...runtime.Object) *testbed {
	t.Helper()
	tb := &testbed{t: t, model: sampleModel(t)}
	var objs []runtime.Object
	for _, ns := range tb.model.Namespaces {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: ns.Labels}})
	}
	for _, p := range tb.model.Pods {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		c := corev1.Container{Name: "app"}
		for _, cp := range p.Ports {
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: cp.Port, Protocol: cp.Protocol})
		}
		pod.Spec.Containers = []corev1.Container{c}
		objs = append(objs, pod)
	}
	tb.cs = fake.NewClientset(append(objs, extra...)...)
	tb.cs.PrependReactor("*", "*", tb.react)
	return tb
}

func isWrite(verb string) bool {
	return verb == "create" || verb == "update" || verb == "patch" || verb == "delete"
}

func dryRunOf(a k8stesting.Action) bool {
	switch act := a.(type) {
	case k8stesting.PatchActionImpl:
		return len(act.PatchOptions.DryRun) > 0
	case k8stesting.CreateActionImpl:
		return len(act.CreateOptions.DryRun) > 0
	case k8stesting.UpdateActionImpl:
		return len(act.UpdateOptions.DryRun) > 0
	case k8stesting.DeleteActionImpl:
		return len(act.DeleteOptions.DryRun) > 0
	}
	return false
}

func (tb *testbed) react(a k8stesting.Action) (bool, runtime.Object, error) {
	if !isWrite(a.GetVerb()) {
		return false, nil, nil
	}
	if dryRunOf(a) {
		return dryRunAnswer(a)
	}
	tb.mu.Lock()
	tb.writes++
	n := tb.writes
	tb.log = append(tb.log, fmt.Sprintf("%d %s %s/%s", n, a.GetVerb(), a.GetResource().Resource, nameOf(a)))
	tb.mu.Unlock()
	if a.GetResource().Resource == "networkpolicies" {
		tb.record()
	}
	if tb.onWrite != nil {
		tb.onWrite(n)
	}
	if tb.failAt > 0 && n == tb.failAt {
		return true, nil, tb.fail()
	}
	return false, nil, nil
}

// answerDryRuns makes the fake answer server dry runs without storing
// them (it would store them as real writes).
func answerDryRuns(cs *fake.Clientset) {
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if isWrite(a.GetVerb()) && dryRunOf(a) {
			return dryRunAnswer(a)
		}
		return false, nil, nil
	})
}

func dryRunAnswer(a k8stesting.Action) (bool, runtime.Object, error) {
	if p, ok := a.(k8stesting.PatchActionImpl); ok && p.GetResource().Resource == "networkpolicies" {
		np := &networkingv1.NetworkPolicy{}
		if err := yaml.Unmarshal(p.GetPatch(), np); err != nil {
			return true, nil, err
		}
		return true, np, nil
	}
	return true, nil, nil
}

func nameOf(a k8stesting.Action) string {
	switch act := a.(type) {
	case k8stesting.PatchActionImpl:
		return act.GetName()
	case k8stesting.DeleteActionImpl:
		return act.GetName()
	case k8stesting.CreateActionImpl:
		if m, err := metaOf(act.GetObject()); err == nil {
			return m.GetName()
		}
	case k8stesting.UpdateActionImpl:
		if m, err := metaOf(act.GetObject()); err == nil {
			return m.GetName()
		}
	}
	return ""
}

func metaOf(o runtime.Object) (metav1.Object, error) {
	m, ok := o.(metav1.Object)
	if !ok {
		return nil, errors.New("no metadata")
	}
	return m, nil
}

var npGVR = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}

// record snapshots every namespace's policies from the tracker (no
// reactor runs for it).
func (tb *testbed) record() {
	tb.states = append(tb.states, tb.policies())
}

func (tb *testbed) policies() []*networkingv1.NetworkPolicy {
	var out []*networkingv1.NetworkPolicy
	for _, ns := range tb.model.Namespaces {
		obj, err := tb.cs.Tracker().List(npGVR, schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}, ns.Name)
		if err != nil {
			tb.t.Fatal(err)
		}
		for i := range obj.(*networkingv1.NetworkPolicyList).Items {
			out = append(out, &obj.(*networkingv1.NetworkPolicyList).Items[i])
		}
	}
	return out
}

func (tb *testbed) configMaps(ns string) []string {
	list, err := tb.cs.Tracker().List(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns)
	if err != nil {
		tb.t.Fatal(err)
	}
	var out []string
	for _, cm := range list.(*corev1.ConfigMapList).Items {
		out = append(out, cm.Name)
	}
	sort.Strings(out)
	return out
}

// verdicts evaluates every pod-to-pod flow on every declared port, and
// each pod to and from the external test host.
func (tb *testbed) verdicts(policies []*networkingv1.NetworkPolicy) map[string]policy.Verdict {
	m := *tb.model
	m.Policies = policies
	m.Namespaces = append([]*model.Namespace(nil), tb.model.Namespaces...)
	m.Pods = append([]*model.Pod(nil), tb.model.Pods...)
	m.Normalize()
	e := policy.New(&m)
	out := map[string]policy.Verdict{}
	ext := policy.IPEndpoint(netip.MustParseAddr("198.51.100.10"))
	for _, src := range m.Pods {
		for _, dst := range m.Pods {
			for _, cp := range dst.Ports {
				f := policy.Flow{From: policy.PodEndpoint(src), To: policy.PodEndpoint(dst), Port: cp.Port, Protocol: cp.Protocol}
				out[fmt.Sprintf("%s -> %s %d/%s", src.Key(), dst.Key(), cp.Port, cp.Protocol)] = e.Evaluate(f, false).Verdict
			}
		}
		for _, port := range []int32{443, 53} {
			out[fmt.Sprintf("%s -> external %d", src.Key(), port)] = e.Evaluate(policy.Flow{From: policy.PodEndpoint(src), To: ext, Port: port, Protocol: corev1.ProtocolTCP}, false).Verdict
		}
		for _, cp := range src.Ports {
			out[fmt.Sprintf("external -> %s %d", src.Key(), cp.Port)] = e.Evaluate(policy.Flow{From: ext, To: policy.PodEndpoint(src), Port: cp.Port, Protocol: cp.Protocol}, false).Verdict
		}
	}
	return out
}

// assertNoCut: no recorded state denies a flow that before and after
// both allow.
func (tb *testbed) assertNoCut(before, after []*networkingv1.NetworkPolicy) {
	tb.t.Helper()
	vb, va := tb.verdicts(before), tb.verdicts(after)
	for i, st := range append(tb.states, tb.policies()) {
		vi := tb.verdicts(st)
		var cut []string
		for flow, v := range vb {
			if v == policy.Allowed && va[flow] == policy.Allowed && vi[flow] == policy.Denied {
				cut = append(cut, flow)
			}
		}
		if len(cut) > 0 {
			sort.Strings(cut)
			tb.t.Fatalf("state %d (%s) cuts %d flow(s) allowed before and after, e.g. %s\nwrites:\n%s", i, names2(st), len(cut), cut[0], strings.Join(tb.log, "\n"))
		}
	}
}

func names2(ps []*networkingv1.NetworkPolicy) string {
	var out []string
	for _, np := range ps {
		out = append(out, np.Namespace+"/"+np.Name)
	}
	return strings.Join(out, " ")
}

// specs is a comparable picture of policies: name, labels and spec.
func specs(ps []*networkingv1.NetworkPolicy) string {
	var out []string
	for _, np := range ps {
		b, _ := yaml.Marshal(struct {
			Labels map[string]string
			Spec   networkingv1.NetworkPolicySpec
		}{np.Labels, np.Spec})
		out = append(out, np.Namespace+"/"+np.Name+" uid="+string(np.UID)+"\n"+string(b))
	}
	sort.Strings(out)
	return strings.Join(out, "---\n")
}

func (tb *testbed) applier(force bool) *Applier {
	return &Applier{Client: tb.cs, Options: Options{Order: AllowsFirst, Tooling: "kubectl-netbaseline/test", ForceConflicts: force,
		Sleep: func(context.Context, time.Duration) {}, Holder: "test"}}
}

func rendered(t *testing.T, nss ...string) map[string][]baseline.Object {
	out := map[string][]baseline.Object{}
	for _, ns := range nss {
		out[ns] = sample(t, ns)
	}
	return out
}

// The target: a clean apply of both namespaces, recorded.
func cleanApply(t *testing.T, extra ...runtime.Object) (before, after []*networkingv1.NetworkPolicy, writes int) {
	tb := newTestbed(t, extra...)
	before = tb.policies()
	a := tb.applier(true)
	plans, err := a.Plan(context.Background(), []string{"backend-dev", "frontend-dev"}, rendered(t, "backend-dev", "frontend-dev"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Execute(context.Background(), plans); err != nil {
		t.Fatal(err)
	}
	tb.assertNoCut(before, tb.policies())
	return before, tb.policies(), tb.writes
}

var faults = map[string]func() error{
	"admission denial": func() error {
		return apierrors.NewForbidden(npGVR.GroupResource(), "x", errors.New(`admission webhook "policy.example.com" denied the request`))
	},
	"conflict": func() error {
		return apierrors.NewConflict(npGVR.GroupResource(), "x", errors.New("the object has been modified"))
	},
	"timeout": func() error { return apierrors.NewTimeoutError("request timed out", 1) },
	"webhook timeout": func() error {
		return apierrors.NewInternalError(errors.New(`failed calling webhook "validate.example.com": context deadline exceeded`))
	},
}

// Every write of a two-namespace apply fails in turn, with every kind of
// fault, and is interrupted in turn: the cluster ends exactly as it
// began, no intermediate state cuts a flow allowed before and after, and
// no ConfigMap is left behind.
func TestEveryFailureIsUndoneWithoutACut(t *testing.T) {
	initial, target, total := cleanApply(t)
	if total < 10 {
		t.Fatalf("only %d writes in a clean apply", total)
	}
	kinds := []string{"admission denial", "conflict", "timeout", "webhook timeout", "ctrl-c"}
	for _, kind := range kinds {
		for n := 1; n <= total; n++ {
			t.Run(fmt.Sprintf("%s at write %d", kind, n), func(t *testing.T) {
				tb := newTestbed(t)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if kind == "ctrl-c" {
					tb.onWrite = func(w int) {
						if w == n {
							cancel()
						}
					}
				} else {
					tb.failAt, tb.fail = n, faults[kind]
					if kind == "timeout" || kind == "webhook timeout" {
						// transient: it fails five times in a row, more than
						// apply retries it, fewer than the undo does.
						tb.failAt = 0
						failures := 0
						tb.cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
							if isWrite(a.GetVerb()) && !dryRunOf(a) && tb.writes == n-1 && failures < 5 {
								failures++
								return true, nil, faults[kind]()
							}
							return false, nil, nil
						})
					}
				}
				a := tb.applier(true)
				plans, err := a.Plan(ctx, []string{"backend-dev", "frontend-dev"}, rendered(t, "backend-dev", "frontend-dev"))
				if err != nil {
					t.Fatal(err)
				}
				_, err = a.Execute(ctx, plans)
				final := tb.policies()
				if err == nil {
					// Ctrl-C on the last write: the run was complete.
					if specs(final) != specs(target) {
						t.Fatalf("no error, but not the target")
					}
					return
				}
				var failed *FailedError
				if !errors.As(err, &failed) && n > 1 {
					t.Fatalf("err = %T %v", err, err)
				}
				// The first write is the lease: refused, it is the error
				// itself, and nothing was written.
				if failed != nil && len(failed.Left) > 0 {
					t.Fatalf("left: %v\n%s", failed.Left, strings.Join(tb.log, "\n"))
				}
				if got, want := specs(final), specs(initial); got != want {
					t.Fatalf("not undone:\n%s\nwant:\n%s\nwrites:\n%s", got, want, strings.Join(tb.log, "\n"))
				}
				for _, ns := range []string{"backend-dev", "frontend-dev"} {
					if cms := tb.configMaps(ns); len(cms) != 0 {
						t.Fatalf("left ConfigMaps in %s: %v", ns, cms)
					}
				}
				tb.assertNoCut(initial, target)
			})
		}
	}
}

func foreignDNS(ns string) *networkingv1.NetworkPolicy {
	udp := corev1.ProtocolUDP
	port := intstr.FromInt32(53)
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "allow-dns", Namespace: ns, UID: k8stypes.UID("uid-team-" + strings.ReplaceAll(ns, "-", "")),
			Labels:      map[string]string{"team": "platform"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"team":"platform"}`}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "backend"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &port}}}},
		}}
}

// A refused namespace means nothing is written anywhere, whichever comes
// first in the arguments.
func TestPlanRefusesBeforeAnyWrite(t *testing.T) {
	for _, order := range [][]string{{"backend-dev", "frontend-dev"}, {"frontend-dev", "backend-dev"}} {
		tb := newTestbed(t, foreignDNS("frontend-dev"))
		a := tb.applier(false)
		_, err := a.Plan(context.Background(), order, rendered(t, order...))
		var pe *PlanError
		var conflict *ConflictError
		if !errors.As(err, &pe) || !errors.As(err, &conflict) || conflict.Namespace != "frontend-dev" {
			t.Fatalf("%v: err = %v", order, err)
		}
		if !strings.Contains(err.Error(), "nothing was changed in any namespace (frontend-dev refused)") {
			t.Errorf("message: %v", err)
		}
		if tb.writes != 0 {
			t.Errorf("%v: %d writes:\n%s", order, tb.writes, strings.Join(tb.log, "\n"))
		}
	}
}

// Two takeovers in two runs, then one rollback: both originals come back,
// in place (same UID), with their labels and last-applied annotation.
func TestDoubleTakeoverThenRollbackRestoresBoth(t *testing.T) {
	dns := foreignDNS("backend-dev")
	ing := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-from-ingress", Namespace: "backend-dev", UID: "uid-ingress", Labels: map[string]string{"team": "web"}},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "old"}}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	tb := newTestbed(t, dns)
	initial := tb.policies()
	a := tb.applier(true)
	ctx := context.Background()
	if _, err := a.Apply(ctx, "backend-dev", sample(t, "backend-dev")); err != nil {
		t.Fatal(err)
	}
	// The second team replaces a member with its own policy; a second
	// forced apply takes that over too.
	if err := tb.cs.NetworkingV1().NetworkPolicies("backend-dev").Delete(ctx, "allow-from-ingress", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.cs.NetworkingV1().NetworkPolicies("backend-dev").Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, "backend-dev", sample(t, "backend-dev")); err != nil {
		t.Fatal(err)
	}
	cm, err := tb.cs.CoreV1().ConfigMaps("backend-dev").Get(ctx, ownership.BackupName, metav1.GetOptions{})
	if err != nil || len(cm.Data) != 2 {
		t.Fatalf("backup after two takeovers: %v %v", err, cm)
	}
	tb.states = nil
	applied := tb.policies()
	rp, err := a.PlanRollback(ctx, "backend-dev")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rollback(ctx, rp); err != nil {
		t.Fatal(err)
	}
	final := tb.policies()
	want := append([]*networkingv1.NetworkPolicy(nil), initial...)
	want = append(want, ing)
	if got, w := specs(final), specs(want); got != w {
		t.Fatalf("after rollback:\n%s\nwant:\n%s", got, w)
	}
	for _, np := range final {
		if np.Name == "allow-dns" && np.Annotations["kubectl.kubernetes.io/last-applied-configuration"] == "" {
			t.Errorf("allow-dns lost its last-applied-configuration")
		}
	}
	if cms := tb.configMaps("backend-dev"); len(cms) != 0 {
		t.Errorf("ConfigMaps left: %v", cms)
	}
	tb.assertNoCut(applied, final)
}

// Rollback deletes allows only under a bridge: no state of it cuts a flow
// that the baseline and the open namespace both allow.
func TestRollbackHasNoBlackout(t *testing.T) {
	tb := newTestbed(t)
	a := tb.applier(false)
	ctx := context.Background()
	if _, err := a.Apply(ctx, "backend-dev", sample(t, "backend-dev")); err != nil {
		t.Fatal(err)
	}
	applied := tb.policies()
	tb.states = nil
	tb.log = nil
	rp, err := a.PlanRollback(ctx, "backend-dev")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rollback(ctx, rp); err != nil {
		t.Fatal(err)
	}
	if len(tb.policies()) != 0 {
		t.Fatalf("left %s", names2(tb.policies()))
	}
	tb.assertNoCut(applied, nil)
	if !strings.Contains(tb.log[1], "create networkpolicies/netbaseline-rollback-bridge") {
		t.Errorf("the bridge is not the first policy write:\n%s", strings.Join(tb.log, "\n"))
	}
}

// A member someone edited is not rolled back without --force-conflicts.
func TestRollbackRefusesMembersChangedByOthers(t *testing.T) {
	tb := newTestbed(t)
	a := tb.applier(false)
	ctx := context.Background()
	if _, err := a.Apply(ctx, "backend-dev", sample(t, "backend-dev")); err != nil {
		t.Fatal(err)
	}
	cur, _ := tb.cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, "allow-dns", metav1.GetOptions{})
	cur.Spec.Egress = append(cur.Spec.Egress, networkingv1.NetworkPolicyEgressRule{})
	if _, err := tb.cs.NetworkingV1().NetworkPolicies("backend-dev").Update(ctx, cur, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	rp, err := a.PlanRollback(ctx, "backend-dev")
	if err != nil {
		t.Fatal(err)
	}
	writes := tb.writes
	_, err = a.Rollback(ctx, rp)
	var mc *MemberConflictError
	if !errors.As(err, &mc) || !strings.Contains(err.Error(), "allow-dns (by kubectl-edit (Update))") {
		t.Fatalf("err = %v", err)
	}
	if tb.writes != writes {
		t.Errorf("wrote despite the refusal")
	}
	a.ForceConflicts = true
	if _, err := a.Rollback(ctx, rp); err != nil {
		t.Fatal(err)
	}
}

// A second run while the first holds the lease is refused, naming the
// holder; a lease seen unrenewed for a whole lease duration is taken over,
// whatever its holder's clock said.
func TestLease(t *testing.T) {
	tb := newTestbed(t)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	first := tb.applier(false)
	first.Holder, first.Now = "alice@laptop pid 1", func() time.Time { return now }
	block := errors.New("stop here")
	first.Verify = func(ctx context.Context, p *NamespacePlan) error {
		second := tb.applier(false)
		second.Holder, second.Now = "bob@ci pid 2", func() time.Time { return now.Add(30 * time.Second) }
		_, err := second.Apply(ctx, "backend-dev", sample(t, "backend-dev"))
		var held *LeaseHeldError
		if !errors.As(err, &held) || held.Holder != "alice@laptop pid 1" {
			t.Errorf("second run: %v", err)
		}
		return block
	}
	if _, err := first.Apply(context.Background(), "backend-dev", sample(t, "backend-dev")); !errors.Is(err, block) {
		t.Fatalf("first run: %v", err)
	}
	if got, _ := tb.cs.CoreV1().ConfigMaps("backend-dev").Get(context.Background(), ownership.ParentName, metav1.GetOptions{}); got != nil && got.Annotations[leaseHolderAnnotation] != "" {
		t.Errorf("the failed run kept its lease: %v", got.Annotations)
	}
	// Leases left by dead runs: one expired by its clock, one whose clock
	// runs an hour ahead. Both are watched for a lease duration, then
	// taken over.
	for _, expires := range []time.Time{now.Add(-time.Minute), now.Add(time.Hour)} {
		parentCM := parent("backend-dev", "kubectl-netbaseline/test")
		parentCM.Annotations[leaseHolderAnnotation] = "dead@host pid 3"
		parentCM.Annotations[leaseExpiresAnnotation] = expires.Format(time.RFC3339)
		_ = tb.cs.CoreV1().ConfigMaps("backend-dev").Delete(context.Background(), ownership.ParentName, metav1.DeleteOptions{})
		for _, np := range tb.policies() {
			if np.Namespace == "backend-dev" {
				_ = tb.cs.NetworkingV1().NetworkPolicies("backend-dev").Delete(context.Background(), np.Name, metav1.DeleteOptions{})
			}
		}
		if _, err := tb.cs.CoreV1().ConfigMaps("backend-dev").Create(context.Background(), parentCM, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		third := tb.applier(false)
		slept := time.Duration(0)
		third.Now, third.Sleep = func() time.Time { return now }, func(_ context.Context, d time.Duration) { slept += d }
		if _, err := third.Apply(context.Background(), "backend-dev", sample(t, "backend-dev")); err != nil {
			t.Fatalf("dead lease (expires %s): %v", expires, err)
		}
		if slept < third.leaseDuration() {
			t.Errorf("took over a lease after watching it for %s only", slept)
		}
		got, _ := tb.cs.CoreV1().ConfigMaps("backend-dev").Get(context.Background(), ownership.ParentName, metav1.GetOptions{})
		if got.Annotations[leaseHolderAnnotation] != "" {
			t.Errorf("lease not released: %v", got.Annotations)
		}
	}
}

// A parent of another tool is refused, as kubectl refuses it.
func TestForeignParentRefused(t *testing.T) {
	other := parent("backend-dev", "helm/v3")
	tb := newTestbed(t, other)
	_, err := tb.applier(false).Apply(context.Background(), "backend-dev", sample(t, "backend-dev"))
	var pe *ParentError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), `its tooling is "helm/v3"`) {
		t.Fatalf("err = %v", err)
	}
	if tb.writes != 0 {
		t.Errorf("wrote %d", tb.writes)
	}
}

// A bridge left by a killed run shows in diff as a deletion, since the
// next apply removes it: diff never says "no change" over a live allow-all.
func TestDiffShowsLeftoverBridge(t *testing.T) {
	left := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "netbaseline-bridge", Namespace: "backend-dev",
		Labels: map[string]string{ownership.ApplySetPartOf: ownership.ApplySetID("backend-dev"), ownership.ManagedByLabel: ownership.ManagedByValue, ownership.TransitionLabel: "bridge"}}}
	tb := newTestbed(t, left)
	for _, prune := range []bool{false, true} {
		a := tb.applier(false)
		a.Prune = prune
		entries, err := a.Diff(context.Background(), "backend-dev", sample(t, "backend-dev"))
		if err != nil {
			t.Fatal(err)
		}
		var found int
		for _, e := range entries {
			if e.Name == "netbaseline-bridge" && e.Merged == nil && e.Live != nil {
				found++
			}
		}
		if found != 1 {
			t.Errorf("prune=%v: the leftover bridge appears %d times in %d entries", prune, found, len(entries))
		}
	}
}

// Ctrl-C while a write is in flight: it lands, its answer is lost and it
// cannot be read back either, so it stays pending in the journal; the
// undo settles it from the namespace's list and puts it back. Every
// write of a takeover apply of both namespaces in turn.
func TestUnreadableLostWritesAreSettledByTheUndo(t *testing.T) {
	initial, _, total := cleanApply(t, foreignDNS("frontend-dev"))
	for n := 1; n <= total; n++ {
		t.Run(fmt.Sprintf("write %d", n), func(t *testing.T) {
			tb := newTestbed(t, foreignDNS("frontend-dev"))
			ctx, interrupt := context.WithCancel(context.Background())
			defer interrupt()
			blind, seen := "", 0
			tb.cs.PrependReactor("get", "networkpolicies", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if blind != "" && a.(k8stesting.GetAction).GetName() == blind {
					return true, nil, apierrors.NewServiceUnavailable("injected: cannot read it back")
				}
				return false, nil, nil
			})
			tb.cs.PrependReactor("*", "networkpolicies", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if !isWrite(a.GetVerb()) || dryRunOf(a) || blind != "" {
					return false, nil, nil
				}
				if seen++; seen < n {
					return false, nil, nil
				}
				if _, _, err := k8stesting.ObjectReaction(tb.cs.Tracker())(a); err != nil {
					return true, nil, err
				}
				blind = nameOf(a)
				interrupt()
				return true, nil, apierrors.NewServerTimeout(npGVR.GroupResource(), a.GetVerb(), 1)
			})
			a := tb.applier(true)
			plans, err := a.Plan(ctx, []string{"backend-dev", "frontend-dev"}, rendered(t, "backend-dev", "frontend-dev"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Execute(ctx, plans)
			if blind == "" {
				t.Skipf("only %d policy writes", seen)
			}
			var failed *FailedError
			if !errors.As(err, &failed) || len(failed.Left) > 0 || len(failed.Undone) != 2 {
				t.Fatalf("write %d (%s): %v", n, blind, err)
			}
			if got, want := specs(tb.policies()), specs(initial); got != want {
				t.Fatalf("not undone after the lost write to %s:\n%s\nwant:\n%s", blind, got, want)
			}
		})
	}
}
