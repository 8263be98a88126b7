package cmd

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// completeEndpoints completes SOURCE and DEST from the live cluster: NS,
// then NS/POD and NS/KIND/, then NS/KIND/NAME.
func completeEndpoints(g *GlobalOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= 2 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeEndpointFlag(g)(c, args, toComplete)
	}
}

// completeEndpointFlag completes a flag whose value is an endpoint.
func completeEndpointFlag(g *GlobalOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return completeFromCluster(g, cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveNoSpace, read.EndpointCompletions)
}

// completeClusterNamespaces completes -n with the cluster's namespaces
// (explain, probe and discover name namespaces that exist, not overlays).
func completeClusterNamespaces(g *GlobalOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return completeFromCluster(g, cobra.ShellCompDirectiveNoFileComp, func(ctx context.Context, c read.Clients, _ string) []string {
		return read.NamespaceNames(ctx, c)
	})
}

// completeFromCluster completes with what list reads from the cluster
// within five seconds.
func completeFromCluster(g *GlobalOptions, directive cobra.ShellCompDirective, list func(context.Context, read.Clients, string) []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		clients, err := g.Factory.Clients()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return list(ctx, clients, toComplete), directive
	}
}
