//go:build integration

package cmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

type doctorDoc struct {
	Engines []struct {
		Name, Version, DenyMode string
	}
	Findings []struct {
		ID, Severity, Subject, Message string
	}
}

func findingsOf(t *testing.T, r result) doctorDoc {
	t.Helper()
	var doc doctorDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("exit %d: %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	return doc
}

func severityOf(doc doctorDoc, id string) string {
	for _, f := range doc.Findings {
		if f.ID == id {
			return f.Severity
		}
	}
	return ""
}

func TestIntegrationDoctor(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	kc := "--kubeconfig=" + env.Kubeconfig

	// No engine yet: exit 3 and what to install.
	r := run(t, "doctor", kc, "-o", "json")
	doc := findingsOf(t, r)
	if r.code != ExitUnmet || severityOf(doc, "ENGINE-001") != "fail" {
		t.Errorf("no engine: exit %d %+v", r.code, doc.Findings)
	}

	// A kube-router DaemonSet (the API server alone: it never runs).
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "kube-router", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-router"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "kube-router"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-router", Image: "kube-router:v2.1.0"}}}}}}
	if _, err := cs.AppsV1().DaemonSets("kube-system").Create(ctx, ds, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AppsV1().DaemonSets("kube-system").Delete(context.Background(), "kube-router", metav1.DeleteOptions{})
	})
	doc = findingsOf(t, run(t, "doctor", kc, "-o", "json"))
	if len(doc.Engines) != 1 || doc.Engines[0].Name != "kube-router" || doc.Engines[0].Version != "v2.1.0" || doc.Engines[0].DenyMode != "reject" {
		t.Errorf("engines: %+v", doc.Engines)
	}

	// A user who may read pods and namespaces only: the rest is "could
	// not check", never a cluster failure.
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "doctor-partial"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "namespaces", "services"}, Verbs: []string{"list"}}}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "dave"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "doctor-partial"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "dave"}}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	dave := rest.CopyConfig(env.Config)
	dave.Impersonate = rest.ImpersonationConfig{UserName: "dave"}
	_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		r = runWithClients(t, clientsFor(t, dave), "doctor", "-o", "json")
		return strings.Contains(r.stdout, "LABEL-001"), nil
	})
	doc = findingsOf(t, r)
	for _, f := range doc.Findings {
		if f.ID == "ENGINE-001" && (f.Severity != "info" || !strings.Contains(f.Message, `could not check: RBAC does not allow "list" on "daemonsets" cluster-wide`)) {
			t.Errorf("forbidden daemonsets: %+v", f)
		}
	}
	if severityOf(doc, "ENGINE-001") != "info" {
		t.Errorf("findings: %+v", doc.Findings)
	}
}
