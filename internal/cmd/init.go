package cmd

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

var initLong = templates.LongDesc(`
	Write the baseline out as a GitOps tree in the runbook's layout: one folder per
	namespace with numbered files (00-deny-all.yaml, allow-dns.yaml,
	10-allow-to-backend.yaml, 15-allow-from-ingress.yaml, ...) and a Kustomization
	file: both kubectl apply -k DIR/NS and kubectl apply -f DIR/NS (or delete -f)
	work on it.

	The files are self-contained: kubectl kustomize DIR/NAMESPACE and
	kubectl netbaseline render --dir DIR -n NAMESPACE yield the same objects. Commit
	the tree when Argo CD or Flux manages the namespace, so they do not revert the
	policies. Existing files are never overwritten without --force; when any file
	is in the way, nothing is written.`)

var initExample = templates.Examples(`
	# Every namespace of the baseline, under infra/manifests/network-policies/<namespace>/
	kubectl netbaseline init --dir infra/manifests/network-policies

	# One namespace, from your config, replacing earlier output
	kubectl netbaseline init --dir policies -n backend-dev --config netbaseline.yaml --force`)

// InitOptions holds the state of `init`.
type InitOptions struct {
	*GlobalOptions
	baselineFlags

	// Output is init's --dir: where the tree is written.
	Output     string
	Namespaces []string
	Force      bool

	source     *baseline.Source
	namespaces []string
	genericiooptions.IOStreams
}

// NewInitOptions returns options with defaults.
func NewInitOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *InitOptions {
	return &InitOptions{GlobalOptions: g, IOStreams: streams}
}

// NewCmdInit builds `init`.
func NewCmdInit(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewInitOptions(g, streams)
	c := &cobra.Command{
		Use:     "init --dir PATH [-n NAMESPACE]... [--force]",
		Short:   "Write the baseline overlays out as a GitOps tree",
		Long:    initLong,
		Example: initExample,
		Args:    noArgs,
		RunE:    runCommand(o),
	}
	o.AddFlags(c)
	_ = c.RegisterFlagCompletionFunc("namespace", completeOverlayNamespaces(g, &o.baselineFlags))
	return c
}

// AddFlags binds the flags. --dir is the output here.
func (o *InitOptions) AddFlags(c *cobra.Command) {
	c.Flags().StringVar(&o.Output, "dir", "", "Directory to write one folder per namespace into (required)")
	_ = c.MarkFlagDirname("dir")
	c.Flags().StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "Namespace to write (repeatable); default every namespace of the baseline")
	c.Flags().BoolVar(&o.Force, "force", false, "Overwrite files that already exist")
	o.baselineFlags.addFlags(c, false)
}

// Complete resolves the tree and the namespaces.
func (o *InitOptions) Complete(_ []string) error {
	if o.Output == "" {
		return usageErrorf("--dir is required: the directory to write the tree into")
	}
	// The tree comes from the Config or the embedded baseline.
	src, err := o.baselineFlags.source(o.GlobalOptions)
	if err != nil {
		return err
	}
	o.source = src
	o.namespaces = model.Unique(o.Namespaces)
	if len(o.namespaces) == 0 {
		o.namespaces = src.Namespaces()
	}
	return nil
}

// Validate checks the namespaces and the output directory.
func (o *InitOptions) Validate() error {
	for _, ns := range o.namespaces {
		if err := o.source.CheckNamespace(ns); err != nil {
			return err
		}
	}
	if info, err := os.Stat(o.Output); err == nil && !info.IsDir() {
		return usageErrorf("--dir %s: exists and is not a directory", o.Output)
	}
	return nil
}

// Run writes the tree through baseline.Init.
func (o *InitOptions) Run(_ context.Context) error {
	return baseline.Init{Source: o.source, Namespaces: o.namespaces, Dir: o.Output, Force: o.Force, Out: o.Out, ErrOut: o.ErrOut}.Write()
}
