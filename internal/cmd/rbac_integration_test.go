//go:build integration

package cmd

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

// installRoles creates the ClusterRoles and Roles of hack/rbac/NAME.yaml
// (and the namespaces of the Roles), as docs/rbac.md tells users to.
func installRoles(t *testing.T, cs kubernetes.Interface, file string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "hack", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	dec := yamlv3.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := yaml.Marshal(doc)
		if doc["kind"] == "Role" {
			var role rbacv1.Role
			if err := yaml.UnmarshalStrict(b, &role); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: role.Namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			if _, err := cs.RbacV1().Roles(role.Namespace).Create(context.Background(), &role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			names = append(names, role.Namespace+"/"+role.Name)
			continue
		}
		var role rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict(b, &role); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.RbacV1().ClusterRoles().Create(context.Background(), &role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		names = append(names, role.Name)
	}
	return names
}

// bind grants a ClusterRole cluster-wide (namespace ""), or in one
// namespace; role "NS/NAME" is the Role NAME of NS, bound there.
func bind(t *testing.T, cs kubernetes.Interface, user, role, namespace string) {
	t.Helper()
	ref := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role}
	if ns, name, ok := strings.Cut(role, "/"); ok {
		ref.Kind, ref.Name, namespace = "Role", name, ns
	}
	subjects := []rbacv1.Subject{{Kind: "User", Name: user}}
	var err error
	if namespace == "" {
		_, err = cs.RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user + "-" + role}, RoleRef: ref, Subjects: subjects}, metav1.CreateOptions{})
	} else {
		_, err = cs.RbacV1().RoleBindings(namespace).Create(context.Background(), &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user + "-" + ref.Name}, RoleRef: ref, Subjects: subjects}, metav1.CreateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func as(t *testing.T, env *testenv.Env, user string) *rest.Config {
	c := rest.CopyConfig(env.Config)
	c.Impersonate = rest.ImpersonationConfig{UserName: user}
	return c
}

// runUntil retries while RBAC caches catch up with new bindings.
func runUntil(t *testing.T, cfg *rest.Config, ok func(result) bool, args ...string) result {
	t.Helper()
	var r result
	_ = wait.PollUntilContextTimeout(context.Background(), 300*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		r = runWithClients(t, clientsFor(t, cfg), args...)
		return ok(r), nil
	})
	return r
}

