package read

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// gatewayKinds are the Gateway API kinds audit reads, by resource.
var gatewayKinds = map[string]string{
	"gateways": "Gateway", "httproutes": "HTTPRoute", "grpcroutes": "GRPCRoute",
	"tlsroutes": "TLSRoute", "tcproutes": "TCPRoute", "referencegrants": "ReferenceGrant",
}

// gatewayVersionRank orders the versions a resource may be served in:
// the most stable one is read.
var gatewayVersionRank = map[string]int{"v1": 3, "v1beta1": 2, "v1alpha2": 1}

// isGatewayKind says whether the document is one of the Gateway API kinds
// audit reads.
func isGatewayKind(apiVersion, kind string) bool {
	if !strings.HasPrefix(apiVersion, model.GatewayGroup+"/") {
		return false
	}
	for _, k := range gatewayKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// gatewayObject adds a Gateway, a route or a ReferenceGrant to the model.
func (d *docSink) gatewayObject(obj map[string]any, kind, where string) error {
	meta, _ := obj["metadata"].(map[string]any)
	namespace, _ := meta["namespace"].(string)
	namespace = d.ns(namespace)
	add, key, err := gatewayAdder(obj, kind, namespace)
	if err != nil {
		return err
	}
	d.put(key, where, add)
	return nil
}

// gatewayAdder converts one object and says how to add it and its key.
func gatewayAdder(obj map[string]any, kind, namespace string) (func(*model.Model), string, error) {
	switch kind {
	case "Gateway":
		g, err := model.GatewayFromObject(obj, namespace)
		if err != nil {
			return nil, "", err
		}
		return func(m *model.Model) { m.Gateways = append(m.Gateways, g) }, "Gateway " + g.Key(), nil
	case "ReferenceGrant":
		g, err := model.ReferenceGrantFromObject(obj, namespace)
		if err != nil {
			return nil, "", err
		}
		return func(m *model.Model) { m.ReferenceGrants = append(m.ReferenceGrants, g) }, "ReferenceGrant " + g.Namespace + "/" + g.Name, nil
	}
	r, err := model.RouteFromObject(obj, kind, namespace)
	if err != nil {
		return nil, "", err
	}
	return func(m *model.Model) { m.Routes = append(m.Routes, r) }, kind + " " + r.Key(), nil
}

// gatewayAPI lists the Gateway API's objects when the API is served (audit
// alone asks). Not served: there are none. A version that could not be
// discovered, or a list refused or failed, is recorded as unreadable for
// the namespaces it covers: those entry points are unspecified.
func (l *liveLoader) gatewayAPI(lists []*metav1.APIResourceList, discoveryErr error) {
	if groupDiscoveryFailed(discoveryErr, model.GatewayGroup) {
		l.gatewayUnknown()
		return
	}
	versions := gatewayVersions(lists)
	for _, resource := range model.GatewayResources {
		if v, ok := versions[resource]; ok {
			l.listGateway(schema.GroupVersionResource{Group: model.GatewayGroup, Version: v, Resource: resource})
		}
	}
}

// gatewayUnknown records that whether the Gateway API is served, and so
// its objects, is unknown (audit only).
func (l *liveLoader) gatewayUnknown() {
	if !l.opts.Ingresses {
		return
	}
	l.m.Warnings = append(l.m.Warnings, "could not discover the Gateway API ("+model.GatewayGroup+"): its routes are unspecified entry points")
	for _, r := range model.GatewayResources {
		l.m.MarkUnreadable(r, "")
	}
}

// groupDiscoveryFailed says whether discovery failed for a version of
// the group.
func groupDiscoveryFailed(err error, group string) bool {
	var failed *discovery.ErrGroupDiscoveryFailed
	if !errors.As(err, &failed) {
		return false
	}
	for gv := range failed.Groups {
		if gv.Group == group {
			return true
		}
	}
	return false
}

// gatewayVersions are the Gateway API resources served, each in its most
// stable version.
func gatewayVersions(lists []*metav1.APIResourceList) map[string]string {
	out := map[string]string{}
	for _, rl := range lists {
		gv, err := schema.ParseGroupVersion(rl.GroupVersion)
		if err != nil || gv.Group != model.GatewayGroup {
			continue
		}
		for _, r := range rl.APIResources {
			if _, ok := gatewayKinds[r.Name]; ok && gatewayVersionRank[gv.Version] > gatewayVersionRank[out[r.Name]] {
				out[r.Name] = gv.Version
			}
		}
	}
	return out
}

// listGateway lists one resource cluster-wide, else namespace by
// namespace; what stays unread is marked unreadable.
func (l *liveLoader) listGateway(gvr schema.GroupVersionResource) {
	items, err := l.c.Dynamic.Resource(gvr).List(l.ctx, metav1.ListOptions{})
	if err == nil {
		l.addGateway(gvr.Resource, items.Items)
		return
	}
	l.m.Warnings = append(l.m.Warnings, describeListError(err, gvr.Resource+"."+gvr.Group)+"; the entry points through them are unspecified")
	if !apierrors.IsForbidden(err) || len(l.opts.Namespaces) == 0 {
		l.m.MarkUnreadable(gvr.Resource, "")
		return
	}
	for _, ns := range l.opts.Namespaces {
		items, err := l.c.Dynamic.Resource(gvr).Namespace(ns).List(l.ctx, metav1.ListOptions{})
		if err != nil {
			l.m.MarkUnreadable(gvr.Resource, ns)
			continue
		}
		l.addGateway(gvr.Resource, items.Items)
	}
}

// addGateway converts the listed items into the model; one that does not
// convert is unreadable in its namespace.
func (l *liveLoader) addGateway(resource string, items []unstructured.Unstructured) {
	kind := gatewayKinds[resource]
	for i := range items {
		add, _, err := gatewayAdder(items[i].Object, kind, items[i].GetNamespace())
		if err != nil {
			l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not read %s %s/%s: %v; the entry points through it are unspecified", kind, items[i].GetNamespace(), items[i].GetName(), err))
			l.m.MarkUnreadable(resource, items[i].GetNamespace())
			continue
		}
		add(l.m)
	}
}
