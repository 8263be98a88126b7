//go:build e2e

// The e2e tests run the plugin against the local cluster (hack/cluster):
// make cluster-up, then make e2e. The environment comes from the cluster's
// env file (KUBECONFIG, NETBASELINE_DENY_MODE, NETBASELINE_CLUSTER_BIN, …).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	plugin  string // the plugin binary built for this run
	kubectl string
	repo    string
	// images pulled by digest from the test bed's registry (make cluster-up)
	probeImage, sampleAppImage string
)

// sampleAppTag is how the sample app's manifests name its image; the tests
// pull it by the digest cluster-up pushed instead.
const sampleAppTag = "127.0.0.1:5000/netbaseline/sampleapp:1"

// withImages pins the sample app's image in a manifest to its digest.
func withImages(manifest string) string {
	return strings.ReplaceAll(manifest, sampleAppTag, sampleAppImage)
}

func TestMain(m *testing.M) {
	if os.Getenv("KUBECONFIG") == "" {
		fmt.Fprintln(os.Stderr, "e2e: KUBECONFIG is not set: run make cluster-up and source the env it prints (make e2e does)")
		os.Exit(1)
	}
	bin := os.Getenv("NETBASELINE_CLUSTER_BIN")
	if bin == "" {
		bin = "/var/cache/netbaseline-cluster/bin"
	}
	kubectl = filepath.Join(bin, "kubectl")
	probeImage, sampleAppImage = os.Getenv("NETBASELINE_PROBE_IMAGE"), os.Getenv("NETBASELINE_SAMPLEAPP_IMAGE")
	if !strings.Contains(probeImage, "@sha256:") || !strings.Contains(sampleAppImage, "@sha256:") {
		fmt.Fprintln(os.Stderr, "e2e: NETBASELINE_PROBE_IMAGE and NETBASELINE_SAMPLEAPP_IMAGE must name images by digest: source the env make cluster-up prints")
		os.Exit(1)
	}
	if _, err := os.Stat(kubectl); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v: run make cluster-build\n", err)
		os.Exit(1)
	}
	wd, _ := os.Getwd()
	repo = filepath.Join(wd, "..", "..")
	dir, err := os.MkdirTemp("", "netbaseline-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	plugin = filepath.Join(dir, "kubectl-netbaseline")
	build := exec.Command("go", "build", "-o", plugin, "./cmd/kubectl-netbaseline")
	build.Dir, build.Stdout, build.Stderr = repo, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the plugin:", err)
		os.Exit(1)
	}
	purgeDrops()
	code := m.Run()
	purgeDrops()
	os.RemoveAll(dir)
	os.Exit(code)
}

type out struct {
	stdout, stderr string
	err            error
}

func runCmd(ctx context.Context, stdin string, name string, args ...string) out {
	cmd := exec.CommandContext(ctx, name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	return out{o.String(), e.String(), err}
}

func must(t *testing.T, o out, what string) string {
	t.Helper()
	if o.err != nil {
		t.Fatalf("%s: %v\n%s%s", what, o.err, o.stdout, o.stderr)
	}
	return o.stdout
}

func kube(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return must(t, runCmd(ctx, "", kubectl, args...), "kubectl "+strings.Join(args, " "))
}

func netbaseline(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return must(t, runCmd(ctx, "", plugin, args...), "kubectl netbaseline "+strings.Join(args, " "))
}

var appNamespaces = []string{"frontend-dev", "backend-dev"}

// deploySampleApp applies the sample app and removes every NetworkPolicy
// from its namespaces, so each test starts open.
func deploySampleApp(t *testing.T) {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join(repo, "hack", "cluster", "manifests", "sample-app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	must(t, runCmd(ctx, withImages(string(manifest)), kubectl, "apply", "-f", "-"), "kubectl apply sample-app.yaml")
	for _, d := range []string{"backend-dev/backend", "frontend-dev/frontend", "ingress/ingress-nginx-controller", "monitoring/prometheus"} {
		ns, name, _ := strings.Cut(d, "/")
		kube(t, "-n", ns, "rollout", "status", "deploy/"+name, "--timeout=120s")
	}
	clearPolicies(t)
	t.Cleanup(func() { clearPolicies(t) })
}

// clearPolicies removes every NetworkPolicy of the app namespaces and the
// plugin's ConfigMaps, so that a test that failed half-way does not leave
// an ApplySet parent that the next one would take as the state before.
func clearPolicies(t *testing.T) {
	for _, ns := range appNamespaces {
		kube(t, "-n", ns, "delete", "networkpolicy", "--all", "--wait=true")
		kube(t, "-n", ns, "delete", "configmap", "netbaseline-applyset", "netbaseline-backup", "--ignore-not-found", "--wait=true")
	}
}

// check runs /bin/probe (tcp|http|dns TARGET) inside a workload's pod.
func check(ns, deploy, kind, target string) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o := runCmd(ctx, "", kubectl, "-n", ns, "exec", "deploy/"+deploy, "--", "/bin/probe", kind, target, "2s")
	return o.err == nil, strings.TrimSpace(o.stdout + o.stderr)
}

// expectReach waits until the check succeeds: policies and Service rules
// take a moment to land after a change.
func expectReach(t *testing.T, ns, deploy, kind, target string) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		ok, msg := check(ns, deploy, kind, target)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s %s %s: want reachable, got: %s", ns, deploy, kind, target, msg)
		}
		time.Sleep(time.Second)
	}
}

