//go:build integration

package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

func renderedSample(t *testing.T, nss ...string) map[string][]baseline.Object {
	t.Helper()
	src, err := baseline.EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]baseline.Object{}
	for _, ns := range nss {
		if out[ns], err = src.Render(ns); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func specYAML(t *testing.T, np *networkingv1.NetworkPolicy) string {
	b, err := yaml.Marshal(np.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// On a real API server: two forced applies take over two teams'
// policies; one rollback gives both back, in place (same UID), with their
// spec, labels and last-applied annotation; a second run is refused by
// the lease; a multi-namespace apply with one refused namespace writes
// nothing anywhere.
func TestIntegrationSafetyCore(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: "backend-dev", Labels: map[string]string{"app": "backend"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 3001}}}}}}
	if _, err := cs.CoreV1().Pods("backend-dev").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	udp, dnsPort := corev1.ProtocolUDP, intstr.FromInt32(53)
	dns := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-dns", Namespace: "backend-dev", Labels: map[string]string{"team": "platform"},
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"NetworkPolicy"}`}},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "backend", "extra": "kept-by-ssa"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dnsPort}}}}}}
	dns, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Create(ctx, dns, metav1.CreateOptions{FieldManager: "platform-team"})
	if err != nil {
		t.Fatal(err)
	}
	applier := &apply.Applier{Client: cs, Options: apply.Options{ForceConflicts: true, Tooling: "kubectl-netbaseline/test", Holder: "first"}}
	if _, err := applier.Apply(ctx, "backend-dev", renderedSample(t, "backend-dev")["backend-dev"]); err != nil {
		t.Fatal(err)
	}
	taken, _ := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, "allow-dns", metav1.GetOptions{})
	if taken.UID != dns.UID || taken.Spec.PodSelector.MatchLabels["extra"] != "" {
		t.Fatalf("take-over kept a foreign field or changed identity: %+v", taken.Spec.PodSelector)
	}
	// A second team's policy appears where a member was; the next forced
	// apply takes it over too, and the backup keeps both.
	if err := cs.NetworkingV1().NetworkPolicies("backend-dev").Delete(ctx, "allow-from-ingress", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ing := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-from-ingress", Namespace: "backend-dev", Labels: map[string]string{"team": "web"}},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "old"}}, Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}}
	if ing, err = cs.NetworkingV1().NetworkPolicies("backend-dev").Create(ctx, ing, metav1.CreateOptions{FieldManager: "web-team"}); err != nil {
		t.Fatal(err)
	}
	if _, err := applier.Apply(ctx, "backend-dev", renderedSample(t, "backend-dev")["backend-dev"]); err != nil {
		t.Fatal(err)
	}
	backup, err := cs.CoreV1().ConfigMaps("backend-dev").Get(ctx, ownership.BackupName, metav1.GetOptions{})
	if err != nil || len(backup.Data) != 2 {
		t.Fatalf("backup after two take-overs: %v %v", err, backup.Data)
	}

	// The lease: a run that holds it refuses a second.
	first := &apply.Applier{Client: cs, Options: apply.Options{Tooling: "kubectl-netbaseline/test", Holder: "alice", Prune: true}}
	stop := errors.New("stop")
	first.Verify = func(ctx context.Context, _ *apply.NamespacePlan) error {
		second := &apply.Applier{Client: cs, Options: apply.Options{Holder: "bob"}}
		_, err := second.Apply(ctx, "backend-dev", renderedSample(t, "backend-dev")["backend-dev"])
		var held *apply.LeaseHeldError
		if !errors.As(err, &held) || held.Holder != "alice" {
			t.Errorf("second run: %v", err)
		}
		rp, err := second.PlanRollback(ctx, "backend-dev")
		if err == nil {
			_, err = second.Rollback(ctx, rp)
		}
		if !errors.As(err, &held) {
			t.Errorf("concurrent rollback: %v", err)
		}
		return stop
	}
	changed := renderedSample(t, "backend-dev")["backend-dev"]
	changed = changed[:len(changed)-1] // prune one member: a real change
	if _, err := first.Apply(ctx, "backend-dev", changed); !errors.Is(err, stop) {
		t.Fatalf("first run: %v", err)
	}

	// One rollback: both originals back, same UIDs, specs and metadata.
	rp, err := applier.PlanRollback(ctx, "backend-dev")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := applier.Rollback(ctx, rp); err != nil {
		t.Fatal(err)
	}
	list, _ := cs.NetworkingV1().NetworkPolicies("backend-dev").List(ctx, metav1.ListOptions{})
	if len(list.Items) != 2 {
		t.Fatalf("after rollback: %d policies", len(list.Items))
	}
	for _, want := range []*networkingv1.NetworkPolicy{dns, ing} {
		got, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.UID != want.UID || specYAML(t, got) != specYAML(t, want) || got.Labels["team"] != want.Labels["team"] || ownership.IsMember(got) ||
			got.Annotations["kubectl.kubernetes.io/last-applied-configuration"] != want.Annotations["kubectl.kubernetes.io/last-applied-configuration"] {
			t.Errorf("%s not restored:\n%+v\nwant\n%+v", want.Name, got, want)
		}
	}
	if cms, _ := cs.CoreV1().ConfigMaps("backend-dev").List(ctx, metav1.ListOptions{}); len(cms.Items) > 1 { // kube-root-ca.crt
		t.Errorf("ConfigMaps left: %d", len(cms.Items))
	}

	// A foreign policy in frontend-dev refuses the whole run, in either
	// order of arguments.
	for _, name := range []string{"allow-dns", "allow-from-ingress"} {
		if err := cs.NetworkingV1().NetworkPolicies("backend-dev").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	foreign := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-dns", Namespace: "frontend-dev"}, Spec: networkingv1.NetworkPolicySpec{}}
	if _, err := cs.NetworkingV1().NetworkPolicies("frontend-dev").Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	strict := &apply.Applier{Client: cs}
	_, err = strict.Plan(ctx, []string{"backend-dev", "frontend-dev"}, renderedSample(t, "backend-dev", "frontend-dev"))
	if err == nil || !strings.Contains(err.Error(), "nothing was changed in any namespace (frontend-dev refused)") {
		t.Fatalf("plan: %v", err)
	}
	after, _ := cs.NetworkingV1().NetworkPolicies("backend-dev").List(ctx, metav1.ListOptions{})
	if len(after.Items) != 0 {
		t.Errorf("a refused plan wrote in backend-dev: %d policies", len(after.Items))
	}
}

// RBAC that allows every NetworkPolicy write (the server dry-run passes)
// but not the lease's update of the parent ConfigMap is refused before any
// write, naming what is missing.
func TestIntegrationAccessCheckedBeforeAnyWrite(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: "backend-dev", Labels: map[string]string{"app": "backend"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x"}}}}
	if _, err := cs.CoreV1().Pods("backend-dev").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "netbaseline-no-create"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"get", "list", "create", "patch", "update", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
		},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	bind(t, cs, "erin", "netbaseline-no-create", "backend-dev")
	r := runUntil(t, as(t, env, "erin"), func(r result) bool { return strings.Contains(r.stderr, "update configmaps") }, "apply", "-n", "backend-dev")
	if r.code != ExitFailed || !strings.Contains(r.stderr, `RBAC does not allow "update" on "configmaps" in namespace backend-dev`) || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if got := resourceVersions(t, cs, "backend-dev"); len(got) != 0 {
		t.Errorf("wrote %v", got)
	}
}
