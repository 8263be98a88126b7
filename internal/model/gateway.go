package model

import (
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// GatewayGroup is the Gateway API's group.
const GatewayGroup = "gateway.networking.k8s.io"

// GatewayNameLabel is the label Gateway implementations that run the
// Gateway's data plane in the cluster (Envoy Gateway, Istio, Cilium, …)
// put on its pods: the Gateway's name.
const GatewayNameLabel = GatewayGroup + "/gateway-name"

// RouteKinds are the route kinds audit reads, with the resource each is
// listed as.
var RouteKinds = map[string]string{"HTTPRoute": "httproutes", "GRPCRoute": "grpcroutes", "TLSRoute": "tlsroutes", "TCPRoute": "tcproutes"}

// GatewayResources are the Gateway API resources audit lists.
var GatewayResources = []string{"gateways", "httproutes", "grpcroutes", "tlsroutes", "tcproutes", "referencegrants"}

// Gateway is what audit needs of a Gateway: its listeners.
type Gateway struct {
	Namespace, Name string
	Class           string
	Listeners       []Listener
}

// Key is "namespace/name".
func (g *Gateway) Key() string { return g.Namespace + "/" + g.Name }

// Listener is one listener of a Gateway and the namespaces whose routes
// it accepts: From is Same (the default), All or Selector.
type Listener struct {
	Name     string
	Port     int32
	Protocol string
	From     string
	Selector *metav1.LabelSelector
}

// Route is an HTTPRoute, GRPCRoute, TLSRoute or TCPRoute: the Gateways it
// attaches to and the Services it sends traffic to.
type Route struct {
	Kind, Namespace, Name string
	Parents               []ParentRef
	Backends              []RouteBackend
}

// Key is "namespace/name".
func (r *Route) Key() string { return r.Namespace + "/" + r.Name }

// ParentRef is a Gateway the route attaches to (Kind "Gateway"), with the
// listener's name (Section) or port (0: any) when given.
type ParentRef struct {
	Group, Kind, Namespace, Name, Section string
	Port                                  int32
}

// RouteBackend is one backendRef: a Service (Group "", Kind "Service")
// and its port, in Namespace.
type RouteBackend struct {
	Group, Kind, Namespace, Name string
	Port                         int32
}

// IsService says whether the backend is a core Service.
func (b RouteBackend) IsService() bool { return b.Group == "" && b.Kind == "Service" }

// ReferenceGrant lets objects of other namespaces (From) refer to objects
// of its own (To).
type ReferenceGrant struct {
	Namespace, Name string
	From            []GrantFrom
	To              []GrantTo
}

// GrantFrom is a kind of referrer in a namespace.
type GrantFrom struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
}

// GrantTo is a kind of object referred to (Name "": every one).
type GrantTo struct{ Group, Kind, Name string }

// Grants says whether the grant lets a route of kind in namespace from
// refer to the Service name in the grant's namespace.
func (g *ReferenceGrant) Grants(routeKind, from, service string) bool {
	fromOK := false
	for _, f := range g.From {
		fromOK = fromOK || f.Group == GatewayGroup && f.Kind == routeKind && f.Namespace == from
	}
	if !fromOK {
		return false
	}
	for _, t := range g.To {
		if t.Group == "" && t.Kind == "Service" && (t.Name == "" || t.Name == service) {
			return true
		}
	}
	return false
}

// The API objects, as much of them as audit reads (json names of
// gateway.networking.k8s.io v1/v1beta1/v1alpha2, which agree on these).
type apiObject struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
}

type apiGateway struct {
	apiObject `json:",inline"`
	Spec      struct {
		GatewayClassName string `json:"gatewayClassName"`
		Listeners        []struct {
			Name          string `json:"name"`
			Port          int32  `json:"port"`
			Protocol      string `json:"protocol"`
			AllowedRoutes *struct {
				Namespaces *struct {
					From     string                `json:"from"`
					Selector *metav1.LabelSelector `json:"selector"`
				} `json:"namespaces"`
			} `json:"allowedRoutes"`
		} `json:"listeners"`
	} `json:"spec"`
}

type apiRef struct {
	Group       *string `json:"group"`
	Kind        *string `json:"kind"`
	Namespace   string  `json:"namespace"`
	Name        string  `json:"name"`
	SectionName string  `json:"sectionName"`
	Port        int32   `json:"port"`
}

type apiRoute struct {
	apiObject `json:",inline"`
	Spec      struct {
		ParentRefs []apiRef `json:"parentRefs"`
		Rules      []struct {
			BackendRefs []apiRef `json:"backendRefs"`
		} `json:"rules"`
	} `json:"spec"`
}

