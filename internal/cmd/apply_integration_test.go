//go:build integration

package cmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

// sampleNamespaces creates the sample app's namespaces (fresh for each
// test: the names are the overlay's) and removes them afterwards.
func sampleNamespaces(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	for _, ns := range []string{"frontend-dev", "backend-dev"} {
		// Namespaces from an earlier test may still be terminating.
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
			_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
	t.Cleanup(func() { deleteNamespaces(t, cs, "frontend-dev", "backend-dev") })
}

// deleteNamespaces deletes and waits until they are gone (the namespace
// controller empties them first), so the next test starts clean.
func deleteNamespaces(t *testing.T, cs kubernetes.Interface, names ...string) {
	ctx := context.Background()
	for _, ns := range names {
		_ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(context.Context) (bool, error) {
		for _, ns := range names {
			if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Errorf("namespaces %v not deleted: %v", names, err)
	}
}

func resourceVersions(t *testing.T, cs kubernetes.Interface, ns string) map[string]string {
	t.Helper()
	list, err := cs.NetworkingV1().NetworkPolicies(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, np := range list.Items {
		out[np.Name] = np.ResourceVersion
	}
	cms, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		if cm.Name != "kube-root-ca.crt" {
			out["configmap/"+cm.Name] = cm.ResourceVersion
		}
	}
	return out
}

func TestIntegrationApplyDryRunAndRollback(t *testing.T) {
	env := testenv.Require(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	kc := "--kubeconfig=" + env.Kubeconfig

	// Dry runs write nothing.
	for _, mode := range []string{"server", "client"} {
		r := run(t, "apply", kc, "-n", "backend-dev", "--dry-run="+mode)
		if r.code != 0 || !strings.Contains(r.stdout, "allow-from-frontend created (") {
			t.Fatalf("dry-run=%s: exit %d\n%s%s", mode, r.code, r.stdout, r.stderr)
		}
		if got := resourceVersions(t, cs, "backend-dev"); len(got) != 0 {
			t.Fatalf("dry-run=%s persisted %v", mode, got)
		}
	}

	// Created, in the allows-first order, deny-all last.
	r := run(t, "apply", kc, "-n", "backend-dev")
	want := []string{
		"networkpolicy.networking.k8s.io/allow-dns created",
		"networkpolicy.networking.k8s.io/allow-from-frontend created",
		"networkpolicy.networking.k8s.io/allow-from-ingress created",
		"networkpolicy.networking.k8s.io/allow-from-monitoring created",
		"networkpolicy.networking.k8s.io/deny-all created",
	}
	if got := lines(r.stdout); r.code != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "apply backend-dev/allow-dns (phase 05)") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}
	np, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(context.Background(), "deny-all", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if np.Labels[ownership.ApplySetPartOf] != ownership.ApplySetID("backend-dev") || np.ManagedFields[0].Manager != "kubectl-netbaseline" {
		t.Errorf("member labels %v, managers %v", np.Labels, np.ManagedFields)
	}
	before := resourceVersions(t, cs, "backend-dev")

	// Re-applying is a no-op; a dry run of a change says configured and keeps
	// resourceVersions.
	r = run(t, "apply", kc, "-n", "backend-dev")
	if strings.Count(r.stdout, " unchanged") != 5 {
		t.Errorf("re-apply:\n%s", r.stdout)
	}
	r = run(t, "apply", kc, "-n", "backend-dev", "--namespace-label", "name", "--dry-run=server")
	if !strings.Contains(r.stdout, "allow-from-frontend configured (server dry run)") || !strings.Contains(r.stdout, "deny-all unchanged (server dry run)") {
		t.Errorf("dry-run of a change:\n%s", r.stdout)
	}
	if after := resourceVersions(t, cs, "backend-dev"); !equalStringMaps(before, after) {
		t.Errorf("idempotent apply or dry run changed objects: %v -> %v", before, after)
	}
	r = run(t, "apply", kc, "-n", "backend-dev", "--namespace-label", "name")
	if !strings.Contains(r.stdout, "allow-from-frontend configured") {
		t.Errorf("configured:\n%s", r.stdout)
	}

	// -o yaml|json|name print the objects.
	r = run(t, "apply", kc, "-n", "backend-dev", "-o", "json")
	var list struct {
		Kind  string `json:"kind"`
		Items []networkingv1.NetworkPolicy
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.Kind != "List" || len(list.Items) != 5 {
		t.Errorf("-o json: %v %s", err, r.stdout)
	}

	// An unrelated policy in the namespace survives the rollback.
	other := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "team-own"}, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress"}}}
	if _, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Create(context.Background(), other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = run(t, "rollback", kc, "-n", "backend-dev", "--print-command")
	if r.stdout != "kubectl delete networkpolicy -n backend-dev allow-dns allow-from-frontend allow-from-ingress allow-from-monitoring deny-all\nkubectl delete configmap -n backend-dev netbaseline-applyset\n" {
		t.Errorf("--print-command:\n%s", r.stdout)
	}
	r = run(t, "rollback", kc, "-n", "nope")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `namespace "nope" does not exist`) {
		t.Errorf("rollback -n nope: exit %d %s", r.code, r.stderr)
	}
	r = run(t, "rollback", kc, "-n", "backend-dev", "--dry-run=server")
	if r.code != 0 || len(resourceVersions(t, cs, "backend-dev")) != 7 {
		t.Errorf("rollback dry run changed something: exit %d %s", r.code, r.stderr)
	}
	r = run(t, "rollback", kc, "-n", "backend-dev", "--dry-run=server", "-o", "name")
	if r.code != 0 || !strings.Contains(r.stdout, "networkpolicy.networking.k8s.io/deny-all\n") || strings.Contains(r.stdout, " deleted") || !strings.Contains(r.stdout, "configmap/netbaseline-applyset\n") {
		t.Errorf("rollback -o name: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "rollback", kc, "-n", "backend-dev", "-o", "yaml"); r.code != ExitUsage {
		t.Errorf("rollback -o yaml: exit %d, want 2", r.code)
	}
	r = run(t, "rollback", kc, "-n", "backend-dev")
	if r.code != 0 || strings.Count(r.stdout, " deleted") != 6 {
		t.Fatalf("rollback: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := resourceVersions(t, cs, "backend-dev"); len(got) != 1 || got["team-own"] == "" {
		t.Errorf("after rollback: %v, want only team-own", got)
	}
	r = run(t, "rollback", kc, "-n", "backend-dev")
	if r.code != 0 || !strings.Contains(r.stderr, "Nothing to roll back in backend-dev") {
		t.Errorf("second rollback: exit %d %s", r.code, r.stderr)
	}
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestIntegrationApplyForeignPolicy(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	kc := "--kubeconfig=" + env.Kubeconfig
	foreign := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "allow-from-ingress", Labels: map[string]string{"team": "web"},
			Annotations: map[string]string{"argocd.argoproj.io/tracking-id": "web:networking.k8s.io/NetworkPolicy:backend-dev/allow-from-ingress"}},
		Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}},
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Create(ctx, foreign, metav1.CreateOptions{FieldManager: "argocd-controller"}); err != nil {
		t.Fatal(err)
	}
	r := run(t, "apply", kc, "-n", "backend-dev")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "allow-from-ingress (written by argocd-controller (Update)); managed by Argo CD") || !strings.Contains(r.stderr, "--force-conflicts") {
		t.Fatalf("refusal: exit %d\n%s", r.code, r.stderr)
	}
	if got := resourceVersions(t, cs, "backend-dev"); len(got) != 1 {
		t.Fatalf("a refused apply wrote %v", got)
	}
	r = run(t, "diff", kc, "-n", "backend-dev")
	if r.code != 2 || !strings.Contains(r.stderr, "did not create") {
		t.Errorf("diff on a conflict: exit %d %s", r.code, r.stderr)
	}

	r = run(t, "apply", kc, "-n", "backend-dev", "--force-conflicts")
	if r.code != 0 || !strings.Contains(r.stdout, "allow-from-ingress configured") || !strings.Contains(r.stderr, "taking over allow-from-ingress") {
		t.Fatalf("forced: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	taken, _ := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, "allow-from-ingress", metav1.GetOptions{})
	if !ownership.IsMember(taken) || len(taken.Spec.Ingress[0].From) == 0 {
		t.Errorf("taken over policy: %+v", taken)
	}
	r = run(t, "rollback", kc, "-n", "backend-dev")
	if r.code != 0 || !strings.Contains(r.stdout, "allow-from-ingress restored") {
		t.Fatalf("rollback: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	restored, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, "allow-from-ingress", metav1.GetOptions{})
	if err != nil || ownership.IsMember(restored) || restored.Labels["team"] != "web" || len(restored.Spec.Ingress) != 1 || len(restored.Spec.Ingress[0].From) != 0 {
		t.Errorf("restored: %v %+v", err, restored)
	}
	if _, err := cs.CoreV1().ConfigMaps("backend-dev").Get(ctx, ownership.BackupName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("backup ConfigMap left behind: %v", err)
	}
}

func TestIntegrationApplyPruneAndMissingNamespace(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	kc := "--kubeconfig=" + env.Kubeconfig
	deleteNamespaces(t, cs, "backend-dev")
	r := run(t, "apply", kc, "-n", "backend-dev")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `namespace "backend-dev" does not exist; create it first (kubectl create namespace backend-dev`) {
		t.Fatalf("missing namespace: exit %d %s", r.code, r.stderr)
	}
	sampleNamespaces(t, cs)
	if r := run(t, "apply", kc, "-n", "backend-dev"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// A config without monitoring: allow-from-monitoring is no longer rendered.
	cfg := writeTemp(t, "cfg.yaml", `apiVersion: netbaseline.io/v1alpha1
kind: Config
namespaces:
- name: backend-dev
  monitoring: false
  apps: [{name: backend, ports: [{name: http, port: 3001}], ingress: true}]
`)
	r = run(t, "apply", kc, "-n", "backend-dev", "--config", cfg)
	if strings.Contains(r.stdout, "pruned") {
		t.Errorf("pruned without --prune:\n%s", r.stdout)
	}
	r = run(t, "diff", kc, "-n", "backend-dev", "--config", cfg, "--prune")
	if r.code != 1 || !strings.Contains(r.stdout, "-  name: allow-from-monitoring") {
		t.Errorf("diff --prune: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "apply", kc, "-n", "backend-dev", "--config", cfg, "--prune")
	if !strings.Contains(r.stdout, "allow-from-monitoring pruned") {
		t.Errorf("--prune:\n%s%s", r.stdout, r.stderr)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, "allow-from-monitoring", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pruned member still there: %v", err)
	}
	r = run(t, "diff", kc, "-n", "backend-dev", "--config", cfg, "--prune")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("diff after apply: exit %d\n%s", r.code, r.stdout)
	}
}

// A user who may read but not write policies gets the missing verb and
// resource, and nothing is written.
func TestIntegrationApplyForbidden(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "netbaseline-reader"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps", "pods"}, Verbs: []string{"get", "list"}},
		},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	bind(t, cs, "carol", "netbaseline-reader", "backend-dev")
	r := runUntil(t, as(t, env, "carol"), func(r result) bool { return strings.Contains(r.stderr, "patch") }, "apply", "-n", "backend-dev")
	if r.code != ExitFailed || !strings.Contains(r.stderr, `RBAC does not allow "patch" on "networkpolicies" in namespace backend-dev`) || !strings.Contains(r.stderr, "nothing was applied") {
		t.Errorf("forbidden: exit %d\n%s", r.code, r.stderr)
	}
	if got := resourceVersions(t, cs, "backend-dev"); len(got) != 0 {
		t.Errorf("wrote %v", got)
	}
}

// diff --flows on a small live cluster: what the default-deny would break.
func TestIntegrationDiffFlows(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	mkPod := func(ns, name string, labels map[string]string, ip string, ports ...corev1.ContainerPort) {
		p, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i", Ports: ports}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip}
		if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkPod("frontend-dev", "frontend", map[string]string{"app": "frontend"}, "198.18.0.30", corev1.ContainerPort{Name: "http", ContainerPort: 3000})
	mkPod("backend-dev", "backend", map[string]string{"app": "backend"}, "198.18.0.31",
		corev1.ContainerPort{Name: "http", ContainerPort: 3001}, corev1.ContainerPort{Name: "metrics", ContainerPort: 8080})
	kc := "--kubeconfig=" + env.Kubeconfig
	r := run(t, "diff", kc, "-n", "backend-dev", "-n", "frontend-dev", "--flows", "-o", "json")
	if r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc struct {
		Changes []struct {
			FromGroup, ToGroup string
			Port               int
			Before, After      string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	changed := map[string]string{}
	for _, c := range doc.Changes {
		changed[c.FromGroup+" -> "+c.ToGroup+":"+itoa(c.Port)] = c.Before + " -> " + c.After
	}
	if changed["frontend-dev/frontend -> backend-dev/backend:8080"] != "allowed -> denied" || changed["backend-dev/backend -> frontend-dev/frontend:3000"] != "allowed -> denied" {
		t.Errorf("changes: %v", changed)
	}
	if _, ok := changed["frontend-dev/frontend -> backend-dev/backend:3001"]; ok {
		t.Errorf("frontend -> backend:3001 stays allowed, but was listed: %v", changed)
	}
	if r := run(t, "apply", kc, "-n", "backend-dev", "-n", "frontend-dev"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = run(t, "diff", kc, "-n", "backend-dev", "-n", "frontend-dev", "--flows")
	if r.code != 0 || !strings.Contains(r.stderr, "No connection between groups changes") {
		t.Errorf("after apply: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// apply --verify refuses before writing anything when no engine enforces
// NetworkPolicy (the light-mode API server has none).
func TestIntegrationApplyVerifyRefusesWithoutEngine(t *testing.T) {
	env := testenv.Require(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	kc := "--kubeconfig=" + env.Kubeconfig
	img := "--image=registry.example/netbaseline-probe@sha256:" + strings.Repeat("a", 64)
	r := run(t, "apply", kc, "-n", "backend-dev", "--verify", img)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "--verify refused, nothing was applied: no NetworkPolicy engine was found") || !strings.Contains(r.stderr, "--canary") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if left := resourceVersions(t, cs, "backend-dev"); len(left) != 0 {
		t.Errorf("--verify refused but wrote %v", left)
	}
	for _, bad := range [][]string{{"--verify", "--dry-run=server"}, {"--canary"}, {"--save", "verify.json"}, {"--verify", "--deny-mode", "sometimes"}} {
		if r := run(t, append([]string{"apply", kc, "-n", "backend-dev", img}, bad...)...); r.code != ExitUsage {
			t.Errorf("%v: exit %d %s", bad, r.code, r.stderr)
		}
	}
}
