//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
)

// discover on the sample app with real traffic: the ingress stand-in to
// both apps, the frontend to the backend through its Service, Prometheus
// scraping both, the backend to the external host. The Config it writes
// holds exactly those relations; applied with apply --verify while the
// traffic runs it loses no request, and a flow never made is denied.
func TestDiscoverTheSampleApp(t *testing.T) {
	deploySampleApp(t)
	flows := append(sampleAppFlows(t),
		&liveFlow{name: "backend -> the external host", fromNS: "backend-dev", fromSel: "app=backend", target: externalIP() + ":80", path: "/api/health"})
	defer startFlows(t, flows...)()

	stdout, code, stderr := pluginRun(t, "discover", "-n", "frontend-dev", "-n", "backend-dev", "--include-peers", "--duration", "15s")
	if code != 0 {
		t.Fatalf("discover: exit %d\n%s", code, stderr)
	}
	t.Logf("discover:\n%s\n%s", stdout, stderr)
	dir := t.TempDir()
	file := filepath.Join(dir, "discovered.yaml")
	if err := os.WriteFile(file, []byte(stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	on := true
	want := []config.Namespace{
		{Name: "backend-dev", Monitoring: &on, Apps: []config.App{{Name: "backend", Labels: map[string]string{"app": "backend"}, Ingress: true,
			Ports: []config.AppPort{{Name: "http", Port: 3001, Protocol: "TCP"}}}},
			EgressExternal: &config.ExternalEgress{App: "backend", To: []config.CIDRRule{{CIDR: externalIP() + "/32", Ports: []config.Port{{Port: 80, Protocol: "TCP"}}}}}},
		{Name: "frontend-dev", Monitoring: &on, Apps: []config.App{{Name: "frontend", Labels: map[string]string{"app": "frontend"}, Ingress: true,
			Ports:   []config.AppPort{{Name: "http", Port: 3000, Protocol: "TCP"}},
			TalksTo: []config.Relation{{Namespace: "backend-dev", App: "backend", Ports: []config.Port{{Port: 3001, Protocol: "TCP"}}}}}}},
	}
	if diff := cmp.Diff(want, cfg.Namespaces); diff != "" {
		t.Fatalf("discovered namespaces (-want +got):\n%s", diff)
	}
	for _, wantText := range []string{"# seen: 3001/TCP", "observed in", "Observing 4 pod(s) for 15s"} {
		if !strings.Contains(stdout+stderr, wantText) {
			t.Errorf("missing %q", wantText)
		}
	}
	if !strings.Contains(stderr, "backend-dev/deploy/backend -> frontend-dev/deploy/frontend 3000/TCP") {
		t.Errorf("the coverage report does not name a never-observed flow the baseline denies:\n%s", stderr)
	}
	// Nothing calls in from outside: the kubelet's probes come from the
	// node's address, which discover counts and leaves out (on Calico too,
	// whose pod routes carry the node's address as their source).
	if strings.Contains(stderr, "Calls from outside the cluster") {
		t.Errorf("calls from outside reported for an app without outside callers:\n%s", stderr)
	}
	if strings.Contains(stderr, "observed, yet denied by this baseline") {
		t.Errorf("the baseline cuts observed flows:\n%s", stderr)
	}

	// Applied with proof while the traffic runs: nothing is lost.
	for _, f := range flows {
		f.reset()
	}
	both := []string{"-n", "frontend-dev", "-n", "backend-dev"}
	out, code, errOut := pluginRun(t, append([]string{"apply", "--config", file, "--verify", "--settle-timeout", settleTimeout()}, both...)...)
	if code != 0 {
		t.Fatalf("apply --verify --config discovered.yaml: exit %d\n%s\n%s", code, out, errOut)
	}
	time.Sleep(3 * time.Second)
	for _, f := range flows {
		f.mu.Lock()
		if f.failed > 0 || f.ok == 0 {
			t.Errorf("%s during apply: %d ok, %d failed %v", f.name, f.ok, f.failed, f.failures)
		}
		f.mu.Unlock()
	}
	// A flow never made is denied now, as the engine says.
	obs, code, probeErr := probe(t, "backend-dev/deploy/backend", "frontend-dev/deploy/frontend:3000", "--config", file)
	if len(obs) != 1 || obs[0].Expected != "denied" || obs[0].Result != "ok" || code != 0 {
		t.Errorf("backend -> frontend after the discovered baseline: exit %d %v %s", code, results(obs), probeErr)
	}
	if _, code, errOut := pluginRun(t, append([]string{"rollback"}, both...)...); code != 0 {
		t.Errorf("rollback: exit %d %s", code, errOut)
	}
}

// A window with no traffic says so instead of writing an empty baseline.
func TestDiscoverNothingObserved(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, runCmd(ctx, withImages(scratchApp), kubectl, "apply", "-f", "-"), "apply scratch app")
	t.Cleanup(func() { kube(t, "delete", "namespace", scratchNS, "--wait=true", "--timeout=120s") })
	kube(t, "-n", scratchNS, "rollout", "status", "deploy/local-only", "--timeout=120s")
	kube(t, "-n", scratchNS, "scale", "deploy/client", "--replicas=0")
	kube(t, "-n", scratchNS, "wait", "--for=delete", "pod", "-l", "app=client", "--timeout=60s")
	// local-only serves on 127.0.0.1 only and calls nobody
	_, code, stderr := pluginRun(t, "discover", "-n", scratchNS, "--duration", "3s")
	if code != 1 || !strings.Contains(stderr, "nothing observed in 3s: generate traffic or widen --duration") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

// Ctrl-C during the window: discover stops waiting, writes what the
// containers reported so far (their latest snapshot), and the containers
// still end by their own deadline.
func TestDiscoverInterruptedKeepsWhatWasSeen(t *testing.T) {
	deploySampleApp(t)
	f := &liveFlow{name: "frontend -> backend /api/health (Service)", fromNS: "frontend-dev", fromSel: "app=frontend",
		target: serviceIP(t, "backend-dev", "backend") + ":80", path: "/api/health"}
	defer startFlows(t, f)()

	const window = 40 * time.Second // snapshots every 10 s
	cmd := exec.Command(plugin, "discover", "-n", "frontend-dev", "-n", "backend-dev", "--duration", window.String())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(16 * time.Second)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if took := time.Since(start); err != nil || took > window {
		t.Fatalf("interrupted discover: %v after %s\n%s", err, took, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Interrupted: writing what was observed so far (2 pod(s) reported part of the window)") {
		t.Errorf("no word of the interruption:\n%s", stderr.String())
	}
	cfg, perr := config.Parse("discover", stdout.Bytes())
	if perr != nil {
		t.Fatalf("%v\n%s", perr, stdout.String())
	}
	app := cfg.FindNamespace("frontend-dev").FindApp("frontend")
	if app == nil || len(app.TalksTo) != 1 || app.TalksTo[0].App != "backend" || app.TalksTo[0].Ports[0].Port != 3001 {
		t.Errorf("the calls seen before Ctrl-C are not in the Config:\n%s", stdout.String())
	}
	// The observing containers end by themselves at their deadline.
	for _, sel := range [][2]string{{"frontend-dev", "app=frontend"}, {"backend-dev", "app=backend"}} {
		deadline := time.Now().Add(window + 30*time.Second)
		for {
			state := kube(t, "-n", sel[0], "get", "pod", "-l", sel[1], "-o", "jsonpath={.items[0].status.ephemeralContainerStatuses[-1:].state.terminated.reason}")
			if state != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the observing container did not end by its deadline", sel[0])
			}
			time.Sleep(2 * time.Second)
		}
	}
}
