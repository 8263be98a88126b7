package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/flowdiff"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

var diffLong = templates.LongDesc(`
	Show what apply would change. By default a unified diff of the live
	NetworkPolicies against a server-side dry-run of the baseline (without
	managedFields), through "diff -u -N" or the program in KUBECTL_EXTERNAL_DIFF,
	as kubectl diff does.

	--flows answers the question to ask before a default-deny lands: using the
	live pods and the policy engine, which connections between groups would
	change from allowed to denied (or back) if this apply went through.

	Exit status as kubectl diff: 0 no differences, 1 differences, >1 an error.`)

var diffExample = templates.Examples(`
	# Object diff for one namespace
	kubectl netbaseline diff -n frontend-dev

	# Which connections change, as JSON
	kubectl netbaseline diff -n frontend-dev -n backend-dev --flows -o json

	# With your own diff program
	KUBECTL_EXTERNAL_DIFF="diff -u --color=always" kubectl netbaseline diff -A`)

// DiffOptions holds the state of `diff`.
type DiffOptions struct {
	*GlobalOptions
	baselineFlags
	Namespaces    []string
	AllNamespaces bool
	Flows         bool
	// Staged compares the cluster with its Calico staged policies
	// promoted, instead of with this apply.
	Staged         bool
	Prune          bool
	ForceConflicts bool
	Output         string
	// Filenames, Old and New: diff --flows between two policy sets from
	// files, without a cluster.
	Filenames []string
	Old, New  []string
	enforcerFlags

	source     *baseline.Source
	namespaces []string
	genericiooptions.IOStreams
}

// NewDiffOptions returns the defaults of `diff`.
func NewDiffOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *DiffOptions {
	return &DiffOptions{GlobalOptions: g, IOStreams: streams}
}

// NewCmdDiff builds `diff`.
func NewCmdDiff(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewDiffOptions(g, streams)
	c := &cobra.Command{
		Use:     "diff -n NAMESPACE... | -A [--flows] [--prune]",
		Short:   "Show what apply would change: objects, or connections with --flows",
		Long:    diffLong,
		Example: diffExample,
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return diffExit(runCommand(o)(c, args))
		},
	}
	o.AddFlags(c)
	return c
}

// AddFlags registers diff's flags.
func (o *DiffOptions) AddFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "Namespace to diff (repeatable); default the kubeconfig's namespace")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Every namespace that has an overlay (system namespaces only when named)")
	f.BoolVar(&o.Flows, "flows", false, "Show the connections between groups whose verdict would change")
	f.BoolVar(&o.Staged, "staged", false, "With --flows: the connections Calico's staged policies would change once promoted (instead of this apply)")
	f.BoolVar(&o.Prune, "prune", false, "Include the deletions apply --prune would make")
	f.BoolVar(&o.ForceConflicts, "force-conflicts", false, "Diff as if apply --force-conflicts took over same-named foreign policies")
	f.StringVarP(&o.Output, "output", "o", "", "With --flows: json for machine-readable output, mermaid or dot for a graph of the changes only")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "mermaid", "dot"}, cobra.ShellCompDirectiveNoFileComp))
	f.StringArrayVarP(&o.Filenames, "filename", "f", nil, "With --old and --new: the workloads (Namespaces, Pods, Services, Deployments, …) to compare on, from files (repeatable)")
	f.StringArrayVar(&o.Old, "old", nil, "diff --flows without a cluster: the policies before, a file or directory (repeatable)")
	f.StringArrayVar(&o.New, "new", nil, "diff --flows without a cluster: the policies after, a file or directory (repeatable)")
	o.enforcerFlags.addFlags(c)
	for _, name := range []string{"filename", "old", "new"} {
		_ = c.MarkFlagFilename(name, "yaml", "yml", "json")
	}
	o.baselineFlags.addFlags(c, true)
	_ = c.RegisterFlagCompletionFunc("namespace", completeOverlayNamespaces(o.GlobalOptions, &o.baselineFlags))
}

// diffExit maps errors to kubectl diff's statuses: differences are 1
// (already an ExitError), every failure is 2.
func diffExit(err error) error {
	if err == nil {
		return nil
	}
	var exitErr *ExitError
	if errors.As(err, &exitErr) && exitErr.Code == 1 && exitErr.Silent {
		return err
	}
	return &ExitError{Code: 2, Err: err}
}

