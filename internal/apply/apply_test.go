package apply

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	kubectlapply "k8s.io/kubectl/pkg/cmd/apply"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

func sample(t *testing.T, ns string) []baseline.Object {
	t.Helper()
	src, err := baseline.EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := src.Render(ns)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func phaseNames(ps []Phase) []string {
	var out []string
	for _, p := range ps {
		out = append(out, baseline.FormatPhase(p.Number)+":"+names(p.Objects))
	}
	return out
}

// The order lives here and only here.
func TestPhases(t *testing.T) {
	objs := sample(t, "backend-dev")
	if got, want := phaseNames(phases(objs, AllowsFirst)), []string{"05:allow-dns", "10:allow-from-frontend", "15:allow-from-ingress", "20:allow-from-monitoring", "00:deny-all"}; !cmp.Equal(got, want) {
		t.Errorf("allows-first = %v, want %v", got, want)
	}
	if got, want := phaseNames(phases(objs, Runbook)), []string{"00:deny-all", "05:allow-dns", "10:allow-from-frontend", "15:allow-from-ingress", "20:allow-from-monitoring"}; !cmp.Equal(got, want) {
		t.Errorf("runbook = %v, want %v", got, want)
	}
	if _, err := ParseOrder("random"); err == nil {
		t.Error("ParseOrder accepted random")
	}
}

// kubectl computes the same ApplySet id for our parent, so plain kubectl
// can find the members.
func TestApplySetIDMatchesKubectl(t *testing.T) {
	for _, ns := range []string{"backend-dev", "frontend-dev", "y"} {
		ref := &kubectlapply.ApplySetParentRef{Name: ownership.ParentName, Namespace: ns,
			RESTMapping: &meta.RESTMapping{GroupVersionKind: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Scope: meta.RESTScopeNamespace}}
		want := kubectlapply.NewApplySet(ref, kubectlapply.ApplySetTooling{Name: "kubectl-netbaseline"}, nil, nil).ID()
		if got := ownership.ApplySetID(ns); got != want {
			t.Errorf("ApplySetID(%s) = %s, kubectl says %s", ns, got, want)
		}
	}
}

type call struct{ verb, resource, name, dryRun string }

func recordCalls(cs *fake.Clientset) *[]call {
	var calls []call
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		c := call{verb: a.GetVerb(), resource: a.GetResource().Resource}
		switch act := a.(type) {
		case k8stesting.PatchAction:
			c.name = act.GetName()
			if po, ok := act.(k8stesting.PatchActionImpl); ok && len(po.PatchOptions.DryRun) > 0 {
				c.dryRun = "dry"
			}
		case k8stesting.DeleteAction:
			c.name = act.GetName()
		case k8stesting.CreateAction: // an UpdateAction too: both carry the object
			if m, ok := act.GetObject().(metav1.Object); ok {
				c.name = m.GetName()
			}
		}
		if c.verb == "patch" || c.verb == "delete" || c.verb == "create" || c.verb == "update" {
			calls = append(calls, c)
		}
		return false, nil, nil
	})
	return &calls
}

func newFake(objs ...runtime.Object) *fake.Clientset {
	backend := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "backend-1", Namespace: "backend-dev", Labels: map[string]string{"app": "backend"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 3001}}}}}}
	cs := fake.NewClientset(append([]runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "backend-dev"}}, backend}, objs...)...)
	answerDryRuns(cs)
	return cs
}

func TestApplyDryRunPassPrecedesWrites(t *testing.T) {
	cs := newFake()
	calls := recordCalls(cs)
	a := &Applier{Client: cs, Options: Options{Order: AllowsFirst, Tooling: "t"}}
	report, err := a.Apply(context.Background(), "backend-dev", sample(t, "backend-dev"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range *calls {
		got = append(got, strings.TrimSpace(c.dryRun+" "+c.verb+" "+c.resource+"/"+c.name))
	}
	want := []string{
		"dry patch networkpolicies/deny-all", "dry patch networkpolicies/allow-dns", "dry patch networkpolicies/allow-from-frontend", "dry patch networkpolicies/allow-from-ingress", "dry patch networkpolicies/allow-from-monitoring",
		"create configmaps/netbaseline-applyset",
		"create networkpolicies/netbaseline-bridge",
		"patch networkpolicies/allow-dns", "patch networkpolicies/allow-from-frontend", "patch networkpolicies/allow-from-ingress", "patch networkpolicies/allow-from-monitoring", "patch networkpolicies/deny-all",
		"delete networkpolicies/netbaseline-bridge",
		"update configmaps/netbaseline-applyset",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(report.Results) != 5 || report.Results[4].Name != "deny-all" {
		t.Errorf("results = %+v", report.Results)
	}
}

func TestApplyStopsBeforeWritingWhenADryRunFails(t *testing.T) {
	cs := newFake()
	calls := recordCalls(cs)
	cs.PrependReactor("patch", "networkpolicies", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.PatchAction).GetName() == "allow-from-ingress" {
			return true, nil, errors.New(`admission webhook "policy.example.com" denied the request: ingress from other namespaces needs approval`)
		}
		return false, nil, nil
	})
	a := &Applier{Client: cs, Options: Options{Order: AllowsFirst}}
	_, err := a.Apply(context.Background(), "backend-dev", sample(t, "backend-dev"))
	if err == nil || !strings.Contains(err.Error(), "nothing was applied") || !strings.Contains(err.Error(), `admission webhook "policy.example.com" denied the request`) {
		t.Fatalf("err = %v", err)
	}
	for _, c := range *calls {
		if c.dryRun == "" {
			t.Errorf("wrote %s/%s after a failed dry run", c.resource, c.name)
		}
	}
}

func TestApplyInterruptedReportsWhatLandedAndUndoes(t *testing.T) {
	cs := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	cs.PrependReactor("patch", "networkpolicies", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if p := a.(k8stesting.PatchActionImpl); len(p.PatchOptions.DryRun) == 0 && p.GetName() == "allow-from-frontend" {
			cancel() // Ctrl-C while the second object is on its way
		}
		return false, nil, nil
	})
	var progress strings.Builder
	a := &Applier{Client: cs, Options: Options{Order: AllowsFirst, Progress: &progress}}
	_, err := a.Apply(ctx, "backend-dev", sample(t, "backend-dev"))
	t.Log(progress.String())
	var failed *FailedError
	if !errors.As(err, &failed) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if !cmp.Equal(failed.Landed, []string{"allow-dns", "allow-from-frontend"}) || !cmp.Equal(failed.Undone, []string{"backend-dev"}) {
		t.Errorf("landed %v undone %v", failed.Landed, failed.Undone)
	}
	if !strings.Contains(err.Error(), "undone: backend-dev is as before the run") {
		t.Errorf("message: %v", err)
	}
	left, _ := cs.NetworkingV1().NetworkPolicies("backend-dev").List(context.Background(), metav1.ListOptions{})
	cms, _ := cs.CoreV1().ConfigMaps("backend-dev").List(context.Background(), metav1.ListOptions{})
	for _, x := range left.Items {
		t.Logf("left %s %v", x.Name, x.Labels)
	}
	if len(left.Items) != 0 || len(cms.Items) != 0 {
		t.Errorf("left %d policies and %d ConfigMaps", len(left.Items), len(cms.Items))
	}
}

