package posture

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// routeKindOrder is the order of the unread-routes entry points.
var routeKindOrder = []string{"GRPCRoute", "HTTPRoute", "TCPRoute", "TLSRoute"}

// routeProtocols are the listener protocols each route kind attaches to
// (the Gateway API's default allowedRoutes.kinds).
var routeProtocols = map[string][]string{
	"HTTPRoute": {"HTTP", "HTTPS"}, "GRPCRoute": {"HTTP", "HTTPS"}, "TLSRoute": {"TLS"}, "TCPRoute": {"TCP"},
}

// gatewayEntryPoints are the Gateway API routes of the namespaces, per
// Gateway listener and backend: outside → the listener's port on the
// Gateway's pods (through the Services that expose them) → the backend
// Service's pods, each hop decided.
func (a *Analyzer) gatewayEntryPoints(inScope map[string]bool, services []EntryPoint) []EntryPoint {
	var out []EntryPoint
	for _, ns := range sortedKeys(inScope) {
		for _, kind := range routeKindOrder {
			if a.base.CouldNotRead(model.RouteKinds[kind], ns) {
				out = append(out, EntryPoint{Kind: kind, Namespace: ns, Name: "*", Type: kind, Backends: []Backend{},
					Verdict: policy.Unspecified, Path: "the namespace's " + kind + "s could not be read: their paths are unknown"})
			}
		}
	}
	for _, r := range a.base.Routes {
		if !inScope[r.Namespace] {
			continue
		}
		for _, p := range r.Parents {
			out = append(out, a.parentEntryPoints(r, p, services)...)
		}
	}
	return out
}

// hop is what is known of a route's way to its Gateway: the listener,
// the Gateway's pods and the first hop's verdict.
type hop struct {
	gw       *model.Gateway
	listener model.Listener
	pods     []policy.Group
	verdict  policy.Verdict
	why      string
}

// parentEntryPoints are a route's entry points through one parentRef: one
// per listener it attaches to and backend. A parent that is not a Gateway
// (a Service: the mesh's east-west routing) is no entry from outside.
func (a *Analyzer) parentEntryPoints(r *model.Route, p model.ParentRef, services []EntryPoint) []EntryPoint {
	if p.Group != model.GatewayGroup || p.Kind != "Gateway" {
		return nil
	}
	base := EntryPoint{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Type: "Gateway " + p.Namespace + "/" + p.Name, Port: p.Port, Backends: []Backend{}}
	gw := a.base.Gateway(p.Namespace, p.Name)
	switch {
	case gw == nil && a.base.CouldNotRead("gateways", p.Namespace):
		base.Verdict, base.Path = policy.Unspecified, "the Gateways of "+p.Namespace+" could not be read: the route's listener is unknown"
		return []EntryPoint{base}
	case gw == nil:
		base.Verdict, base.Path = policy.Denied, "no Gateway "+p.Namespace+"/"+p.Name+": the route is attached to nothing"
		return []EntryPoint{base}
	}
	listeners := matchingListeners(gw, p)
	if len(listeners) == 0 {
		base.Verdict, base.Path = policy.Denied, fmt.Sprintf("Gateway %s has no listener %s: the route is attached to nothing", gw.Key(), parentSection(p))
		return []EntryPoint{base}
	}
	var out []EntryPoint
	for _, l := range listeners {
		h := a.gatewayHop(gw, l, services)
		for _, b := range r.Backends {
			out = append(out, a.routeEntryPoint(r, h, b))
		}
	}
	return out
}

func parentSection(p model.ParentRef) string {
	switch {
	case p.Section != "" && p.Port != 0:
		return fmt.Sprintf("%q on port %d", p.Section, p.Port)
	case p.Section != "":
		return fmt.Sprintf("%q", p.Section)
	}
	return fmt.Sprintf("on port %d", p.Port)
}

