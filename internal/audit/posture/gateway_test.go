package posture

import (
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// edge is a Gateway in infra whose data plane (Envoy Gateway's pods,
// labelled with the Gateway's name) a LoadBalancer Service exposes on 80,
// keeping client addresses, and a Service web in app.
const edge = app + `---
apiVersion: v1
kind: Namespace
metadata: {name: infra, labels: {name: infra}}
---
apiVersion: v1
kind: Pod
metadata: {name: envoy-1, namespace: infra, labels: {gateway.networking.k8s.io/gateway-name: edge, app: envoy}}
spec:
  containers: [{name: envoy, image: envoy, ports: [{name: http, containerPort: 10080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: envoy-edge, namespace: infra}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {gateway.networking.k8s.io/gateway-name: edge}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`

const edgeGateway = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: eg
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {name: app}}}}}
  - {name: same, port: 8000, protocol: HTTP}
  - {name: tcp, port: 5432, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}
`

const fromGateway = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-gateway, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {name: infra}}, podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: edge}}}], ports: [{port: http}]}]
`

func httpRoute(parent, backend string) string {
	return `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: app}
spec:
  parentRefs: [` + parent + `]
  rules: [{backendRefs: [` + backend + `]}]
`
}

const otherWeb = `---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {name: other}}
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, namespace: other, labels: {app: api}}
spec:
  containers: [{name: api, image: api, ports: [{name: http, containerPort: 9090}]}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: other}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: http}]
`

const grantAPI = `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-app, namespace: other}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: app}]
  to: [{group: "", kind: Service}]
`

func routeEntries(doc *Document) []EntryPoint {
	var out []EntryPoint
	for _, ep := range doc.EntryPoints {
		if _, ok := model.RouteKinds[ep.Kind]; ok {
			out = append(out, ep)
		}
	}
	return out
}

// TestGatewayRoutePaths: every hop of a route — the listener it attaches
// to, the Gateway's pods and the Service exposing them, the backend
// (ReferenceGrant across namespaces), the policies of the backend's pods —
// decided, unknowns unspecified.
func TestGatewayRoutePaths(t *testing.T) {
	toEdge, toWeb := "{name: edge, namespace: infra, sectionName: http}", "{name: web, port: 80}"
	cases := []struct {
		name    string
		yaml    string
		unread  []string // resource/namespace marked unreadable
		verdict policy.Verdict
		path    string // contained in the path
	}{
		{name: "denied by the backend's policies", yaml: edge + edgeGateway + httpRoute(toEdge, toWeb), verdict: policy.Denied, path: "app/web-1:8080: denied"},
		{name: "open through the Gateway", yaml: edge + edgeGateway + fromGateway + httpRoute(toEdge, toWeb), verdict: policy.Allowed,
			path: "via LoadBalancer svc/envoy-edge:80) → Gateway infra/edge:80 (http) → HTTPRoute web → svc/web:80 → app/web-1:8080: allowed"},
		{name: "no Gateway pods", yaml: strings.Replace(edge, "gateway.networking.k8s.io/gateway-name: edge, app: envoy", "app: envoy", 1) + edgeGateway + fromGateway + httpRoute(toEdge, toWeb),
			verdict: policy.Unspecified, path: "the Gateway's pods (gateway.networking.k8s.io/gateway-name=edge in infra) are not among the pods read"},
		{name: "no Service on the listener's port", yaml: strings.Replace(edge, "port: 80, targetPort", "port: 8080, targetPort", 1) + edgeGateway + fromGateway + httpRoute(toEdge, toWeb),
			verdict: policy.Unspecified, path: "no LoadBalancer, NodePort or externalIPs Service exposes it"},
		{name: "Gateway unread", yaml: edge + fromGateway + httpRoute(toEdge, toWeb), unread: []string{"gateways/infra"}, verdict: policy.Unspecified, path: "could not be read"},
		{name: "no such Gateway", yaml: edge + fromGateway + httpRoute(toEdge, toWeb), verdict: policy.Denied, path: "attached to nothing"},
		{name: "no such listener", yaml: edge + edgeGateway + httpRoute("{name: edge, namespace: infra, sectionName: https}", toWeb), verdict: policy.Denied, path: `no listener "https"`},
		{name: "listener of its own namespace only", yaml: edge + edgeGateway + httpRoute("{name: edge, namespace: infra, port: 8000}", toWeb), verdict: policy.Denied, path: "own namespace only"},
		{name: "TCP listener takes no HTTPRoute", yaml: edge + edgeGateway + httpRoute("{name: edge, namespace: infra, port: 5432}", toWeb), verdict: policy.Denied, path: "speaks TCP"},
		{name: "cross-namespace backend without a grant", yaml: edge + edgeGateway + otherWeb + httpRoute(toEdge, "{name: api, namespace: other, port: 80}"),
			verdict: policy.Denied, path: "no ReferenceGrant in other lets HTTPRoute app/web refer to Service api"},
		{name: "grants unread", yaml: edge + edgeGateway + otherWeb + httpRoute(toEdge, "{name: api, namespace: other, port: 80}"), unread: []string{"referencegrants/other"},
			verdict: policy.Unspecified, path: "ReferenceGrants of other could not be read"},
		{name: "cross-namespace backend with a grant", yaml: edge + edgeGateway + otherWeb + grantAPI + httpRoute(toEdge, "{name: api, namespace: other, port: 80}"),
			verdict: policy.Allowed, path: "other/api-1:9090: allowed"},
		{name: "no backend port", yaml: edge + edgeGateway + httpRoute(toEdge, "{name: web, port: 81}"), verdict: policy.Denied, path: "no Service app/web with port 81"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := loadYAML(t, c.yaml)
			for _, u := range c.unread {
				r, ns, _ := strings.Cut(u, "/")
				m.MarkUnreadable(r, ns)
			}
			eps := routeEntries(Audit(m, Options{Namespaces: []string{"app"}}))
			if len(eps) != 1 {
				t.Fatalf("route entry points = %+v", eps)
			}
			if eps[0].Verdict != c.verdict || !strings.Contains(eps[0].Path, c.path) {
				t.Fatalf("got %s %q, want %s containing %q", eps[0].Verdict, eps[0].Path, c.verdict, c.path)
			}
		})
	}
}