// Each documented role is enough for its commands, and a narrower one
// fails with the plugin's clear error.
func TestIntegrationDocumentedRoles(t *testing.T) {
	env := testenv.Require(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	readRoles := installRoles(t, cs, "read.yaml")
	installRoles(t, cs, "apply.yaml")
	installRoles(t, cs, "probe.yaml")

	// Read-only: explain and doctor work; apply is refused with the verb.
	for _, role := range readRoles {
		bind(t, cs, "reader", role, "")
	}
	// RBAC caches lag new bindings: wait until doctor reads everything.
	r := runUntil(t, as(t, env, "reader"), func(r result) bool {
		return r.stdout != "" && !strings.Contains(r.stdout, "could not check")
	}, "doctor", "-o", "json")
	if strings.Contains(r.stdout, "could not check") || strings.Contains(r.stderr, "RBAC") {
		t.Errorf("netbaseline-read is not enough for doctor:\n%s%s", r.stdout, r.stderr)
	}
	r = runWithClients(t, clientsFor(t, as(t, env, "reader")), "report", "-o", "json")
	if r.code != 0 || strings.Contains(r.stderr, "Warning") || strings.Contains(r.stdout, "could not check") {
		t.Errorf("netbaseline-read is not enough for report: exit %d %s", r.code, r.stderr)
	}
	r = runWithClients(t, clientsFor(t, as(t, env, "reader")), "diff", "-n", "backend-dev", "--flows")
	if r.code > 1 || strings.Contains(r.stderr, "Warning: cannot") {
		t.Errorf("netbaseline-read is not enough for diff --flows: exit %d %s", r.code, r.stderr)
	}
	// The read roles hold no Secret but the named one and no ConfigMap
	// outside kube-system.
	reader := kubernetes.NewForConfigOrDie(as(t, env, "reader"))
	for _, c := range []access{
		{"get", "", "secrets", "", "web-hosting-repo-secret", "argocd", true},
		{"get", "", "secrets", "", "argocd-secret", "argocd", false},
		{"list", "", "secrets", "", "", "argocd", false},
		{"list", "", "secrets", "", "", "", false},
		{"list", "", "configmaps", "", "", "kube-system", true},
		{"list", "", "configmaps", "", "", "backend-dev", false},
		{"list", "", "pods", "", "", "", true},
		{"create", "", "pods", "", "", "backend-dev", false},
	} {
		c.check(t, reader, "reader")
	}
	r = runWithClients(t, clientsFor(t, as(t, env, "reader")), "apply", "-n", "backend-dev")
	if r.code != ExitFailed || !strings.Contains(r.stderr, `RBAC does not allow "patch" on "networkpolicies" in namespace backend-dev`) {
		t.Errorf("read-only apply: exit %d %s", r.code, r.stderr)
	}

	// apply + namespace reader in backend-dev: apply, diff, rollback work.
	bind(t, cs, "deployer", "netbaseline-apply", "backend-dev")
	bind(t, cs, "deployer", "netbaseline-namespace-reader", "")
	deployer := as(t, env, "deployer")
	r = runUntil(t, deployer, func(r result) bool { return r.code == 0 }, "apply", "-n", "backend-dev")
	if r.code != 0 {
		t.Fatalf("netbaseline-apply is not enough for apply: %s", r.stderr)
	}
	if r = runWithClients(t, clientsFor(t, deployer), "diff", "-n", "backend-dev"); r.code != 0 {
		t.Errorf("diff after apply: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r = runWithClients(t, clientsFor(t, deployer), "rollback", "-n", "backend-dev"); r.code != 0 {
		t.Errorf("rollback: exit %d %s", r.code, r.stderr)
	}
	// Not bound in frontend-dev: refused, naming what is missing.
	r = runWithClients(t, clientsFor(t, deployer), "apply", "-n", "frontend-dev")
	if r.code == 0 || !strings.Contains(r.stderr, "networkpolicies") {
		t.Errorf("apply outside the Role: exit %d %s", r.code, r.stderr)
	}

	// probe: the role grants exactly what probe calls, in the bound
	// namespace only (asked of the API server as the user would).
	bind(t, cs, "prober", "netbaseline-read", "")
	bind(t, cs, "prober", "netbaseline-probe", "frontend-dev")
	prober := kubernetes.NewForConfigOrDie(as(t, env, "prober"))
	for _, c := range []access{
		{"patch", "", "pods", "ephemeralcontainers", "", "frontend-dev", true},
		{"get", "", "pods", "log", "", "frontend-dev", true},
		{"watch", "", "pods", "", "", "frontend-dev", true},
		{"list", "networking.k8s.io", "networkpolicies", "", "", "backend-dev", true},
		{"patch", "", "pods", "ephemeralcontainers", "", "backend-dev", false},
		{"create", "", "pods", "", "", "frontend-dev", false}, // --mode=pod has its own role
	} {
		c.check(t, prober, "prober")
	}
	// --mode=pod: pods created and deleted, no ephemeral containers.
	bind(t, cs, "pod-prober", "netbaseline-probe-pod", "frontend-dev")
	podProber := kubernetes.NewForConfigOrDie(as(t, env, "pod-prober"))
	for _, c := range []access{
		{"create", "", "pods", "", "", "frontend-dev", true},
		{"delete", "", "pods", "", "", "frontend-dev", true},
		{"get", "", "pods", "log", "", "frontend-dev", true},
		{"patch", "", "pods", "ephemeralcontainers", "", "frontend-dev", false},
		{"create", "", "pods", "", "", "backend-dev", false},
	} {
		c.check(t, podProber, "pod-prober")
	}
}

// access is one question to the API server's authorizer, as the user.
type access struct {
	verb, group, resource, sub, name, ns string
	want                                 bool
}

// check asks until RBAC caches agree (new bindings take a moment).
func (c access) check(t *testing.T, cs kubernetes.Interface, user string) {
	t.Helper()
	var allowed bool
	_ = wait.PollUntilContextTimeout(context.Background(), 300*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		review, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: c.ns, Verb: c.verb, Group: c.group, Resource: c.resource, Subresource: c.sub, Name: c.name}}}, metav1.CreateOptions{})
		if err != nil {
			return false, nil
		}
		allowed = review.Status.Allowed
		return allowed == c.want, nil
	})
	if allowed != c.want {
		t.Errorf("%s %s %s/%s %q in %q: allowed=%v, want %v", user, c.verb, c.resource, c.sub, c.name, c.ns, allowed, c.want)
	}
}

