//go:build integration

package apply

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

var sampleNS = []string{"frontend-dev", "backend-dev"}

// freshSample gives the sample app's namespaces (the overlays' names) a
// clean start on the shared API server: no policies, none of the plugin's
// ConfigMaps, one pod each.
func freshSample(t *testing.T) kubernetes.Interface {
	t.Helper()
	env := testenv.Require(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	apps := map[string]string{"frontend-dev": "frontend", "backend-dev": "backend"}
	for _, ns := range sampleNS {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		if err := cs.NetworkingV1().NetworkPolicies(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{ownership.ParentName, ownership.BackupName} {
			if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: apps[ns], Namespace: ns, Labels: map[string]string{"app": apps[ns]}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 3000}}}}}}
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	return cs
}

func liveApplier(cs kubernetes.Interface, holder string) *Applier {
	return &Applier{Client: cs, Options: Options{Tooling: "kubectl-netbaseline/test", Holder: holder, LeaseDuration: 3 * time.Second,
		RestoreTimeout: 30 * time.Second}}
}

func applyBoth(t *testing.T, a *Applier) error {
	t.Helper()
	plans, err := a.Plan(context.Background(), sampleNS, rendered(t, sampleNS...))
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Execute(context.Background(), plans)
	return err
}

func assertNoLease(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	for _, ns := range sampleNS {
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), ownership.ParentName, metav1.GetOptions{})
		if err == nil && cm.Annotations[leaseHolderAnnotation] != "" {
			t.Errorf("%s: lease left behind: %v", ns, cm.Annotations)
		}
	}
}

// A member that another manager edits while an earlier namespace of the
// same run verifies is not overwritten: the run stops at it, names the
// object and the other manager, and undoes what it wrote.
func TestIntegrationEditBetweenPlanAndWriteStopsTheRun(t *testing.T) {
	cs := freshSample(t)
	ctx := context.Background()
	if err := applyBoth(t, liveApplier(cs, "setup")); err != nil {
		t.Fatal(err)
	}
	// Our own older version of two members, so the next plan updates
	// them (guarded by the resourceVersions it saw).
	for _, at := range []struct{ ns, name string }{{"frontend-dev", "allow-dns"}, {"backend-dev", "allow-from-ingress"}} {
		np, _ := cs.NetworkingV1().NetworkPolicies(at.ns).Get(ctx, at.name, metav1.GetOptions{})
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
		if _, err := cs.NetworkingV1().NetworkPolicies(at.ns).Update(ctx, np, metav1.UpdateOptions{FieldManager: ownership.FieldManager}); err != nil {
			t.Fatal(err)
		}
	}
	before := policySpecs(t, cs, "frontend-dev")
	a := liveApplier(cs, "alice")
	a.Verify = func(ctx context.Context, p *NamespacePlan) error {
		if p.Namespace == "frontend-dev" {
			np, _ := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, "allow-from-ingress", metav1.GetOptions{})
			np.Labels["edited"] = "by-hand"
			if _, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Update(ctx, np, metav1.UpdateOptions{FieldManager: "intruder"}); err != nil {
				t.Error(err)
			}
		}
		return nil
	}
	err := applyBoth(t, a)
	var changed *ChangedError
	var failed *FailedError
	if !errors.As(err, &changed) || !errors.As(err, &failed) || changed.Name != "allow-from-ingress" || !strings.Contains(changed.By, "intruder") {
		t.Fatalf("err = %v", err)
	}
	if got := policySpecs(t, cs, "frontend-dev"); got != before || !strings.Contains(strings.Join(failed.Undone, ","), "frontend-dev") {
		t.Errorf("frontend-dev not undone (%v):\n%s\nwant\n%s", failed.Undone, got, before)
	}
	np, _ := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, "allow-from-ingress", metav1.GetOptions{})
	if np.Labels["edited"] != "by-hand" || len(np.Spec.Ingress) != 2 {
		t.Errorf("the other manager's edit was overwritten: %v %+v", np.Labels, np.Spec.Ingress)
	}
	assertNoLease(t, cs)
}