// matchingListeners are the Gateway's listeners the parentRef names (by
// sectionName and port; neither: every one).
func matchingListeners(gw *model.Gateway, p model.ParentRef) []model.Listener {
	var out []model.Listener
	for _, l := range gw.Listeners {
		if (p.Section == "" || p.Section == l.Name) && (p.Port == 0 || p.Port == l.Port) {
			out = append(out, l)
		}
	}
	return out
}

// gatewayHop decides the first hop: outside → the listener's port on the
// Gateway's pods, through the Services that expose them on that port.
func (a *Analyzer) gatewayHop(gw *model.Gateway, l model.Listener, services []EntryPoint) hop {
	h := hop{gw: gw, listener: l}
	h.pods = a.gatewayPods(gw)
	if len(h.pods) == 0 {
		h.verdict, h.why = policy.Unspecified, fmt.Sprintf("the Gateway's pods (%s=%s in %s) are not among the pods read: its data plane is unknown", model.GatewayNameLabel, gw.Name, gw.Namespace)
		return h
	}
	h.verdict, h.why = a.controllerReach(h.pods, portEntryPoints(services, l.Port))
	return h
}

// portEntryPoints keeps the Service entry points on one port.
func portEntryPoints(services []EntryPoint, port int32) []EntryPoint {
	var out []EntryPoint
	for _, ep := range services {
		if ep.Port == port {
			out = append(out, ep)
		}
	}
	return out
}

// gatewayPods are the groups of pods labelled with the Gateway's name in
// its namespace.
func (a *Analyzer) gatewayPods(gw *model.Gateway) []policy.Group {
	var out []policy.Group
	for _, g := range a.groups {
		p := g.Pods[0]
		if p.Namespace == gw.Namespace && p.Labels[model.GatewayNameLabel] == gw.Name {
			out = append(out, g)
		}
	}
	return out
}

// routeEntryPoint decides one backend of a route through one listener.
func (a *Analyzer) routeEntryPoint(r *model.Route, h hop, b model.RouteBackend) EntryPoint {
	ep := EntryPoint{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Port: h.listener.Port, Backends: []Backend{},
		Type: fmt.Sprintf("Gateway %s:%s", h.gw.Key(), h.listener.Name)}
	if v, why := a.attaches(r, h); v != policy.Allowed {
		ep.Verdict, ep.Path = v, why
		return ep
	}
	if v, why := a.backendAllowed(r, b); v != policy.Allowed {
		ep.Verdict, ep.Path = v, why
		return ep
	}
	svc := a.base.Service(b.Namespace, b.Name)
	sp, ok := servicePort(svc, model.IngressBackend{Port: b.Port})
	switch {
	case !ok:
		ep.Verdict, ep.Path = policy.Denied, fmt.Sprintf("no Service %s/%s with port %d: nothing answers", b.Namespace, b.Name, b.Port)
		return ep
	case len(h.pods) == 0:
		ep.Verdict, ep.Path = policy.Unspecified, h.why
		return ep
	}
	for _, g := range a.backends(svc) {
		ep.Backends = append(ep.Backends, a.throughController(h.pods, g, sp))
	}
	ep.Verdict = both(h.verdict, combine(ep.Backends))
	ep.Path = fmt.Sprintf("outside → %s (%s) → Gateway %s:%d (%s) → %s %s → svc/%s:%d → %s: %s", ctrlNames(h.pods), h.why, h.gw.Key(), h.listener.Port,
		h.listener.Name, r.Kind, r.Name, svc.Name, sp.Port, backendNames(ep.Backends), ep.Verdict)
	return ep
}

// attaches says whether the listener accepts the route: its protocol
// takes the route's kind, and its allowedRoutes the route's namespace.
func (a *Analyzer) attaches(r *model.Route, h hop) (policy.Verdict, string) {
	l := h.listener
	if !slices.Contains(routeProtocols[r.Kind], l.Protocol) {
		return policy.Denied, fmt.Sprintf("listener %q of Gateway %s speaks %s: a %s does not attach to it", l.Name, h.gw.Key(), l.Protocol, r.Kind)
	}
	switch l.From {
	case "All":
		return policy.Allowed, ""
	case "Same", "":
		if r.Namespace == h.gw.Namespace {
			return policy.Allowed, ""
		}
		return policy.Denied, fmt.Sprintf("listener %q of Gateway %s accepts routes from its own namespace only: the route is not attached", l.Name, h.gw.Key())
	case "Selector":
		return a.namespaceSelected(r.Namespace, l.Selector, l.Name, h.gw)
	}
	return policy.Unspecified, fmt.Sprintf("listener %q of Gateway %s: allowedRoutes from %q is not known", l.Name, h.gw.Key(), l.From)
}