// TestRefusedBackendFinding: AUDIT-013 names a cross-namespace backend no
// ReferenceGrant admits; a grant, or grants that could not be read, leave
// it out.
func TestRefusedBackendFinding(t *testing.T) {
	route := edge + edgeGateway + otherWeb + httpRoute("{name: edge, namespace: infra, sectionName: http}", "{name: api, namespace: other, port: 80}")
	cases := []struct {
		name   string
		yaml   string
		unread string
		want   int
	}{
		{name: "no grant", yaml: route, want: 1},
		{name: "granted", yaml: route + grantAPI},
		{name: "grants unread", yaml: route, unread: "other"},
		{name: "same namespace", yaml: edge + edgeGateway + httpRoute("{name: edge, namespace: infra, sectionName: http}", "{name: web, port: 80}")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := loadYAML(t, c.yaml)
			if c.unread != "" {
				m.MarkUnreadable("referencegrants", c.unread)
			}
			var got []Finding
			for _, f := range Audit(m, Options{Namespaces: []string{"app"}}).Findings {
				if f.ID == IDRefusedBackend {
					got = append(got, f)
				}
			}
			if len(got) != c.want || c.want == 1 && (got[0].Objects[0] != "httproute/web" || got[0].Objects[1] != "service/other/api" || !strings.Contains(got[0].Message, "no ReferenceGrant in other")) {
				t.Fatalf("got %+v, want %d", got, c.want)
			}
		})
	}
}

// TestUnreadRoutesAreUnknown: routes that could not be listed make an
// unspecified entry point per kind, never none.
func TestUnreadRoutesAreUnknown(t *testing.T) {
	m := loadYAML(t, app)
	m.MarkUnreadable("tcproutes", "")
	eps := routeEntries(Audit(m, Options{Namespaces: []string{"app"}}))
	if len(eps) != 1 || eps[0].Kind != "TCPRoute" || eps[0].Verdict != policy.Unspecified || !strings.Contains(eps[0].Path, "could not be read") {
		t.Fatalf("%+v", eps)
	}
}
