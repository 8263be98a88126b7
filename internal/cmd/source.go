package cmd

import (
	"github.com/spf13/cobra"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
)

// baselineFlags choose where the policies come from; render, and later
// apply and diff, share them.
type baselineFlags struct {
	// Dir is the user's own tree (one folder per namespace).
	Dir string
	// NamespaceLabel overrides the Config's namespace selector key.
	NamespaceLabel string
}

func (f *baselineFlags) addFlags(c *cobra.Command, withDir bool) {
	if withDir {
		c.Flags().StringVar(&f.Dir, "dir", "", "Use your own kustomize tree (one folder per namespace, each with a kustomization.yaml) instead of the generated baseline")
		_ = c.MarkFlagDirname("dir")
	}
	c.Flags().StringVar(&f.NamespaceLabel, "namespace-label", "",
		"Label key namespace selectors match ("+config.MetadataNameLabel+" by default; \""+config.RunbookNameLabel+"\" for the runbook's name=<ns> convention)")
}

// source resolves the tree: --dir, else the Config (--config or
// $NETBASELINE_CONFIG) with flag overrides, else the embedded baseline.
func (f *baselineFlags) source(g *GlobalOptions) (*baseline.Source, error) {
	if dir := f.Dir; dir != "" {
		if g.ConfigFile != "" {
			return nil, usageErrorf("--dir and --config both say which policies to use; give one")
		}
		if f.NamespaceLabel != "" {
			return nil, usageErrorf("--namespace-label shapes the generated baseline and cannot change a --dir tree")
		}
		return baseline.DirSource(dir)
	}
	cfg, explicit, err := g.LoadConfig()
	if err != nil {
		return nil, err
	}
	description := "the embedded baseline"
	if explicit {
		description = "the config"
	}
	if f.NamespaceLabel != "" && f.NamespaceLabel != cfg.NamespaceLabel {
		cfg.NamespaceLabel = f.NamespaceLabel
		if errs := cfg.Validate(); len(errs) > 0 {
			return nil, usageErrorf("--namespace-label: %v", errs.ToAggregate())
		}
		explicit = true
	}
	if !explicit {
		return baseline.EmbeddedSource()
	}
	return baseline.ConfigSource(cfg, description)
}

// resolveNamespaces turns -n and -A into the namespaces to work on: -A is
// every namespace with an overlay, no flag is the kubeconfig's namespace.
func resolveNamespaces(g *GlobalOptions, src *baseline.Source, namespaces []string, all bool) ([]string, error) {
	switch {
	case all && len(namespaces) > 0:
		return nil, usageErrorf("--all-namespaces (-A) and --namespace (-n) cannot be combined")
	case all:
		ns := src.Namespaces()
		if len(ns) == 0 {
			return nil, usageErrorf("%s has no namespace folders with a kustomization.yaml", src.Description)
		}
		return ns, nil
	case len(namespaces) > 0:
		return dedupe(namespaces), nil
	}
	return []string{g.DefaultNamespace()}, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// completeOverlayNamespaces completes -n with the namespaces that have an
// overlay in the chosen tree.
func completeOverlayNamespaces(g *GlobalOptions, f *baselineFlags) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		src, err := f.source(g)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return src.Namespaces(), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeConfigNamespaces completes -n with the config's app namespaces
// (the sample app's without a config).
func completeConfigNamespaces(g *GlobalOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cfg, _, err := g.LoadConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var names []string
		for _, ns := range cfg.Namespaces {
			names = append(names, ns.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
