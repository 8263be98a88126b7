package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/record"
)

var reportLong = templates.LongDesc(`
	Write the record of the baseline as a Markdown section for observability.md
	and the task log, or as JSON: the enforcement
	engine, its version and deny mode; the namespaces' labels, the apps' pod
	selectors and what runs (image, rollout); every NetworkPolicy per namespace
	with its phase and whether the plugin owns it; the rollback one-liners (the
	plugin's, and the kubectl equivalent); doctor's findings; and the latest probe
	results.

	Probe results come from files written by probe --save (--probe-results, which
	may be repeated), or are made fresh with --probe: one check from each group of
	the namespaces, the ingress controller and Prometheus to every port each group
	of the namespaces declares, plus DNS. Exit status 3 when a fresh probe has
	mismatches or failed checks (the report is still written).`)

var reportExample = templates.Examples(`
	# The record for observability.md
	kubectl netbaseline report > observability.md

	# With the results of an earlier probe
	kubectl netbaseline probe frontend-dev backend-dev/svc/backend:80 --http /api/health --save probe.json
	kubectl netbaseline report -n frontend-dev -n backend-dev --probe-results probe.json

	# Probe now, machine-readable
	kubectl netbaseline report --probe -o json`)

// ReportOptions holds the state of `report`.
type ReportOptions struct {
	*GlobalOptions
	Namespaces   []string
	Output       string
	ProbeResults []string
	Probe        bool
	probeSettings
	now func() time.Time
	genericiooptions.IOStreams
}

// NewReportOptions returns the defaults of `report`.
func NewReportOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *ReportOptions {
	return &ReportOptions{GlobalOptions: g, IOStreams: streams, Output: "md", now: time.Now}
}

// NewCmdReport builds `report`.
func NewCmdReport(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewReportOptions(g, streams)
	c := &cobra.Command{
		Use:     "report [-n NAMESPACE]... [-o md|json|yaml] [--probe | --probe-results FILE...]",
		Short:   "Record engine, selectors, applied policies, rollback commands, doctor and probe results",
		Long:    reportLong,
		Example: reportExample,
		Args:    noArgs,
		RunE:    runCommand(o),
	}
	o.AddFlags(c)
	return c
}

// AddFlags registers report's flags.
func (o *ReportOptions) AddFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "App namespaces to record (repeatable); default the config's")
	_ = c.RegisterFlagCompletionFunc("namespace", completeConfigNamespaces(o.GlobalOptions))
	addOutputFlag(c, &o.Output, output.Report)
	f.StringArrayVar(&o.ProbeResults, "probe-results", nil, "A file written by probe --save (repeatable)")
	f.BoolVar(&o.Probe, "probe", false, "Probe now: every group of the namespaces, the ingress controller and Prometheus to every declared port of the namespaces' groups, and DNS")
	o.probeSettings.addFlags(c, "probe-timeout")
	_ = c.MarkFlagFilename("probe-results", "json")
}

// Complete picks the probe image.
func (o *ReportOptions) Complete(_ []string) error {
	if err := inlineTemplateFile(o.Inputs(), &o.Output); err != nil {
		return err
	}
	o.probeSettings.complete(o.GlobalOptions)
	return nil
}

// Validate checks flags.
func (o *ReportOptions) Validate() error {
	if err := validateOutput(o.Output, output.Report, output.Report); err != nil {
		return err
	}
	if o.Probe && len(o.ProbeResults) > 0 {
		return usageErrorf("--probe and --probe-results exclude each other: probe now, or read earlier results")
	}
	if o.Probe {
		if err := requireProbeImage(o.Image); err != nil {
			return err
		}
	}
	return o.probeSettings.validate()
}

