// Package reporting is report's and doctor's use cases, which read the
// same inventory. Report: run doctor's checks, plan each namespace's
// rollback, probe now or take saved probe results, and write the record.
// Doctor: the checks, the canary when asked, the findings and JUnit. Reads, rollback plans and the probe
// launcher are injected; the command only turns flags into a Config.
package reporting

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/audit/posture"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probing"
	"github.com/netbaseline/kubectl-netbaseline/internal/record"
)

// Config is one run of report.
type Config struct {
	// Config is the plugin's Config, restricted to the namespaces asked.
	Config *config.Config
	// Saved are probe results read from files (SavedFrom names them), or
	// nil; Probe probes now instead.
	Saved     *probe.Document
	SavedFrom string
	Probe     bool
	Settings  probing.Settings
	// DenyMode is --deny-mode: auto, drop or reject.
	DenyMode string
	// Context is the kubeconfig context, for the record's title.
	Context     string
	Output      string
	Out, ErrOut io.Writer
	Now         func() time.Time

	// Inventory reads what doctor and the record look at.
	Inventory func(ctx context.Context) (*inventory.Snapshot, error)
	// Rollback plans a namespace's rollback (read only).
	Rollback func(ctx context.Context, namespace string) (record.RollbackPlan, error)
	Launcher probing.Launcher
}

// Run reads the cluster, optionally probes, and writes the record: exit 1
// when nothing at all could be read, 3 when a fresh probe has mismatches
// or failed checks (the record is written either way).
func Run(ctx context.Context, c Config) error {
	snap, err := c.Inventory(ctx)
	if err != nil {
		return err
	}
	doc := doctor.Run(snap, c.Config, c.Settings.Image)
	mode := doctor.DenyMode(c.DenyMode, doc.Engines)
	in := record.Inputs{Now: c.Now(), Context: c.Context, Config: c.Config, Snapshot: snap, Doctor: doc, DenyMode: string(mode),
		Rollback: map[string]record.RollbackPlan{}, Probe: c.Saved, ProbeSource: c.SavedFrom}
	in.Posture, in.PostureUnknown = auditPosture(snap, c.Config)
	for _, ns := range c.Config.Namespaces {
		plan, err := c.Rollback(ctx, ns.Name)
		if err != nil {
			fmt.Fprintf(c.ErrOut, "Warning: rollback plan of %s: %v\n", ns.Name, err)
			continue
		}
		in.Rollback[ns.Name] = plan
	}
	var probeErr error
	if c.Probe {
		fresh, err := c.probeNow(ctx, snap.Model, mode)
		if err != nil {
			return err
		}
		in.Probe, in.ProbeSource = fresh, "a fresh probe"
		probeErr = probing.Exit(fresh.Observations)
	}
	if err := c.write(record.BuildRecord(in)); err != nil {
		return err
	}
	if doctor.CheckedNothing(doc.Findings) {
		return exit.Failedf("report could read nothing it records: every read was refused, so its cells say unknown; grant hack/rbac/read.yaml and rerun")
	}
	return probeErr
}

// auditPosture is audit's exposure and posture of the configured
// namespaces over the snapshot, or why it is unknown: their pods or
// NetworkPolicies could not be read.
func auditPosture(snap *inventory.Snapshot, cfg *config.Config) (*posture.Document, string) {
	if snap.Model == nil {
		return nil, "nothing was read"
	}
	namespaces := make([]string, 0, len(cfg.Namespaces))
	for _, ns := range cfg.Namespaces {
		namespaces = append(namespaces, ns.Name)
	}
	if missing := snap.Model.Refusals([]string{"pods", "networkpolicies"}, namespaces); len(missing) > 0 {
		return nil, strings.Join(missing, "; ")
	}
	ctrl := &posture.IngressController{Namespace: cfg.IngressController.Namespace, PodLabels: cfg.IngressController.PodLabels}
	return posture.Audit(snap.Model, posture.Options{Namespaces: namespaces, IngressController: ctrl}), ""
}

func (c Config) write(rec record.Record) error {
	switch c.Output {
	case "md":
		return output.WriteMarkdown(c.Out, rec)
	case "wide":
		return output.WriteMarkdownWide(c.Out, rec)
	}
	return output.WriteDocument(c.Out, c.Output, rec)
}

// probeNow probes the group matrix of the namespaces (sources also the
// ingress controller's and Prometheus' namespaces), with DNS.
func (c Config) probeNow(ctx context.Context, snapshot *model.Model, mode probe.DenyMode) (*probe.Document, error) {
	cfg := c.Config
	var scope []string
	for _, ns := range cfg.Namespaces {
		scope = append(scope, ns.Name)
	}
	peers := []string{cfg.IngressController.Namespace, cfg.Monitoring.Namespace}
	for _, w := range snapshot.Warnings {
		fmt.Fprintf(c.ErrOut, "Warning: %s\n", w)
	}
	engine := policy.New(snapshot)
	var sources, dests []*model.Pod
	for _, ns := range scope {
		dests = append(dests, snapshot.PodsIn(ns)...)
	}
	for _, ns := range model.Unique(append(append([]string{}, scope...), peers...)) {
		sources = append(sources, snapshot.PodsIn(ns)...)
	}
	plans, skipped := probe.PlanPairs(engine, probe.MatrixPairs(engine, sources, dests), []string{"kubernetes.default.svc.cluster.local"}, c.Settings.CheckTimeout)
	if len(skipped) > 0 {
		fmt.Fprintf(c.ErrOut, "Skipping %d pair(s) that cannot be probed (UDP is checked as DNS lookups only; SCTP; destinations without an IP)\n", len(skipped))
	}
	if len(plans) == 0 {
		return nil, exit.Usagef("--probe: no Running and Ready pod to probe from in %s", strings.Join(scope, ", "))
	}
	probing.Announce(c.ErrOut, c.Settings, len(plans), mode)
	res := probe.NewDocument(mode, c.Settings.Image, c.Launcher.RunPlans(ctx, plans, mode, c.Settings.Parallel, c.Settings.CheckTimeout))
	res.ProbedAt = c.Now().UTC().Format(time.RFC3339)
	return &res, nil
}

// ReadProbeResults merges files written by probe --save.
func ReadProbeResults(in *input.Reader, files []string) (*probe.Document, error) {
	var merged *probe.Document
	for _, f := range files {
		b, err := in.Text(f)
		if err != nil {
			return nil, exit.Usagef("--probe-results %v", err)
		}
		var r probe.Document
		if err := input.DecodeJSON(b, &r); err != nil || r.Kind != "ProbeResult" {
			if err == nil {
				err = fmt.Errorf("kind %q", r.Kind)
			}
			return nil, exit.Usagef("--probe-results %s is not a file written by probe --save (%v)", f, err)
		}
		if merged == nil {
			merged = &r
			continue
		}
		merged.Observations = append(merged.Observations, r.Observations...)
		if r.ProbedAt > merged.ProbedAt {
			merged.ProbedAt = r.ProbedAt
		}
		if r.DenyMode != merged.DenyMode {
			merged.DenyMode = ""
		}
	}
	return merged, nil
}
