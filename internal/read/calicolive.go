package read

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// calicoResources are Calico's resources the engine reads, in both of its
// API groups.
var calicoResources = []string{"networkpolicies", "globalnetworkpolicies", "stagednetworkpolicies", "stagedglobalnetworkpolicies",
	"stagedkubernetesnetworkpolicies", "tiers", "networksets", "globalnetworksets"}

// calicoKinds names each resource's kind.
var calicoKinds = map[string]string{
	"networkpolicies": model.CalicoNetworkPolicy, "globalnetworkpolicies": model.CalicoGlobalNetworkPolicy,
	"stagednetworkpolicies": model.CalicoStagedNetworkPolicy, "stagedglobalnetworkpolicies": model.CalicoStagedGlobalNetworkPolicy,
	"stagedkubernetesnetworkpolicies": model.CalicoStagedKubernetesPolicy, "tiers": "Tier",
	"networksets": "NetworkSet", "globalnetworksets": "GlobalNetworkSet",
}

// calico reads Calico's policies through its API server when it is
// served (projectcalico.org: the names users wrote), else straight from
// its CRDs (crd.projectcalico.org, as felix reads them in
// Kubernetes-datastore mode): both hold the same objects.
func (l *liveLoader) calico(served map[string]string) {
	group := model.CalicoAPIGroup
	version, ok := served[group]
	if !ok {
		group = model.CalicoCRDGroup
		if version, ok = served[group]; !ok {
			return
		}
	}
	for _, resource := range calicoResources {
		l.calicoResource(schema.GroupVersionResource{Group: group, Version: version, Resource: resource})
	}
	l.calicoVersion(schema.GroupVersionResource{Group: group, Version: version, Resource: "clusterinformations"})
	if len(l.m.CalicoPolicies) > 0 {
		l.serviceAccounts()
	}
}

// calicoResource lists one resource and decodes its objects. A policy
// that cannot be read could decide any flow: verdicts are unspecified.
func (l *liveLoader) calicoResource(gvr schema.GroupVersionResource) {
	kind := calicoKinds[gvr.Resource]
	list, err := l.c.Dynamic.Resource(gvr).List(l.ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return // an older Calico without this kind
	}
	if err != nil {
		if kind != "Tier" {
			l.m.OtherLayers = append(l.m.OtherLayers, kind+" (unreadable)")
		}
		l.m.Warnings = append(l.m.Warnings, describeListError(err, gvr.Resource+"."+gvr.Group)+"; verdicts are unspecified")
		return
	}
	sink := &docSink{defaultNamespace: "default"}
	for i := range list.Items {
		item := &list.Items[i]
		if kind == "NetworkSet" || kind == "GlobalNetworkSet" {
			l.m.OtherLayers = append(l.m.OtherLayers, kind)
			return
		}
		if err := sink.calico(item.Object, gvr.Group, kind, fmt.Sprintf("%s %s", kind, item.GetName())); err != nil {
			l.m.OtherLayers = append(l.m.OtherLayers, kind+" (unreadable)")
			l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not read %s %s: %v; verdicts are unspecified", kind, item.GetName(), err))
		}
	}
	loader := &fileLoader{model: l.m, byKey: map[string]*entry{}}
	sink.replay(loader)
	for _, e := range loader.entries {
		e.add(l.m)
	}
}

// serviceAccounts lists the ServiceAccounts whose labels Calico's
// selectors may match (pcsa.*); refused, their labels are unknown.
func (l *liveLoader) serviceAccounts() {
	list, err := l.c.Kube.CoreV1().ServiceAccounts("").List(l.ctx, metav1.ListOptions{})
	if err != nil {
		l.m.MarkUnreadable("serviceaccounts", "")
		l.m.Warnings = append(l.m.Warnings, describeListError(err, "serviceaccounts")+": Calico selectors on ServiceAccount labels are unspecified")
		return
	}
	for i := range list.Items {
		sa := &list.Items[i]
		if len(sa.Labels) == 0 || strings.HasPrefix(sa.Name, "system:") {
			continue
		}
		l.m.ServiceAccounts = append(l.m.ServiceAccounts, &model.ServiceAccount{Namespace: sa.Namespace, Name: sa.Name, Labels: sa.Labels})
	}
}

// LoadLayers reads the policy layers besides NetworkPolicy, for apply's
// proof: Calico's policies, the cluster-scoped tiers, the EKS agent's
// ClusterNetworkPolicies and its mode, and the kinds the engine does not
// decide (in OtherLayers). A failed discovery is an error: without it
// nothing could be said of the layers.
func LoadLayers(ctx context.Context, c Clients) (*model.Model, error) {
	m := &model.Model{}
	if c.Discovery == nil || c.Dynamic == nil {
		return m, nil
	}
	l := &liveLoader{ctx: ctx, c: c, m: m, refused: map[string]bool{}}
	_, lists, err := c.Discovery.ServerGroupsAndResources()
	if err != nil && len(lists) == 0 {
		return nil, wrapAPI(err, "discover", "API groups")
	}
	l.readLayers(lists)
	return m, nil
}

// calicoVersion reads the running Calico's version from its
// ClusterInformation (felix writes it): whether it orders by tier. Not
// readable: unknown, and the engine follows both orders.
func (l *liveLoader) calicoVersion(gvr schema.GroupVersionResource) {
	info, err := l.c.Dynamic.Resource(gvr).Get(l.ctx, "default", metav1.GetOptions{})
	if err != nil {
		return
	}
	if v, ok, _ := unstructured.NestedString(info.Object, "spec", "calicoVersion"); ok {
		l.m.CalicoVersion = v
	}
}
