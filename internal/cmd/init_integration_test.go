//go:build integration

package cmd

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

// The init tree works with plain kubectl both ways the runbook uses it:
// apply -f / delete -f on a folder, and apply -k.
func TestIntegrationInitTreeWithKubectl(t *testing.T) {
	env := testenv.Require(t)
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	cs := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	for _, ns := range []string{"frontend-dev", "backend-dev"} {
		scratchNamespace(t, cs, ns)
	}
	dir := filepath.Join(t.TempDir(), "network-policies")
	if r := run(t, "init", "--dir", dir); r.code != 0 {
		t.Fatalf("init: exit %d %s", r.code, r.stderr)
	}
	k := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(kubectl, append([]string{"--kubeconfig", env.Kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	policies := func(ns string) int {
		list, err := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	k("apply", "-f", filepath.Join(dir, "backend-dev"))
	if n := policies("backend-dev"); n != 5 {
		t.Errorf("kubectl apply -f: %d policies in backend-dev, want 5", n)
	}
	k("delete", "-f", filepath.Join(dir, "backend-dev"))
	if n := policies("backend-dev"); n != 0 {
		t.Errorf("kubectl delete -f: %d policies left", n)
	}
	k("apply", "-k", filepath.Join(dir, "frontend-dev"))
	if n := policies("frontend-dev"); n != 5 {
		t.Errorf("kubectl apply -k: %d policies in frontend-dev, want 5", n)
	}
	if out := k("kustomize", filepath.Join(dir, "frontend-dev")); !strings.Contains(out, "name: allow-to-backend") {
		t.Errorf("kubectl kustomize:\n%s", out)
	}
}
