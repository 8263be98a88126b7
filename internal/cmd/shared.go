package cmd

import (
	"fmt"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Helpers several commands share: which namespaces, which image, which
// deny mode, how a failed lookup exits.
func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// targetNamespaces is resolveNamespaces without the system namespaces
// under -A.
func targetNamespaces(g *GlobalOptions, src *baseline.Source, named []string, all bool, errOut interface{ Write([]byte) (int, error) }) ([]string, error) {
	namespaces, err := resolveNamespaces(g, src, named, all)
	if err != nil || !all {
		return namespaces, err
	}
	var out []string
	for _, ns := range namespaces {
		if model.SystemNamespaces[ns] {
			fmt.Fprintf(errOut, "Skipping %s: system namespaces are only touched when named with -n\n", ns)
			continue
		}
		out = append(out, ns)
	}
	return out, nil
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
		return model.Unique(namespaces), nil
	}
	return []string{g.DefaultNamespace()}, nil
}