type apiGrant struct {
	apiObject `json:",inline"`
	Spec      struct {
		From []GrantFrom `json:"from"`
		To   []struct {
			Group string  `json:"group"`
			Kind  string  `json:"kind"`
			Name  *string `json:"name"`
		} `json:"to"`
	} `json:"spec"`
}

func fromObject(obj map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(obj, into)
}

// GatewayFromObject converts a Gateway (decoded YAML or an unstructured
// item); namespace is where it lives.
func GatewayFromObject(obj map[string]any, namespace string) (*Gateway, error) {
	var in apiGateway
	if err := fromObject(obj, &in); err != nil {
		return nil, fmt.Errorf("Gateway: %w", err)
	}
	out := &Gateway{Namespace: namespace, Name: in.Metadata.Name, Class: in.Spec.GatewayClassName}
	for _, l := range in.Spec.Listeners {
		li := Listener{Name: l.Name, Port: l.Port, Protocol: l.Protocol, From: "Same"}
		if l.AllowedRoutes != nil && l.AllowedRoutes.Namespaces != nil && l.AllowedRoutes.Namespaces.From != "" {
			li.From, li.Selector = l.AllowedRoutes.Namespaces.From, l.AllowedRoutes.Namespaces.Selector
		}
		out.Listeners = append(out.Listeners, li)
	}
	return out, nil
}

// RouteFromObject converts a route of kind (one of RouteKinds); the
// defaults of its references are the API's: a parent is a Gateway of the
// route's namespace, a backend a Service of it.
func RouteFromObject(obj map[string]any, kind, namespace string) (*Route, error) {
	var in apiRoute
	if err := fromObject(obj, &in); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	out := &Route{Kind: kind, Namespace: namespace, Name: in.Metadata.Name}
	for _, p := range in.Spec.ParentRefs {
		g, k, ns := defaultRef(p, GatewayGroup, "Gateway", namespace)
		out.Parents = append(out.Parents, ParentRef{Group: g, Kind: k, Namespace: ns, Name: p.Name, Section: p.SectionName, Port: p.Port})
	}
	for _, r := range in.Spec.Rules {
		for _, b := range r.BackendRefs {
			g, k, ns := defaultRef(b, "", "Service", namespace)
			out.Backends = append(out.Backends, RouteBackend{Group: g, Kind: k, Namespace: ns, Name: b.Name, Port: b.Port})
		}
	}
	return out, nil
}

func defaultRef(r apiRef, group, kind, namespace string) (string, string, string) {
	if r.Group != nil {
		group = *r.Group
	}
	if r.Kind != nil {
		kind = *r.Kind
	}
	if r.Namespace != "" {
		namespace = r.Namespace
	}
	return group, kind, namespace
}

// ReferenceGrantFromObject converts a ReferenceGrant.
func ReferenceGrantFromObject(obj map[string]any, namespace string) (*ReferenceGrant, error) {
	var in apiGrant
	if err := fromObject(obj, &in); err != nil {
		return nil, fmt.Errorf("ReferenceGrant: %w", err)
	}
	out := &ReferenceGrant{Namespace: namespace, Name: in.Metadata.Name, From: in.Spec.From}
	for _, t := range in.Spec.To {
		to := GrantTo{Group: t.Group, Kind: t.Kind}
		if t.Name != nil {
			to.Name = *t.Name
		}
		out.To = append(out.To, to)
	}
	return out, nil
}

// Gateway is the Gateway namespace/name (nil when not read).
func (m *Model) Gateway(namespace, name string) *Gateway {
	for _, g := range m.Gateways {
		if g.Namespace == namespace && g.Name == name {
			return g
		}
	}
	return nil
}

// normalizeGatewayAPI adds the namespaces of the Gateway API's objects
// and sorts them.
func (m *Model) normalizeGatewayAPI() {
	for _, g := range m.Gateways {
		m.EnsureNamespace(g.Namespace)
	}
	for _, r := range m.Routes {
		m.EnsureNamespace(r.Namespace)
	}
	sort.SliceStable(m.Gateways, func(i, j int) bool { return m.Gateways[i].Key() < m.Gateways[j].Key() })
	sort.SliceStable(m.Routes, func(i, j int) bool {
		a, b := m.Routes[i], m.Routes[j]
		return a.Namespace+"/"+a.Kind+"/"+a.Name < b.Namespace+"/"+b.Kind+"/"+b.Name
	})
	sort.SliceStable(m.ReferenceGrants, func(i, j int) bool {
		a, b := m.ReferenceGrants[i], m.ReferenceGrants[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
}
