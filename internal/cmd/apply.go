package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/applying"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/output/kubeprint"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/probing"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/version"
)

var applyLong = templates.LongDesc(`
	Apply the baseline of namespaces with server-side apply (field manager
	kubectl-netbaseline), phase by phase, and record what was applied so that
	rollback removes exactly that.

	First every namespace is planned: the objects are dry-run on the server,
	ownership and the lease are checked, and the pods' labels are read. If any
	namespace would be refused, nothing is written anywhere.

	Then, per namespace, the change lands under a bridge: a temporary policy
	(netbaseline-bridge) that allows all traffic of exactly the pods that are not
	isolated today or will not be after, plus a temporary copy of any policy about
	to change. The baseline lands under it in phase order, and deleting the bridge
	is the single write that switches to the new state. Every intermediate state is
	checked with the engine before the first write: no connection allowed before
	and after is cut at any point. --dry-run shows the steps. --order runbook
	writes the phases alone, deny-all first, as the runbook does, and warns about
	the connections that are cut while it runs.

	Ownership: the applied policies are members of an ApplySet whose parent is
	the ConfigMap netbaseline-applyset in the namespace. A same-named
	NetworkPolicy that the plugin did not create is never overwritten unless
	--force-conflicts, and then it is saved in the ConfigMap netbaseline-backup
	first, so rollback restores it. --prune deletes members no longer rendered.
	-A applies every namespace that has an overlay, except kube-system,
	kube-public and kube-node-lease unless named with -n.

	--verify probes, once a namespace's new state has taken effect, the
	connections the engine says it changes (one pod per group, every declared
	port, the external ipBlocks, DNS), retries a mismatch for --settle-timeout, and
	on one that persists undoes the whole run (exit 3). It refuses to start when no
	engine enforces NetworkPolicy, unless --canary measures that enforcement is
	real.

	Any failure after the first write (an API error, an admission denial, a
	timeout, Ctrl-C) undoes what this run wrote, in every namespace, the same
	way, and says what it left; objects someone else changed in the meantime are
	reported, never reverted. A second Ctrl-C ends the process at once. One run at
	a time: a lease on the parent ConfigMap refuses a second, naming the first.`)

var applyExample = templates.Examples(`
	# See what the server would do, without writing anything
	kubectl netbaseline apply -n frontend-dev --dry-run=server

	# Apply both sample namespaces
	kubectl netbaseline apply -n frontend-dev -n backend-dev

	# Your own tree, removing members that are no longer in it
	kubectl netbaseline apply --dir infra/manifests/network-policies -A --prune

	# The runbook's order: deny-all first
	kubectl netbaseline apply -n backend-dev --order runbook

	# Probe what each phase changes; on a mismatch, restore the state from before (exit 3)
	kubectl netbaseline apply -n frontend-dev -n backend-dev --verify`)

// ApplyOptions holds the state of `apply`.
type ApplyOptions struct {
	*GlobalOptions
	baselineFlags

	Namespaces     []string
	AllNamespaces  bool
	DryRun         string
	FieldManager   string
	ForceConflicts bool
	Prune          bool
	Order          string
	PrintFlags     *genericclioptions.PrintFlags

	Verify          bool
	Canary          bool
	VerifySettle    time.Duration
	VerifyMaxChecks int
	VerifySystem    bool
	Save            string
	RestoreTimeout  time.Duration
	probeSettings

	source     *baseline.Source
	namespaces []string
	order      apply.Order
	printer    printers.ResourcePrinter
	dryRun     apply.DryRun
	genericiooptions.IOStreams
}

// NewApplyOptions returns the defaults of `apply`.
func NewApplyOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *ApplyOptions {
	return &ApplyOptions{GlobalOptions: g, IOStreams: streams, PrintFlags: genericclioptions.NewPrintFlags("")}
}

// NewCmdApply builds `apply`.
func NewCmdApply(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewApplyOptions(g, streams)
	c := &cobra.Command{
		Use:     "apply -n NAMESPACE... | -A [--dry-run=none|client|server] [--prune] [--force-conflicts]",
		Short:   "Apply the baseline in a safe order, tracked for one-command rollback",
		Long:    applyLong,
		Example: applyExample,
		Args:    noArgs,
		RunE:    runCommand(o),
	}
	o.AddFlags(c)
	return c
}