// Validate checks the flags.
func (o *DiffOptions) Validate() error {
	if err := o.enforcerFlags.validate(o.offline()); err != nil {
		return err
	}
	switch {
	case o.Output != "" && !o.Flows:
		return usageErrorf("-o %s: the object diff is always a unified diff; --flows prints a table, or -o json|mermaid|dot", o.Output)
	case o.Output != "" && o.Output != "json" && o.Output != "mermaid" && o.Output != "dot":
		return usageErrorf("-o %s: diff --flows prints a table (no -o), JSON (-o json) or a graph of the changes (-o mermaid|dot)", o.Output)
	}
	if o.AllNamespaces && len(o.Namespaces) > 0 {
		return usageErrorf("-A and -n cannot be combined")
	}
	if o.Staged && (!o.Flows || o.offline() || o.Prune || o.ForceConflicts || o.Dir != "") {
		return usageErrorf("--staged compares the cluster with its staged Calico policies promoted: use it with --flows alone (not --old/--new, --prune, --force-conflicts or --dir)")
	}
	if o.offline() {
		switch {
		case len(o.Old) == 0 || len(o.New) == 0:
			return usageErrorf("--old and --new go together: the policies before and after")
		case !o.Flows:
			return usageErrorf("--old and --new compare connections: add --flows")
		case o.Prune || o.ForceConflicts || o.Dir != "":
			return usageErrorf("--prune, --force-conflicts and --dir are about applying to a cluster; --old and --new compare files")
		}
	} else if len(o.Filenames) > 0 {
		return usageErrorf("-f gives the workloads of a --old/--new comparison")
	}
	return nil
}

func (o *DiffOptions) offline() bool { return len(o.Old) > 0 || len(o.New) > 0 }

// Complete resolves the tree and the namespaces.
func (o *DiffOptions) Complete(_ []string) error {
	if o.offline() {
		return nil // everything comes from the files
	}
	if o.Staged {
		o.namespaces = o.Namespaces // a focus; none: every namespace
		if len(o.namespaces) == 0 && !o.AllNamespaces {
			o.namespaces = []string{o.DefaultNamespace()}
		}
		return nil
	}
	var err error
	if o.source, err = o.baselineFlags.source(o.GlobalOptions); err != nil {
		return err
	}
	if o.namespaces, err = targetNamespaces(o.GlobalOptions, o.source, o.Namespaces, o.AllNamespaces, o.ErrOut); err != nil {
		return err
	}
	return o.source.CheckNamespaces(o.namespaces)
}

// Run computes the diff.
func (o *DiffOptions) Run(ctx context.Context) error {
	flows := flowdiff.Config{Output: o.Output, Out: o.Out, ErrOut: o.ErrOut}
	if o.offline() {
		return flowdiff.Files(flows, o.loadFiles, o.Old, o.New, o.Namespaces)
	}
	if o.Staged {
		clients, err := o.Factory.Clients()
		if err != nil {
			return err
		}
		return flowdiff.Staged(ctx, flows, o.loadLive(clients), o.namespaces, o.AllNamespaces)
	}
	rendered, err := o.source.RenderAll(o.namespaces)
	if err != nil {
		return err
	}
	clients, err := o.Factory.Clients()
	if err != nil {
		return err
	}
	if o.Flows {
		return flowdiff.Apply(ctx, flows, o.loadLive(clients), o.namespaces, rendered, apply.Options{Prune: o.Prune, ForceConflicts: o.ForceConflicts})
	}
	applier := &apply.Applier{Client: clients.Kube, Options: apply.Options{Prune: o.Prune, ForceConflicts: o.ForceConflicts}}
	dir, err := os.MkdirTemp("", "netbaseline-diff-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	liveDir, mergedDir, err := applier.WriteDiffTree(ctx, o.namespaces, rendered, dir)
	if err != nil {
		return err
	}
	return o.runDiffProgram(liveDir, mergedDir)
}

// runDiffProgram runs KUBECTL_EXTERNAL_DIFF or "diff -u -N" on the two
// folders, as kubectl diff does.
func (o *DiffOptions) runDiffProgram(live, merged string) error {
	program, args := "diff", []string{"-u", "-N"}
	if ext := strings.Fields(os.Getenv("KUBECTL_EXTERNAL_DIFF")); len(ext) > 0 {
		program, args = ext[0], ext[1:]
	}
	cmd := exec.Command(program, append(args, live, merged)...)
	cmd.Stdout, cmd.Stderr = o.Out, o.ErrOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 1:
		return &ExitError{Code: 1, Silent: true, Err: errors.New("differences found")}
	case errors.As(err, &exitErr):
		return fmt.Errorf("%s failed with exit status %d", program, exitErr.ExitCode())
	}
	return fmt.Errorf("run %s: %w (set KUBECTL_EXTERNAL_DIFF to another diff program)", program, err)
}

// loadLive reads the cluster's model of the namespaces.
func (o *DiffOptions) loadLive(clients read.Clients) func(context.Context) (*model.Model, error) {
	return func(ctx context.Context) (*model.Model, error) {
		return read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: o.namespaces})
	}
}

// loadFiles reads the workloads of -f with one set of policy files.
func (o *DiffOptions) loadFiles(policies []string) (*model.Model, error) {
	m, err := read.Load(o.Inputs(), append(append([]string{}, o.Filenames...), policies...), o.DefaultNamespace())
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	o.enforcerFlags.apply(m)
	return m, nil
}