func policySpecs(t *testing.T, cs kubernetes.Interface, ns string) string {
	t.Helper()
	list, err := cs.NetworkingV1().NetworkPolicies(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ps []*networkingv1.NetworkPolicy
	for i := range list.Items {
		ps = append(ps, &list.Items[i])
	}
	return specs(ps)
}

// While a run over two namespaces verifies the first, a second run on the
// second namespace is refused: the lease covers every namespace of a run
// from before its first write. Afterwards no lease is left.
func TestIntegrationLeaseCoversEveryNamespaceOfTheRun(t *testing.T) {
	cs := freshSample(t)
	a := liveApplier(cs, "alice")
	a.Verify = func(ctx context.Context, p *NamespacePlan) error {
		if p.Namespace != "frontend-dev" {
			return nil
		}
		b := liveApplier(cs, "bob")
		_, err := b.Apply(ctx, "backend-dev", sample(t, "backend-dev"))
		var held *LeaseHeldError
		if !errors.As(err, &held) || held.Holder != "alice" {
			t.Errorf("second apply: %v", err)
		}
		if rp, err := b.PlanRollback(ctx, "backend-dev"); err != nil || !rollbackRefused(ctx, b, rp) {
			t.Errorf("second rollback was not refused (%v)", err)
		}
		return nil
	}
	if err := applyBoth(t, a); err != nil {
		t.Fatal(err)
	}
	assertNoLease(t, cs)
}

func rollbackRefused(ctx context.Context, a *Applier, rp *RollbackPlan) bool {
	_, err := a.Rollback(ctx, rp)
	var held *LeaseHeldError
	return errors.As(err, &held)
}

// A verification longer than the lease keeps it: the timer renews it, and
// a second run whose clock says the lease has long expired watches it,
// sees it renewed and is refused.
func TestIntegrationLeaseLivesThroughALongVerify(t *testing.T) {
	cs := freshSample(t)
	a := liveApplier(cs, "alice")
	a.Verify = func(ctx context.Context, p *NamespacePlan) error {
		if p.Namespace != "frontend-dev" {
			return nil
		}
		time.Sleep(2 * a.LeaseDuration)
		b := liveApplier(cs, "bob")
		b.Now = func() time.Time { return time.Now().Add(time.Hour) }
		start := time.Now()
		_, err := b.Apply(ctx, "backend-dev", sample(t, "backend-dev"))
		var held *LeaseHeldError
		if !errors.As(err, &held) {
			t.Errorf("second run with a clock an hour ahead: %v", err)
		}
		t.Logf("refused after watching the lease for %s", time.Since(start).Round(time.Millisecond))
		return nil
	}
	if err := applyBoth(t, a); err != nil {
		t.Fatal(err)
	}
	assertNoLease(t, cs)
}

// A lease left by a dead run, whose clock said it would last another
// hour, is taken over once it has gone a lease duration without renewal.
func TestIntegrationDeadLeaseIsTakenOverAfterALeaseDuration(t *testing.T) {
	cs := freshSample(t)
	p := parent("backend-dev", "kubectl-netbaseline/test")
	p.Annotations[leaseHolderAnnotation] = "dead@host pid 1"
	p.Annotations[leaseExpiresAnnotation] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if _, err := cs.CoreV1().ConfigMaps("backend-dev").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := liveApplier(cs, "alice")
	start := time.Now()
	if _, err := a.Apply(context.Background(), "backend-dev", sample(t, "backend-dev")); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < a.LeaseDuration {
		t.Errorf("took the lease over after %s, less than a lease duration", took)
	}
	assertNoLease(t, cs)
}

// faultyTransport refuses the Nth mutating request (dry runs aside) with
// a 403, as an admission webhook would.
type faultyTransport struct {
	next  http.RoundTripper
	n     int32
	count atomic.Int32
}

func (f *faultyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && !strings.Contains(r.URL.RawQuery, "dryRun") && f.count.Add(1) == f.n {
		body := `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"admission webhook \"deny.example.com\" denied the request","reason":"Forbidden","code":403}`
		return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}},
			Body: ioNopCloser(body), Request: r}, nil
	}
	return f.next.RoundTrip(r)
}