func TestApplyRefusals(t *testing.T) {
	a := &Applier{Client: fake.NewClientset(), Options: Options{Order: AllowsFirst}}
	var missing *NamespaceMissingError
	if _, err := a.Apply(context.Background(), "backend-dev", sample(t, "backend-dev")); !errors.As(err, &missing) {
		t.Errorf("missing namespace: %v", err)
	}

	foreign := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: "backend-dev",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "helm", Operation: metav1.ManagedFieldsOperationUpdate}},
		Labels:        map[string]string{"generate.kyverno.io/policy-name": "default-deny"}}}
	cs := newFake(foreign)
	calls := recordCalls(cs)
	a.Client = cs
	_, err := a.Apply(context.Background(), "backend-dev", sample(t, "backend-dev"))
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !strings.Contains(err.Error(), "deny-all (written by helm (Update)); managed by a Kyverno generate rule (policy default-deny)") {
		t.Errorf("foreign: %v", err)
	}
	if len(*calls) != 0 {
		t.Errorf("wrote %v despite the conflict", *calls)
	}

	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x"}}}
	_, err = (&Applier{Client: newFake()}).Apply(context.Background(), "backend-dev", []baseline.Object{{Unstructured: cm}})
	var input *baseline.InputError
	if !errors.As(err, &input) || !strings.Contains(err.Error(), "only handles NetworkPolicies") {
		t.Errorf("a ConfigMap: %v", err)
	}
}

func TestOtherOwner(t *testing.T) {
	tests := []struct {
		meta metav1.ObjectMeta
		want string
	}{
		{metav1.ObjectMeta{}, ""},
		{metav1.ObjectMeta{Labels: map[string]string{ownership.ManagedByLabel: ownership.ManagedByValue}}, ""},
		{metav1.ObjectMeta{Annotations: map[string]string{"argocd.argoproj.io/tracking-id": "app:x"}}, "Argo CD (tracking-id app:x)"},
		{metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/instance": "web"}}, "Argo CD or Helm (app.kubernetes.io/instance=web)"},
		{metav1.ObjectMeta{Labels: map[string]string{ownership.ManagedByLabel: "kyverno"}}, "Kyverno"},
		{metav1.ObjectMeta{Labels: map[string]string{ownership.ManagedByLabel: "Helm"}}, "Helm (app.kubernetes.io/managed-by=Helm)"},
		{metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "Tenant", Name: "acme"}}}, "Tenant acme (ownerReference)"},
	}
	for _, tt := range tests {
		if got := otherOwner(&tt.meta); got != tt.want {
			t.Errorf("OtherOwner(%+v) = %q, want %q", tt.meta, got, tt.want)
		}
	}
}

func TestRollbackCommand(t *testing.T) {
	plan := &RollbackPlan{Namespace: "ns", Members: []string{"allow-dns", "deny-all"}, HasParent: true, HasBackup: true,
		Restore: []*networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "theirs"}}}}
	want := "kubectl delete networkpolicy -n ns allow-dns deny-all\n# restoring the saved foreign policies (theirs) needs: kubectl netbaseline rollback -n ns\nkubectl delete configmap -n ns netbaseline-applyset"
	if got := plan.KubectlCommand(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !(&RollbackPlan{Namespace: "ns"}).Empty() {
		t.Error("empty plan not Empty")
	}
}

// Rolling back a namespace that does not exist says so; one that exists
// but holds nothing of the plugin's is an empty plan.
func TestPlanRollbackOfMissingNamespace(t *testing.T) {
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
	a := &Applier{Client: cs}
	_, err := a.PlanRollback(context.Background(), "nope")
	var missing *NamespaceMissingError
	if !errors.As(err, &missing) || !missing.Rollback || !strings.Contains(err.Error(), `namespace "nope" does not exist, so there is nothing to roll back`) {
		t.Errorf("PlanRollback(nope) = %v", err)
	}
	plan, err := a.PlanRollback(context.Background(), "shop")
	if err != nil || !plan.Empty() {
		t.Errorf("PlanRollback(shop) = %+v, %v", plan, err)
	}
}
