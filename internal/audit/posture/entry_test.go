package posture

import (
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// front is the app namespace behind an ingress-nginx controller exposed by
// a LoadBalancer Service (client addresses kept), and an Ingress to web.
const front = app + `---
apiVersion: v1
kind: Namespace
metadata: {name: ingress, labels: {name: ingress}}
---
apiVersion: v1
kind: Pod
metadata: {name: controller-1, namespace: ingress, labels: {app.kubernetes.io/name: ingress-nginx}}
spec:
  containers: [{name: c, image: nginx, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: ingress-nginx, namespace: ingress}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app.kubernetes.io/name: ingress-nginx}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: app}
spec:
  rules: [{host: web.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}]}}]
`

const fromController = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-ingress, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {name: ingress}}, podSelector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}}], ports: [{port: http}]}]
`

var controller = &IngressController{Namespace: "ingress", PodLabels: map[string]string{"app.kubernetes.io/name": "ingress-nginx"}}

func ingressEntry(t *testing.T, doc *Document) EntryPoint {
	t.Helper()
	for _, ep := range doc.EntryPoints {
		if ep.Kind == "Ingress" {
			return ep
		}
	}
	t.Fatalf("no Ingress entry point: %+v", doc.EntryPoints)
	return EntryPoint{}
}

// TestIngressPath decides both hops: outside → controller (through its
// LoadBalancer) and controller → web on the Service's target port.
func TestIngressPath(t *testing.T) {
	scope := Options{Namespaces: []string{"app", "ingress"}, IngressController: controller}
	denied := ingressEntry(t, Audit(loadYAML(t, front), scope))
	if denied.Verdict != policy.Denied || denied.Backends[0].Port != 8080 {
		t.Fatalf("deny-all in app: %+v", denied)
	}
	open := ingressEntry(t, Audit(loadYAML(t, front+fromController), scope))
	if open.Verdict != policy.Allowed || !strings.Contains(open.Path, "via LoadBalancer svc/ingress-nginx:80") || !strings.HasSuffix(open.Path, "app/web-1:8080: allowed") {
		t.Fatalf("allowed from the controller: %+v", open)
	}
	unknown := ingressEntry(t, Audit(loadYAML(t, front+fromController), Options{Namespaces: scope.Namespaces}))
	if unknown.Verdict != policy.Unspecified {
		t.Fatalf("no controller known: %+v", unknown)
	}
}

// TestUnreadIngressesAreUnknown: Ingresses that could not be listed make
// an unspecified entry point, never none.
func TestUnreadIngressesAreUnknown(t *testing.T) {
	m := loadYAML(t, app)
	m.MarkUnreadable("ingresses", "app")
	ep := ingressEntry(t, Audit(m, Options{Namespaces: []string{"app"}, IngressController: controller}))
	if ep.Verdict != policy.Unspecified || !strings.Contains(ep.Path, "could not be read") {
		t.Fatalf("%+v", ep)
	}
}
