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

type observation struct {
	From, To, Port, Kind string
	Expected, Outcome    string
	Observed, Result     string
	Detail               string
}

// clusterEngine is the NetworkPolicy engine the local cluster runs
// (NB_ENGINE of hack/cluster), as doctor names it.
func clusterEngine() (name, version string) {
	switch os.Getenv("NETBASELINE_ENGINE") {
	case "calico":
		return "Calico", "v3.28.5"
	case "cilium":
		return "Cilium", "v1.20.2"
	}
	return "kube-router", "v2.1.0"
}

func denyMode() string {
	if m := os.Getenv("NETBASELINE_DENY_MODE"); m != "" {
		return m
	}
	return "drop"
}

// probe runs the plugin's probe with the local cluster's agent image and
// returns its observations and exit status.
func probe(t *testing.T, args ...string) ([]observation, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// --deny-mode stays auto: the cluster's annotation makes it right.
	args = append([]string{"probe", "-o", "json"}, args...)
	o := runCmd(ctx, "", plugin, args...)
	code := 0
	if o.err != nil {
		code = exitCode(o.err)
	}
	var doc struct{ Observations []observation }
	if o.stdout != "" {
		if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
			t.Fatalf("probe %v: %v\n%s\n%s", args, err, o.stdout, o.stderr)
		}
	}
	return doc.Observations, code, o.stderr
}

func results(obs []observation) []string {
	var out []string
	for _, o := range obs {
		out = append(out, o.To+" "+o.Port+": "+o.Result+" ("+o.Expected+"/"+o.Observed+")")
	}
	return out
}

func allOK(t *testing.T, obs []observation, code int, stderr string) {
	t.Helper()
	for _, o := range obs {
		if o.Result != "ok" {
			t.Errorf("%s -> %s %s: %s (expected %s, observed %s, outcome %s: %s)", o.From, o.To, o.Port, o.Result, o.Expected, o.Observed, o.Outcome, o.Detail)
		}
	}
	if code != 0 || len(obs) == 0 {
		t.Errorf("exit %d with %d observations: %s", code, len(obs), stderr)
	}
}

// probe agrees with the engine on the sample app under the baseline:
// allowed, denied (dropped or refused per the deny mode), through the
// Service's name and VIP, external egress, and DNS over UDP and TCP.
func TestProbeBaseline(t *testing.T) {
	deploySampleApp(t)
	netbaseline(t, "apply", "-n", "frontend-dev", "-n", "backend-dev")
	time.Sleep(2 * time.Second) // let kube-router program the rules
	obs, code, stderr := probe(t, "frontend-dev", "backend-dev:3001", "backend-dev:8080", "backend-dev/svc/backend:80",
		os.Getenv("NETBASELINE_EXTERNAL_IP")+":80", "--dns", backendName)
	allOK(t, obs, code, stderr)
	if len(obs) != 7 {
		t.Errorf("observations: %v", results(obs))
	}
	obs, code, stderr = probe(t, "monitoring", "backend-dev:metrics", "backend-dev:http", "--http", "/metrics")
	// metrics answers /metrics; http is denied to monitoring
	if len(obs) != 2 || obs[0].Result != "ok" || obs[1].Result != "ok" || code != 0 {
		t.Errorf("monitoring: exit %d %v %s", code, results(obs), stderr)
	}
	// A short-lived pod with the frontend's labels instead of an ephemeral
	// container: the same verdicts, and the pod is gone afterwards.
	obs, code, stderr = probe(t, "frontend-dev", "backend-dev:3001", "backend-dev:8080", "--mode", "pod")
	allOK(t, obs, code, stderr)
	if left := kube(t, "-n", "frontend-dev", "get", "pods", "-o", "name"); strings.Count(left, "pod/") != 1 {
		t.Errorf("probe pods left behind:\n%s", left)
	}

	// From this machine, through the ingress stand-in's NodePort.
	obs, code, stderr = probe(t, "local", "http://198.18.0.1:30080/api/health")
	if code != 0 || len(obs) != 1 || obs[0].Result != "ok" {
		t.Errorf("probe local: exit %d %v %s", code, results(obs), stderr)
	}
}

