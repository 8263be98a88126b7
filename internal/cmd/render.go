package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/cmd/flagutil"
	"github.com/netbaseline/kubectl-netbaseline/internal/output/kubeprint"
)

var renderLong = templates.LongDesc(`
	Print the baseline NetworkPolicies of namespaces, in the order apply uses
	(the netbaseline.io/phase annotation: 00 deny-all, 05 allow-dns, 10 relations,
	15 allow-from-ingress, 20 allow-from-monitoring, 30 external egress).

	The overlay is built in-process with kustomize; no cluster is needed. Without
	--dir it comes from the embedded baseline of the runbook's sample app, or is
	generated from --config. YAML output is a multi-document stream that
	kubectl apply -f - accepts; JSON output is one List.`)

var renderExample = templates.Examples(`
	# The sample app's backend namespace
	kubectl netbaseline render -n backend-dev

	# Just the names, in apply order
	kubectl netbaseline render -n frontend-dev -o name

	# Every namespace of your own tree, as JSON
	kubectl netbaseline render --dir infra/manifests/network-policies -A -o json

	# Select namespaces by the runbook's name=<ns> label instead of kubernetes.io/metadata.name
	kubectl netbaseline render -n backend-dev --namespace-label name`)

// RenderOptions holds the state of `render`.
type RenderOptions struct {
	*GlobalOptions
	baselineFlags

	Namespaces    []string
	AllNamespaces bool
	PrintFlags    *genericclioptions.PrintFlags

	source     *baseline.Source
	namespaces []string
	printer    printers.ResourcePrinter
	genericiooptions.IOStreams
}

// NewRenderOptions returns options with kubectl's defaults.
func NewRenderOptions(g *GlobalOptions, streams genericiooptions.IOStreams) *RenderOptions {
	return &RenderOptions{
		GlobalOptions: g,
		PrintFlags:    genericclioptions.NewPrintFlags("rendered").WithDefaultOutput("yaml"),
		IOStreams:     streams,
	}
}

// NewCmdRender builds `render`.
func NewCmdRender(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewRenderOptions(g, streams)
	c := &cobra.Command{
		Use:     "render [-n NAMESPACE]... [-A] [--dir DIR] [-o yaml|json|name|...]",
		Short:   "Print the baseline NetworkPolicies of namespaces, in apply order",
		Long:    renderLong,
		Example: renderExample,
		Args:    noArgs,
		RunE:    runCommand(o),
	}
	o.AddFlags(c)
	_ = c.RegisterFlagCompletionFunc("namespace", completeOverlayNamespaces(g, &o.baselineFlags))
	return c
}

// AddFlags binds the flags.
func (o *RenderOptions) AddFlags(c *cobra.Command) {
	// A local -n shadows the global one so it can repeat (-n a -n b).
	c.Flags().StringSliceVarP(&o.Namespaces, "namespace", "n", nil, "Namespace to render (repeatable); default the kubeconfig's namespace")
	c.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Render every namespace that has an overlay")
	o.baselineFlags.addFlags(c, true)
	o.PrintFlags.AddFlags(c)
	flagutil.CompletePrintFormats(c, o.PrintFlags)
}

// Complete resolves the tree, the namespaces and the printer.
func (o *RenderOptions) Complete(_ []string) error {
	var err error
	if o.source, err = o.baselineFlags.source(o.GlobalOptions); err != nil {
		return err
	}
	if o.namespaces, err = resolveNamespaces(o.GlobalOptions, o.source, o.Namespaces, o.AllNamespaces); err != nil {
		return err
	}
	if err := kubeprint.BoundTemplateFile(o.Inputs(), o.PrintFlags); err != nil {
		return err
	}
	if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}

// Validate checks that every namespace has an overlay before anything is
// printed.
func (o *RenderOptions) Validate() error {
	return o.source.CheckNamespaces(o.namespaces)
}

// Run renders every namespace first, then prints, so that a failure
// prints nothing.
func (o *RenderOptions) Run(_ context.Context) error {
	rendered, err := o.source.RenderAll(o.namespaces)
	if err != nil {
		return err
	}
	var objs []baseline.Object
	for _, ns := range o.namespaces {
		objs = append(objs, rendered[ns]...)
	}
	if o.printsList() {
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}}
		for _, obj := range objs {
			list.Items = append(list.Items, *obj.Unstructured)
		}
		return o.printer.PrintObj(list, o.Out)
	}
	for _, obj := range objs {
		if err := o.printer.PrintObj(obj.Unstructured, o.Out); err != nil {
			return fmt.Errorf("print %s: %w", obj.GetName(), err)
		}
	}
	return nil
}

// printsList: yaml and name print object by object (a stream kubectl apply
// -f reads, one name per line); every other format sees one List, as
// kubectl get -o json|jsonpath|go-template does, so that
// {.items[*].metadata.name} works.
func (o *RenderOptions) printsList() bool {
	format := ""
	if o.PrintFlags.OutputFormat != nil {
		format, _, _ = strings.Cut(*o.PrintFlags.OutputFormat, "=")
	}
	switch format {
	case "", "yaml", "kyaml", "name":
		return false
	}
	return true
}
