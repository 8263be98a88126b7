package read

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
)

// Live: Cilium's CRDs served make Cilium the enforcer; its policies, the
// cilium-config keys that change verdicts and the agent's version are
// read.
func TestLoadLiveReadsCilium(t *testing.T) {
	objs := append(objects(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cilium-config", Namespace: "kube-system"},
			Data: map[string]string{"enable-policy": "always", "cluster-name": "x"}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "cilium", Namespace: "kube-system"},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "cilium-agent", Image: "quay.example/cilium/cilium:v1.16.5@sha256:abc"}}}}}})
	cs := fake.NewClientset(objs...)
	disc := cs.Discovery().(*fakediscovery.FakeDiscovery)
	disc.Resources = []*metav1.APIResourceList{{GroupVersion: "cilium.io/v2", APIResources: []metav1.APIResource{
		{Name: "ciliumnetworkpolicies", Kind: "CiliumNetworkPolicy", Namespaced: true},
		{Name: "ciliumclusterwidenetworkpolicies", Kind: "CiliumClusterwideNetworkPolicy"}}}}
	cnp := schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumnetworkpolicies"}
	ccnp := schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumclusterwidenetworkpolicies"}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": map[string]any{"name": "web", "namespace": "a"},
		"specs": []any{map[string]any{"endpointSelector": map[string]any{}, "ingress": []any{map[string]any{"fromEntities": []any{"world"}}}}},
	}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		cnp: "CiliumNetworkPolicyList", ccnp: "CiliumClusterwideNetworkPolicyList"}, obj)
	m, err := LoadLive(context.Background(), Clients{Kube: cs, Discovery: disc, Dynamic: dyn}, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Cilium == nil || m.Cilium.Version != "1.16.5" || !m.Cilium.ConfigRead || m.Cilium.Config["enable-policy"] != "always" || len(m.Cilium.Config) != 1 {
		t.Errorf("cilium = %+v", m.Cilium)
	}
	if len(m.CiliumPolicies) != 1 || m.CiliumPolicies[0].Ref() != "CiliumNetworkPolicy/a/web" || len(m.CiliumPolicies[0].Rules) != 1 || len(m.OtherLayers) != 0 {
		t.Errorf("policies = %+v, other layers %v", m.CiliumPolicies, m.OtherLayers)
	}
}

// Files: spec and specs, refusals as the agent's, the ConfigMap.
func TestLoadFilesCilium(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	doc := `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: both}
spec:
  endpointSelector: {}
  egress: [{toEntities: [world]}]
specs:
- endpointSelector: {matchLabels: {app: x}}
  ingress: [{fromCIDRSet: [{cidr: 198.51.100.0/24, except: [198.51.100.0/28]}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: bad}
spec:
  endpointSelector: {}
  egress: [{toEndpoints: [{}], toCIDR: [198.51.100.1], toPorts: [{ports: [{port: "80", protocol: UDP}], rules: {http: [{}]}}]}]
  egressDeny: [{toEntities: [galaxy]}]
  bogus: 1
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cilium-config, namespace: kube-system}
data: {policy-cidr-match-mode: nodes, debug: "true"}
`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := LoadFiles([]string{path}, nil, "team")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.CiliumPolicies) != 2 || len(m.CiliumPolicies[0].Rules) != 2 || m.CiliumPolicies[1].Namespace != "team" {
		t.Fatalf("policies = %+v", m.CiliumPolicies)
	}
	problems := strings.Join(m.CiliumPolicies[1].Problems, "\n")
	for _, want := range []string{"combining ToEndpoints and ToCIDR", "L7 rules can only apply to TCP", "unsupported entity: galaxy"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems %q lack %q", problems, want)
		}
	}
	warnings := strings.Join(m.Warnings, "\n")
	if !strings.Contains(warnings, "bogus") || !strings.Contains(warnings, "is refused by Cilium's agent") {
		t.Errorf("warnings = %s", warnings)
	}
	if m.Cilium == nil || m.Cilium.Config["policy-cidr-match-mode"] != "nodes" || len(m.Cilium.Config) != 1 {
		t.Errorf("cilium = %+v", m.Cilium)
	}
}

func TestCiliumImageVersion(t *testing.T) {
	for image, want := range map[string]string{
		"quay.example/cilium/cilium:v1.16.5@sha256:1": "1.16.5", "cilium:1.19.0": "1.19.0",
		"registry:5000/cilium/cilium": "", "registry:5000/cilium/cilium@sha256:1": "",
	} {
		if got := ciliumImageVersion(image); got != want {
			t.Errorf("%s: %q, want %q", image, got, want)
		}
	}
}
