package read

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

func objects() []runtime.Object {
	return []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"team": "x"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a", Labels: map[string]string{"app": "web"}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "done", Namespace: "a"}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "b"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny", Namespace: "a"}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny", Namespace: "b"}},
	}
}

func TestLoadLive(t *testing.T) {
	cs := fake.NewClientset(objects()...)
	m, err := LoadLive(context.Background(), Clients{Kube: cs}, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Namespaces) != 2 || m.Namespace("a").Labels[model.MetadataNameLabel] != "a" || m.Namespace("a").Labels["team"] != "x" {
		t.Errorf("namespaces = %+v", m.Namespaces)
	}
	if len(m.Pods) != 2 || m.Pod("a", "done") != nil {
		t.Errorf("pods = %d (finished pods must be skipped)", len(m.Pods))
	}
	if len(m.Services) != 1 || len(m.Policies) != 2 || m.PoliciesPartial || len(m.Warnings) != 0 {
		t.Errorf("services %d policies %d partial %v warnings %v", len(m.Services), len(m.Policies), m.PoliciesPartial, m.Warnings)
	}
}

func forbidClusterWide(cs *fake.Clientset, resource string, alsoIn ...string) {
	cs.PrependReactor("list", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		ns := a.GetNamespace()
		if ns == "" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New("no cluster-wide list"))
		}
		for _, denied := range alsoIn {
			if ns == denied {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New("not here"))
			}
		}
		return false, nil, nil
	})
}

// A user confined to some namespaces gets answers for those and is told
// what could not be read.
func TestLoadLiveDegradesWhenForbidden(t *testing.T) {
	cs := fake.NewClientset(objects()...)
	forbidClusterWide(cs, "namespaces")
	forbidClusterWide(cs, "pods")
	forbidClusterWide(cs, "networkpolicies", "b")
	m, err := LoadLive(context.Background(), Clients{Kube: cs}, LiveOptions{Namespaces: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pods) != 2 {
		t.Errorf("pods read one by one: %d", len(m.Pods))
	}
	if m.Namespace("a").Labels["team"] != "x" {
		t.Error("namespace a should have been read with get")
	}
	if !m.PoliciesPartial || !m.PoliciesReadable("a") || m.PoliciesReadable("b") || m.PoliciesReadable("c") {
		t.Errorf("partial=%v read=%v", m.PoliciesPartial, m.PoliciesRead)
	}
	all := strings.Join(m.Warnings, "\n")
	for _, want := range []string{`RBAC does not allow "list" on "namespaces" cluster-wide`, `RBAC does not allow "list" on "pods" cluster-wide; read a, b one by one`, "forbidden in b"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}

func TestLoadLiveReportsOtherErrors(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("list", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	})
	_, err := LoadLive(context.Background(), Clients{Kube: cs}, LiveOptions{})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !strings.Contains(err.Error(), "cannot list namespaces: dial tcp") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadLiveReadsClusterTiersAndFindsOtherLayers(t *testing.T) {
	cs := fake.NewClientset(append(objects(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a"}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "198.51.100.7"}, {Type: corev1.NodeHostName, Address: "n1"}}}})...)
	disc := cs.Discovery().(*fakediscovery.FakeDiscovery)
	disc.Resources = []*metav1.APIResourceList{
		{GroupVersion: "policy.networking.k8s.io/v1alpha1", APIResources: []metav1.APIResource{
			{Name: "adminnetworkpolicies", Kind: "AdminNetworkPolicy"},
			{Name: "baselineadminnetworkpolicies", Kind: "BaselineAdminNetworkPolicy"},
		}},
		// One object served in two versions is read once, in the newer.
		{GroupVersion: "policy.networking.k8s.io/v1alpha2", APIResources: []metav1.APIResource{{Name: "clusternetworkpolicies", Kind: "ClusterNetworkPolicy"}}},
		{GroupVersion: "policy.networking.k8s.io/v1beta1", APIResources: []metav1.APIResource{{Name: "clusternetworkpolicies", Kind: "ClusterNetworkPolicy"}}},
		{GroupVersion: "cilium.io/v2", APIResources: []metav1.APIResource{{Name: "ciliumnetworkpolicies", Kind: "CiliumNetworkPolicy", Namespaced: true}}},
	}
	anp := schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "adminnetworkpolicies"}
	banp := schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "baselineadminnetworkpolicies"}
	cnpAlpha := schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha2", Resource: "clusternetworkpolicies"}
	cnpBeta := schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1beta1", Resource: "clusternetworkpolicies"}
	cilium := schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumnetworkpolicies"}
	anpObj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": map[string]any{"name": "guardrails"},
		"spec": map[string]any{"priority": int64(10), "subject": map[string]any{"namespaces": map[string]any{}},
			"egress": []any{map[string]any{"action": "Deny", "to": []any{map[string]any{"nodes": map[string]any{}}}}}},
	}}
	cnpObj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "policy.networking.k8s.io/v1beta1", "kind": "ClusterNetworkPolicy", "metadata": map[string]any{"name": "baseline"},
		"spec": map[string]any{"tier": "Baseline", "priority": int64(5), "subject": map[string]any{"namespaces": map[string]any{}},
			"ingress": []any{map[string]any{"action": "Deny", "from": []any{map[string]any{"namespaces": map[string]any{}}}}}},
	}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		anp: "AdminNetworkPolicyList", banp: "BaselineAdminNetworkPolicyList", cnpAlpha: "ClusterNetworkPolicyList", cnpBeta: "ClusterNetworkPolicyList", cilium: "CiliumNetworkPolicyList",
	}, anpObj, cnpObj)
	dyn.PrependReactor("list", "ciliumnetworkpolicies", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "cilium.io", Resource: "ciliumnetworkpolicies"}, "", errors.New("no"))
	})
	m, err := LoadLive(context.Background(), Clients{Kube: cs, Discovery: disc, Dynamic: dyn}, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The tiers are read; Cilium's policies, refused, leave the verdicts
	// they could decide unspecified.
	if !slices.Equal(m.OtherLayers, []string{"CiliumNetworkPolicy (unreadable)"}) {
		t.Errorf("other layers = %v, want only the unreadable Cilium policies", m.OtherLayers)
	}
	var refs []string
	for _, p := range m.ClusterPolicies {
		refs = append(refs, fmt.Sprintf("%s %s %d problems=%v", p.Ref(), p.Tier, p.Priority, p.Problems))
	}
	if want := "AdminNetworkPolicy/guardrails admin 10 problems=[]|ClusterNetworkPolicy/baseline baseline 5 problems=[]"; strings.Join(refs, "|") != want {
		t.Errorf("cluster policies = %q, want %q", strings.Join(refs, "|"), want)
	}
	if len(m.Nodes) != 1 || m.Nodes[0].Addresses[0].String() != "198.51.100.7" || len(m.Nodes[0].Addresses) != 1 {
		t.Errorf("nodes = %+v (read because a policy has a nodes peer; the hostname is no address)", m.Nodes)
	}
	if !strings.Contains(strings.Join(m.Warnings, "\n"), `RBAC does not allow "list" on "ciliumnetworkpolicies.cilium.io" cluster-wide; verdicts are unspecified`) || m.Cilium == nil {
		t.Errorf("warnings = %v", m.Warnings)
	}
}