// namespaceSelected decides a listener's namespace selector on the
// route's namespace.
func (a *Analyzer) namespaceSelected(ns string, sel *metav1.LabelSelector, listener string, gw *model.Gateway) (policy.Verdict, string) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || sel == nil {
		return policy.Denied, fmt.Sprintf("listener %q of Gateway %s has no valid namespace selector: the route is not attached", listener, gw.Key())
	}
	if slices.Contains(a.base.NamespaceLabelsUnknown(), ns) {
		return policy.Unspecified, fmt.Sprintf("the labels of namespace %s could not be read: whether listener %q of Gateway %s accepts the route is unknown", ns, listener, gw.Key())
	}
	var set labels.Set
	if n := a.base.Namespace(ns); n != nil {
		set = n.Labels
	}
	if s.Matches(set) {
		return policy.Allowed, ""
	}
	return policy.Denied, fmt.Sprintf("listener %q of Gateway %s does not select namespace %s: the route is not attached", listener, gw.Key(), ns)
}

// backendAllowed says whether the Gateway may send to the backend: a
// Service, in the route's namespace or one whose ReferenceGrant lets the
// route refer to it.
func (a *Analyzer) backendAllowed(r *model.Route, b model.RouteBackend) (policy.Verdict, string) {
	switch {
	case !b.IsService():
		return policy.Unspecified, fmt.Sprintf("backend %s %s/%s is not a Service: audit does not follow it", b.Kind, b.Namespace, b.Name)
	case b.Namespace == r.Namespace:
		return policy.Allowed, ""
	}
	for _, g := range a.base.ReferenceGrants {
		if g.Namespace == b.Namespace && g.Grants(r.Kind, r.Namespace, b.Name) {
			return policy.Allowed, ""
		}
	}
	if a.base.CouldNotRead("referencegrants", b.Namespace) {
		return policy.Unspecified, fmt.Sprintf("the ReferenceGrants of %s could not be read: whether the Gateway may send to Service %s/%s is unknown", b.Namespace, b.Namespace, b.Name)
	}
	return policy.Denied, fmt.Sprintf("no ReferenceGrant in %s lets %s %s/%s refer to Service %s: the Gateway refuses the backend (ResolvedRefs false)", b.Namespace, r.Kind, r.Namespace, r.Name, b.Name)
}

// IDRefusedBackend is a route's backend in another namespace that no
// ReferenceGrant lets it refer to.
const IDRefusedBackend = "AUDIT-013"

// grantFindings are AUDIT-013: the backends of the namespaces' routes
// that the Gateway refuses for want of a ReferenceGrant (never said when
// the grants of the backend's namespace could not be read).
func (a *Analyzer) grantFindings(inScope map[string]bool) []Finding {
	var out []Finding
	for _, r := range a.base.Routes {
		if !inScope[r.Namespace] {
			continue
		}
		for _, b := range r.Backends {
			if v, why := a.backendAllowed(r, b); v == policy.Denied {
				out = append(out, Finding{ID: IDRefusedBackend, Severity: Low, Namespace: r.Namespace,
					Objects: []string{strings.ToLower(r.Kind) + "/" + r.Name, "service/" + b.Namespace + "/" + b.Name}, Message: why,
					Why: "the Gateway does not send traffic to a backend in another namespace without the grant: the route's path there is closed, whatever the policies say",
					Fix: fmt.Sprintf("add a ReferenceGrant in %s from %s in %s to the Service, or move the route's backend", b.Namespace, r.Kind, r.Namespace)})
			}
		}
	}
	return out
}
