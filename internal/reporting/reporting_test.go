package reporting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/audit/posture"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/agent"
	"github.com/netbaseline/kubectl-netbaseline/internal/probing"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/record"
)

// The use case without cobra or a cluster: doctor's inventory from a
// model of manifests, rollback plans and a launcher as fakes.

const cluster = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}
status: {phase: Running, podIP: 198.18.0.10, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 198.18.0.11, conditions: [{type: Ready, status: "True"}]}
`

// launcher answers every check with one outcome.
type launcher struct {
	outcome string
	ran     int
}

func (l *launcher) RunPlans(_ context.Context, plans []probe.SourcePlan, mode probe.DenyMode, _ int, _ time.Duration) []probe.Observation {
	var obs []probe.Observation
	for _, p := range plans {
		l.ran++
		for _, pc := range p.Checks {
			obs = append(obs, probe.Interpret(pc, probe.Result{ID: pc.Check.ID, Kind: pc.Check.Kind, Outcome: l.outcome}, mode))
		}
	}
	return obs
}

func (*launcher) DryRun(context.Context, string, string, probe.Plan) error { return nil }

type result struct {
	stdout, stderr bytes.Buffer
	err            error
}

func run(t *testing.T, edit func(*Config), unreadable ...string) *result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(cluster), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Namespaces = []config.Namespace{{Name: "shop"}}
	r := &result{}
	c := Config{
		Config: cfg, Output: "json", Out: &r.stdout, ErrOut: &r.stderr, DenyMode: "drop",
		Settings: probing.Settings{Image: "probe@sha256:0", Parallel: 1, CheckTimeout: time.Second},
		Now:      func() time.Time { return time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) },
		Inventory: func(context.Context) (*inventory.Snapshot, error) {
			m, err := read.Load(input.NewReader(nil, 1<<20), []string{path}, "shop")
			s := &inventory.Snapshot{Model: m, Unreadable: map[string]string{}}
			for _, r := range unreadable {
				s.Unreadable[r] = "forbidden"
			}
			return s, err
		},
		Rollback: func(context.Context, string) (record.RollbackPlan, error) {
			return nil, errors.New("leases are forbidden")
		},
		Launcher: &launcher{outcome: agent.Connected},
	}
	if edit != nil {
		edit(&c)
	}
	r.err = Run(context.Background(), c)
	return r
}

func TestTheRecordIsWrittenAndAnUnplannedRollbackIsAWarning(t *testing.T) {
	r := run(t, nil)
	if r.err != nil || !strings.Contains(r.stdout.String(), `"shop"`) {
		t.Fatalf("%v\n%s", r.err, r.stdout.String())
	}
	if !strings.Contains(r.stderr.String(), "Warning: rollback plan of shop: leases are forbidden") {
		t.Fatalf("the rollback plan that could not be made is not said: %s", r.stderr.String())
	}
}

func TestAFreshProbeIsRecordedAndItsFailuresSetTheExit(t *testing.T) {
	l := &launcher{outcome: agent.Connected}
	r := run(t, func(c *Config) { c.Probe, c.Launcher = true, l })
	// Nothing isolates shop: every check connects and is ok.
	if r.err != nil || l.ran == 0 || !strings.Contains(r.stdout.String(), "a fresh probe") {
		t.Fatalf("exit %d %v, %d sources ran:\n%s", exit.StatusOf(r.err), r.err, l.ran, r.stdout.String())
	}
	l = &launcher{outcome: agent.Refused}
	r = run(t, func(c *Config) { c.Probe, c.Launcher = true, l })
	if exit.StatusOf(r.err) != exit.Unmet || !strings.Contains(r.stdout.String(), "a fresh probe") {
		t.Fatalf("refused connections the policies allow: want exit 3 and the record written, got %d %v", exit.StatusOf(r.err), r.err)
	}
}

func TestARecordOfNothingReadIsAFailure(t *testing.T) {
	r := run(t, nil, "applications", "clusterpolicies", "daemonsets", "deployments", "endpointslices", "namespaces", "networkpolicies", "nodes", "pods", "secrets", "services")
	if exit.StatusOf(r.err) != exit.Failed || !strings.Contains(r.err.Error(), "could read nothing") {
		t.Fatalf("want exit 1, got %d: %v", exit.StatusOf(r.err), r.err)
	}
}

func TestProbeResultsFromFilesAreMergedOrRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.json", `{"apiVersion": "netbaseline.io/v1alpha1", "kind": "ProbeResult", "probedAt": "2026-12-06T00:00:00Z", "denyMode": "drop", "observations": [{"from": "shop/client"}]}`)
	b := write("b.json", `{"apiVersion": "netbaseline.io/v1alpha1", "kind": "ProbeResult", "probedAt": "2026-12-07T00:00:00Z", "denyMode": "reject", "observations": [{"from": "shop/web"}]}`)
	merged, err := ReadProbeResults(input.NewReader(nil, 1<<20), []string{a, b})
	if err != nil || len(merged.Observations) != 2 || merged.ProbedAt != "2026-12-07T00:00:00Z" || merged.DenyMode != "" {
		t.Fatalf("merged %+v, %v", merged, err)
	}
	other := write("c.json", `{"kind": "Config"}`)
	if _, err := ReadProbeResults(input.NewReader(nil, 1<<20), []string{other}); exit.StatusOf(err) != exit.Usage || !strings.Contains(err.Error(), "not a file written by probe --save") {
		t.Fatalf("want exit 2, got %d: %v", exit.StatusOf(err), err)
	}
}

func TestDoctorExitsOnWhatItFound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(cluster), 0o644); err != nil {
		t.Fatal(err)
	}
	doctorRun := func(canary doctor.Severity, unreadable ...string) (string, map[string][]byte, error) {
		var out bytes.Buffer
		files := map[string][]byte{}
		cfg := config.Default()
		cfg.Namespaces = []config.Namespace{{Name: "shop"}}
		d := Doctor{Config: cfg, Image: "probe@sha256:0", Output: "json", JUnit: "doctor.xml", Out: &out, ErrOut: &bytes.Buffer{},
			Inventory: func(context.Context) (*inventory.Snapshot, error) {
				m, err := read.Load(input.NewReader(nil, 1<<20), []string{path}, "shop")
				s := &inventory.Snapshot{Model: m, Unreadable: map[string]string{}}
				for _, r := range unreadable {
					s.Unreadable[r] = "forbidden"
				}
				return s, err
			},
			WriteFile: func(name string, data []byte) error { files[name] = data; return nil }}
		if canary != "" {
			d.Canary = func(context.Context) doctor.Finding {
				return doctor.Finding{ID: "CANARY-001", Severity: canary, Message: "the canary's flow was " + string(canary)}
			}
		}
		err := d.Run(context.Background())
		return out.String(), files, err
	}
	out, files, err := doctorRun(doctor.Fail)
	if exit.StatusOf(err) != exit.Unmet || !strings.Contains(out, "CANARY-001") || !bytes.Contains(files["doctor.xml"], []byte("CANARY-001")) {
		t.Fatalf("a failed check: want exit 3 with the finding in the document and JUnit, got %d %v\n%s", exit.StatusOf(err), err, out)
	}
	_, _, err = doctorRun("", "applications", "clusterpolicies", "daemonsets", "deployments", "endpointslices", "namespaces", "networkpolicies", "nodes", "pods", "secrets", "services")
	if exit.StatusOf(err) != exit.Failed || !strings.Contains(err.Error(), "could check nothing") {
		t.Fatalf("nothing readable: want exit 1, got %d %v", exit.StatusOf(err), err)
	}
}

// The record carries audit's posture of the configured namespaces; pods
// or policies that could not be read in them make it unknown, never
// "no finding".
func TestTheRecordCarriesThePostureOrWhyItIsUnknown(t *testing.T) {
	cases := []struct {
		name       string
		unreadable []string // resource/namespace marked unreadable in the model
		unknown    string   // contained in posture.unknown ("": known)
		findings   int
	}{
		{name: "known", findings: 4},
		{name: "pods unread", unreadable: []string{"pods/shop"}, unknown: "pods"},
		{name: "policies unread everywhere", unreadable: []string{"networkpolicies/"}, unknown: "networkpolicies"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, func(c *Config) {
				load := c.Inventory
				c.Inventory = func(ctx context.Context) (*inventory.Snapshot, error) {
					s, err := load(ctx)
					for _, u := range tc.unreadable {
						res, ns, _ := strings.Cut(u, "/")
						s.Model.MarkUnreadable(res, ns)
					}
					return s, err
				}
			})
			if r.err != nil {
				t.Fatalf("%v\n%s", r.err, r.stderr.String())
			}
			var rec record.Record
			if err := json.Unmarshal(r.stdout.Bytes(), &rec); err != nil {
				t.Fatal(err)
			}
			p := rec.Posture
			if p == nil || !strings.Contains(p.Unknown, tc.unknown) || (tc.unknown == "") != (p.Unknown == "") {
				t.Fatalf("posture = %+v, want unknown %q", p, tc.unknown)
			}
			if len(p.Findings) != tc.findings || (tc.unknown == "" && (len(p.Namespaces) != 1 || p.Namespaces[0].Namespace != "shop" || p.Cluster.Pods != 2)) {
				t.Fatalf("posture = %+v", p)
			}
			if tc.unknown == "" && (p.Findings[0].Severity != posture.High || p.Findings[3].Severity != posture.Low || p.FindingCounts[posture.High] != 2) {
				t.Fatalf("findings not by severity: %+v", p.Findings)
			}
		})
	}
}
