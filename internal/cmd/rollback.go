package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/applying"
	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

var rollbackLong = templates.LongDesc(`
	Undo apply: delete exactly the NetworkPolicies of the namespace's ApplySet
	(found by its label, never by name) and its parent ConfigMap
	netbaseline-applyset, restore the foreign policies that --force-conflicts took
	over (saved in the ConfigMap netbaseline-backup) in place, and delete nothing
	else. A temporary bridge policy keeps every connection that is allowed now and
	after the rollback open while the policies go, so the namespace never goes
	dark. Policies of the plugin that someone else changed since are refused
	unless --force-conflicts; a second rollback or apply running at the same time
	is refused by the lease on the parent ConfigMap.

	--print-command prints the equivalent kubectl commands for the task log
	without changing anything. A namespace where nothing was
	applied is left alone.`)

var rollbackExample = templates.Examples(`
	# What would be deleted and restored
	kubectl netbaseline rollback -n frontend-dev --dry-run=server

	# The one-liner for the task log
	kubectl netbaseline rollback -n frontend-dev --print-command

	# Every namespace the plugin applied to
	kubectl netbaseline rollback -A`)

// RollbackOptions holds the state of `rollback`.
type RollbackOptions struct {
	*GlobalOptions
	Namespaces     []string
	AllNamespaces  bool
	DryRun         string
	PrintCommand   bool
	ForceConflicts bool
	Output         string
	genericiooptions.IOStreams

	dryRun apply.DryRun
}

// NewRollbackOptions returns the defaults of `rollback`.
func NewRollbackOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *RollbackOptions {
	return &RollbackOptions{GlobalOptions: g, IOStreams: streams}
}

// NewCmdRollback builds `rollback`.
func NewCmdRollback(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewRollbackOptions(g, streams)
	c := &cobra.Command{
		Use:     "rollback -n NAMESPACE... | -A [--dry-run=none|client|server] [--print-command]",
		Short:   "Remove exactly what apply applied, and restore what it took over",
		Long:    rollbackLong,
		Example: rollbackExample,
		Args:    noArgs,
		RunE:    runCommand(o),
	}
	o.AddFlags(c)
	return c
}

// AddFlags registers rollback's flags.
func (o *RollbackOptions) AddFlags(c *cobra.Command) {
	c.Flags().StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "Namespace to roll back (repeatable); default the kubeconfig's namespace")
	_ = c.RegisterFlagCompletionFunc("namespace", completeConfigNamespaces(o.GlobalOptions))
	c.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Every namespace with a "+ownership.ParentName+" ConfigMap")
	flagutil.AddDryRunFlag(c, &o.DryRun)
	c.Flags().BoolVar(&o.PrintCommand, "print-command", false, "Print the equivalent kubectl commands instead of running the rollback")
	c.Flags().BoolVar(&o.ForceConflicts, "force-conflicts", false, "Also roll back the plugin's policies that someone else has changed since")
	c.Flags().StringVarP(&o.Output, "output", "o", "", "name: print only resource/name of each object deleted or restored, as kubectl delete -o name")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"name"}, cobra.ShellCompDirectiveNoFileComp))
}

// Complete parses --dry-run.
func (o *RollbackOptions) Complete(_ []string) error {
	var err error
	o.dryRun, err = flagutil.ParseDryRun(o.DryRun, o.ErrOut)
	return err
}

// Validate checks the flags.
func (o *RollbackOptions) Validate() error {
	if o.Output != "" && o.Output != "name" {
		return usageErrorf("-o %s: rollback prints its objects' names (-o name) or its own lines", o.Output)
	}
	if o.AllNamespaces && len(o.Namespaces) > 0 {
		return usageErrorf("--all-namespaces (-A) and --namespace (-n) cannot be combined")
	}
	return nil
}

// Run plans every namespace, then rolls each back.
func (o *RollbackOptions) Run(ctx context.Context) error {
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	applier := &apply.Applier{Client: clients.Kube, Options: apply.Options{DryRun: o.dryRun, ForceConflicts: o.ForceConflicts,
		Progress: prefixed{o.ErrOut}, Holder: apply.Holder(), CheckAccess: apply.SelfAccessCheck(clients.Kube)}}
	namespaces := model.Unique(o.Namespaces)
	if o.AllNamespaces {
		if namespaces, err = read.AppliedNamespaces(ctx, clients); err != nil {
			return err
		}
		if len(namespaces) == 0 {
			fmt.Fprintln(o.ErrOut, "Nothing to roll back: no namespace has a "+ownership.ParentName+" ConfigMap or a NetworkPolicy of the plugin")
			return nil
		}
	}
	if len(namespaces) == 0 {
		namespaces = []string{o.DefaultNamespace()}
	}
	return applying.Rollback{Namespaces: namespaces, PrintCommand: o.PrintCommand, Names: o.Output == "name", Out: o.Out, ErrOut: o.ErrOut}.Run(ctx, applier)
}
