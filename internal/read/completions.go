package read

import (
	"context"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
)

// EndpointCompletions are the SOURCE/DEST values that complete
// toComplete, read from the cluster (shell completion): namespaces, then
// a namespace's pods and kinds, then a kind's workloads or Services.
func EndpointCompletions(ctx context.Context, c Clients, toComplete string) []string {
	parts := strings.Split(toComplete, "/")
	var out []string
	switch len(parts) {
	case 1:
		for _, ns := range NamespaceNames(ctx, c) {
			out = append(out, ns, ns+"/")
		}
	case 2:
		ns := parts[0]
		for _, k := range []string{"deploy", "sts", "ds", "job", "cronjob", "svc"} {
			out = append(out, ns+"/"+k+"/")
		}
		for _, p := range PodNames(ctx, c, ns) {
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
			names = ServiceNames(ctx, c, ns)
		} else {
			names = WorkloadNames(ctx, c, ns, ep.WorkloadKind)
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