// expectBlocked waits until the check fails, then makes sure it stays
// failed and that the failure is the enforcer's deny mode (a timeout when
// packets are dropped, a refusal when rejected).
func expectBlocked(t *testing.T, ns, deploy, kind, target string) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var msg string
	for {
		var ok bool
		ok, msg = check(ns, deploy, kind, target)
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s %s %s: want blocked, still reachable: %s", ns, deploy, kind, target, msg)
		}
		time.Sleep(time.Second)
	}
	if ok, again := check(ns, deploy, kind, target); ok {
		t.Fatalf("%s/%s %s %s: blocked once, then reachable again: %s", ns, deploy, kind, target, again)
	}
	// Only a TCP connect to an address shows the enforcer's deny mode
	// plainly; a name may already fail at DNS, itself denied.
	if kind == "tcp" {
		assertDenyMode(t, msg)
	}
}

func assertDenyMode(t *testing.T, msg string) {
	t.Helper()
	refused := strings.Contains(msg, "connection refused")
	timedOut := strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded")
	switch os.Getenv("NETBASELINE_DENY_MODE") {
	case "reject":
		if !refused {
			t.Errorf("deny mode reject: want connection refused, got: %s", msg)
		}
	case "drop", "":
		if !timedOut {
			t.Errorf("deny mode drop: want a timeout, got: %s", msg)
		}
	}
}