// A rollback stopped half-way releases its lease, so the rerun its
// message asks for runs at once and finishes the job.
func TestIntegrationStoppedRollbackReleasesItsLease(t *testing.T) {
	cs := freshSample(t)
	if err := applyBoth(t, liveApplier(cs, "setup")); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(testenv.Require(t).Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &faultyTransport{next: rt, n: 4} }
	faulty := liveApplier(kubernetes.NewForConfigOrDie(cfg), "alice")
	rp, err := faulty.PlanRollback(context.Background(), "backend-dev")
	if err != nil {
		t.Fatal(err)
	}
	var failed *FailedError
	if _, err := faulty.Rollback(context.Background(), rp); !errors.As(err, &failed) {
		t.Fatalf("rollback with a refused write: %v", err)
	}
	assertNoLease(t, cs)
	again := liveApplier(cs, "alice-again")
	rp, err = again.PlanRollback(context.Background(), "backend-dev")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Rollback(context.Background(), rp); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if got := policySpecs(t, cs, "backend-dev"); got != "" {
		t.Errorf("after the rerun:\n%s", got)
	}
}

func ioNopCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// Between plan and write, someone edits the foreign policy a forced apply
// is about to take over, or a member a pruning apply is about to delete:
// the guarded write refuses, the run names the object and its writer and
// undoes the rest, and the edit stays.
func TestIntegrationGuardedTakeoverAndPrune(t *testing.T) {
	for _, tc := range []struct{ name, target string }{{"takeover", "allow-dns"}, {"prune", "allow-from-monitoring"}} {
		t.Run(tc.name, func(t *testing.T) {
			cs := freshSample(t)
			ctx := context.Background()
			a := liveApplier(cs, "alice")
			objs := sample(t, "backend-dev")
			if tc.name == "takeover" {
				foreign := foreignDNS("backend-dev")
				if _, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Create(ctx, foreign, metav1.CreateOptions{FieldManager: "platform-team"}); err != nil {
					t.Fatal(err)
				}
				a.ForceConflicts = true
			} else {
				if _, err := liveApplier(cs, "setup").Apply(ctx, "backend-dev", objs); err != nil {
					t.Fatal(err)
				}
				a.Prune = true
				objs = withoutObject(objs, tc.target)
			}
			plans, err := a.Plan(ctx, []string{"backend-dev"}, map[string][]baseline.Object{"backend-dev": objs})
			if err != nil {
				t.Fatal(err)
			}
			np, _ := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, tc.target, metav1.GetOptions{})
			np.Labels["edited"] = "meanwhile"
			if _, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Update(ctx, np, metav1.UpdateOptions{FieldManager: "intruder"}); err != nil {
				t.Fatal(err)
			}
			_, err = a.Execute(ctx, plans)
			var changed *ChangedError
			if !errors.As(err, &changed) || changed.Name != tc.target || !strings.Contains(changed.By, "intruder") {
				t.Fatalf("err = %v", err)
			}
			got, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, tc.target, metav1.GetOptions{})
			if err != nil || got.Labels["edited"] != "meanwhile" || ownership.IsMember(got) != (tc.name == "prune") {
				t.Errorf("the edit was not kept: %v %v", err, got.Labels)
			}
			assertNoLease(t, cs)
		})
	}
}

func withoutObject(objs []baseline.Object, name string) []baseline.Object {
	var out []baseline.Object
	for _, o := range objs {
		if o.GetName() != name {
			out = append(out, o)
		}
	}
	return out
}
