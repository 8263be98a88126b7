package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/interrupt"
)

var built struct {
	once sync.Once
	bin  string
	err  error
}

// plugin builds the binary once for the tests of this file.
func plugin(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "netbaseline-main-test")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "kubectl-netbaseline")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.bin != "" {
		_ = os.RemoveAll(filepath.Dir(built.bin))
	}
	os.Exit(code)
}

// isolated runs the plugin without any kubeconfig or config of the
// machine it runs on.
func isolated(bin string, args ...string) *exec.Cmd {
	c := exec.Command(bin, args...)
	c.Env = []string{"HOME=" + os.TempDir(), "KUBECONFIG=/nonexistent", "PATH=/usr/bin:/bin"}
	return c
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// cluster writes a generated cluster: pods of many workloads with
// varying labels in several namespaces, and policies between them, big
// enough that --matrix -A computes for several seconds.
func cluster(t *testing.T, namespaces, podsPerNamespace int) string {
	t.Helper()
	var b bytes.Buffer
	for n := range namespaces {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns%d\n  labels:\n    team: t%d\n", n, n%7)
		for p := range podsPerNamespace {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p%d\n  namespace: ns%d\n  labels:\n    app: a%d\n    tier: t%d\nspec:\n  containers:\n  - name: c\n    image: x\n    ports:\n    - containerPort: %d\nstatus:\n  phase: Running\n  podIP: 10.%d.%d.%d\n",
				p, n, p, p%5, 8000+p%13, n, p/250, p%250+1)
		}
		fmt.Fprintf(&b, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np\n  namespace: ns%d\nspec:\n  podSelector:\n    matchLabels:\n      tier: t%d\n  ingress:\n  - from:\n    - namespaceSelector:\n        matchLabels:\n          team: t%d\n      podSelector:\n        matchExpressions:\n        - {key: app, operator: NotIn, values: [a1, a2]}\n    ports:\n    - port: 8003\n", n, n%5, (n+1)%7)
	}
	p := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The first SIGTERM or Ctrl-C ends a run that holds nothing to undo
// within a second, in every phase: waiting for input, parsing and
// computing; none of these phases looks at the signal itself.
func TestFirstSignalEndsEveryPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	bin := plugin(t)
	big := cluster(t, 40, 120)
	for _, tt := range []struct {
		name  string
		args  []string
		stdin func(*exec.Cmd) io.Closer
		sig   syscall.Signal
		after time.Duration
	}{
		{"reading stdin that never ends", []string{"explain", "-f", "-", "--matrix", "-A"}, pipeNeverWritten, syscall.SIGTERM, 300 * time.Millisecond},
		{"computing a matrix", []string{"explain", "-f", big, "--matrix", "-A", "-o", "json", "--group-by", "pod"}, nil, syscall.SIGTERM, 1500 * time.Millisecond},
		{"computing, Ctrl-C", []string{"explain", "-f", big, "--matrix", "-A", "-o", "json", "--group-by", "pod"}, nil, syscall.SIGINT, 1500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := isolated(bin, tt.args...)
			var stderr bytes.Buffer
			c.Stdout, c.Stderr = io.Discard, &stderr
			if tt.stdin != nil {
				writer := tt.stdin(c)
				defer func() { _ = writer.Close() }()
			}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			select {
			case err := <-done:
				t.Fatalf("ended before the signal (%v): the phase is too short to test\n%s", err, stderr.String())
			case <-time.After(tt.after):
			}
			sent := time.Now()
			_ = c.Process.Signal(tt.sig)
			select {
			case err := <-done:
				took := time.Since(sent)
				t.Logf("exited %v after the signal", took.Round(time.Millisecond))
				if took > interrupt.Grace+1300*time.Millisecond {
					t.Errorf("exited %v after the signal, want about %v", took, interrupt.Grace)
				}
				if exitCode(err) != 130 || !strings.Contains(stderr.String(), "interrupted") {
					t.Errorf("exit %d, want 130 and the word interrupted\n%s", exitCode(err), stderr.String())
				}
			case <-time.After(10 * time.Second):
				_ = c.Process.Kill()
				t.Fatalf("still running 10 s after the first %v", tt.sig)
			}
		})
	}
}