const scratchNS = "probe-e2e"

const scratchApp = `apiVersion: v1
kind: Namespace
metadata:
  name: probe-e2e
  labels: {pod-security.kubernetes.io/enforce: restricted, pod-security.kubernetes.io/enforce-version: latest}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: probe-e2e}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: client
        image: 127.0.0.1:5000/netbaseline/sampleapp:1
        args: ["-role", "backend", "-addr", "0.0.0.0:3001", "-metrics-addr", "0.0.0.0:8080"]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: local-only, namespace: probe-e2e}
spec:
  selector: {matchLabels: {app: local-only}}
  template:
    metadata: {labels: {app: local-only}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65534, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: server
        image: 127.0.0.1:5000/netbaseline/sampleapp:1
        # bound to 127.0.0.1: reachable through any policy, but nothing answers outside the pod
        args: ["-role", "backend", "-addr", "127.0.0.1:3001", "-metrics-addr", "127.0.0.1:8080"]
        ports: [{name: http, containerPort: 3001}]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: nobody, namespace: probe-e2e}
spec:
  selector: {app: nobody}
  ports: [{port: 80, targetPort: 8080}]
`

// In a namespace that enforces Pod Security "restricted": a refused
// connection, a Service without endpoints, DNS blocked then allowed.
func TestProbeRestrictedNamespaceFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, runCmd(ctx, withImages(scratchApp), kubectl, "apply", "-f", "-"), "apply scratch app")
	t.Cleanup(func() { kube(t, "delete", "namespace", scratchNS, "--wait=true", "--timeout=120s") })
	for _, d := range []string{"client", "local-only"} {
		kube(t, "-n", scratchNS, "rollout", "status", "deploy/"+d, "--timeout=120s")
	}

	// Nothing listens on the pod address: with drop, the refusal proves the
	// policy let it through (fail: the app); with reject it is ambiguous.
	obs, code, stderr := probe(t, scratchNS+"/deploy/client", scratchNS+"/deploy/local-only:http")
	if len(obs) != 1 {
		t.Fatalf("%v %s", results(obs), stderr)
	}
	switch denyMode() {
	case "drop":
		if obs[0].Result != "fail" || obs[0].Observed != "allowed, nothing listening" || code != 3 {
			t.Errorf("drop mode: exit %d %v", code, results(obs))
		}
	case "reject":
		if obs[0].Result != "inconclusive" || code != 0 {
			t.Errorf("reject mode: exit %d %v", code, results(obs))
		}
	}

	obs, code, _ = probe(t, scratchNS+"/deploy/client", scratchNS+"/svc/nobody:80")
	if len(obs) == 0 || obs[0].Observed != "no-endpoints" || obs[0].Result != "fail" || code != 3 {
		t.Errorf("no endpoints: exit %d %v", code, results(obs))
	}

	denyEgress := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: probe-e2e}
