package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
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
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		clients, err := g.Factory.Clients()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return endpointCandidates(ctx, clients, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

func endpointCandidates(ctx context.Context, c read.Clients, toComplete string) []string {
	parts := strings.Split(toComplete, "/")
	var out []string
	switch len(parts) {
	case 1:
		for _, ns := range read.NamespaceNames(ctx, c) {
			out = append(out, ns, ns+"/")
		}
	case 2:
		ns := parts[0]
		for _, k := range []string{"deploy", "sts", "ds", "job", "cronjob", "svc"} {
			out = append(out, ns+"/"+k+"/")
		}
		for _, p := range read.PodNames(ctx, c, ns) {
			out = append(out, ns+"/"+p)
		}
	case 3:
		ns, kind := parts[0], parts[1]
		ep, err := endpoint.Parse(ns+"/"+kind+"/x", endpoint.Source)
		if err != nil {
			return nil
		}
		var names []string
		if ep.Kind == endpoint.Service {
			names = read.ServiceNames(ctx, c, ns)
		} else {
			names = read.WorkloadNames(ctx, c, ns, ep.WorkloadKind)
		}
		for _, n := range names {
			out = append(out, ns+"/"+kind+"/"+n)
		}
	}
	var matched []string
	for _, s := range out {
		if strings.HasPrefix(s, toComplete) {
			matched = append(matched, s)
		}
	}
	return matched
}
