package explain

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// The use case runs without cobra or a Factory: a model from manifests,
// an in-memory writer, and the exit status it returns.

const cluster = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
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
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-nobody, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
`

type run struct {
	stdout, stderr bytes.Buffer
	err            error
}

func loadCluster(t *testing.T, unreadablePods ...string) func(context.Context) (*model.Model, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(cluster), 0o644); err != nil {
		t.Fatal(err)
	}
	return func(context.Context) (*model.Model, error) {
		m, err := read.Load(input.NewReader(nil, 1<<20), []string{path}, "shop")
		for _, ns := range unreadablePods {
			m.MarkUnreadable("pods", ns)
		}
		return m, err
	}
}

func execute(t *testing.T, c Config) *run {
	t.Helper()
	r := &run{}
	c.Out, c.ErrOut = &r.stdout, &r.stderr
	if c.Output == "" {
		c.Output = "table"
	}
	r.err = Run(context.Background(), c)
	return r
}

func mustParse(t *testing.T, s string, role endpoint.Role) endpoint.Endpoint {
	t.Helper()
	ep, err := endpoint.ParseIn(s, role, "shop")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestAQuestionAnswersAndHoldsItsExpectation(t *testing.T) {
	c := Config{From: mustParse(t, "shop/client", endpoint.Source), To: mustParse(t, "shop/web:8080", endpoint.Destination), Load: loadCluster(t), Output: "json"}
	r := execute(t, c)
	if r.err != nil || !strings.Contains(r.stdout.String(), `"verdict": "denied"`) {
		t.Fatalf("err %v, stdout %s", r.err, r.stdout.String())
	}
	c.Expect = "allowed"
	r = execute(t, c)
	if exit.StatusOf(r.err) != exit.Unmet || !strings.Contains(r.err.Error(), "expected allowed, but 1 of 1 verdict(s) differ") {
		t.Fatalf("want exit 3 naming the miss, got %d: %v", exit.StatusOf(r.err), r.err)
	}
	c.Expect, c.Only = "", "allowed"
	r = execute(t, c)
	if r.err != nil || strings.Contains(r.stdout.String(), "denied") {
		t.Fatalf("--only allowed printed a denied verdict: %s", r.stdout.String())
	}
}

func TestAnUnknownEndpointIsBadInput(t *testing.T) {
	r := execute(t, Config{From: mustParse(t, "shop/nobody", endpoint.Source), To: mustParse(t, "shop/web", endpoint.Destination), Load: loadCluster(t)})
	if exit.StatusOf(r.err) != exit.Usage || !strings.Contains(r.err.Error(), "SOURCE") {
		t.Fatalf("want exit 2 naming SOURCE, got %d: %v", exit.StatusOf(r.err), r.err)
	}
}

func TestQuestionsOfAFileReportTheirUnmetLines(t *testing.T) {
	qs, err := queries.Parse(strings.NewReader(`{"from": "shop/client", "to": "shop/web", "port": "8080", "expect": "allowed"}
{"from": "shop/web", "to": "shop/client", "port": "80", "expect": "allowed"}
`), "q.jsonl", "shop")
	if err != nil {
		t.Fatal(err)
	}
	r := execute(t, Config{Questions: qs, QuestionsFrom: "q.jsonl", Load: loadCluster(t), Output: "jsonl"})
	if exit.StatusOf(r.err) != exit.Unmet || !strings.Contains(r.err.Error(), "1 of 2 question(s)") || !strings.Contains(r.err.Error(), "line 1:") {
		t.Fatalf("want exit 3 naming line 1, got %d: %v", exit.StatusOf(r.err), r.err)
	}
	if lines := strings.Count(r.stdout.String(), "\n"); lines != 2 || !strings.Contains(r.stdout.String(), `"met":false`) {
		t.Fatalf("want one JSON line per verdict with met, got:\n%s", r.stdout.String())
	}
	if !strings.Contains(r.stderr.String(), "2 question(s), 2 verdict(s): 1 expectation(s) not met") {
		t.Fatalf("summary missing: %s", r.stderr.String())
	}
}

func TestAMatrixOfUnreadablePodsIsUnknownNotEmpty(t *testing.T) {
	r := execute(t, Config{Matrix: &Matrix{Namespaces: []string{"shop"}, GroupBy: "labels"}, Load: loadCluster(t, "shop")})
	if exit.StatusOf(r.err) != exit.Failed || !strings.Contains(r.err.Error(), "the matrix is unknown") || r.stdout.Len() != 0 {
		t.Fatalf("want exit 1 and nothing printed, got %d: %v\n%s", exit.StatusOf(r.err), r.err, r.stdout.String())
	}
}

func TestAMatrixNeedsNamespaces(t *testing.T) {
	r := execute(t, Config{Matrix: &Matrix{GroupBy: "labels"}, Load: loadCluster(t)})
	if exit.StatusOf(r.err) != exit.Usage {
		t.Fatalf("want exit 2, got %d: %v", exit.StatusOf(r.err), r.err)
	}
	r = execute(t, Config{Matrix: &Matrix{GroupBy: "labels", CurrentNamespace: "shop"}, Load: loadCluster(t), Output: "jsonl"})
	if r.err != nil || strings.Count(r.stdout.String(), "\n") == 0 {
		t.Fatalf("-n shop should draw shop's matrix: %v\n%s", r.err, r.stdout.String())
	}
}

func TestAMatrixStreamsAndCountsEveryVerdictForItsExpectation(t *testing.T) {
	r := execute(t, Config{Matrix: &Matrix{Namespaces: []string{"shop"}, GroupBy: "labels"}, Load: loadCluster(t), Output: "jsonl", Expect: "denied", Only: "denied"})
	// Only web declares a port: client -> web:8080 is denied, web to
	// itself is allowed (traffic to the pod itself is never cut).
	if exit.StatusOf(r.err) != exit.Unmet || !strings.Contains(r.err.Error(), "1 of 2 verdict(s) differ") || strings.Count(r.stdout.String(), "\n") != 1 || !strings.Contains(r.stdout.String(), `"verdict":"denied"`) {
		t.Fatalf("err %v, stdout:\n%s", r.err, r.stdout.String())
	}
	r = execute(t, Config{Matrix: &Matrix{Namespaces: []string{"shop"}, GroupBy: "labels"}, Load: loadCluster(t), Output: "jsonl", Expect: "allowed", Only: "unspecified"})
	if exit.StatusOf(r.err) != exit.Unmet || !strings.Contains(r.err.Error(), "1 of 2 verdict(s) differ") || r.stdout.Len() != 0 {
		t.Fatalf("--only hides verdicts but --expect counts them all: %d %v\n%s", exit.StatusOf(r.err), r.err, r.stdout.String())
	}
}

func TestReadNamespacesAreThoseTheQuestionNames(t *testing.T) {
	q := Config{From: mustParse(t, "shop/client", endpoint.Source), To: mustParse(t, "bank/svc/api:80", endpoint.Destination)}
	if got := strings.Join(q.ReadNamespaces(), ","); got != "shop,bank" {
		t.Errorf("question: %s", got)
	}
	m := Config{Matrix: &Matrix{CurrentNamespace: "shop"}}
	if got := strings.Join(m.ReadNamespaces(), ","); got != "shop" {
		t.Errorf("matrix with -n: %s", got)
	}
}

func TestCustomColumnsGoThroughTheInjectedTablePrinter(t *testing.T) {
	var got output.TableOptions
	rows := 0
	c := Config{From: mustParse(t, "shop/client", endpoint.Source), To: mustParse(t, "shop/web", endpoint.Destination), Load: loadCluster(t), Output: "custom-columns=V:.verdict", NoHeaders: true,
		PrintTable: func(_ io.Writer, table output.Table, o output.TableOptions) error {
			got, rows = o, len(table.Objects)
			return nil
		}}
	if r := execute(t, c); r.err != nil {
		t.Fatal(r.err)
	}
	if got.CustomColumns != "V:.verdict" || !got.NoHeaders || rows != 1 {
		t.Fatalf("printer got %+v with %d rows", got, rows)
	}
}

func TestParsingRefusesWhatExplainCannotAnswer(t *testing.T) {
	for _, tt := range []struct{ source, dest, want string }{
		{"local", "shop/web", "explain needs pods or IP addresses"},
		{"api.example.com", "shop/web", "a DNS name can only be a DEST"},
		{"shop/client", "https://example.com/", "a URL is for probe local"},
		{"shop/a/b/c/d", "shop/web", "SOURCE"},
	} {
		if _, _, err := ParseQuestion(tt.source, tt.dest, "shop"); exit.StatusOf(err) != exit.Usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s: want exit 2 %q, got %v", tt.source, tt.dest, tt.want, err)
		}
	}
	for _, tt := range []struct {
		value string
		role  endpoint.Role
		want  string
	}{
		{"shop/web:80", endpoint.Destination, "give ports with --port"},
		{"shop/svc/web", endpoint.Source, "a Service is a destination"},
		{"198.51.100.10", endpoint.Source, "a matrix focuses on pods"},
	} {
		if _, err := ParseFocus("--x", []string{tt.value}, tt.role, "shop"); exit.StatusOf(err) != exit.Usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: want exit 2 %q, got %v", tt.value, tt.want, err)
		}
	}
	if eps, err := ParseFocus("--to", []string{"shop/svc/web", "shop"}, endpoint.Destination, "shop"); err != nil || len(eps) != 2 {
		t.Fatalf("a Service and a namespace focus a matrix's columns: %v %v", eps, err)
	}
}

// Graphs tell the truth: --only denied draws the denied connections (red,
// crossed), per group and per namespace, instead of nodes without edges.
func TestGraphsDrawDeniedConnectionsWhenAsked(t *testing.T) {
	for _, groupBy := range []string{"labels", "namespace"} {
		r := execute(t, Config{Matrix: &Matrix{Namespaces: []string{"shop"}, GroupBy: groupBy, GroupBySet: true}, Load: loadCluster(t), Output: "mermaid", Only: "denied"})
		if r.err != nil || !strings.Contains(r.stdout.String(), "--x|") || !strings.Contains(r.stdout.String(), "8080/TCP") {
			t.Errorf("--group-by %s --only denied: %v\n%s", groupBy, r.err, r.stdout.String())
		}
		r = execute(t, Config{Matrix: &Matrix{Namespaces: []string{"shop"}, GroupBy: groupBy, GroupBySet: true}, Load: loadCluster(t), Output: "mermaid"})
		if r.err != nil || strings.Contains(r.stdout.String(), "--x|") {
			t.Errorf("--group-by %s: a whole matrix draws no denied edge:\n%s", groupBy, r.stdout.String())
		}
	}
}

// A long matrix says how far it is on stderr, throttled; a short one says
// nothing. The clock advances two seconds per look.
func TestALongMatrixShowsItsProgress(t *testing.T) {
	var manifest strings.Builder
	manifest.WriteString("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
	for i := range 12 {
		fmt.Fprintf(&manifest, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d, namespace: shop, labels: {app: a%d}}\nspec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\nstatus: {podIP: 198.18.1.%d}\n", i, i, i+1)
	}
	path := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(path, []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(context.Context) (*model.Model, error) {
		return read.Load(input.NewReader(nil, 1<<20), []string{path}, "shop")
	}
	clock := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(2 * time.Second); return clock }
	var progress bytes.Buffer
	r := execute(t, Config{Matrix: &Matrix{Namespaces: []string{"shop"}, GroupBy: "labels"}, Load: load, Output: "jsonl",
		Progress: &Progress{W: &progress}, Now: tick})
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if r.err != nil || len(lines) < 3 || len(lines) > 9 || !strings.Contains(progress.String(), "left") || lines[len(lines)-1] != "12/12 destination groups, 26s" {
		t.Fatalf("%v: progress lines:\n%s", r.err, progress.String())
	}
	progress.Reset()
	r = execute(t, Config{Matrix: &Matrix{Namespaces: []string{"shop"}, GroupBy: "labels"}, Load: load, Output: "jsonl", Progress: &Progress{W: &progress}})
	if r.err != nil || progress.Len() != 0 {
		t.Fatalf("a matrix done within a second says nothing: %q", progress.String())
	}
}
