package cmd

import (
	"strings"
	"testing"
)

// TestAuditOffline runs audit on the sample app's manifests: the table,
// and exit 3 for --fail-on and --min-score, from files alone.
func TestAuditOffline(t *testing.T) {
	sample := "../../testdata/sample-app.yaml"
	r := run(t, "audit", "-f", sample, "-A")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "NAMESPACE") || !strings.Contains(r.stdout, "backend-dev/deploy/backend") {
		t.Fatalf("exit %d (%v), stdout %q", r.code, r.err, r.stdout)
	}
	for _, args := range [][]string{{"--fail-on", "high"}, {"--min-score", "1"}} {
		r := run(t, append([]string{"audit", "-f", sample, "-A"}, args...)...)
		if r.code != ExitUnmet || !strings.Contains(r.stderr, "audit: ") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	r = run(t, "audit", "-f", sample, "-n", "backend-dev", "-o", "jsonpath={.namespaces[*].namespace}")
	if r.code != ExitOK || r.stdout != "backend-dev" {
		t.Errorf("-n backend-dev: exit %d (%v), %q", r.code, r.err, r.stdout)
	}
}