// AddFlags registers apply's flags.
func (o *ApplyOptions) AddFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "Namespace to apply (repeatable); default the kubeconfig's namespace")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Every namespace that has an overlay (system namespaces only when named with -n)")
	flagutil.AddDryRunFlag(c, &o.DryRun)
	f.StringVar(&o.FieldManager, "field-manager", ownership.FieldManager, "Field manager for server-side apply")
	f.BoolVar(&o.ForceConflicts, "force-conflicts", false, "Take over same-named NetworkPolicies the plugin did not create (saved first in ConfigMap "+ownership.BackupName+")")
	f.BoolVar(&o.Prune, "prune", false, "Delete NetworkPolicies of the ApplySet that are no longer rendered")
	f.StringVar(&o.Order, "order", string(apply.AllowsFirst), "Phase order: allows-first (deny-all last) or runbook (deny-all first)")
	f.BoolVar(&o.Verify, "verify", false, "After each phase, probe the connections the engine says it changes; on the first mismatch restore every namespace to its state from before the apply (exit 3)")
	f.BoolVar(&o.Canary, "canary", false, "With --verify: measure enforcement with doctor's canary first instead of trusting the engine detection")
	f.DurationVar(&o.VerifySettle, "settle-timeout", 20*time.Second, "With --verify: how long a mismatch is retried before it counts (policies take a moment to reach every node)")
	flagutil.DeprecatedAlias(c, "verify-settle", "settle-timeout")
	f.IntVar(&o.VerifyMaxChecks, "verify-max-checks", 200, "With --verify: the most connections probed per phase")
	f.BoolVar(&o.VerifySystem, "verify-system-pods", false, "With --verify: also probe from pods of kube-system, kube-public and kube-node-lease (each keeps an ephemeral container in its spec)")
	f.DurationVar(&o.RestoreTimeout, "restore-timeout", 2*time.Minute, "After a failure or Ctrl-C, how long to keep retrying to put back what this run wrote")
	f.StringVar(&o.Save, "save", "", "With --verify: save its probe results as JSON to this file, as probe --save does (read by report)")
	o.probeSettings.addFlags(c, "probe-timeout")
	o.baselineFlags.addFlags(c, true)
	o.PrintFlags.AddFlags(c)
	flagutil.CompletePrintFormats(c, o.PrintFlags)
	_ = c.RegisterFlagCompletionFunc("namespace", completeOverlayNamespaces(o.GlobalOptions, &o.baselineFlags))
	_ = c.RegisterFlagCompletionFunc("order", cobra.FixedCompletions([]string{"allows-first", "runbook"}, cobra.ShellCompDirectiveNoFileComp))
}

// Complete resolves the tree, namespaces, order and printer.
func (o *ApplyOptions) Complete(_ []string) error {
	var err error
	if o.dryRun, err = flagutil.ParseDryRun(o.DryRun, o.ErrOut); err != nil {
		return err
	}
	if o.source, err = o.baselineFlags.source(o.GlobalOptions); err != nil {
		return err
	}
	if o.namespaces, err = targetNamespaces(o.GlobalOptions, o.source, o.Namespaces, o.AllNamespaces, o.ErrOut); err != nil {
		return err
	}
	if o.order, err = apply.ParseOrder(o.Order); err != nil {
		return usageErrorf("--order: %v", err)
	}
	if o.PrintFlags.OutputFormat != nil && *o.PrintFlags.OutputFormat != "" {
		if err := kubeprint.BoundTemplateFile(o.Inputs(), o.PrintFlags); err != nil {
			return err
		}
		if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
			return usageErrorf("%v", err)
		}
	}
	if o.Verify {
		o.probeSettings.complete(o.GlobalOptions)
	}
	return nil
}

// Validate checks flags and that every namespace has an overlay.
func (o *ApplyOptions) Validate() error {
	if o.Verify {
		if o.dryRun != apply.DryRunNone {
			return usageErrorf("--verify probes what really landed: it cannot be combined with --dry-run")
		}
		if o.VerifySettle < 0 || o.VerifySettle > flagutil.MaxSettleTimeout || o.VerifyMaxChecks < 1 {
			return usageErrorf("--settle-timeout must be between 0 and %s and --verify-max-checks at least 1", flagutil.MaxSettleTimeout)
		}
		if err := o.probeSettings.validate(); err != nil {
			return err
		}
		if err := probing.RequireImage(o.Image); err != nil {
			return err
		}
	} else if o.Canary || o.Save != "" {
		return usageErrorf("--canary and --save go with --verify (for the canary alone: kubectl netbaseline doctor --canary)")
	}
	if o.FieldManager == "" {
		return usageErrorf("--field-manager cannot be empty")
	}
	if err := flagutil.BoundedWait("restore-timeout", o.RestoreTimeout, flagutil.MaxRestoreTimeout); err != nil {
		return err
	}
	return o.source.CheckNamespaces(o.namespaces)
}

// Run renders everything first, then applies through the applying use
// case.
func (o *ApplyOptions) Run(ctx context.Context) error {
	rendered, err := o.source.RenderAll(o.namespaces)
	if err != nil {
		return err
	}
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	applier := &apply.Applier{Client: clients.Kube, Options: apply.Options{
		FieldManager: o.FieldManager, DryRun: o.dryRun, ForceConflicts: o.ForceConflicts, Prune: o.Prune,
		Order: o.order, Tooling: "kubectl-netbaseline/" + version.Get().Version, Progress: prefixed{o.ErrOut},
		RestoreTimeout: o.RestoreTimeout, Holder: apply.Holder(), CheckAccess: apply.SelfAccessCheck(clients.Kube),
	}}
	layers, err := read.LoadLayers(ctx, clients)
	if err != nil {
		return err
	}
	if applier.Layers, err = applying.Layers(layers, o.ErrOut); err != nil {
		return err
	}
	c := applying.Config{Namespaces: o.namespaces, Rendered: rendered, Collect: o.printer != nil, Out: o.Out, ErrOut: o.ErrOut}
	if o.Verify {
		c.Verify = o.verification(clients)
	}
	written, err := applying.Apply(ctx, applier, c)
	if o.printer != nil && len(written) > 0 {
		if perr := kubeprint.Objects(o.printer, o.PrintFlags, written, o.Out); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// prefixed indents progress lines under the namespace heading.
type prefixed struct {
	w interface{ Write([]byte) (int, error) }
}

func (p prefixed) Write(b []byte) (int, error) {
	if _, err := p.w.Write([]byte("  " + strings.TrimRight(string(b), "\n") + "\n")); err != nil {
		return 0, err
	}
	return len(b), nil
}
