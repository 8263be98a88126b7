package cmd

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/audit"
	"github.com/netbaseline/kubectl-netbaseline/internal/audit/posture"
	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/explain"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/output/kubeprint"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

var auditLong = templates.LongDesc(`
	Audit who may reach every workload, and whom it may reach, port by port,
	as the policies say it: "any pod in namespaces matching team=payments",
	"0.0.0.0/0 except 10.0.0.0/8", future pods and namespaces included. The
	selectors split all possible peers into regions; one representative per
	region is decided by the same engine as explain, and the existing pods it
	lets through are listed as evidence. Also: the Services reachable from
	outside (LoadBalancer, NodePort, externalIPs), the Ingresses' paths
	through their controller and the Gateway API routes' paths through the
	Gateway's pods, and whether every hop's policies let outside traffic
	in; posture findings with an ID, a severity and a fix; a score
	per namespace and for the cluster (docs/commands.md).

	Exit status 3 when a finding is at least as severe as --fail-on, or a
	score is below --min-score.`)

var auditExample = templates.Examples(`
	# The namespace of the current context
	kubectl netbaseline audit

	# Every namespace; fail a CI job on any high finding or a score below 70
	kubectl netbaseline audit -A --fail-on high --min-score 70

	# Offline, on rendered manifests, as SARIF for code scanning
	kubectl netbaseline audit -f manifests/ -A -o sarif > audit.sarif

	# Who may reach the backend (its ingress only)
	kubectl netbaseline audit -n backend-dev --to backend-dev/deploy/backend`)

// AuditOptions holds the state of `audit`.
type AuditOptions struct {
	*GlobalOptions
	modelFlags
	AllNamespaces bool
	Sources       []string
	Destinations  []string
	FailOn        string
	MinScore      int
	Output        string
	NoHeaders     bool

	args       []string
	from, to   []endpoint.Endpoint
	controller *posture.IngressController
	genericiooptions.IOStreams
}

// NewAuditOptions returns the defaults of `audit`.
func NewAuditOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *AuditOptions {
	return &AuditOptions{GlobalOptions: g, IOStreams: streams, MinScore: -1, Output: "table"}
}

// NewCmdAudit builds `audit`.
func NewCmdAudit(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewAuditOptions(g, streams)
	c := &cobra.Command{Use: "audit [NAMESPACE...]", Short: "Audit every workload's exposure, the entry points from outside and the posture, with a score",
		Long: auditLong, Example: auditExample, RunE: runCommand(o), ValidArgsFunction: completeClusterNamespaces(g)}
	o.AddFlags(c)
	return c
}

// AddFlags registers audit's flags.
func (o *AuditOptions) AddFlags(c *cobra.Command) {
	f := c.Flags()
	o.modelFlags.addFlags(c)
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Audit every namespace")
	f.StringArrayVar(&o.Sources, "from", nil, "Only the egress exposure of these workloads: NS, NS/POD or NS/KIND/NAME (repeatable)")
	f.StringArrayVar(&o.Destinations, "to", nil, "Only the ingress exposure of these workloads: NS, NS/POD, NS/KIND/NAME or NS/svc/NAME (repeatable)")
	f.StringVar(&o.FailOn, "fail-on", "", "Exit 3 when a finding is this severe or worse: high, medium or low")
	f.IntVar(&o.MinScore, "min-score", -1, "Exit 3 when the cluster or an audited namespace scores below this (0-100; -1: no minimum)")
	flagutil.AddOutputFlag(c, &o.Output, output.Audit)
	f.BoolVar(&o.NoHeaders, "no-headers", false, "Print tables without their header line")
	_ = c.RegisterFlagCompletionFunc("from", completeEndpointFlag(o.GlobalOptions))
	_ = c.RegisterFlagCompletionFunc("to", completeEndpointFlag(o.GlobalOptions))
	_ = c.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"high", "medium", "low"}, cobra.ShellCompDirectiveNoFileComp))
}

// Complete parses the focus, reads an -o template file and takes the
// ingress controller from the Config.
func (o *AuditOptions) Complete(args []string) (err error) {
	o.args = args
	cfg, _, err := o.LoadConfig()
	if err != nil {
		return err
	}
	o.controller = &posture.IngressController{Namespace: cfg.IngressController.Namespace, PodLabels: cfg.IngressController.PodLabels}
	if err = flagutil.InlineTemplateFile(o.Inputs(), &o.Output); err != nil {
		return err
	}
	if o.from, err = explain.ParseFocus("--from", o.Sources, endpoint.Source, o.DefaultNamespace()); err != nil {
		return err
	}
	o.to, err = explain.ParseFocus("--to", o.Destinations, endpoint.Destination, o.DefaultNamespace())
	return err
}

// Validate checks flag values and combinations.
func (o *AuditOptions) Validate() error {
	if _, ok := posture.ParseSeverity(o.FailOn); o.FailOn != "" && !ok {
		return usageErrorf("--fail-on %q: use high, medium or low", o.FailOn)
	}
	if o.MinScore > 100 || o.MinScore < -1 {
		return usageErrorf("--min-score %d: a score is 0 to 100", o.MinScore)
	}
	if o.AllNamespaces && len(o.args) > 0 {
		return usageErrorf("--all-namespaces and namespace arguments cannot be combined")
	}
	if err := o.enforcerFlags.validate(len(o.Filenames) > 0); err != nil {
		return err
	}
	return flagutil.ValidateOutput(o.Output, output.Audit, output.Audit)
}

// Run audits through the audit use case.
func (o *AuditOptions) Run(ctx context.Context) error {
	c := audit.Config{Namespaces: o.args, AllNamespaces: o.AllNamespaces, CurrentNamespace: o.DefaultNamespace(), From: o.from, To: o.to,
		FailOn: posture.Severity(o.FailOn), MinScore: o.MinScore, Output: o.Output, NoHeaders: o.NoHeaders,
		IngressController: o.controller, PrintTable: kubeprint.Table, Out: o.Out, ErrOut: o.ErrOut}
	c.Load = func(ctx context.Context) (*model.Model, error) {
		return o.load(ctx, o.GlobalOptions, read.LiveOptions{Namespaces: c.ReadNamespaces(), Ingresses: true})
	}
	return audit.Run(ctx, c)
}