spec: {podSelector: {}, policyTypes: [Egress]}
`
	must(t, runCmd(ctx, denyEgress, kubectl, "apply", "-f", "-"), "deny egress")
	time.Sleep(2 * time.Second)
	obs, code, stderr = probe(t, scratchNS+"/deploy/client", "--dns", "kubernetes.default.svc.cluster.local")
	if len(obs) != 2 || code != 0 {
		t.Errorf("DNS denied: exit %d %v %s", code, results(obs), stderr)
	}
	for _, o := range obs {
		if o.Expected != "denied" || o.Result != "ok" {
			t.Errorf("DNS under deny-egress: %+v", o)
		}
	}
	dir := t.TempDir()
	kube(t, "apply", "-f", writeFile(t, dir, "dns.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: probe-e2e}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
`))
	time.Sleep(2 * time.Second)
	junit := filepath.Join(dir, "probe.xml")
	saved := filepath.Join(dir, "probe.json")
	obs, code, stderr = probe(t, scratchNS+"/deploy/client", "--dns", "kubernetes.default.svc.cluster.local", "--junit", junit, "--save", saved)
	allOK(t, obs, code, stderr)
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), `<testsuite name="kubectl-netbaseline probe" tests="2" failures="0" errors="0" skipped="0">`) {
		t.Errorf("--junit: %v\n%s", err, b)
	}
	if b, err := os.ReadFile(saved); err != nil || !strings.Contains(string(b), `"kind": "ProbeResult"`) {
		t.Errorf("--save: %v", err)
	}
	// Every probe container is still in the pod spec, as the warning says.
	names := kube(t, "-n", scratchNS, "get", "pods", "-l", "app=client", "-o", "jsonpath={.items[0].spec.ephemeralContainers[*].name}")
	if strings.Count(names, "netbaseline-probe-") < 4 {
		t.Errorf("ephemeral containers: %q", names)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// With --keep, the first probe of a pod adds a container that stays, and
// later probes within that time run in it through pods/exec: the pod gains
// one ephemeral container for all of them, and the verdicts are the same.
func TestProbeKeepReusesTheContainer(t *testing.T) {
	deploySampleApp(t)
	netbaseline(t, "apply", "-n", "frontend-dev", "-n", "backend-dev")
	time.Sleep(2 * time.Second)
	count := func() int {
		names := kube(t, "-n", "frontend-dev", "get", "pods", "-l", "app=frontend", "-o", "jsonpath={.items[0].spec.ephemeralContainers[*].name}")
		return strings.Count(names, "netbaseline-probe-")
	}
	before := count()
	for i := range 3 {
		obs, code, stderr := probe(t, "frontend-dev", "backend-dev:3001", "backend-dev:8080", "--keep", "2m")
		allOK(t, obs, code, stderr)
		if len(obs) != 2 {
			t.Errorf("run %d: observations %v", i, results(obs))
		}
	}
	if added := count() - before; added != 1 {
		t.Errorf("three probes with --keep added %d ephemeral containers, want 1", added)
	}
}

// One questions file serves CI and the cluster: explain --queries answers
// it from the live model, probe --queries checks it with real connections,
// and both agree; a wrong expectation fails both (exit 3).
func TestQueriesFileOfflineAndLive(t *testing.T) {
	deploySampleApp(t)
	netbaseline(t, "apply", "-n", "frontend-dev", "-n", "backend-dev")
	time.Sleep(2 * time.Second)
	dir := t.TempDir()
	good := writeFile(t, dir, "good.jsonl", `{"from": "frontend-dev/deploy/frontend", "to": "backend-dev:3001", "expect": "allowed"}
{"from": "frontend-dev/deploy/frontend", "to": "backend-dev", "port": "8080", "expect": "denied"}
{"from": "monitoring", "to": "backend-dev:metrics", "expect": "allowed"}
{"from": "backend-dev/deploy/backend", "to": "`+os.Getenv("NETBASELINE_EXTERNAL_IP")+`:80", "expect": "denied"}
`)
	if out, code, stderr := pluginRun(t, "explain", "--queries", good); code != 0 || strings.Count(out, `"met":true`) != 4 {
		t.Errorf("explain --queries: exit %d\n%s\n%s", code, out, stderr)
	}
	obs, code, stderr := probe(t, "--queries", good)
	allOK(t, obs, code, stderr)
	if len(obs) != 4 || !strings.Contains(stderr, "4 question(s), 4 check(s): 0 expectation(s) not met") {
		t.Errorf("probe --queries: %v\n%s", results(obs), stderr)
	}
	wrong := writeFile(t, dir, "wrong.jsonl", `{"from": "frontend-dev/deploy/frontend", "to": "backend-dev", "port": "8080", "expect": "allowed"}
`)
	if _, code, stderr := pluginRun(t, "explain", "--queries", wrong); code != 3 || !strings.Contains(stderr, "line 1:") {
		t.Errorf("explain, wrong expectation: exit %d %s", code, stderr)
	}
	if _, code, stderr := probe(t, "--queries", wrong); code != 3 || !strings.Contains(stderr, "line 1:") || !strings.Contains(stderr, "expected allowed, observed ") {
		t.Errorf("probe, wrong expectation: exit %d %s", code, stderr)
	}
}
