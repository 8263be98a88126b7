package flowdiff

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

const workloads = `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}
status: {podIP: 198.18.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 198.18.0.11}
`

const denyAll = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
`

// files writes the workloads and two policy files; load reads the
// workloads with one of them, as the command does.
func files(t *testing.T) (load func([]string) (*model.Model, error), none, deny string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	w := write("workloads.yaml", workloads)
	load = func(policies []string) (*model.Model, error) {
		return read.Load(input.NewReader(nil, 1<<20), append([]string{w}, policies...), "shop")
	}
	return load, write("none.yaml", "# no policy\n"), write("deny.yaml", denyAll)
}

func TestFilesSayWhatACutChangesAndExitAsKubectlDiff(t *testing.T) {
	load, none, deny := files(t)
	var out, errOut bytes.Buffer
	err := Files(Config{Output: "table", Out: &out, ErrOut: &errOut}, load, []string{none}, []string{deny}, nil)
	var e *exit.Error
	if !errors.As(err, &e) || e.Code != 1 || !e.Silent || !strings.Contains(out.String(), "shop/client") || !strings.Contains(out.String(), "8080") {
		t.Fatalf("want the cut client -> web:8080 and a silent exit 1, got %v:\n%s", err, out.String())
	}
	out.Reset()
	if err := Files(Config{Output: "table", Out: &out, ErrOut: &errOut}, load, []string{deny}, []string{deny}, nil); err != nil || out.Len() != 0 || !strings.Contains(errOut.String(), "No connection between groups changes.") {
		t.Fatalf("the same policies: %v\n%s", err, out.String())
	}
}

func TestFilesWithoutWorkloadsAreBadInput(t *testing.T) {
	_, none, deny := files(t)
	load := func(policies []string) (*model.Model, error) {
		return read.Load(input.NewReader(nil, 1<<20), policies, "shop")
	}
	err := Files(Config{Output: "json", Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, load, []string{none}, []string{deny}, nil)
	if exit.StatusOf(err) != exit.Usage || !strings.Contains(err.Error(), "no pods to compare on") {
		t.Fatalf("want exit 2, got %d: %v", exit.StatusOf(err), err)
	}
}

// diff --flows never says "no change" about what it could not read.
func TestFlowsUnknownNamesWhatCouldNotBeRead(t *testing.T) {
	clean := &model.Model{}
	if err := Unknown(clean, policy.New(clean)); err != nil {
		t.Fatalf("everything read: %v", err)
	}
	for _, tt := range []struct {
		name string
		mark func(*model.Model)
		want string
	}{
		{"pods of one namespace", func(m *model.Model) { m.MarkUnreadable("pods", "web") }, `RBAC does not allow "list" on "pods" in namespace web`},
		{"services everywhere", func(m *model.Model) { m.MarkUnreadable("services", "") }, `"services" cluster-wide`},
		{"policies of some namespaces", func(m *model.Model) { m.PoliciesPartial = true }, `"networkpolicies" cluster-wide`},
		{"a tier", func(m *model.Model) { m.MarkUnreadable("adminnetworkpolicies", "") }, `"adminnetworkpolicies.policy.networking.k8s.io"`},
	} {
		m := &model.Model{}
		tt.mark(m)
		err := Unknown(m, policy.New(m))
		if err == nil || exit.StatusOf(err) != exit.Failed || !strings.Contains(err.Error(), "which connections change is unknown") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