// Run reads the cluster, optionally probes, and writes the record.
func (o *ReportOptions) Run(ctx context.Context) error {
	cfg, _, err := o.LoadConfig()
	if err != nil {
		return err
	}
	if len(o.Namespaces) > 0 {
		cfg = restrictNamespaces(cfg, o.Namespaces)
	}
	// Files first: a typo should not cost a cluster round trip.
	var saved *probe.Document
	if len(o.ProbeResults) > 0 {
		if saved, err = readProbeResults(o.Inputs(), o.ProbeResults); err != nil {
			return err
		}
	}
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	snap, err := read.Doctor(ctx, clients, cfg.Doctor.ArgoCD.Namespace, cfg.Doctor.ArgoCD.RepoSecret, read.LiveOptions{Namespaces: configNamespaces(cfg)})
	if err != nil {
		return err
	}
	doc := doctor.Run(snap, cfg, o.Image)
	mode := denyModeOf(o.DenyMode, doc.Engines)
	in := record.Inputs{Now: o.now(), Context: o.contextName(), Config: cfg, Snapshot: snap, Doctor: doc, DenyMode: string(mode),
		Rollback: map[string]record.RollbackPlan{}, Probe: saved, ProbeSource: strings.Join(o.ProbeResults, ", ")}
	applier := &apply.Applier{Client: clients.Kube}
	for _, ns := range cfg.Namespaces {
		plan, err := applier.PlanRollback(ctx, ns.Name)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "Warning: rollback plan of %s: %v\n", ns.Name, err)
			continue
		}
		in.Rollback[ns.Name] = plan
	}
	var probeErr error
	if o.Probe {
		fresh, err := o.probeNow(ctx, clients, snap.Model, cfg, mode)
		if err != nil {
			return err
		}
		in.Probe, in.ProbeSource = fresh, "a fresh probe"
		probeErr = probeExit(fresh.Observations)
	}
	if err := o.write(record.BuildRecord(in)); err != nil {
		return err
	}
	if doctor.CheckedNothing(doc.Findings) {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("report could read nothing it records: every read was refused, so its cells say unknown; grant hack/rbac/read.yaml and rerun")}
	}
	return probeErr
}

func (o *ReportOptions) write(rec record.Record) error {
	switch o.Output {
	case "md":
		return output.WriteMarkdown(o.Out, rec)
	case "wide":
		return output.WriteMarkdownWide(o.Out, rec)
	}
	return output.WriteDocument(o.Out, o.Output, rec)
}

// probeNow probes the group matrix of the namespaces (sources also the
// ingress controller's and Prometheus' namespaces), with DNS.
func (o *ReportOptions) probeNow(ctx context.Context, clients read.Clients, snapshot *model.Model, cfg *config.Config, mode probe.DenyMode) (*probe.Document, error) {
	var scope []string
	for _, ns := range cfg.Namespaces {
		scope = append(scope, ns.Name)
	}
	peers := []string{cfg.IngressController.Namespace, cfg.Monitoring.Namespace}
	for _, w := range snapshot.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", w)
	}
	engine := policy.New(snapshot)
	var sources, dests []*model.Pod
	for _, ns := range scope {
		dests = append(dests, snapshot.PodsIn(ns)...)
	}
	for _, ns := range dedupe(append(append([]string{}, scope...), peers...)) {
		sources = append(sources, snapshot.PodsIn(ns)...)
	}
	plans, skipped := probe.PlanPairs(engine, probe.MatrixPairs(engine, sources, dests), []string{"kubernetes.default.svc.cluster.local"}, o.Timeout)
	if len(skipped) > 0 {
		fmt.Fprintf(o.ErrOut, "Skipping %d pair(s) that cannot be probed (UDP is checked as DNS lookups only; SCTP; destinations without an IP)\n", len(skipped))
	}
	if len(plans) == 0 {
		return nil, usageErrorf("--probe: no Running and Ready pod to probe from in %s", strings.Join(scope, ", "))
	}
	o.announce(o.ErrOut, len(plans), mode)
	res := probe.NewDocument(mode, o.Image, o.runPlans(ctx, clients, plans, mode, o.ErrOut))
	res.ProbedAt = o.now().UTC().Format(time.RFC3339)
	return &res, nil
}

// readProbeResults merges files written by probe --save.
func readProbeResults(in *input.Reader, files []string) (*probe.Document, error) {
	var merged *probe.Document
	for _, f := range files {
		b, err := in.Text(f)
		if err != nil {
			return nil, usageErrorf("--probe-results %v", err)
		}
		var r probe.Document
		if err := input.DecodeJSON(b, &r); err != nil || r.Kind != "ProbeResult" {
			if err == nil {
				err = fmt.Errorf("kind %q", r.Kind)
			}
			return nil, usageErrorf("--probe-results %s is not a file written by probe --save (%v)", f, err)
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

// contextName is the kubeconfig context in use, for the record's title.
func (o *ReportOptions) contextName() string {
	if o.ConfigFlags == nil {
		return ""
	}
	if o.ConfigFlags.Context != nil && *o.ConfigFlags.Context != "" {
		return *o.ConfigFlags.Context
	}
	raw, err := o.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}
