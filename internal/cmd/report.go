package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probing"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/record"
	"github.com/netbaseline/kubectl-netbaseline/internal/reporting"
)

var reportLong = templates.LongDesc(`
	Write the record of the baseline as a Markdown section for observability.md
	and the task log, or as JSON: the enforcement
	engine, its version and deny mode; the namespaces' labels, the apps' pod
	selectors and what runs (image, rollout); every NetworkPolicy per namespace
	with its phase and whether the plugin owns it; the rollback one-liners (the
	plugin's, and the kubectl equivalent); doctor's findings; the exposure and
	posture (audit's scores, findings by severity, entry points from outside);
	and the latest probe results.

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
	flagutil.AddOutputFlag(c, &o.Output, output.Report)
	f.StringArrayVar(&o.ProbeResults, "probe-results", nil, "A file written by probe --save (repeatable)")
	f.BoolVar(&o.Probe, "probe", false, "Probe now: every group of the namespaces, the ingress controller and Prometheus to every declared port of the namespaces' groups, and DNS")
	o.probeSettings.addFlags(c, "probe-timeout")
	_ = c.MarkFlagFilename("probe-results", "json")
}

// Complete picks the probe image.
func (o *ReportOptions) Complete(_ []string) error {
	if err := flagutil.InlineTemplateFile(o.Inputs(), &o.Output); err != nil {
		return err
	}
	o.probeSettings.complete(o.GlobalOptions)
	return nil
}

// Validate checks flags.
func (o *ReportOptions) Validate() error {
	if err := flagutil.ValidateOutput(o.Output, output.Report, output.Report); err != nil {
		return err
	}
	if o.Probe && len(o.ProbeResults) > 0 {
		return usageErrorf("--probe and --probe-results exclude each other: probe now, or read earlier results")
	}
	if o.Probe {
		if err := probing.RequireImage(o.Image); err != nil {
			return err
		}
	}
	return o.probeSettings.validate()
}

// Run records through the reporting use case.
func (o *ReportOptions) Run(ctx context.Context) error {
	cfg, _, err := o.LoadConfig()
	if err != nil {
		return err
	}
	if len(o.Namespaces) > 0 {
		cfg = cfg.Restricted(o.Namespaces)
	}
	// Files first: a typo should not cost a cluster round trip.
	var saved *probe.Document
	if len(o.ProbeResults) > 0 {
		if saved, err = reporting.ReadProbeResults(o.Inputs(), o.ProbeResults); err != nil {
			return err
		}
	}
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	applier := &apply.Applier{Client: clients.Kube}
	return reporting.Run(ctx, reporting.Config{
		Config: cfg, Saved: saved, SavedFrom: strings.Join(o.ProbeResults, ", "), Probe: o.Probe,
		Settings: o.settings(), DenyMode: o.DenyMode, Context: o.contextName(), Output: o.Output, Out: o.Out, ErrOut: o.ErrOut, Now: o.now,
		Inventory: func(ctx context.Context) (*inventory.Snapshot, error) {
			return read.Doctor(ctx, clients, cfg.Doctor.ArgoCD.Namespace, cfg.Doctor.ArgoCD.RepoSecret, read.LiveOptions{Namespaces: cfg.CheckedNamespaces(), Ingresses: true})
		},
		Rollback: func(ctx context.Context, namespace string) (record.RollbackPlan, error) {
			plan, err := applier.PlanRollback(ctx, namespace)
			if err != nil {
				return nil, err
			}
			return plan, nil
		},
		Launcher: o.launcher(clients, o.ErrOut),
	})
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
