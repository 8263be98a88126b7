package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/golden"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// sampleFiles writes the rendered baseline next to the sample app's
// workloads and returns the -f arguments.
func sampleFiles(t *testing.T) []string {
	t.Helper()
	r := run(t, "render", "-A")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	p := filepath.Join(t.TempDir(), "policies.yaml")
	if err := os.WriteFile(p, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-f", filepath.Join("..", "..", "testdata", "sample-app.yaml"), "-f", p}
}

func TestExplainOutputs(t *testing.T) {
	files := sampleFiles(t)
	cases := []struct {
		golden string
		args   []string
	}{
		{"explain/frontend-to-backend-svc.txt", []string{"frontend-dev", "backend-dev/svc/backend:80"}},
		{"explain/frontend-to-backend-svc.json", []string{"frontend-dev", "backend-dev/svc/backend:80", "-o", "json"}},
		{"explain/monitoring-to-backend.txt", []string{"monitoring", "backend-dev"}},
		{"explain/monitoring-to-backend.wide", []string{"monitoring", "backend-dev", "-o", "wide"}},
		{"explain/monitoring-to-backend.yaml", []string{"monitoring", "backend-dev", "-o", "yaml"}},
		{"explain/monitoring-to-backend.md", []string{"monitoring", "backend-dev", "-o", "md"}},
		{"explain/dns.txt", []string{"frontend-dev/deploy/frontend", "kube-system/svc/kube-dns:53/udp"}},
		{"explain/external.txt", []string{"backend-dev", "203.0.113.0/24:443"}},
		{"explain/matrix.mermaid", []string{"--matrix", "frontend-dev", "backend-dev", "ingress", "monitoring", "-o", "mermaid"}},
		{"explain/matrix.dot", []string{"--matrix", "frontend-dev", "backend-dev", "ingress", "-o", "dot"}},
		{"explain/matrix.txt", []string{"--matrix", "frontend-dev", "backend-dev", "ingress"}},
		{"explain/matrix.grid", []string{"--matrix", "-A", "-o", "grid"}},
		{"explain/matrix-3001.grid", []string{"--matrix", "-A", "-o", "grid", "--port", "3001"}},
		{"explain/matrix-namespaces.mermaid", []string{"--matrix", "-A", "--group-by", "namespace", "-o", "mermaid"}},
		{"explain/matrix-workloads.dot", []string{"--matrix", "-A", "--group-by", "workload", "-o", "dot"}},
		{"explain/matrix-from-ingress.grid", []string{"--matrix", "frontend-dev", "backend-dev", "--from", "ingress", "-o", "grid"}},
		{"explain/matrix-to-backend.txt", []string{"--matrix", "--to", "backend-dev/svc/backend", "--port", "3001"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			r := run(t, append(append([]string{"explain"}, files...), c.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden.Assert(t, c.golden, []byte(r.stdout))
		})
	}
}

// The cluster-scoped tiers in every format: the sample app with the
// platform's guardrails, with and without the baseline NetworkPolicies.
func TestExplainOutputsWithClusterTiers(t *testing.T) {
	tiers := []string{"-f", filepath.Join("..", "..", "testdata", "cluster-tiers.yaml")}
	withBaseline := append(sampleFiles(t), tiers...)
	appOnly := append([]string{"-f", filepath.Join("..", "..", "testdata", "sample-app.yaml")}, tiers...)
	cases := []struct {
		golden string
		files  []string
		args   []string
	}{
		{"explain/tiers/monitoring-to-backend.txt", appOnly, []string{"monitoring", "backend-dev"}},
		{"explain/tiers/monitoring-to-backend.wide", appOnly, []string{"monitoring", "backend-dev", "-o", "wide"}},
		{"explain/tiers/monitoring-to-backend.json", appOnly, []string{"monitoring", "backend-dev", "-o", "json"}},
		{"explain/tiers/monitoring-to-backend.yaml", appOnly, []string{"monitoring", "backend-dev", "-o", "yaml"}},
		{"explain/tiers/monitoring-to-backend.md", appOnly, []string{"monitoring", "backend-dev", "-o", "md"}},
		{"explain/tiers/monitoring-to-backend.jsonl", appOnly, []string{"monitoring", "backend-dev", "-o", "jsonl"}},
		{"explain/tiers/monitoring-to-backend.csv", appOnly, []string{"monitoring", "backend-dev", "-o", "csv"}},
		{"explain/tiers/dns-pass.txt", appOnly, []string{"frontend-dev", "kube-system/svc/kube-dns:53/udp"}},
		{"explain/tiers/metadata-denied.txt", withBaseline, []string{"backend-dev", "169.254.169.254:80"}},
		{"explain/tiers/with-baseline.txt", withBaseline, []string{"monitoring", "backend-dev"}},
		{"explain/tiers/matrix.txt", appOnly, []string{"--matrix", "frontend-dev", "backend-dev", "ingress", "monitoring"}},
		{"explain/tiers/matrix.mermaid", appOnly, []string{"--matrix", "frontend-dev", "backend-dev", "ingress", "monitoring", "-o", "mermaid"}},
		{"explain/tiers/matrix.dot", appOnly, []string{"--matrix", "frontend-dev", "backend-dev", "ingress", "monitoring", "-o", "dot"}},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			r := run(t, append(append([]string{"explain"}, c.files...), c.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden.Assert(t, c.golden, []byte(r.stdout))
		})
	}
}

func TestExplainJSONSchema(t *testing.T) {
	r := run(t, append(append([]string{"explain"}, sampleFiles(t)...), "frontend-dev", "backend-dev/svc/backend:80", "-o", "json")...)
	var doc output.ExplainResult
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.APIVersion != "netbaseline.io/v1alpha1" || doc.Kind != "ExplainResult" || len(doc.Verdicts) != 1 {
		t.Fatalf("document = %+v", doc)
	}
	v := doc.Verdicts[0]
	if v.From != "frontend-dev/frontend" || v.To != "backend-dev/backend" || v.FromGroup != "frontend-dev/deploy/frontend" ||
		v.Port != 3001 || v.PortName != "http" || v.Protocol != "TCP" || v.RequestedPort != "svc/backend:80" ||
		v.Allowed == nil || !*v.Allowed || v.Verdict != "allowed" {
		t.Errorf("verdict = %+v", v)
	}
	if len(v.Egress.AllowedBy) != 1 || v.Egress.AllowedBy[0].Name != "allow-to-backend" || *v.Egress.AllowedBy[0].Peer != 0 || *v.Egress.AllowedBy[0].Port != 0 {
		t.Errorf("egress = %+v", v.Egress)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(r.stdout), &raw)
	first := raw["verdicts"].([]any)[0].(map[string]any)
	for _, key := range []string{"from", "to", "fromGroup", "toGroup", "port", "protocol", "requestedPort", "allowed", "verdict", "egress", "ingress", "hints"} {
		if _, ok := first[key]; !ok {
			t.Errorf("JSON lacks %q", key)
		}
	}
}

func TestExplainExpect(t *testing.T) {
	files := sampleFiles(t)
	ok := run(t, append(append([]string{"explain"}, files...), "frontend-dev", "backend-dev:3001", "--expect", "allowed")...)
	if ok.code != 0 {
		t.Errorf("expect allowed: exit %d %s", ok.code, ok.stderr)
	}
	denied := run(t, append(append([]string{"explain"}, files...), "monitoring", "backend-dev:3001", "--expect", "denied")...)
	if denied.code != 0 {
		t.Errorf("expect denied: exit %d %s", denied.code, denied.stderr)
	}
	unmet := run(t, append(append([]string{"explain"}, files...), "monitoring", "backend-dev:3001", "--expect", "allowed", "-o", "json")...)
	if unmet.code != ExitUnmet || !strings.Contains(unmet.stderr, "expected allowed, but 1 of 1 verdict(s) differ") || !strings.Contains(unmet.stdout, `"verdict": "denied"`) {
		t.Errorf("unmet: exit %d\n%s\n%s", unmet.code, unmet.stdout, unmet.stderr)
	}
}

func TestExplainBadInput(t *testing.T) {
	files := sampleFiles(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frontend-dev"}, "needs SOURCE and DEST"},
		{[]string{"frontend-dev", "backend-dev:3001", "--port", "80"}, "not both"},
		{[]string{"frontend-dev", "backend-dev", "--port", "80/icmp"}, `protocol "icmp"`},
		{[]string{"frontend-dev", "backend-dev", "-o", "html"}, "-o html is the page of a --matrix"},
		{[]string{"frontend-dev", "backend-dev", "-o", "svg"}, `unknown output format "svg"`},
		{[]string{"--matrix", "-A", "--group-by", "namespace", "-o", "html"}, "use --group-by labels or pod"},
		{[]string{"frontend-dev", "backend-dev", "--expect", "maybe"}, "--expect"},
		{[]string{"frontend-dv", "backend-dev"}, `namespace "frontend-dv" not found; did you mean frontend-dev?`},
		{[]string{"frontend-dev", "backend-dev/deploy/backnd"}, `did you mean backend-dev/deploy/backend?`},
		{[]string{"frontend-dev", "backend-dev/svc/backend:8080"}, "has no port 8080/TCP; its ports: http 80/TCP"},
		{[]string{"frontend-dev", "backend-dev:grpc"}, "no pod of backend-dev:grpc declares port grpc/TCP"},
		{[]string{"frontend-dev", "203.0.113.7"}, "declares no ports: give one"},
		{[]string{"frontend-dev", "203.0.113.7:https"}, `port name "https" can only be resolved on pods`},
		{[]string{"frontend-dev:80", "backend-dev"}, "a SOURCE takes no port"},
		{[]string{"--matrix"}, "--matrix needs namespaces"},
		{[]string{"-A", "a", "b"}, "for --matrix"},
		{[]string{"--to", "backend-dev"}, "--from and --to focus a --matrix"},
		{[]string{"--matrix", "--from", "203.0.113.7"}, `--from "203.0.113.7": a matrix focuses on pods`},
		{[]string{"--matrix", "--from", "backend-dev/svc/backend"}, "a Service is a destination"},
		{[]string{"--matrix", "--to", "backend-dev:3001"}, "give ports with --port"},
		{[]string{"--matrix", "--to", "backend-dv"}, `--to backend-dv: namespace "backend-dv" not found; did you mean backend-dev?`},
	}
	for _, tt := range tests {
		r := run(t, append(append([]string{"explain"}, files...), tt.args...)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("explain %v: exit %d, stderr %q; want 2 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
	r := run(t, "explain", "-f", filepath.Join(t.TempDir(), "nope.yaml"), "a", "b")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("missing file: exit %d %q", r.code, r.stderr)
	}
}

type fakeFactory struct{ clients read.Clients }

func (f fakeFactory) Clients() (read.Clients, error) { return f.clients, nil }

func runWithClients(t *testing.T, clients read.Clients, args ...string) result {
	t.Helper()
	t.Setenv(config.EnvConfig, "")
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := NewCmdNetBaselineWith(&GlobalOptions{ConfigFlags: genericclioptions.NewConfigFlags(true), Factory: fakeFactory{clients}}, streams)
	root.SetArgs(args)
	err := root.Execute()
	if msg := Message(err); err != nil && msg != "" {
		errOut.WriteString(msg + "\n")
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: ExitCode(err), err: err}
}

func TestExplainLive(t *testing.T) {
	objs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: "a", Labels: map[string]string{"app": "client"}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "server", Namespace: "b", Labels: map[string]string{"app": "server"}},
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.1.1"}},
	}
	cs := fake.NewClientset(objs...)
	r := runWithClients(t, read.Clients{Kube: cs}, "explain", "a", "b:http", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"verdict": "allowed"`) || !strings.Contains(r.stdout, `"port": 8080`) {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	forbidPolicies(cs)
	r = runWithClients(t, read.Clients{Kube: cs}, "explain", "a", "b:http")
	if r.code != 0 || !strings.Contains(r.stdout, "unspecified") || !strings.Contains(r.stderr, `Warning: RBAC does not allow "list" on "networkpolicies" cluster-wide`) {
		t.Errorf("forbidden policies: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func forbidPolicies(cs *fake.Clientset) {
	cs.PrependReactor("list", "networkpolicies", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"}, "", errors.New("denied"))
	})
}

// A KIND/NAME without a namespace is in -n's namespace, as kubectl reads it.
func TestExplainUsesNamespaceFlag(t *testing.T) {
	files := sampleFiles(t)
	want := run(t, append(append([]string{"explain"}, files...), "frontend-dev/deploy/frontend", "backend-dev/svc/backend:80")...)
	got := run(t, append(append([]string{"explain"}, files...), "-n", "frontend-dev", "deploy/frontend", "backend-dev/svc/backend:80")...)
	if want.code != 0 || got.code != 0 || got.stdout != want.stdout {
		t.Errorf("-n frontend-dev deploy/frontend: exit %d %q\nwant exit %d %q\n%s", got.code, got.stdout, want.code, want.stdout, got.stderr)
	}
	r := run(t, append(append([]string{"explain"}, files...), "-n", "backend-dev", "frontend-dev", "svc/backend:80")...)
	if r.code != 0 || !strings.Contains(r.stdout, "svc/backend:80 -> http (3001/TCP)") {
		t.Errorf("-n backend-dev svc/backend:80: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// doctor's table goes through kubectl's printers: -o wide adds FIX,
// --no-headers drops the header, -o custom-columns picks fields.
func TestDoctorTableFormats(t *testing.T) {
	cs := fake.NewClientset()
	clients := read.Clients{Kube: cs}
	r := runWithClients(t, clients, "doctor")
	if !strings.HasPrefix(r.stdout, "ID ") || strings.Contains(strings.SplitN(r.stdout, "\n", 2)[0], "FIX") || !strings.Contains(r.stdout, "ENGINE-001") {
		t.Errorf("table:\n%s", r.stdout)
	}
	r = runWithClients(t, clients, "doctor", "-o", "wide")
	if head := strings.SplitN(r.stdout, "\n", 2)[0]; !strings.Contains(head, "FIX") {
		t.Errorf("wide header: %q", head)
	}
	r = runWithClients(t, clients, "doctor", "--no-headers")
	if strings.HasPrefix(r.stdout, "ID ") || !strings.HasPrefix(r.stdout, "ARGO-001") {
		t.Errorf("--no-headers:\n%s", r.stdout)
	}
	r = runWithClients(t, clients, "doctor", "-o", "custom-columns=ID:.id,SEVERITY:.severity", "--no-headers")
	if !strings.Contains(r.stdout, "ENGINE-001    fail\n") {
		t.Errorf("custom-columns:\n%s", r.stdout)
	}
	r = runWithClients(t, clients, "doctor", "-o", "custom-columns=ID")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "-o custom-columns") {
		t.Errorf("bad custom-columns: exit %d %s", r.code, r.stderr)
	}
}

// explain's table takes --no-headers and -o custom-columns over the
// verdict document's fields.
func TestExplainTableFlags(t *testing.T) {
	files := sampleFiles(t)
	r := run(t, append(append([]string{"explain"}, files...), "frontend-dev", "backend-dev/svc/backend:80", "--no-headers")...)
	if r.code != 0 || strings.HasPrefix(r.stdout, "FROM") || !strings.HasPrefix(r.stdout, "frontend-dev/frontend") {
		t.Errorf("--no-headers: exit %d %q", r.code, r.stdout)
	}
	r = run(t, append(append([]string{"explain"}, files...), "frontend-dev", "backend-dev/svc/backend:80", "-o", "custom-columns=FROM:.from,PORT:.port,VERDICT:.verdict")...)
	if r.code != 0 || !strings.Contains(r.stdout, "FROM") || !strings.Contains(r.stdout, "3001   allowed") {
		t.Errorf("custom-columns: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
}

// explain --queries: every line answered from one model, one verdict per
// line with the question's line and expectation; exit 3 when one is not
// met, with the summary on stderr; bad lines and unknown names are exit 2
// naming the line, before any verdict.
func TestExplainQueries(t *testing.T) {
	files := sampleFiles(t)
	q := filepath.Join("testdata", "explain", "queries.jsonl")
	r := run(t, append(append([]string{"explain"}, files...), "--queries", q)...)
	if r.code != ExitUnmet || !strings.Contains(r.stderr, "6 question(s), 6 verdict(s): 1 expectation(s) not met") ||
		!strings.Contains(r.stderr, "line 6: backend-dev -> 198.51.100.10:443 expected allowed, got 1 denied") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	golden.Assert(t, "explain/queries.out.jsonl", []byte(r.stdout))
	for i, l := range lines(r.stdout) {
		var v struct {
			Query   int    `json:"query"`
			Verdict string `json:"verdict"`
			Met     *bool  `json:"met"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil || v.Query == 0 || v.Verdict == "" {
			t.Errorf("line %d is not a verdict: %v %s", i+1, err, l)
		}
	}
	// The same questions as a table, and from stdin.
	r = runStdin(t, `{"from": "frontend-dev", "to": "backend-dev/svc/backend", "port": "80", "expect": "allowed"}`, append(append([]string{"explain"}, files...), "--queries", "-", "-o", "table")...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "FROM") || !strings.Contains(r.stdout, "allowed") {
		t.Errorf("table from stdin: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	for _, tt := range []struct{ in, want string }{
		{`{"from": "frontend-dev", "to": "nope:80"}`, `--queries stdin:1: to: namespace "nope" not found`},
		{"{\"from\": \"frontend-dev\", \"to\": \"backend-dev:80\"}\n{\"from\": 5}", "--queries stdin:2: not a question"},
	} {
		r := runStdin(t, tt.in, append(append([]string{"explain"}, files...), "--queries", "-")...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
			t.Errorf("%s: exit %d %q %q", tt.in, r.code, r.stdout, r.stderr)
		}
	}
	r = run(t, append(append([]string{"explain"}, files...), "--queries", q, "frontend-dev", "backend-dev:80")...)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "no SOURCE/DEST arguments") {
		t.Errorf("queries with arguments: exit %d %s", r.code, r.stderr)
	}
}

// runStdin is run with stdin.
func runStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	t.Setenv(config.EnvConfig, "")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig"))
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	root := NewCmdNetBaseline(streams)
	root.SetArgs(args)
	err := root.Execute()
	if msg := Message(err); msg != "" {
		errOut.WriteString(msg + "\n")
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: ExitCode(err), err: err}
}

// Matrices stream: jsonl and csv write one verdict per line, the same
// verdicts as the table.
func TestExplainMatrixStreams(t *testing.T) {
	files := sampleFiles(t)
	args := append(append([]string{"explain"}, files...), "--matrix", "frontend-dev", "backend-dev", "ingress")
	table := run(t, append(args, "--no-headers")...)
	jsonl := run(t, append(args, "-o", "jsonl")...)
	csvOut := run(t, append(args, "-o", "csv")...)
	if table.code != 0 || jsonl.code != 0 || csvOut.code != 0 {
		t.Fatalf("exit %d %d %d: %s %s %s", table.code, jsonl.code, csvOut.code, table.stderr, jsonl.stderr, csvOut.stderr)
	}
	rows := 0
	for _, l := range lines(table.stdout) {
		if l == "" || l == "Hints:" || strings.Contains(l, ": ") && !strings.Contains(l, "/") {
			break
		}
		rows++
	}
	if n := len(lines(jsonl.stdout)); n != rows || rows == 0 {
		t.Errorf("jsonl has %d lines, the table %d rows", n, rows)
	}
	csvLines := lines(csvOut.stdout)
	if csvLines[0] != "from,fromGroup,to,toGroup,port,portName,protocol,requestedPort,verdict,reason" || len(csvLines) != rows+1 {
		t.Errorf("csv: %d lines (%d rows), header %q", len(csvLines), rows, csvLines[0])
	}
	r := run(t, append(args, "-o", "jsonl", "--expect", "allowed")...)
	if r.code != ExitUnmet || !strings.Contains(r.stderr, "verdict(s) differ") {
		t.Errorf("--expect on a streamed matrix: exit %d %s", r.code, r.stderr)
	}
}

// --group-by namespace sums a matrix per namespace pair and port; --only
// keeps one verdict.
func TestExplainNamespaceMatrixAndOnly(t *testing.T) {
	files := sampleFiles(t)
	r := run(t, append(append([]string{"explain"}, files...), "--matrix", "-A", "--group-by", "namespace", "-o", "json")...)
	var doc struct {
		Kind  string
		Flows []struct {
			From, To, Reach string
			Port            int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 || doc.Kind != "NamespaceMatrix" {
		t.Fatalf("exit %d %v %s", r.code, err, r.stderr)
	}
	found := false
	for _, f := range doc.Flows {
		if f.From == "frontend-dev" && f.To == "backend-dev" && f.Port == 3001 {
			found = f.Reach == "all"
		}
	}
	if !found {
		t.Errorf("frontend-dev -> backend-dev 3001 is not all allowed: %+v", doc.Flows)
	}
	r = run(t, append(append([]string{"explain"}, files...), "--matrix", "frontend-dev", "backend-dev", "--only", "allowed", "-o", "jsonl")...)
	if r.code != 0 || strings.Contains(r.stdout, `"verdict":"denied"`) || !strings.Contains(r.stdout, `"verdict":"allowed"`) {
		t.Errorf("--only allowed: exit %d %s", r.code, r.stdout)
	}
	r = run(t, append(append([]string{"explain"}, files...), "frontend-dev", "backend-dev", "--group-by", "namespace")...)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "--group-by namespace groups a --matrix") {
		t.Errorf("--group-by without --matrix: exit %d %s", r.code, r.stderr)
	}
}

// --group-by workload adds up the label groups of one workload (canary and
// track replicas); --group-by pod gives every pod its own row.
func TestExplainWorkloadAndPodMatrix(t *testing.T) {
	dir := t.TempDir()
	doc := `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web-stable, namespace: shop, labels: {app: web, pod-template-hash: abc}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, uid: u, controller: true}]}
spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.0.0.1, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: web-canary, namespace: shop, labels: {app: web, track: canary, pod-template-hash: abc}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, uid: u, controller: true}]}
spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: 10.0.0.2, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
status: {podIP: 10.0.0.3, phase: Running}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-only-from-client, namespace: shop}
spec:
  podSelector: {matchLabels: {track: canary}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]
`
	p := filepath.Join(dir, "shop.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "explain", "-f", p, "--matrix", "shop", "--group-by", "workload", "-o", "json")
	var got struct {
		Kind  string
		Flows []struct {
			From, To, Reach string
			Allowed, Denied int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || got.Kind != "WorkloadMatrix" {
		t.Fatalf("exit %d %v %s %s", r.code, err, r.stdout, r.stderr)
	}
	reach := map[string]string{}
	for _, f := range got.Flows {
		reach[f.From+" -> "+f.To] = fmt.Sprintf("%s %d/%d", f.Reach, f.Allowed, f.Allowed+f.Denied)
	}
	// The canary admits only the client: of web's two groups, one.
	if reach["shop/client -> shop/deploy/web"] != "all 2/2" || reach["shop/deploy/web -> shop/deploy/web"] != "some 3/4" {
		t.Errorf("workload view: %v", reach)
	}
	r = run(t, "explain", "-f", p, "--matrix", "shop", "--group-by", "pod", "-o", "jsonl")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3*2 { // 3 sources x 2 pods declaring a port
		t.Errorf("pod view: exit %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, `"fromGroup":"shop/web-canary"`) {
		t.Errorf("pod view names pods: %s", r.stdout)
	}
}

// diff --flows --old --new compares two policy sets from files on the same
// workloads, without a cluster; exit codes as kubectl diff.
func TestDiffFlowsOffline(t *testing.T) {
	files := sampleFiles(t) // -f sample-app.yaml -f policies.yaml
	app, policies := files[1], files[3]
	empty := filepath.Join(t.TempDir(), "none.yaml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "diff", "--flows", "-f", app, "--old", empty, "--new", policies)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "FROM") || !strings.Contains(r.stdout, "OLD") || !strings.Contains(r.stdout, "allowed  denied") {
		t.Errorf("old none, new baseline: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Only the changes, as a graph.
	r = run(t, "diff", "--flows", "-f", app, "--old", empty, "--new", policies, "-o", "mermaid")
	if r.code != 1 {
		t.Errorf("-o mermaid: exit %d %s", r.code, r.stderr)
	}
	golden.Assert(t, "diff/flows-baseline.mermaid", []byte(r.stdout))
	r = run(t, "diff", "--flows", "-f", app, "--old", empty, "--new", policies, "-o", "dot")
	if r.code != 1 || !strings.Contains(r.stdout, `"frontend-dev/deploy/frontend" -> "backend-dev/deploy/backend" [label="8080/TCP allowed→denied", color=red, style=dashed];`) || strings.Contains(r.stdout, `"frontend-dev/deploy/frontend" -> "backend-dev/deploy/backend" [label="3001`) {
		t.Errorf("-o dot draws the changes only: exit %d\n%s", r.code, r.stdout)
	}
	r = run(t, "diff", "--flows", "-f", app, "--old", policies, "--new", policies, "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"changes": []`) {
		t.Errorf("same policies: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", "--flows", "-f", app, "--old", empty}, "--old and --new go together"},
		{[]string{"diff", "-f", app, "--old", empty, "--new", policies}, "add --flows"},
		{[]string{"diff", "--flows", "--old", empty, "--new", empty}, "no pods to compare on"},
	} {
		r := run(t, tt.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d %s", tt.args, r.code, r.stderr)
		}
	}
}

// A graph of more than 40 groups is drawn per namespace, said on stderr;
// --group-by keeps what the user asked for.
func TestExplainLargeGraphAggregates(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 45; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d, namespace: ns%d, labels: {app: a%d}}\nspec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\nstatus: {podIP: 10.0.0.%d, phase: Running}\n", i, i%2, i, i+1)
	}
	b.WriteString("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: only-a0, namespace: ns1}\nspec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: a0}}}]}]}\n")
	p := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "explain", "-f", p, "--matrix", "-A", "-o", "dot")
	if r.code != 0 || !strings.Contains(r.stderr, "45 groups of pods are more than a readable graph holds (40): drawing one node per namespace") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	for _, want := range []string{`"ns0" -> "ns0" [label="80/TCP"];`, `"ns0" -> "ns1" [label="80/TCP 22/506 (some)", style=dashed];`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("namespace graph lacks %s:\n%s", want, r.stdout)
		}
	}
	r = run(t, "explain", "-f", p, "--matrix", "-A", "-o", "dot", "--group-by", "labels")
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, `"ns1/p1"`) {
		t.Errorf("--group-by labels: exit %d, stderr %q", r.code, r.stderr)
	}
}

// --from and --to keep the rows or columns of some pods: the other side
// spans the namespaces given, every namespace when none is.
func TestExplainMatrixFocus(t *testing.T) {
	files := sampleFiles(t)
	r := run(t, append(append([]string{"explain"}, files...), "--matrix", "--to", "backend-dev/deploy/backend", "-o", "jsonl")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sources := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var x struct{ FromGroup, ToGroup string }
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			t.Fatal(err)
		}
		if x.ToGroup != "backend-dev/deploy/backend" {
			t.Errorf("--to backend: a verdict to %s", x.ToGroup)
		}
		sources[x.FromGroup] = true
	}
	all := run(t, append(append([]string{"explain"}, files...), "--matrix", "-A", "-o", "jsonl")...)
	everySource := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(all.stdout), "\n") {
		var x struct{ FromGroup string }
		_ = json.Unmarshal([]byte(line), &x)
		everySource[x.FromGroup] = true
	}
	if len(sources) != len(everySource) {
		t.Errorf("--to without namespaces: sources %v, want every group %v", sources, everySource)
	}

	// Rows narrowed to one pod (--group-by pod), columns to a namespace.
	r = run(t, append(append([]string{"explain"}, files...), "--matrix", "--group-by", "pod", "--from", "monitoring", "--to", "backend-dev", "-o", "csv", "--no-headers")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Split(line, ",")
		if !strings.HasPrefix(f[1], "monitoring/") || !strings.HasPrefix(f[3], "backend-dev/") {
			t.Errorf("focused pod matrix: %s", line)
		}
	}
}

// --staged previews Calico's staged policies as if promoted: the same
// question, another verdict, said on stderr.
func TestExplainStagedPreview(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	doc := `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: b, labels: {app: db}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 5432}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: lock-db}
spec: {selector: app == 'db', types: [Ingress], ingress: [{action: Deny}]}
`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "explain", "-f", file, "a/pod/web", "b/pod/db:5432")
	if r.code != 0 || !strings.Contains(r.stdout, "allowed") {
		t.Fatalf("enforced: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "explain", "-f", file, "a/pod/web", "b/pod/db:5432", "--staged")
	if r.code != 0 || !strings.Contains(r.stdout, "denied") || !strings.Contains(r.stdout, "deny by GlobalNetworkPolicy lock-db[0]") || !strings.Contains(r.stderr, "Previewing 1 staged Calico policies") {
		t.Fatalf("staged: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
