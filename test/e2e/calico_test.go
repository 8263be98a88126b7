//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// Calico's documented default deny, a GlobalNetworkPolicy, beside the
// baseline (felix decides the Kubernetes policies at order 1000 among
// Calico's): explain decides the flows with it (not "other layers"),
// doctor reports it, and apply --verify changes every relation policy in
// place, and back, under live traffic without losing a request.
func TestCalicoDefaultAppPolicyBesideTheBaseline(t *testing.T) {
	if os.Getenv("NETBASELINE_ENGINE") != "calico" {
		t.Skip("Calico's own policies need felix: run on NB_ENGINE=calico (CI's Calico stage)")
	}
	deploySampleApp(t)
	both := []string{"-n", "frontend-dev", "-n", "backend-dev"}
	pluginStep(t, "apply", 0, append([]string{"apply"}, both...)...)
	gnp := writeFile(t, t.TempDir(), "default-app-policy.yaml", `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: default.default-app-policy}
spec:
  namespaceSelector: projectcalico.org/name in {'frontend-dev', 'backend-dev'}
  types: [Ingress, Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination: {selector: k8s-app == 'kube-dns', namespaceSelector: projectcalico.org/name == 'kube-system', ports: [53]}
  - action: Allow
    protocol: TCP
    destination: {selector: k8s-app == 'kube-dns', namespaceSelector: projectcalico.org/name == 'kube-system', ports: [53]}
`)
	kube(t, "apply", "-f", gnp)
	t.Cleanup(func() {
		kube(t, "delete", "--ignore-not-found", "-f", gnp)
		_, _, _ = pluginRun(t, append([]string{"rollback"}, both...)...)
	})
	time.Sleep(3 * time.Second)

	var doc struct {
		Verdicts []struct {
			Verdict string
			Egress  struct{ Tier string }
			Ingress struct{ Tier string }
		}
		Warnings []string
	}
	out := netbaseline(t, "explain", "frontend-dev", "backend-dev/svc/backend:80", "-o", "json")
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Verdicts) == 0 {
		t.Fatalf("explain: %v\n%s", err, out)
	}
	for _, v := range doc.Verdicts {
		if v.Verdict != "allowed" || v.Egress.Tier != "calico" || v.Ingress.Tier != "calico" {
			t.Errorf("frontend -> backend under the GlobalNetworkPolicy: %+v", v)
		}
	}
	if strings.Contains(out, "other policy layers") {
		t.Errorf("Calico's policy read as another layer:\n%s", out)
	}
	if doctor, _, _ := pluginRun(t, "doctor", "-o", "json"); !strings.Contains(doctor, "CALICO-001") {
		t.Errorf("doctor does not report Calico's policies:\n%s", doctor)
	}

	flows := sampleAppFlows(t)
	stop := startFlows(t, flows...)
	defer stop()
	time.Sleep(time.Second)
	for _, f := range flows {
		f.reset()
	}
	verify := []string{"--verify", "--settle-timeout", "6s"}
	// The runbook's name=<ns> convention changes every relation policy in
	// place; then back.
	pluginStep(t, "apply --namespace-label name", 0, append(append(append([]string{"apply"}, both...), verify...), "--namespace-label", "name")...)
	pluginStep(t, "apply back", 0, append(append([]string{"apply"}, both...), verify...)...)
	stop()
	for _, f := range flows {
		t.Logf("%s: %d requests, %d failed", f.name, f.ok+f.failed, f.failed)
		if f.failed > 0 {
			t.Errorf("%s lost %d of %d requests beside Calico's GlobalNetworkPolicy: %v", f.name, f.failed, f.ok+f.failed, f.failures)
		}
		if f.ok < 50 {
			t.Errorf("%s: only %d requests went through; the client did not run", f.name, f.ok)
		}
	}
}

// pluginStep runs the plugin, requires the exit code, and lets the
// enforcer catch up while traffic flows.
func pluginStep(t *testing.T, what string, wantCode int, args ...string) {
	t.Helper()
	stdout, code, stderr := pluginRun(t, args...)
	if code != wantCode {
		t.Fatalf("%s: exit %d, want %d\n%s\n%s", what, code, wantCode, stdout, stderr)
	}
	time.Sleep(3 * time.Second)
}
