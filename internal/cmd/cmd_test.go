package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/golden"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/version"
)

type result struct {
	stdout, stderr string
	code           int
	err            error
}

// run executes the root command as main does, with test streams and no
// kubeconfig, and returns what main would print and exit with.
func run(t *testing.T, args ...string) result {
	t.Helper()
	t.Setenv(config.EnvConfig, "")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig"))
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := NewCmdNetBaseline(streams)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		if msg := Message(err); msg != "" {
			errOut.WriteString(msg + "\n")
		}
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: ExitCode(err), err: err}
}

func lines(s string) []string {
	return strings.Split(strings.TrimSpace(s), "\n")
}

func TestRenderNames(t *testing.T) {
	tests := map[string][]string{
		"backend-dev": {
			"networkpolicy.networking.k8s.io/deny-all",
			"networkpolicy.networking.k8s.io/allow-dns",
			"networkpolicy.networking.k8s.io/allow-from-frontend",
			"networkpolicy.networking.k8s.io/allow-from-ingress",
			"networkpolicy.networking.k8s.io/allow-from-monitoring",
		},
		"frontend-dev": {
			"networkpolicy.networking.k8s.io/deny-all",
			"networkpolicy.networking.k8s.io/allow-dns",
			"networkpolicy.networking.k8s.io/allow-to-backend",
			"networkpolicy.networking.k8s.io/allow-from-ingress",
			"networkpolicy.networking.k8s.io/allow-from-monitoring",
		},
	}
	for ns, want := range tests {
		r := run(t, "render", "-n", ns, "-o", "name")
		if r.code != 0 {
			t.Fatalf("render -n %s: exit %d: %s", ns, r.code, r.stderr)
		}
		if got := lines(r.stdout); !cmp.Equal(got, want) {
			t.Errorf("render -n %s -o name:\n%v\nwant\n%v", ns, got, want)
		}
	}
}

func TestRenderOutputs(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		r := run(t, "render", "-A", "-o", format)
		if r.code != 0 {
			t.Fatalf("-o %s: exit %d: %s", format, r.code, r.stderr)
		}
		golden.Assert(t, "render-all."+format, []byte(r.stdout))
	}
	// jsonpath and templates see one List, as with kubectl get.
	r := run(t, "render", "-n", "backend-dev", "-o", "jsonpath={.items[*].metadata.name}")
	if want := "deny-all allow-dns allow-from-frontend allow-from-ingress allow-from-monitoring"; r.stdout != want {
		t.Errorf("jsonpath output = %q, want %q", r.stdout, want)
	}
	r = run(t, "render", "-n", "backend-dev", "-o", "go-template={{len .items}}")
	if r.stdout != "5" {
		t.Errorf("go-template output = %q, want 5", r.stdout)
	}
	// Repeated -n keeps the order given.
	r = run(t, "render", "-n", "backend-dev", "-n", "frontend-dev", "-o", "jsonpath={range .items[*]}{.metadata.namespace} {end}")
	if !strings.HasPrefix(r.stdout, "backend-dev ") || !strings.HasSuffix(r.stdout, "frontend-dev ") {
		t.Errorf("namespaces out of order: %q", r.stdout)
	}
}