// applyPhases applies the plugin's rendered policies up to a phase.
func applyPhases(t *testing.T, maxPhase int) {
	t.Helper()
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(netbaseline(t, "render", "-A", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, item := range list.Items {
		meta := item["metadata"].(map[string]any)
		phase := meta["annotations"].(map[string]any)["netbaseline.io/phase"].(string)
		var p int
		fmt.Sscanf(phase, "%d", &p)
		if p <= maxPhase {
			b, _ := json.Marshal(item)
			docs = append(docs, string(b))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, runCmd(ctx, strings.Join(docs, "\n"), kubectl, "apply", "-f", "-"), "kubectl apply")
}

const (
	backendURL  = "http://backend.backend-dev.svc.cluster.local/api/health"
	frontendURL = "http://frontend.frontend-dev.svc.cluster.local/"
	backendName = "backend.backend-dev.svc.cluster.local"
)

func externalURL() string {
	host := os.Getenv("NETBASELINE_EXTERNAL_HOST")
	if host == "" {
		host = "external.test"
	}
	return "http://" + host + "/api/health"
}

// The runbook's order, phase by phase: open, deny-all, DNS, the app's own
// relation, the ingress controller, monitoring.
func TestBaselinePhaseByPhase(t *testing.T) {
	deploySampleApp(t)
	expectReach(t, "frontend-dev", "frontend", "http", backendURL)
	expectReach(t, "frontend-dev", "frontend", "http", externalURL())

	backendIP := podIP(t, "backend-dev", "app=backend")

	applyPhases(t, 0) // deny-all
	expectBlocked(t, "frontend-dev", "frontend", "http", backendURL)
	expectBlocked(t, "frontend-dev", "frontend", "tcp", backendIP+":3001")
	expectBlocked(t, "frontend-dev", "frontend", "dns", backendName)

	applyPhases(t, 5) // + allow-dns
	expectReach(t, "frontend-dev", "frontend", "dns", backendName)
	expectBlocked(t, "frontend-dev", "frontend", "http", backendURL)

	applyPhases(t, 10) // + allow-to-backend, allow-from-frontend
	expectReach(t, "frontend-dev", "frontend", "http", backendURL)
	expectReach(t, "frontend-dev", "frontend", "tcp", backendIP+":3001")
	expectBlocked(t, "backend-dev", "backend", "http", frontendURL)
	expectBlocked(t, "frontend-dev", "frontend", "http", externalURL())

	applyPhases(t, 15) // + allow-from-ingress: the ingress controller reaches both apps
	expectReach(t, "ingress", "ingress-nginx-controller", "http", backendURL)
	expectReach(t, "ingress", "ingress-nginx-controller", "http", frontendURL)

	applyPhases(t, 30) // + allow-from-monitoring: metrics only
	expectReach(t, "monitoring", "prometheus", "http", "http://backend.backend-dev.svc.cluster.local:8080/metrics")
	expectBlocked(t, "monitoring", "prometheus", "http", backendURL)
}

type verdict struct {
	Verdict string `json:"verdict"`
	To      string `json:"to"`
	Port    int    `json:"port"`
}

func explainVerdicts(t *testing.T, args ...string) []verdict {
	t.Helper()
	var doc struct {
		Verdicts []verdict `json:"verdicts"`
	}
	if err := json.Unmarshal([]byte(netbaseline(t, append([]string{"explain", "-o", "json"}, args...)...)), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Verdicts
}

func podIP(t *testing.T, ns, selector string) string {
	t.Helper()
	return strings.TrimSpace(kube(t, "-n", ns, "get", "pods", "-l", selector, "-o", "jsonpath={.items[0].status.podIP}"))
}

// explain's live verdicts agree with what the enforcer really does, on
// the full baseline, for allowed and denied flows in both directions.
func TestExplainAgreesWithEnforcement(t *testing.T) {
	deploySampleApp(t)
	applyPhases(t, 30)
	backendIP := podIP(t, "backend-dev", "app=backend")
	frontendIP := podIP(t, "frontend-dev", "app=frontend")
	externalIP := os.Getenv("NETBASELINE_EXTERNAL_IP")
	if externalIP == "" {
		externalIP = "198.51.100.10"
	}
	cases := []struct {
		fromNS, fromDeploy, source string
		dest, target               string
	}{
		{"frontend-dev", "frontend", "frontend-dev/deploy/frontend", "backend-dev:3001", backendIP + ":3001"},
		{"frontend-dev", "frontend", "frontend-dev/deploy/frontend", "backend-dev:8080", backendIP + ":8080"},
		{"backend-dev", "backend", "backend-dev/deploy/backend", "frontend-dev:3000", frontendIP + ":3000"},
		{"monitoring", "prometheus", "monitoring/deploy/prometheus", "backend-dev:metrics", backendIP + ":8080"},
		{"monitoring", "prometheus", "monitoring/deploy/prometheus", "backend-dev:3001", backendIP + ":3001"},
		{"ingress", "ingress-nginx-controller", "ingress/deploy/ingress-nginx-controller", "frontend-dev:http", frontendIP + ":3000"},
		{"ingress", "ingress-nginx-controller", "ingress/deploy/ingress-nginx-controller", "frontend-dev:8080", frontendIP + ":8080"},
		{"frontend-dev", "frontend", "frontend-dev/deploy/frontend", externalIP + ":80", externalIP + ":80"},
	}
	for _, c := range cases {
		vs := explainVerdicts(t, c.source, c.dest)
		if len(vs) != 1 {
			t.Fatalf("%s -> %s: %d verdicts", c.source, c.dest, len(vs))
		}
		switch vs[0].Verdict {
		case "allowed":
			expectReach(t, c.fromNS, c.fromDeploy, "tcp", c.target)
		case "denied":
			expectBlocked(t, c.fromNS, c.fromDeploy, "tcp", c.target)
		default:
			t.Errorf("%s -> %s: verdict %s", c.source, c.dest, vs[0].Verdict)
		}
		t.Logf("%s -> %s (%s): explain %s, enforcer agrees", c.source, c.dest, c.target, vs[0].Verdict)
	}
	// The same question through the Service, as users ask it.
	if vs := explainVerdicts(t, "frontend-dev", "backend-dev/svc/backend:80"); vs[0].Verdict != "allowed" || vs[0].Port != 3001 {
		t.Errorf("through the Service: %+v", vs)
	}
	expectReach(t, "frontend-dev", "frontend", "http", backendURL)
}

// The plugin's own apply and rollback on the real cluster: the app keeps
// working under the baseline, the rest is denied, and rollback reopens it.
func TestApplyAndRollback(t *testing.T) {
	deploySampleApp(t)
	frontendIP := podIP(t, "frontend-dev", "app=frontend")
	expectReach(t, "backend-dev", "backend", "tcp", frontendIP+":3000")

	out := netbaseline(t, "apply", "-n", "frontend-dev", "-n", "backend-dev")
	if strings.Count(out, " created") != 10 {
		t.Fatalf("apply:\n%s", out)
	}
	if out := netbaseline(t, "apply", "-n", "frontend-dev", "-n", "backend-dev"); strings.Count(out, " unchanged") != 10 {
		t.Errorf("re-apply:\n%s", out)
	}
	expectReach(t, "frontend-dev", "frontend", "http", backendURL)
	expectReach(t, "ingress", "ingress-nginx-controller", "http", frontendURL)
	expectBlocked(t, "backend-dev", "backend", "tcp", frontendIP+":3000")

	cmd := netbaseline(t, "rollback", "-n", "frontend-dev", "--print-command")
	if !strings.HasPrefix(cmd, "kubectl delete networkpolicy -n frontend-dev allow-dns allow-from-ingress allow-from-monitoring allow-to-backend deny-all") {
		t.Errorf("--print-command:\n%s", cmd)
	}
	netbaseline(t, "rollback", "-n", "frontend-dev", "-n", "backend-dev")
	for _, ns := range appNamespaces {
		if left := strings.TrimSpace(kube(t, "-n", ns, "get", "networkpolicy", "-o", "name")); left != "" {
			t.Errorf("%s still has %s", ns, left)
		}
	}
	expectReach(t, "backend-dev", "backend", "tcp", frontendIP+":3000")
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// insertDrop adds a raw-table DROP rule (a stand-in for a broken network)
// and returns its removal, which also runs at the end of the test. -w
// waits for the xtables lock, which kube-router holds often.
func insertDrop(t *testing.T, rule []string) func() {
	t.Helper()
	if o := runCmd(context.Background(), "", "iptables", append([]string{"-w", "5", "-t", "raw", "-I"}, rule...)...); o.err != nil {
		t.Fatalf("iptables: %v %s", o.err, o.stderr)
	}
	var once sync.Once
	remove := func() {
		once.Do(func() {
			if o := runCmd(context.Background(), "", "iptables", append([]string{"-w", "5", "-t", "raw", "-D"}, rule...)...); o.err != nil {
				t.Errorf("iptables: removing %v: %v %s", rule, o.err, o.stderr)
			}
		})
	}
	t.Cleanup(remove)
	return remove
}

// purgeDrops removes raw-table rules an earlier, killed run left behind:
// they outlive the cluster, and the next one reuses the pod addresses.
func purgeDrops() {
	o := runCmd(context.Background(), "", "iptables", "-w", "5", "-t", "raw", "-S", "PREROUTING")
	for _, line := range strings.Split(o.stdout, "\n") {
		if strings.HasPrefix(line, "-A PREROUTING") && strings.Contains(line, "netbaseline-e2e") {
			args := append([]string{"-w", "5", "-t", "raw", "-D"}, strings.Fields(strings.TrimPrefix(line, "-A "))...)
			runCmd(context.Background(), "", "iptables", args...)
		}
	}
}