// A tier that exists but cannot be read leaves every verdict unspecified:
// any pod may be its subject.
func TestLoadLiveUnreadableClusterTierMakesVerdictsUnspecified(t *testing.T) {
	cs := fake.NewClientset(objects()...)
	disc := cs.Discovery().(*fakediscovery.FakeDiscovery)
	disc.Resources = []*metav1.APIResourceList{{GroupVersion: "policy.networking.k8s.io/v1alpha1", APIResources: []metav1.APIResource{{Name: "adminnetworkpolicies", Kind: "AdminNetworkPolicy"}}}}
	anp := schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "adminnetworkpolicies"}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{anp: "AdminNetworkPolicyList"})
	dyn.PrependReactor("list", "adminnetworkpolicies", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "policy.networking.k8s.io", Resource: "adminnetworkpolicies"}, "", errors.New("no"))
	})
	m, err := LoadLive(context.Background(), Clients{Kube: cs, Discovery: disc, Dynamic: dyn}, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ClusterPoliciesUnreadable(); len(got) != 1 || got[0] != "adminnetworkpolicies" {
		t.Fatalf("unreadable = %v", got)
	}
	if !strings.Contains(strings.Join(m.Warnings, "\n"), `RBAC does not allow "list" on "adminnetworkpolicies.policy.networking.k8s.io" cluster-wide: they can decide any flow, so verdicts are unspecified`) {
		t.Errorf("warnings = %v", m.Warnings)
	}
	e := policy.New(m)
	for _, from := range m.Pods {
		for _, to := range m.Pods {
			if r := e.Evaluate(policy.Flow{From: policy.PodEndpoint(from), To: policy.PodEndpoint(to), Port: 80}, false); from != to && r.Verdict != policy.Unspecified {
				t.Fatalf("%s -> %s: %s, want unspecified", from.Key(), to.Key(), r.Verdict)
			}
		}
	}
}