func TestRenderDefaultsToKubeconfigNamespace(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: frontend-dev}}]
current-context: ctx
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, "render", "--kubeconfig", kubeconfig, "-o", "name")
	if r.code != 0 || !strings.Contains(r.stdout, "allow-to-backend") {
		t.Errorf("render with the context's namespace frontend-dev: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestBadInputIsUsageError(t *testing.T) {
	dir := t.TempDir()
	goodConfig := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(goodConfig, []byte("apiVersion: netbaseline.io/v1alpha1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("apiVersion: netbaseline.io/v1alpha1\nkind: Config\nnamespaces:\n- name: Bad\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	brokenTree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(brokenTree, "team"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(brokenTree, "team", "kustomization.yaml"), []byte("resources:\n- gone.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown output format", []string{"render", "-n", "backend-dev", "-o", "table"}, `output format "table"`},
		{"dir does not exist", []string{"render", "--dir", filepath.Join(dir, "nope"), "-A"}, "no such directory"},
		{"namespace without overlay", []string{"render", "-n", "payments"}, `no overlay for namespace "payments"`},
		{"namespace without folder under --dir", []string{"render", "--dir", brokenTree, "-n", "backend-dev"}, `no overlay for namespace "backend-dev"`},
		{"invalid kustomization", []string{"render", "--dir", brokenTree, "-n", "team"}, "gone.yaml"},
		{"invalid config", []string{"render", "-n", "backend-dev", "--config", badConfig}, "namespaces[0].name"},
		{"missing config", []string{"render", "-n", "backend-dev", "--config", filepath.Join(dir, "none.yaml")}, "file does not exist"},
		{"-A with -n", []string{"render", "-A", "-n", "backend-dev"}, "cannot be combined"},
		{"--dir with --config", []string{"render", "-A", "--dir", brokenTree, "--config", goodConfig}, "give one"},
		{"invalid config before any API call", []string{"rollback", "-n", "backend-dev", "--config", badConfig}, "namespaces[0].name"},
		{"invalid config for explain", []string{"explain", "frontend-dev", "backend-dev:3001", "--config", badConfig}, "namespaces[0].name"},
		{"--dir with --namespace-label", []string{"render", "-A", "--dir", brokenTree, "--namespace-label", "name"}, "--namespace-label"},
		{"bad --namespace-label", []string{"render", "-A", "--namespace-label", "not a label"}, "namespaceLabel"},
		{"unknown flag", []string{"render", "--frobnicate"}, "unknown flag: --frobnicate"},
		{"positional argument", []string{"render", "backend-dev"}, "takes no arguments"},
		{"unknown command", []string{"rendr"}, `did you mean render`},
		{"init without --dir", []string{"init"}, "--dir is required"},
		{"init unknown namespace", []string{"init", "--dir", filepath.Join(dir, "out"), "-n", "payments"}, `no overlay for namespace "payments"`},
		{"version bad output", []string{"version", "-o", "xml"}, `unknown output format "xml"`},
		{"apply bad dry-run", []string{"apply", "-n", "backend-dev", "--dry-run=maybe"}, `--dry-run must be "none", "server", or "client"`},
		{"apply bad order", []string{"apply", "-n", "backend-dev", "--order", "random"}, `unknown order "random"`},
		{"apply -A with -n", []string{"apply", "-A", "-n", "backend-dev"}, "cannot be combined"},
		{"apply unknown namespace", []string{"apply", "-n", "payments"}, `no overlay for namespace "payments"`},
		{"apply bad output", []string{"apply", "-n", "backend-dev", "-o", "table"}, `output format "table"`},
		{"diff output without flows", []string{"diff", "-n", "backend-dev", "-o", "json"}, "the object diff is always a unified diff"},
		{"diff flows bogus output", []string{"diff", "-n", "backend-dev", "--flows", "-o", "bogus"}, "diff --flows prints a table (no -o), JSON (-o json) or a graph of the changes (-o mermaid|dot)"},
		{"diff unknown namespace", []string{"diff", "-n", "payments"}, `no overlay for namespace "payments"`},
		{"rollback -A with -n", []string{"rollback", "-A", "-n", "x"}, "cannot be combined"},
		{"rollback bad dry-run", []string{"rollback", "-n", "x", "--dry-run=later"}, "--dry-run"},
		{"audit bad --fail-on", []string{"audit", "--fail-on", "severe"}, `--fail-on "severe": use high, medium or low`},
		{"audit --min-score above 100", []string{"audit", "--min-score", "101"}, "--min-score 101: a score is 0 to 100"},
		{"audit bad output", []string{"audit", "-o", "grid"}, "unknown output format"},
		{"audit -A with namespaces", []string{"audit", "-A", "shop"}, "cannot be combined"},
		{"audit --enforcer live", []string{"audit", "--enforcer", "cilium"}, "--enforcer and --cilium-version describe manifests"},
		{"audit bad --to", []string{"audit", "--to", "a/b/c/d"}, "--to"},
		{"audit --from a Service", []string{"audit", "--from", "shop/svc/web"}, "a Service is a destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args...)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want %d (err %v)", r.code, ExitUsage, r.err)
			}
			if r.stdout != "" {
				t.Errorf("printed to stdout on error: %q", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.want) || !strings.HasPrefix(r.stderr, "error: ") {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("a failed init wrote %s", filepath.Join(dir, "out"))
	}
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func TestInitWritesTheRunbookLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "infra", "manifests", "network-policies")
	r := run(t, "init", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	want := []string{
		"backend-dev/00-deny-all.yaml", "backend-dev/10-allow-from-frontend.yaml", "backend-dev/15-allow-from-ingress.yaml",
		"backend-dev/20-allow-from-monitoring.yaml", "backend-dev/Kustomization", "backend-dev/allow-dns.yaml",
		"frontend-dev/00-deny-all.yaml", "frontend-dev/10-allow-to-backend.yaml", "frontend-dev/15-allow-from-ingress.yaml",
		"frontend-dev/20-allow-from-monitoring.yaml", "frontend-dev/Kustomization", "frontend-dev/allow-dns.yaml",
	}
	if diff := cmp.Diff(want, listFiles(t, dir)); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
	if len(lines(r.stdout)) != len(want) {
		t.Errorf("stdout should list the %d written files: %q", len(want), r.stdout)
	}
	// No reference back into the binary or the embedded tree.
	for _, f := range want {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.Contains(string(b), "../") {
			t.Errorf("%s refers outside its folder:\n%s", f, b)
		}
	}

	// render --dir on the written tree = render of the embedded baseline.
	for _, ns := range []string{"backend-dev", "frontend-dev"} {
		fromTree := run(t, "render", "--dir", dir, "-n", ns)
		embedded := run(t, "render", "-n", ns)
		if fromTree.code != 0 || fromTree.stdout != embedded.stdout {
			t.Errorf("%s: render --dir differs from render (exit %d, %s):\n%s", ns, fromTree.code, fromTree.stderr, cmp.Diff(embedded.stdout, fromTree.stdout))
		}
	}

	// A second init refuses, names the files and changes nothing.
	marker := filepath.Join(dir, "backend-dev", "00-deny-all.yaml")
	if err := os.WriteFile(marker, []byte("# edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	again := run(t, "init", "--dir", dir)
	if again.code != ExitUsage || !strings.Contains(again.stderr, "without --force") || !strings.Contains(again.stderr, marker) {
		t.Errorf("second init: exit %d, stderr %q", again.code, again.stderr)
	}
	if b, _ := os.ReadFile(marker); string(b) != "# edited by hand\n" {
		t.Error("init overwrote a file without --force")
	}

	// The kustomization of an earlier release is replaced, not left beside
	// the new one (kustomize refuses a folder with two).
	old := filepath.Join(dir, "backend-dev", "kustomization.yaml")
	if err := os.WriteFile(old, []byte("resources: [00-deny-all.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	forced := run(t, "init", "--dir", dir, "-n", "backend-dev", "--force")
	if forced.code != 0 {
		t.Fatalf("init --force: exit %d: %s", forced.code, forced.stderr)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) || !strings.Contains(forced.stderr, "Removed "+old) {
		t.Errorf("the old kustomization.yaml is still there (%v): %s", err, forced.stderr)
	}
	if b, _ := os.ReadFile(marker); !strings.Contains(string(b), "name: deny-all") {
		t.Error("init --force did not rewrite the file")
	}
}

func TestInitWithConfigAddsExternalEgress(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "netbaseline.yaml")
	cfg := `apiVersion: netbaseline.io/v1alpha1
kind: Config
namespaces:
- name: frontend-dev
  apps:
  - name: frontend
    ports: [{name: http, port: 3000}]
    ingress: true
    talksTo: [{namespace: backend-dev, app: backend}]
- name: backend-dev
  apps:
  - name: backend
    ports: [{name: http, port: 3001}]
    ingress: true
  egressExternal:
    to:
    - cidr: 203.0.113.0/24
      ports: [{port: 443}]
`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tree")
	r := run(t, "init", "--dir", out, "--config", cfgFile)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	files := listFiles(t, out)
	if !cmp.Equal(files[:7], []string{
		"backend-dev/00-deny-all.yaml", "backend-dev/10-allow-from-frontend.yaml", "backend-dev/15-allow-from-ingress.yaml",
		"backend-dev/20-allow-from-monitoring.yaml", "backend-dev/30-allow-egress-external.yaml", "backend-dev/Kustomization", "backend-dev/allow-dns.yaml",
	}) {
		t.Errorf("backend-dev files: %v", files)
	}
	for _, f := range files {
		if strings.HasPrefix(f, "frontend-dev/30-") {
			t.Errorf("frontend-dev got external egress it was not configured for: %s", f)
		}
	}
}

func TestVersion(t *testing.T) {
	r := run(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "kubectl-netbaseline ") {
		t.Errorf("version: exit %d %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "\nprobe image: none (a development build: probes need --image)\n") {
		t.Errorf("a development build must say it names no probe image: %q", r.stdout)
	}
	r = run(t, "version", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"goVersion":`) {
		t.Errorf("version -o json: %q", r.stdout)
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := run(t, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "kubectl-netbaseline") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, r.code, len(r.stdout))
		}
	}
	for _, command := range []string{"render", "doctor", "report", "rollback"} {
		r := run(t, "__complete", command, "-n", "")
		if !strings.Contains(r.stdout, "backend-dev\nfrontend-dev\n") && !strings.Contains(r.stdout, "frontend-dev\nbackend-dev\n") {
			t.Errorf("%s -n completion: %q", command, r.stdout)
		}
	}
}

func TestHelpShowsKubectlStyle(t *testing.T) {
	var buf bytes.Buffer
	streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &buf, ErrOut: &buf}
	root := NewCmdNetBaseline(streams)
	root.SetArgs([]string{"render", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	help := buf.String()
	for _, want := range []string{"kubectl netbaseline render", "--kubeconfig", "--context", "--config", "-o, --output", "Examples:"} {
		if !strings.Contains(help, want) {
			t.Errorf("render --help lacks %q", want)
		}
	}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func itoa(i int) string { return strconv.Itoa(i) }

// A --context, --cluster or --user the kubeconfig does not define is an
// error, as in kubectl, never a quiet fallback to the defaults.
func TestUnknownKubeconfigNamesAreRefused(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: frontend-dev}}, {name: other, context: {cluster: c, user: u, namespace: backend-dev}}]
current-context: ctx
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ flag, want string }{
		{"--context=nosuch", `context "nosuch" does not exist in the kubeconfig (it has ctx, other)`},
		{"--cluster=nosuch", `cluster "nosuch" does not exist in the kubeconfig (it has c)`},
		{"--user=nosuch", `user "nosuch" does not exist in the kubeconfig (it has u)`},
	} {
		r := run(t, "render", "--kubeconfig", kubeconfig, tt.flag, "-o", "name")
		if r.code != ExitUsage || !strings.Contains(r.stderr, "error: "+tt.want) || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tt.flag, r.code, r.stdout, r.stderr)
		}
	}
	r := run(t, "render", "--kubeconfig", kubeconfig, "--context=other", "-o", "name")
	if r.code != 0 || !strings.Contains(r.stdout, "allow-from-frontend") {
		t.Errorf("--context=other (namespace backend-dev): exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// -o completes with each command's formats, --context and friends from
// the kubeconfig, and no command offers file names for its arguments.
func TestCompletionOfFlagsAndArguments(t *testing.T) {
	for command, want := range map[string]string{
		"render": "jsonpath", "apply": "name", "doctor": "yaml", "explain": "mermaid", "probe": "wide", "report": "md", "version": "json", "diff": "json", "audit": "sarif",
	} {
		r := run(t, "__complete", command, "-o", "")
		if !strings.Contains(r.stdout, want+"\n") || !strings.Contains(r.stdout, ":4\n") {
			t.Errorf("%s -o completion lacks %s: %q", command, want, r.stdout)
		}
	}
	if r := run(t, "__complete", "audit", "--fail-on", ""); r.stdout != "high\nmedium\nlow\n:4\n" {
		t.Errorf("audit --fail-on completion: %q", r.stdout)
	}
	for _, command := range []string{"render", "init", "doctor", "diff", "apply", "rollback", "report", "version"} {
		if r := run(t, "__complete", command, ""); !strings.HasSuffix(r.stdout, ":4\n") {
			t.Errorf("%s completes file names for its arguments: %q", command, r.stdout)
		}
	}
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts: [{name: prod, context: {cluster: c, user: u}}, {name: lab, context: {cluster: c, user: u}}]
current-context: lab
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"--context": "lab\nprod\n", "--cluster": "c\n", "--user": "u\n"} {
		r := run(t, "__complete", "doctor", "--kubeconfig", kubeconfig, flag, "")
		if !strings.HasPrefix(r.stdout, want) {
			t.Errorf("%s completion: %q", flag, r.stdout)
		}
	}
}

// A development build names no probe image and never guesses one: every
// command that would start a probe container stops with exit 2 before any
// API call, and an image from the flag, the environment or the config is
// taken as given.
func TestDevelopmentBuildRefusesToGuessAnImage(t *testing.T) {
	t.Setenv("NETBASELINE_PROBE_IMAGE", "")
	for _, args := range [][]string{
		{"probe", "frontend-dev", "backend-dev:3001"},
		{"probe", "frontend-dev", "backend-dev:3001", "--dry-run=client"},
		{"apply", "-n", "backend-dev", "--verify"},
		{"report", "--probe"},
		{"doctor", "--canary"},
	} {
		r := run(t, args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "this development build names no probe image") || !strings.Contains(r.stderr, "--image") {
			t.Errorf("%v: exit %d %q", args, r.code, r.stderr)
		}
	}
	// what needs no agent is not refused
	for _, args := range [][]string{{"report", "-o", "bogus"}, {"doctor", "-o", "bogus"}} {
		if r := run(t, args...); strings.Contains(r.stderr, "probe image") {
			t.Errorf("%v asked for a probe image: %q", args, r.stderr)
		}
	}
	// an image given anywhere is taken: the next error is the missing cluster
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: netbaseline.io/v1alpha1\nkind: Config\nprobe:\n  image: registry.example/netbaseline-probe@sha256:"+strings.Repeat("a", 64)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"flag":   {"probe", "frontend-dev", "backend-dev:3001", "--image=registry.example/p@sha256:" + strings.Repeat("b", 64)},
		"config": {"probe", "frontend-dev", "backend-dev:3001", "--config", cfg},
	} {
		if r := run(t, args...); r.code == ExitUsage || strings.Contains(r.stderr, "names no probe image") {
			t.Errorf("%s: exit %d %q", name, r.code, r.stderr)
		}
	}
	t.Setenv("NETBASELINE_PROBE_IMAGE", "registry.example/p@sha256:"+strings.Repeat("c", 64))
	if r := run(t, "doctor", "--canary"); r.code == ExitUsage || strings.Contains(r.stderr, "names no probe image") {
		t.Errorf("environment: exit %d %q", r.code, r.stderr)
	}
}

// The timeouts of the previous release are deprecated aliases of the new
// names: the same value, and a warning.
func TestDeprecatedTimeoutNames(t *testing.T) {
	for _, tt := range []struct{ args []string }{
		{[]string{"report", "--probe-timeout=0s"}},
		{[]string{"apply", "-n", "backend-dev", "--verify", "--probe-timeout=0s"}},
		{[]string{"probe", "frontend-dev", "backend-dev:3001", "--timeout=0s"}},
	} {
		r := run(t, tt.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "has been deprecated, use --check-timeout instead") || !strings.Contains(r.stderr, "--check-timeout must be positive") {
			t.Errorf("%v: exit %d %q", tt.args, r.code, r.stderr)
		}
	}
	r := run(t, "apply", "-n", "backend-dev", "--verify", "--verify-settle=-1s")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "use --settle-timeout instead") || !strings.Contains(r.stderr, "--settle-timeout must be between 0 and 10m0s") {
		t.Errorf("--verify-settle: exit %d %q", r.code, r.stderr)
	}
}

// Every wait flag has an upper bound: a run always ends, and a typo does
// not hold a lease for a day.
func TestWaitFlagsAreBounded(t *testing.T) {
	img := "--image=registry.example/p@sha256:" + strings.Repeat("e", 64)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", "-n", "backend-dev", "--restore-timeout=31m"}, "--restore-timeout 31m0s: must be positive and at most 30m0s"},
		{[]string{"apply", "-n", "backend-dev", "--verify", img, "--settle-timeout=11m"}, "--settle-timeout must be between 0 and 10m0s"},
		{[]string{"apply", "-n", "backend-dev", "--verify", img, "--wait-timeout=16m"}, "--wait-timeout 16m0s: must be positive and at most 15m0s"},
		{[]string{"probe", "frontend-dev", "backend-dev:3001", img, "--check-timeout=2m", "--wait-timeout=3m"}, "--check-timeout 2m0s: must be positive and at most 1m0s"},
		{[]string{"doctor", "--wait-timeout=1h"}, "--wait-timeout 1h0m0s: must be positive and at most 15m0s"},
		{[]string{"discover", "-n", "backend-dev", img, "--wait-timeout=1h"}, "--wait-timeout 1h0m0s: must be positive and at most 15m0s"},
	} {
		if r := run(t, tt.args...); r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d %q", tt.args, r.code, r.stderr)
		}
	}
}

// discover's bad input stops with exit 2 and a message naming the flag,
// before any API call.
func TestDiscoverUsageErrors(t *testing.T) {
	img := "--image=registry.example/p@sha256:" + strings.Repeat("d", 64)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"discover", img}, "name the namespaces to observe with -n"},
		{[]string{"discover", "-A", "-n", "web", img}, "cannot be combined"},
		{[]string{"discover", "-n", "web", "--duration", "2h", img}, "--duration 2h0m0s: between 1s and 1h"},
		{[]string{"discover", "-n", "web", "--duration", "0s", img}, "--duration 0s"},
		{[]string{"discover", "-n", "web", "--interval", "5ms", img}, "--interval 5ms"},
		{[]string{"discover", "-n", "web", "--duration", "1s", "--interval", "2s", img}, "at most --duration"},
		{[]string{"discover", "-n", "web", "--external-prefix", "33", img}, "--external-prefix 33"},
		{[]string{"discover", "-n", "Web_1", img}, `-n "Web_1"`},
		{[]string{"discover", "-n", "web", "-o", "table", img}, "table"},
		{[]string{"discover", "-n", "web", "--parallel", "0", img}, "--parallel"},
		{[]string{"discover", "-n", "web", "--image-pull-policy", "Sometimes", img}, "Sometimes"},
		{[]string{"discover", "-n", "web", "--merge", filepath.Join(t.TempDir(), "missing.yaml"), img}, "--merge"},
		{[]string{"discover", "-n", "web", "extra-arg", img}, "extra-arg"},
	} {
		r := run(t, c.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, want 2 with %q; stderr %q", c.args, r.code, c.want, r.stderr)
		}
	}
	t.Setenv("NETBASELINE_PROBE_IMAGE", "")
	if r := run(t, "discover", "-n", "web"); r.code != ExitUsage || !strings.Contains(r.stderr, "this development build names no probe image") {
		t.Errorf("no image: exit %d %q", r.code, r.stderr)
	}
}

// kubectl's conventions the daily user trips on (#40): the release in the
// User-Agent, a --kubeconfig that names no file, a bare --dry-run.
func TestUserAgentNamesTheRelease(t *testing.T) {
	ua := version.UserAgent()
	if !strings.HasPrefix(ua, "kubectl-netbaseline/v") || strings.Contains(ua, "$Format") || !strings.Contains(ua, "/"+runtime.GOARCH) {
		t.Fatalf("User-Agent %q", ua)
	}
}

func TestAMissingKubeconfigIsBadUsage(t *testing.T) {
	r := run(t, "render", "-n", "backend-dev", "--kubeconfig", filepath.Join(t.TempDir(), "nowhere"))
	if r.code != ExitUsage || !strings.Contains(r.stderr, "--kubeconfig") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

func TestABareDryRunIsClientWithKubectlsWarning(t *testing.T) {
	var errOut strings.Builder
	d, err := flagutil.ParseDryRun(flagutil.DryRunUnchanged, &errOut)
	if err != nil || d != "client" || !strings.Contains(errOut.String(), "--dry-run is deprecated and can be replaced with --dry-run=client") {
		t.Fatalf("%s %v %q", d, err, errOut.String())
	}
	if _, err := flagutil.ParseDryRun("sometimes", &errOut); ExitCode(err) != ExitUsage {
		t.Fatalf("a wrong --dry-run: %v", err)
	}
}

// explain, probe and discover complete -n with the cluster's namespaces,
// never file names.
func TestNamespacesOfTheClusterComplete(t *testing.T) {
	clients := read.Clients{Kube: fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})}
	for _, command := range []string{"explain", "probe", "discover"} {
		r := runWithClients(t, clients, "__complete", command, "-n", "")
		if !strings.HasPrefix(r.stdout, "shop\n:4\n") {
			t.Errorf("%s -n completion: %q", command, r.stdout)
		}
	}
}
