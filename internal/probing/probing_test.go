package probing

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

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/agent"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// The use case runs without cobra, a Factory or a cluster: a model from
// manifests, a launcher that answers as the wire would, files in memory.

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
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-nobody, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
`

// wire answers every check with one outcome, and remembers what it ran.
type wire struct {
	outcome  string
	plans    []probe.SourcePlan
	mode     probe.DenyMode
	dryRunOK bool
	dryRuns  int
}

func (w *wire) RunPlans(_ context.Context, plans []probe.SourcePlan, mode probe.DenyMode, _ int, _ time.Duration) []probe.Observation {
	w.plans, w.mode = plans, mode
	var obs []probe.Observation
	for _, p := range plans {
		for _, pc := range p.Checks {
			obs = append(obs, probe.Interpret(pc, probe.Result{ID: pc.Check.ID, Kind: pc.Check.Kind, Outcome: w.outcome}, mode))
		}
	}
	return obs
}

func (w *wire) DryRun(_ context.Context, namespace, name string, _ probe.Plan) error {
	w.dryRuns++
	if w.dryRunOK {
		return nil
	}
	return errors.New("pods \"" + name + "\" is forbidden: violates PodSecurity")
}

type outcome struct {
	stdout, stderr bytes.Buffer
	files          map[string][]byte
}

func config(t *testing.T, w *wire, o *outcome) Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(cluster), 0o644); err != nil {
		t.Fatal(err)
	}
	o.files = map[string][]byte{}
	return Config{
		Settings: Settings{Image: "probe@sha256:0", PullPolicy: "IfNotPresent", Mode: probe.ModeEphemeral, Parallel: 1, CheckTimeout: time.Second},
		Print: Printing{Output: "json", Out: &o.stdout, ErrOut: &o.stderr,
			WriteFile: func(name string, data []byte) error { o.files[name] = data; return nil }},
		Load: func(context.Context, []string) (*model.Model, error) {
			return read.Load(input.NewReader(nil, 1<<20), []string{path}, "shop")
		},
		Launcher: w,
		DenyMode: func(context.Context) probe.DenyMode { return probe.Drop },
		Now:      func() time.Time { return time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) },
	}
}

func parse(t *testing.T, s string, role endpoint.Role) endpoint.Endpoint {
	t.Helper()
	ep, err := endpoint.ParseIn(s, role, "shop")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestADeniedFlowThatTimesOutIsOKAndOneThatConnectsIsAMismatch(t *testing.T) {
	for _, tt := range []struct {
		outcome string
		code    int
		result  string
	}{{agent.Timeout, exit.OK, probe.ResultOK}, {agent.Connected, exit.Unmet, probe.ResultMismatch}} {
		w, o := &wire{outcome: tt.outcome}, &outcome{}
		c := config(t, w, o)
		c.Source, c.Dests = parse(t, "shop/client", endpoint.Source), []endpoint.Endpoint{parse(t, "shop/web:8080", endpoint.Destination)}
		c.Print.JUnit, c.Print.Save = "probe.xml", "probe.json"
		err := Run(context.Background(), c)
		if exit.StatusOf(err) != tt.code || len(w.plans) != 1 || w.mode != probe.Drop {
			t.Fatalf("%s: exit %d (%v), %d plans, mode %s", tt.outcome, exit.StatusOf(err), err, len(w.plans), w.mode)
		}
		if !strings.Contains(o.stdout.String(), `"result": "`+tt.result+`"`) || !strings.Contains(o.stdout.String(), `"probedAt": "2026-12-07T00:00:00Z"`) {
			t.Fatalf("%s: document:\n%s", tt.outcome, o.stdout.String())
		}
		if !bytes.Contains(o.files["probe.json"], []byte(tt.result)) || !bytes.Contains(o.files["probe.xml"], []byte("<testsuite")) {
			t.Fatalf("%s: --save and --junit not written: %v", tt.outcome, o.files)
		}
		if !strings.Contains(o.stderr.String(), "Probing from 1 pod(s)") {
			t.Fatalf("no announcement on stderr: %s", o.stderr.String())
		}
	}
}

func TestASourceWithoutPodsIsBadInput(t *testing.T) {
	w, o := &wire{}, &outcome{}
	c := config(t, w, o)
	c.Source, c.Dests = parse(t, "shop/nobody", endpoint.Source), []endpoint.Endpoint{parse(t, "shop/web:8080", endpoint.Destination)}
	if err := Run(context.Background(), c); exit.StatusOf(err) != exit.Usage || w.plans != nil {
		t.Fatalf("want exit 2 before any probe, got %d: %v", exit.StatusOf(err), err)
	}
}

func TestDryRunsRunNothing(t *testing.T) {
	w, o := &wire{}, &outcome{}
	c := config(t, w, o)
	c.Source, c.Dests = parse(t, "shop/client", endpoint.Source), []endpoint.Endpoint{parse(t, "shop/web:8080", endpoint.Destination)}
	c.DryRun, c.Print.Output = apply.DryRunClient, "table"
	if err := Run(context.Background(), c); err != nil || w.plans != nil || !strings.Contains(o.stdout.String(), "ephemeralContainer:") {
		t.Fatalf("client dry run: %v, ran %d plans, printed:\n%s", err, len(w.plans), o.stdout.String())
	}
	c.DryRun = apply.DryRunServer
	err := Run(context.Background(), c)
	if exit.StatusOf(err) != exit.Failed || w.dryRuns != 1 || w.plans != nil || !strings.Contains(err.Error(), "would refuse 1 of 1") {
		t.Fatalf("refused server dry run: exit %d %v, %d dry runs", exit.StatusOf(err), err, w.dryRuns)
	}
}

func TestQuestionsCompareWhatTheWireShowsWithTheirExpectation(t *testing.T) {
	qs, err := queries.Parse(strings.NewReader(`{"from": "shop/client", "to": "shop/web", "port": "8080", "expect": "allowed"}`+"\n"), "q.jsonl", "shop")
	if err != nil {
		t.Fatal(err)
	}
	w, o := &wire{outcome: agent.Timeout}, &outcome{}
	c := config(t, w, o)
	c.Questions, c.QuestionsFrom = qs, "q.jsonl"
	err = Run(context.Background(), c)
	if exit.StatusOf(err) != exit.Unmet || !strings.Contains(err.Error(), "line 1:") || !strings.Contains(o.stderr.String(), "1 question(s), 1 check(s): 1 expectation(s) not met") {
		t.Fatalf("want exit 3 naming line 1, got %d: %v\n%s", exit.StatusOf(err), err, o.stderr.String())
	}
}

func TestExitCountsFailuresBeforeErrors(t *testing.T) {
	mismatch := probe.Observation{Result: probe.ResultMismatch}
	broken := probe.Observation{Result: probe.ResultError}
	if exit.StatusOf(Exit([]probe.Observation{broken, mismatch})) != exit.Unmet || exit.StatusOf(Exit([]probe.Observation{broken})) != exit.Failed || Exit(nil) != nil {
		t.Fatal("probe's exit: 3 on a mismatch, else 1 on a check that could not run, else 0")
	}
}

func TestObservedAs(t *testing.T) {
	for _, tt := range []struct {
		observed string
		expect   policy.Verdict
		want     bool
	}{
		{probe.ObservedAllowed, policy.Allowed, true}, {probe.ObservedNotListen, policy.Allowed, false},
		{probe.ObservedDenied, policy.Denied, true}, {probe.ObservedRefused, policy.Denied, true},
		{probe.ObservedAllowed, policy.Denied, false}, {probe.ObservedDenied, policy.Allowed, false},
	} {
		if got := observedAs(tt.observed, tt.expect); got != tt.want {
			t.Errorf("observedAs(%q, %s) = %v", tt.observed, tt.expect, got)
		}
	}
}

func TestTargetsProbeCanCheck(t *testing.T) {
	src, dests, err := ParseTargets("local", []string{"https://example.com/health"}, "shop")
	if err != nil || CheckTargets(src, dests, nil) != nil {
		t.Fatalf("probe local URL: %v", err)
	}
	for _, tt := range []struct {
		source string
		dests  []string
		dns    []string
		want   string
	}{
		{"local", []string{"shop/web:80"}, nil, "probe local takes exactly one URL"},
		{"shop/client", nil, nil, "give at least one DEST"},
		{"shop/client", []string{"https://example.com/"}, nil, "URLs are for probe local"},
	} {
		src, dests, err := ParseTargets(tt.source, tt.dests, "shop")
		if err == nil {
			err = CheckTargets(src, dests, tt.dns)
		}
		if exit.StatusOf(err) != exit.Usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %v: want exit 2 %q, got %v", tt.source, tt.dests, tt.want, err)
		}
	}
	src, dests, _ = ParseTargets("shop/client", nil, "shop")
	if err := CheckTargets(src, dests, []string{"kubernetes.default"}); err != nil {
		t.Fatalf("--dns alone is a check: %v", err)
	}
}

func TestAClientDryRunPrintsJSONWhenAsked(t *testing.T) {
	w, o := &wire{}, &outcome{}
	c := config(t, w, o)
	c.Source, c.Dests = parse(t, "shop/client", endpoint.Source), []endpoint.Endpoint{parse(t, "shop/web:8080", endpoint.Destination)}
	c.DryRun, c.Print.Output = apply.DryRunClient, "json"
	if err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(o.stdout.Bytes(), &list); err != nil || list.Kind != "List" || len(list.Items) != 1 || list.Items[0]["pod"] != "shop/client" {
		t.Fatalf("want a JSON List of one container, got %v:\n%s", err, o.stdout.String())
	}
}
