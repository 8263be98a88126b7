package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// completeEndpoints completes SOURCE and DEST from the live cluster: NS,
// then NS/POD and NS/KIND/, then NS/KIND/NAME.
func completeEndpoints(g *GlobalOptions) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= 2 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
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
		list, err := c.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil
		}
		for _, ns := range list.Items {
			out = append(out, ns.Name, ns.Name+"/")
		}
	case 2:
		ns := parts[0]
		for _, k := range []string{"deploy", "sts", "ds", "job", "cronjob", "svc"} {
			out = append(out, ns+"/"+k+"/")
		}
		if list, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
			for _, p := range list.Items {
				out = append(out, ns+"/"+p.Name)
			}
		}
	case 3:
		ns, kind := parts[0], parts[1]
		out = append(out, workloadNames(ctx, c, ns, kind)...)
	}
	var matched []string
	for _, s := range out {
		if strings.HasPrefix(s, toComplete) {
			matched = append(matched, s)
		}
	}
	return matched
}

func workloadNames(ctx context.Context, c read.Clients, ns, kind string) []string {
	ep, err := endpoint.Parse(ns+"/"+kind+"/x", endpoint.Source)
	if err != nil {
		return nil
	}
	var names []string
	switch {
	case ep.Kind == endpoint.Service:
		if list, err := c.Kube.CoreV1().Services(ns).List(ctx, metav1.ListOptions{}); err == nil {
			for _, s := range list.Items {
				names = append(names, s.Name)
			}
		}
	default:
		if list, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
			seen := map[string]bool{}
			for i := range list.Items {
				p := model.PodFromAPI(&list.Items[i], ns)
				for _, o := range []*model.Owner{p.Owner, p.Controller} {
					if o != nil && o.Kind == ep.WorkloadKind && !seen[o.Name] {
						seen[o.Name] = true
						names = append(names, o.Name)
					}
				}
			}
		}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, ns+"/"+kind+"/"+n)
	}
	return out
}
