package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/version"
)

// VersionOptions holds the state of `version`.
type VersionOptions struct {
	Output string
	genericiooptions.IOStreams
}

// NewVersionOptions returns the defaults of `version`.
func NewVersionOptions(streams genericiooptions.IOStreams) *VersionOptions {
	return &VersionOptions{IOStreams: streams}
}

// NewCmdVersion builds `version`.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewVersionOptions(streams)
	c := &cobra.Command{
		Use:     "version [-o json|yaml]",
		Short:   "Print the plugin's version",
		Example: "  kubectl netbaseline version\n  kubectl netbaseline version -o json",
		Args:    noArgs,
		RunE:    runCommand(o),
	}
	o.AddFlags(c)
	return c
}

// AddFlags registers version's flags.
func (o *VersionOptions) AddFlags(c *cobra.Command) {
	c.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml (default: one line)")
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
}

// Complete has nothing to resolve: version needs no cluster and no Config.
func (o *VersionOptions) Complete(_ []string) error { return nil }

// Validate checks the output format.
func (o *VersionOptions) Validate() error {
	switch o.Output {
	case "", "json", "yaml":
		return nil
	}
	return usageErrorf("unknown output format %q for version: use json or yaml", o.Output)
}

// Run prints the version.
func (o *VersionOptions) Run(_ context.Context) error {
	info := version.Get()
	switch o.Output {
	case "json":
		b, err := yaml.Marshal(info)
		if err != nil {
			return err
		}
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Out, "%s\n", j)
		return err
	case "yaml":
		b, err := yaml.Marshal(info)
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	}
	image := info.ProbeImage
	if image == "" {
		image = "none (a development build: probes need --image)"
	}
	_, err := fmt.Fprintf(o.Out, "kubectl-netbaseline %s (commit %s, %s, %s)\nprobe image: %s\n", info.Version, info.Commit, info.GoVersion, info.Platform, image)
	return err
}
