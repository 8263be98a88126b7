package read

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	npav1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	npav1alpha2 "sigs.k8s.io/network-policy-api/apis/v1alpha2"
	npav1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// clusterPolicyGroup is the API group of the cluster-scoped tiers.
const clusterPolicyGroup = "policy.networking.k8s.io"

// clusterPolicyVersions are, per resource, the versions the engine reads,
// preferred first: a cluster serves the same objects in every version,
// so only one is read.
var clusterPolicyVersions = map[string][]string{
	"adminnetworkpolicies":         {"v1alpha1"},
	"baselineadminnetworkpolicies": {"v1alpha1"},
	"clusternetworkpolicies":       {"v1beta1", "v1alpha2"},
}

// decodeClusterPolicy converts a document of the cluster-scoped tiers into
// the model; ok is false for a version the engine does not read (it then
// stays another policy layer, whose verdicts are unspecified).
func decodeClusterPolicy(apiVersion, kind string, obj map[string]any) (cp *model.ClusterPolicy, ok bool, err error) {
	if isAWSClusterPolicy(apiVersion, kind) {
		cp, err := decodeAWSClusterPolicy(obj)
		return cp, true, err
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil || gv.Group != clusterPolicyGroup {
		return nil, false, nil
	}
	from := runtime.DefaultUnstructuredConverter.FromUnstructured
	switch {
	case kind == model.KindAdminNetworkPolicy && gv.Version == "v1alpha1":
		var anp npav1alpha1.AdminNetworkPolicy
		if err := from(obj, &anp); err != nil {
			return nil, true, fmt.Errorf("%s: %w", kind, err)
		}
		return model.FromAdminNetworkPolicy(&anp), true, nil
	case kind == model.KindBaselineAdminNetworkPolicy && gv.Version == "v1alpha1":
		var banp npav1alpha1.BaselineAdminNetworkPolicy
		if err := from(obj, &banp); err != nil {
			return nil, true, fmt.Errorf("%s: %w", kind, err)
		}
		return model.FromBaselineAdminNetworkPolicy(&banp), true, nil
	case kind == model.KindClusterNetworkPolicy && gv.Version == "v1beta1":
		var cnp npav1beta1.ClusterNetworkPolicy
		if err := from(obj, &cnp); err != nil {
			return nil, true, fmt.Errorf("%s: %w", kind, err)
		}
		return model.FromClusterNetworkPolicy(&cnp), true, nil
	case kind == model.KindClusterNetworkPolicy && gv.Version == "v1alpha2":
		var cnp npav1alpha2.ClusterNetworkPolicy
		if err := from(obj, &cnp); err != nil {
			return nil, true, fmt.Errorf("%s: %w", kind, err)
		}
		return model.FromClusterNetworkPolicyV1alpha2(&cnp), true, nil
	}
	return nil, false, nil
}

// clusterPolicyType is the Go type of a kind and version, for the strict
// check of unknown fields.
func clusterPolicyType(apiVersion, kind string) any {
	if isAWSClusterPolicy(apiVersion, kind) {
		return &model.AWSClusterNetworkPolicy{}
	}
	switch kind + " " + apiVersion {
	case model.KindAdminNetworkPolicy + " " + clusterPolicyGroup + "/v1alpha1":
		return &npav1alpha1.AdminNetworkPolicy{}
	case model.KindBaselineAdminNetworkPolicy + " " + clusterPolicyGroup + "/v1alpha1":
		return &npav1alpha1.BaselineAdminNetworkPolicy{}
	case model.KindClusterNetworkPolicy + " " + clusterPolicyGroup + "/v1beta1":
		return &npav1beta1.ClusterNetworkPolicy{}
	case model.KindClusterNetworkPolicy + " " + clusterPolicyGroup + "/v1alpha2":
		return &npav1alpha2.ClusterNetworkPolicy{}
	}
	return nil
}

// clusterPolicies lists the cluster-scoped tiers in the versions served,
// and the nodes when a policy has "nodes" peers. A resource that is not
// served is normal (nothing to read); one that cannot be read is marked
// unreadable, so that no verdict pretends to know it.
func (l *liveLoader) clusterPolicies(served map[string][]string) {
	resources := make([]string, 0, len(clusterPolicyVersions))
	for r := range clusterPolicyVersions {
		resources = append(resources, r)
	}
	sort.Strings(resources)
	for _, resource := range resources {
		versions := served[resource]
		if len(versions) == 0 {
			continue
		}
		version := ""
		for _, v := range clusterPolicyVersions[resource] {
			if contains(versions, v) {
				version = v
				break
			}
		}
		if version == "" {
			// Only versions this plugin does not know: another layer,
			// if it has objects.
			gvr := schema.GroupVersionResource{Group: clusterPolicyGroup, Version: versions[0], Resource: resource}
			list, err := l.c.Dynamic.Resource(gvr).List(l.ctx, metav1.ListOptions{Limit: 1})
			if err != nil || len(list.Items) > 0 {
				l.m.OtherLayers = append(l.m.OtherLayers, resource+"."+clusterPolicyGroup+"/"+versions[0])
			}
			continue
		}
		gvr := schema.GroupVersionResource{Group: clusterPolicyGroup, Version: version, Resource: resource}
		list, err := l.c.Dynamic.Resource(gvr).List(l.ctx, metav1.ListOptions{})
		if err != nil {
			l.m.MarkUnreadable(resource, "")
			if apierrors.IsForbidden(err) {
				l.m.Warnings = append(l.m.Warnings, model.RBACRefusal("list", resource+"."+clusterPolicyGroup, "")+": they can decide any flow, so verdicts are unspecified")
			} else {
				l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not list %s.%s: %v; verdicts are unspecified", resource, clusterPolicyGroup, err))
			}
			continue
		}
		for i := range list.Items {
			item := &list.Items[i]
			cp, _, err := decodeClusterPolicy(gvr.GroupVersion().String(), item.GetKind(), item.Object)
			if err != nil || cp == nil {
				l.m.MarkUnreadable(resource, "")
				l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not read %s %s: %v; verdicts are unspecified", item.GetKind(), item.GetName(), err))
				continue
			}
			l.m.ClusterPolicies = append(l.m.ClusterPolicies, cp)
		}
	}
	if !usesNodes(l.m.ClusterPolicies) {
		return
	}
	nodes, err := l.c.Kube.CoreV1().Nodes().List(l.ctx, metav1.ListOptions{})
	if err != nil {
		l.m.MarkUnreadable("nodes", "")
		l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("%s: verdicts that depend on a \"nodes\" peer are unspecified", describeListError(err, "nodes")))
		return
	}
	for i := range nodes.Items {
		l.m.Nodes = append(l.m.Nodes, model.NodeFromAPI(&nodes.Items[i]))
	}
}

func describeListError(err error, resource string) string {
	if apierrors.IsForbidden(err) {
		return model.RBACRefusal("list", resource, "")
	}
	return fmt.Sprintf("could not list %s: %v", resource, err)
}

// usesNodes reports whether a policy has a "nodes" peer.
func usesNodes(policies []*model.ClusterPolicy) bool {
	for _, p := range policies {
		for _, r := range append(append([]model.ClusterRule(nil), p.Ingress...), p.Egress...) {
			for _, peer := range r.Peers {
				if peer.Nodes != nil {
					return true
				}
			}
		}
	}
	return false
}

// nodeFromDocument converts a Node of the files.
func nodeFromDocument(n *corev1.Node) *model.Node { return model.NodeFromAPI(n) }
