//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// On the local cluster doctor finds its engine (kube-router or Calico, as a
// DaemonSet, as on a real cluster), the sample app's labels and ports, and
// the canary measures that enforcement is real; it leaves nothing behind.
func TestDoctorOnTheLocalCluster(t *testing.T) {
	deploySampleApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o := runCmd(ctx, "", plugin, "doctor", "--canary", "-o", "json")
	if o.err != nil {
		t.Fatalf("doctor: %v\n%s\n%s", o.err, o.stdout, o.stderr)
	}
	var doc struct {
		Engines []struct {
			Name, Version, DenyMode, DenyModeSource string
			Ready, Desired                          int
		}
		Findings []struct{ ID, Severity, Subject, Message string }
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	// kube-router: the cluster's deny-mode annotation makes doctor report
	// how denied packets really end here, in both modes. Calico: doctor
	// knows that it drops, and reads the version from the image.
	name, version := clusterEngine()
	if len(doc.Engines) != 1 || doc.Engines[0].Name != name || doc.Engines[0].Version != version || doc.Engines[0].Ready != 1 || doc.Engines[0].DenyMode != denyMode() {
		t.Errorf("engines: %+v", doc.Engines)
	}
	// Calico's deny mode is its own, not the operator's word (up.sh
	// annotates only kube-router); there is no tigera-operator here, and
	// doctor must not miss it (ENGINE-002 is asserted absent below).
	if name == "Calico" && len(doc.Engines) == 1 && doc.Engines[0].DenyModeSource != "" {
		t.Errorf("Calico's deny mode from %q, want its known behaviour", doc.Engines[0].DenyModeSource)
	}
	seen := map[string]string{}
	for _, f := range doc.Findings {
		if f.Severity == "fail" || f.Severity == "warn" {
			t.Errorf("%s %s: %s", f.ID, f.Severity, f.Message)
		}
		seen[f.ID] = f.Severity
	}
	for _, id := range []string{"ENGINE-001", "LABEL-001", "LABEL-002", "LABEL-003", "LABEL-004", "PORT-001", "DNS-001", "CANARY-001"} {
		if seen[id] != "pass" {
			t.Errorf("%s: %q, want pass", id, seen[id])
		}
	}
	if left := strings.TrimSpace(kube(t, "get", "namespaces", "-o", "name")); strings.Contains(left, "netbaseline-canary-") {
		// Deletion is asynchronous; the namespace must at least be terminating.
		phase := kube(t, "get", "namespaces", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}")
		if strings.Contains(phase, "netbaseline-canary-") && !strings.Contains(phase, "Terminating") {
			t.Errorf("canary namespace left: %s", phase)
		}
	}
}