func pipeNeverWritten(c *exec.Cmd) io.Closer {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	c.Stdin = r
	return w
}

// Each hostile input ends with a clear error (exit 2) within its bound,
// before any API call.
func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	bin := plugin(t)
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var bomb strings.Builder
	bomb.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&bomb, "  l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	bombFile := file("bomb.yaml", bomb.String())
	dup := file("dup.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n")
	deep := file("deep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: "+strings.Repeat("[", 200)+strings.Repeat("]", 200)+"\n")
	noBOM := file("utf16.yaml", "a\x00p\x00i\x00V\x00e\x00r\x00s\x00i\x00o\x00n\x00:\x00 \x00v\x001\x00\n\x00")
	dupQuery := file("q.jsonl", `{"from": "a/pod/x", "to": "b/pod/y", "to": "c/pod/z", "port": "80"}`+"\n")
	kustom := filepath.Join(dir, "tree", "team")
	if err := os.MkdirAll(kustom, 0o755); err != nil {
		t.Fatal(err)
	}
	file("tree/team/kustomization.yaml", "resources: [p.yaml]\n")
	file("tree/team/p.yaml", bomb.String())
	template := file("t.tmpl", strings.Repeat("{{.kind}}", 200))
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"alias bomb in -f", []string{"explain", "-f", bombFile, "--matrix", "-A"}, "aliases expand the document"},
		{"alias bomb in --config", []string{"render", "--config", bombFile}, "aliases expand the document"},
		{"alias bomb in --dir", []string{"render", "--dir", filepath.Join(dir, "tree"), "-n", "team"}, "aliases expand the document"},
		{"endless --config", []string{"report", "--config", "/dev/zero", "--max-input-size", "4Mi"}, "larger than the 4Mi input limit"},
		{"endless -f", []string{"explain", "-f", "/dev/zero", "--matrix", "-A"}, "larger than the 256Mi input limit (--max-input-size raises it)"},
		{"endless --queries", []string{"explain", "-f", dup, "--queries", "/dev/zero", "--max-input-size", "1Mi"}, "larger than the 1Mi input limit"},
		{"template over the bound", []string{"render", "-n", "backend-dev", "-o", "go-template-file=" + template, "--max-input-size", "1Ki"}, "larger than the 1Ki input limit"},
		{"duplicate key in -f", []string{"explain", "-f", dup, "--matrix", "-A"}, `dup.yaml:5: key "name" is defined again (first at line 4)`},
		{"duplicate key in --queries", []string{"explain", "-f", bombFile, "--queries", dupQuery}, `key "to" is defined twice`},
		{"deep nesting", []string{"explain", "-f", deep, "--matrix", "-A"}, "nested more than 128 levels deep"},
		{"UTF-16 without its mark", []string{"explain", "-f", noBOM, "--matrix", "-A"}, "UTF-16 without a byte-order mark"},
		{"a bad bound", []string{"render", "--max-input-size", "lots"}, `--max-input-size "lots": not a size`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := isolated(bin, tt.args...)
			var stdout, stderr bytes.Buffer
			c.Stdout, c.Stderr = &stdout, &stderr
			start := time.Now()
			err := c.Run()
			t.Logf("%v", time.Since(start).Round(time.Millisecond))
			if exitCode(err) != 2 || !strings.Contains(stderr.String(), tt.want) || stdout.Len() > 0 {
				t.Errorf("exit %d, want 2 and %q\nstdout: %.200s\nstderr: %s", exitCode(err), tt.want, stdout.String(), stderr.String())
			}
		})
	}
}
