//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runbookConfig is the sample app with the backend's external egress to
// the external test host on port 80 only (NPOL-007).
func runbookConfig(t *testing.T) string {
	t.Helper()
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
    app: backend
    to: [{cidr: ` + externalIP() + `/32, ports: [{port: 80}]}]
`
	return writeFile(t, t.TempDir(), "netbaseline.yaml", cfg)
}

func externalIP() string {
	if ip := os.Getenv("NETBASELINE_EXTERNAL_IP"); ip != "" {
		return ip
	}
	return "198.51.100.10"
}

// plugin runs the plugin and returns stdout and the exit status.
func pluginRun(t *testing.T, args ...string) (string, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o := runCmd(ctx, "", plugin, args...)
	code := 0
	if o.err != nil {
		code = exitCode(o.err)
	}
	return o.stdout, code, o.stderr
}

func expectResults(t *testing.T, what string, obs []observation, code int, stderr string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, o := range obs {
		got[o.To+" "+o.Port] = o.Expected + "/" + o.Result
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q (all: %v)\n%s", what, k, got[k], v, results(obs), stderr)
		}
	}
	for _, o := range obs {
		if o.Result != "ok" {
			t.Errorf("%s: %s -> %s %s: %s (expected %s, observed %s, outcome %s: %s)", what, o.From, o.To, o.Port, o.Result, o.Expected, o.Observed, o.Outcome, o.Detail)
		}
	}
	if code != 0 {
		t.Errorf("%s: exit %d: %s", what, code, stderr)
	}
}

// The runbook end to end with the plugin alone: doctor → apply --verify →
// probe every expectation of NPOL-VALIDATE-001 → report → rollback →
// open again. Every assertion reads the commands' JSON.
func TestRunbookEndToEnd(t *testing.T) {
	deploySampleApp(t)
	config := runbookConfig(t)
	dir := t.TempDir()
	mode := denyMode()

	// NPOL-000, NPOL-001: the engine enforces; namespaces and labels right.
	engine, _ := clusterEngine()
	stdout, code, stderr := pluginRun(t, "doctor", "--config", config, "-o", "json")
	var doc struct {
		Engines  []struct{ Name, DenyMode string }
		Findings []struct{ ID, Severity, Subject string }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || code != 0 {
		t.Fatalf("doctor: exit %d %v\n%s", code, err, stderr)
	}
	if len(doc.Engines) != 1 || doc.Engines[0].Name != engine {
		t.Errorf("engines: %+v", doc.Engines)
	}
	labels := map[string]string{}
	for _, f := range doc.Findings {
		if strings.HasPrefix(f.ID, "LABEL-") || strings.HasPrefix(f.ID, "ROLLOUT-") {
			labels[f.ID+" "+f.Subject] = f.Severity
		}
	}
	for _, k := range []string{"LABEL-001 frontend-dev", "LABEL-001 backend-dev", "LABEL-002 frontend-dev app=frontend", "LABEL-002 backend-dev app=backend",
		"LABEL-003 ingress app.kubernetes.io/name=ingress-nginx", "ROLLOUT-001 backend-dev/deploy/backend", "ROLLOUT-001 frontend-dev/deploy/frontend"} {
		if labels[k] != "pass" {
			t.Errorf("doctor %s: %q, want pass (%v)", k, labels[k], labels)
		}
	}

	// NPOL-002…008: apply, each phase probed.
	stdout, code, stderr = pluginRun(t, "apply", "--config", config, "-n", "frontend-dev", "-n", "backend-dev", "--verify",
		"-o", "name", "--save", filepath.Join(dir, "verify.json"))
	if code != 0 || strings.Count(stdout, "networkpolicy.networking.k8s.io/") != 11 || !strings.Contains(stderr, "Verified:") {
		t.Fatalf("apply --verify: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// NPOL-VALIDATE-001: DNS, frontend -> backend /api/health through the
	// Service name, 200.
	obs, code, stderr := probe(t, "frontend-dev", "backend-dev/svc/backend:80", "--http", "/api/health", "--dns", backendName, "--save", filepath.Join(dir, "internal.json"))
	expectResults(t, "frontend -> backend", obs, code, stderr, map[string]string{
		"svc/backend (backend-dev, DNS) svc 80/TCP": "allowed/ok",
		"dns " + backendName + " 53/UDP":            "allowed/ok",
		"dns " + backendName + " 53/TCP":            "allowed/ok",
	})
	// The ingress stand-in reaches both apps.
	obs, code, stderr = probe(t, "ingress", "frontend-dev:http", "backend-dev/svc/backend:80", "--http", "/api/health", "--save", filepath.Join(dir, "ingress.json"))
	if len(obs) != 3 {
		t.Errorf("ingress: %v", results(obs))
	}
	expectResults(t, "ingress -> apps", obs, code, stderr, map[string]string{"svc/backend (backend-dev, DNS) svc 80/TCP": "allowed/ok"})
	// From outside, through the ingress NodePort.
	obs, code, stderr = probe(t, "local", "http://198.18.0.1:30080/api/health")
	if code != 0 || len(obs) != 1 || obs[0].Result != "ok" {
		t.Errorf("probe local: exit %d %v %s", code, results(obs), stderr)
	}
	// Monitoring scrapes metrics, and nothing else.
	obs, code, stderr = probe(t, "monitoring", "backend-dev:metrics", "frontend-dev:metrics", "backend-dev:http", "frontend-dev:http", "--save", filepath.Join(dir, "monitoring.json"))
	if len(obs) != 4 {
		t.Errorf("monitoring: %v", results(obs))
	}
	for _, o := range obs {
		want := "denied"
		if strings.HasPrefix(o.Port, "metrics") {
			want = "allowed"
		}
		if o.Expected != want {
			t.Errorf("monitoring -> %s %s: expected %s, want %s", o.To, o.Port, o.Expected, want)
		}
	}
	expectResults(t, "monitoring", obs, code, stderr, nil)
	// Everything else is denied: backend -> frontend, frontend -> backend's
	// metrics, and the external host except from the backend on port 80.
	obs, code, stderr = probe(t, "backend-dev", "frontend-dev:3000", externalIP()+":80", externalIP()+":443", "--save", filepath.Join(dir, "backend.json"))
	expectResults(t, "backend egress", obs, code, stderr, map[string]string{
		externalIP() + " 80/TCP":  "allowed/ok",
		externalIP() + " 443/TCP": "denied/ok",
	})
	obs, code, stderr = probe(t, "frontend-dev", "backend-dev:metrics", externalIP()+":80", "--save", filepath.Join(dir, "frontend.json"))
	expectResults(t, "frontend egress", obs, code, stderr, map[string]string{externalIP() + " 80/TCP": "denied/ok"})

	// OBS-DOCS-001, ROLLBACK-READY-001: the record.
	args := []string{"report", "--config", config, "-o", "json"}
	for _, f := range []string{"verify", "internal", "ingress", "monitoring", "backend", "frontend"} {
		args = append(args, "--probe-results", filepath.Join(dir, f+".json"))
	}
	stdout, code, stderr = pluginRun(t, args...)
	var rec struct {
		Engines    []struct{ Name string }
		DenyMode   string
		Namespaces []struct {
			Name     string
			Apps     []struct{ Name, Selector string }
			Policies []struct {
				Name, Phase string
				Managed     bool
			}
			Rollback struct{ Command, Kubectl string }
		}
		ProbeCounts map[string]int
	}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil || code != 0 {
		t.Fatalf("report: exit %d %v\n%s", code, err, stderr)
	}
	if len(rec.Engines) != 1 || rec.Engines[0].Name != engine || rec.DenyMode != mode {
		t.Errorf("report engine: %+v %s", rec.Engines, rec.DenyMode)
	}
	phases := map[string]string{}
	for _, ns := range rec.Namespaces {
		for _, p := range ns.Policies {
			if !p.Managed {
				t.Errorf("report: %s/%s not ours", ns.Name, p.Name)
			}
			phases[ns.Name+"/"+p.Name] = p.Phase
		}
		if ns.Rollback.Command != "kubectl netbaseline rollback -n "+ns.Name || !strings.Contains(ns.Rollback.Kubectl, "kubectl delete networkpolicy -n "+ns.Name) {
			t.Errorf("report rollback: %+v", ns.Rollback)
		}
	}
	if phases["backend-dev/allow-egress-external"] != "30" || phases["frontend-dev/deny-all"] != "00" || phases["backend-dev/allow-from-frontend"] != "10" {
		t.Errorf("report phases: %v", phases)
	}
	if rec.ProbeCounts["ok"] < 35 || rec.ProbeCounts["mismatch"] != 0 { // apply --verify's checks included
		t.Errorf("report probe counts: %v", rec.ProbeCounts)
	}
	// A fresh probe of the group matrix, made by report itself.
	stdout, code, stderr = pluginRun(t, "report", "--config", config, "-o", "json", "--probe")
	var fresh struct {
		ProbeSource string
		ProbeCounts map[string]int
		Probe       struct{ Observations []observation }
	}
	if err := json.Unmarshal([]byte(stdout), &fresh); err != nil || code != 0 {
		t.Fatalf("report --probe: exit %d %v\n%s", code, err, stderr)
	}
	if fresh.ProbeSource != "a fresh probe" || fresh.ProbeCounts["ok"] < 10 || len(fresh.ProbeCounts) != 1 {
		t.Errorf("report --probe: %v\n%v", fresh.ProbeCounts, results(fresh.Probe.Observations))
	}
	// The Markdown record, as it goes into observability.md.
	md, code, _ := pluginRun(t, "report", "--config", config)
	for _, want := range []string{"| " + engine + " |", "`app=backend`", "kubectl netbaseline rollback -n backend-dev", "| 30 | allow-egress-external | kubectl-netbaseline |"} {
		if code != 0 || !strings.Contains(md, want) {
			t.Errorf("report md lacks %q:\n%s", want, md)
		}
	}

	// Rollback: one command, and the namespaces are open again.
	if _, code, stderr := pluginRun(t, "rollback", "-n", "frontend-dev", "-n", "backend-dev"); code != 0 {
		t.Fatalf("rollback: exit %d %s", code, stderr)
	}
	time.Sleep(2 * time.Second)
	obs, code, stderr = probe(t, "monitoring", "backend-dev:http", "frontend-dev:http")
	expectResults(t, "after rollback", obs, code, stderr, map[string]string{})
	for _, o := range obs {
		if o.Expected != "allowed" {
			t.Errorf("after rollback %s %s: expected %s", o.To, o.Port, o.Expected)
		}
	}
	obs, code, stderr = probe(t, "frontend-dev", externalIP()+":443")
	expectResults(t, "external after rollback", obs, code, stderr, map[string]string{externalIP() + " 443/TCP": "allowed/ok"})
}

// apply --verify on a network that does not do what the policies say: a
// raw-table DROP (a stand-in for a broken enforcer or a node firewall)
// between the frontend and the backend makes the frontend's probe fail
// once its new state has taken effect, and the run is undone.
func TestApplyVerifyRestoresOnMismatch(t *testing.T) {
	deploySampleApp(t)
	fe := podIP(t, "frontend-dev", "app=frontend")
	be := podIP(t, "backend-dev", "app=backend")
	rule := []string{"PREROUTING", "-s", fe, "-d", be, "-p", "tcp", "--dport", "3001", "-j", "DROP", "-m", "comment", "--comment", "netbaseline-e2e"}
	insertDrop(t, rule)
	// A foreign policy that must survive untouched.
	kube(t, "-n", "backend-dev", "create", "-f", writeFile(t, t.TempDir(), "np.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: team-allow-all, namespace: backend-dev}
spec:
  podSelector: {}
  ingress: [{}]
`))
	before := kube(t, "-n", "backend-dev", "get", "networkpolicy,configmap", "-o", "name")

	stdout, code, stderr := pluginRun(t, "apply", "-n", "frontend-dev", "-n", "backend-dev", "--verify", "--settle-timeout", settleTimeout())
	if code != 3 || !strings.Contains(stderr, "the new state of frontend-dev did not do what the policies say") ||
		!strings.Contains(stderr, "expected allowed, observed denied (mismatch)") || !strings.Contains(stderr, "undone: backend-dev, frontend-dev are as before the run") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if left := strings.TrimSpace(kube(t, "-n", "frontend-dev", "get", "networkpolicy,configmap", "-o", "name")); left != "configmap/kube-root-ca.crt" {
		t.Errorf("frontend-dev not restored: %s", left)
	}
	if after := kube(t, "-n", "backend-dev", "get", "networkpolicy,configmap", "-o", "name"); after != before {
		t.Errorf("backend-dev changed: before %q after %q", before, after)
	}
}
