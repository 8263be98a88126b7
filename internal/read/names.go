package read

import (
	"context"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// The names below feed shell completion: best effort, so a list that
// fails (RBAC, timeout) completes nothing rather than erroring.

// NamespaceNames are the cluster's namespaces.
func NamespaceNames(ctx context.Context, c Clients) []string {
	list, err := c.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		out = append(out, ns.Name)
	}
	return out
}

// PodNames are the pods of a namespace.
func PodNames(ctx context.Context, c Clients, namespace string) []string {
	list, err := c.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(list.Items))
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	return out
}

// ServiceNames are the Services of a namespace.
func ServiceNames(ctx context.Context, c Clients, namespace string) []string {
	list, err := c.Kube.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(list.Items))
	for _, s := range list.Items {
		out = append(out, s.Name)
	}
	return out
}

// WorkloadNames are the workloads of a kind (deployment, statefulset, …)
// that own pods of the namespace, found through the pods' owners.
func WorkloadNames(ctx context.Context, c Clients, namespace, kind string) []string {
	list, err := c.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for i := range list.Items {
		p := model.PodFromAPI(&list.Items[i], namespace)
		for _, o := range []*model.Owner{p.Owner, p.Controller} {
			if o != nil && o.Kind == kind && !seen[o.Name] {
				seen[o.Name] = true
				out = append(out, o.Name)
			}
		}
	}
	return out
}

// AppliedNamespaces are the namespaces where the plugin applied something:
// those with its ApplySet parent, or with a NetworkPolicy of its ApplySet
// (a parent deleted by hand). Errors are returned: rollback -A must not
// mistake "could not list" for "nothing to roll back".
func AppliedNamespaces(ctx context.Context, c Clients) ([]string, error) {
	seen := map[string]bool{}
	list, err := c.Kube.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", ownership.ParentName).String()})
	if err != nil {
		return nil, WrapAPI(err, "list", "configmaps", "")
	}
	for _, cm := range list.Items {
		seen[cm.Namespace] = true
	}
	nps, err := c.Kube.NetworkingV1().NetworkPolicies(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: ownership.ManagedByLabel + "=" + ownership.ManagedByValue})
	if err != nil {
		return nil, WrapAPI(err, "list", "networkpolicies", "")
	}
	for i := range nps.Items {
		if ownership.IsMember(&nps.Items[i]) {
			seen[nps.Items[i].Namespace] = true
		}
	}
	out := make([]string, 0, len(seen))
	for ns := range seen {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out, nil
}