// A user without rights never gets a false answer: doctor and report exit
// 1 instead of a clean bill of health, report's cells say unknown, and
// explain names the permission it lacks (exit 1, not "no pods", exit 2).
func TestIntegrationNoRightsIsNeverAFact(t *testing.T) {
	env := testenv.Require(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	nobody := as(t, env, "nobody")
	always := func(result) bool { return true }

	r := runUntil(t, nobody, always, "doctor")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "doctor could check nothing") {
		t.Errorf("doctor: exit %d\n%s", r.code, r.stderr)
	}
	r = runUntil(t, nobody, always, "report")
	if r.code != ExitFailed || strings.Contains(r.stdout, "No NetworkPolicy engine found") || strings.Contains(r.stdout, "every pod of") ||
		!strings.Contains(r.stdout, "unknown (not readable)") {
		t.Errorf("report: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runUntil(t, nobody, always, "explain", "frontend-dev", "backend-dev:3001")
	if r.code != ExitFailed || !strings.Contains(r.stderr, `RBAC does not allow "list" on "pods" in namespace frontend-dev`) {
		t.Errorf("explain: exit %d\n%s", r.code, r.stderr)
	}
	// A matrix of pods nobody could list is unknown, not empty.
	r = runUntil(t, nobody, always, "explain", "--matrix", "-A")
	if r.code != ExitFailed || r.stdout != "" || !strings.Contains(r.stderr, `the matrix is unknown: RBAC does not allow "list" on "pods" cluster-wide`) {
		t.Errorf("explain --matrix -A: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runUntil(t, nobody, always, "explain", "--matrix", "frontend-dev", "backend-dev", "-o", "json")
	if r.code != ExitFailed || r.stdout != "" || !strings.Contains(r.stderr, `RBAC does not allow "list" on "pods" in namespace frontend-dev`) {
		t.Errorf("explain --matrix NS: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Which connections change is unknown too: an error (diff's >1), not
	// "no change" (0) nor "changes" (1).
	for _, args := range [][]string{{"diff", "-n", "frontend-dev", "--flows"}, {"diff", "-n", "frontend-dev", "--flows", "-o", "json"}} {
		r = runUntil(t, nobody, always, args...)
		if r.code != ExitUsage || strings.Contains(r.stderr, "No connection") || r.stdout != "" || !strings.Contains(r.stderr, "RBAC does not allow") {
			t.Errorf("%v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// A user who may read the pods, Services and policies of two namespaces
// but not the namespaces themselves: a verdict a namespaceSelector on a
// label decides is unspecified (the labels are unknown), never a false
// "denied"; one that names the namespace stays decided. diff --flows says
// which connections change is unknown.
func TestIntegrationUnreadableNamespaceLabelsAreNeverGuessed(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	nsA, nsB := seed(t, ctx, cs, "labels")
	metrics := intstr.FromInt32(8080)
	if _, err := cs.NetworkingV1().NetworkPolicies(nsB).Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-team"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "server"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "labels"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: &metrics}},
			}},
		}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "objects-reader"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "services"}, Verbs: []string{"list"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"list"}},
		},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, ns := range []string{nsA, nsB} {
		bind(t, cs, "nora-no-namespaces", "objects-reader", ns)
	}
	nora := as(t, env, "nora-no-namespaces")
	r := runUntil(t, nora, func(r result) bool { return r.code == 0 }, "explain", nsA, nsB, "-o", "json")
	if got := verdicts(t, r); got["http"] != "allowed" || got["metrics"] != "unspecified" {
		t.Errorf("namespace labels unknown: %v, want http allowed (by name) and metrics unspecified (by team)\n%s", got, r.stderr)
	}
	if !strings.Contains(r.stdout, "NamespaceLabelsUnknown") {
		t.Errorf("the verdict does not say why:\n%s", r.stdout)
	}
	admin := run(t, "explain", "--kubeconfig", env.Kubeconfig, nsA, nsB, "-o", "json")
	if got := verdicts(t, admin); got["http"] != "allowed" || got["metrics"] != "allowed" {
		t.Errorf("labels read: %v", got)
	}
	r = runUntil(t, nora, always(), "explain", "--matrix", nsA, nsB, "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, "unspecified") {
		t.Errorf("matrix: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func always() func(result) bool { return func(result) bool { return true } }
