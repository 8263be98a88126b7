package read

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

const gatewayFiles = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: eg
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - {name: tls, port: 443, protocol: TLS}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: edge, namespace: infra, sectionName: http}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web, port: 80}, {name: api, namespace: other, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: db, namespace: shop}
spec:
  parentRefs: [{name: edge, namespace: infra, port: 5432}]
  rules: [{backendRefs: [{name: db, port: 5432}]}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-shop, namespace: other}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}]
  to: [{group: "", kind: Service, name: api}]
`

// Files: Gateways, routes (defaults of their references filled as the
// API does) and ReferenceGrants.
func TestLoadFilesGatewayAPI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(path, []byte(gatewayFiles), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := LoadFiles([]string{path}, nil, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Gateways) != 1 || m.Gateways[0].Key() != "infra/edge" || len(m.Gateways[0].Listeners) != 2 ||
		m.Gateways[0].Listeners[0].From != "All" || m.Gateways[0].Listeners[1].From != "Same" {
		t.Fatalf("gateways = %+v", m.Gateways)
	}
	if len(m.Routes) != 2 {
		t.Fatalf("routes = %+v", m.Routes)
	}
	http := m.Routes[0]
	if http.Kind != "HTTPRoute" || http.Key() != "shop/web" || http.Parents[0].Kind != "Gateway" || http.Parents[0].Section != "http" ||
		len(http.Backends) != 2 || !http.Backends[0].IsService() || http.Backends[0].Namespace != "shop" || http.Backends[1].Namespace != "other" {
		t.Errorf("HTTPRoute = %+v", http)
	}
	if tcp := m.Routes[1]; tcp.Kind != "TCPRoute" || tcp.Parents[0].Port != 5432 || tcp.Backends[0].Port != 5432 {
		t.Errorf("TCPRoute = %+v", tcp)
	}
	if len(m.ReferenceGrants) != 1 || !m.ReferenceGrants[0].Grants("HTTPRoute", "shop", "api") || m.ReferenceGrants[0].Grants("HTTPRoute", "shop", "db") ||
		m.ReferenceGrants[0].Grants("TCPRoute", "shop", "api") {
		t.Errorf("grants = %+v", m.ReferenceGrants)
	}
}

var (
	httpRoutesV1 = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	gatewaysV1   = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
)

func gatewayDiscovery(cs *fake.Clientset) *fakediscovery.FakeDiscovery {
	disc := cs.Discovery().(*fakediscovery.FakeDiscovery)
	disc.Resources = []*metav1.APIResourceList{
		{GroupVersion: "gateway.networking.k8s.io/v1beta1", APIResources: []metav1.APIResource{{Name: "httproutes", Kind: "HTTPRoute", Namespaced: true}}},
		{GroupVersion: "gateway.networking.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "httproutes", Kind: "HTTPRoute", Namespaced: true}, {Name: "gateways", Kind: "Gateway", Namespaced: true}}},
	}
	return disc
}

func gatewayDynamic(reactor k8stesting.ReactionFunc) *dynamicfake.FakeDynamicClient {
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": map[string]any{"name": "web", "namespace": "a"},
		"spec": map[string]any{"parentRefs": []any{map[string]any{"name": "edge"}}, "rules": []any{map[string]any{"backendRefs": []any{map[string]any{"name": "web", "port": int64(80)}}}}},
	}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		httpRoutesV1: "HTTPRouteList", gatewaysV1: "GatewayList"}, route)
	if reactor != nil {
		dyn.PrependReactor("list", "httproutes", reactor)
	}
	return dyn
}

// Live: the Gateway API is listed only for audit, in its most stable
// version served; what cannot be listed or discovered is unreadable,
// never none.
func TestLoadLiveGatewayAPI(t *testing.T) {
	forbidden := func(ns string) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "httproutes"}, "", errors.New(ns))
	}
	tests := []struct {
		name        string
		opts        LiveOptions
		reactor     k8stesting.ReactionFunc
		discoverErr error
		routes      int
		unreadable  map[string]bool // namespace → httproutes unreadable there
	}{
		{name: "listed", opts: LiveOptions{Ingresses: true}, routes: 1, unreadable: map[string]bool{"a": false}},
		{name: "not asked", opts: LiveOptions{}, routes: 0, unreadable: map[string]bool{"a": false}},
		{name: "refused cluster-wide, read in a", opts: LiveOptions{Ingresses: true, Namespaces: []string{"a", "b"}},
			reactor: func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetNamespace() == "" || a.GetNamespace() == "b" {
					return true, nil, forbidden(a.GetNamespace())
				}
				return false, nil, nil
			}, routes: 1, unreadable: map[string]bool{"a": false, "b": true}},
		{name: "failed", opts: LiveOptions{Ingresses: true, Namespaces: []string{"a"}},
			reactor: func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, errors.New("connection reset")
			},
			routes: 0, unreadable: map[string]bool{"a": true}},
		{name: "discovery failed for the group", opts: LiveOptions{Ingresses: true},
			discoverErr: &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{{Group: "gateway.networking.k8s.io", Version: "v1"}: errors.New("503")}},
			routes:      0, unreadable: map[string]bool{"a": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(objects()...)
			disc := gatewayDiscovery(cs)
			l := &liveLoader{ctx: context.Background(), c: Clients{Kube: cs, Discovery: disc, Dynamic: gatewayDynamic(tt.reactor)}, opts: tt.opts, refused: map[string]bool{}}
			l.m = l.mustBuild(t)
			if tt.opts.Ingresses {
				l.gatewayAPI(disc.Resources, tt.discoverErr)
			}
			if len(l.m.Routes) != tt.routes {
				t.Fatalf("routes = %+v, want %d", l.m.Routes, tt.routes)
			}
			for ns, want := range tt.unreadable {
				if got := l.m.CouldNotRead("httproutes", ns); got != want {
					t.Errorf("httproutes unreadable in %s = %v, want %v (warnings %v)", ns, got, want, l.m.Warnings)
				}
			}
		})
	}
}

// Through LoadLive: served and listed, the route's references defaulted.
func TestLoadLiveGatewayAPIThroughLoadLive(t *testing.T) {
	cs := fake.NewClientset(objects()...)
	m, err := LoadLive(context.Background(), Clients{Kube: cs, Discovery: gatewayDiscovery(cs), Dynamic: gatewayDynamic(nil)}, LiveOptions{Ingresses: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Routes) != 1 || m.Routes[0].Parents[0].Namespace != "a" || m.Routes[0].Backends[0].Name != "web" || m.Routes[0].Backends[0].Port != 80 {
		t.Fatalf("routes = %+v", m.Routes)
	}
}

// mustBuild lists the core objects for a test of one layer's reader.
func (l *liveLoader) mustBuild(t *testing.T) *model.Model {
	t.Helper()
	m, err := LoadLive(l.ctx, Clients{Kube: l.c.Kube}, l.opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
