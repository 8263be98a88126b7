//go:build integration

package cmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

func clientsFor(t *testing.T, cfg *rest.Config) read.Clients {
	t.Helper()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return read.Clients{Kube: kube, Discovery: kube.Discovery(), Dynamic: dyn, Metadata: meta}
}

// seed creates namespaces, running pods (status written as the kubelet
// would), a Service and policies: a -> b allowed on http only.
func seed(t *testing.T, ctx context.Context, cs kubernetes.Interface, prefix string) (nsA, nsB string) {
	t.Helper()
	nsA, nsB = prefix+"-a", prefix+"-b"
	for _, ns := range []string{nsA, nsB} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": prefix}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, ns := range []string{nsA, nsB} {
			_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	pod := func(ns, name, app, ip string, ports ...corev1.ContainerPort) {
		p, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "lab.local/sampleapp:1", Ports: ports}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod(nsA, "client", "client", "198.18.0.10")
	pod(nsB, "server", "server", "198.18.0.20", corev1.ContainerPort{Name: "http", ContainerPort: 3001}, corev1.ContainerPort{Name: "metrics", ContainerPort: 8080})
	if _, err := cs.CoreV1().Services(nsB).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "server"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "server"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	http := intstr.FromInt32(3001)
	for _, np := range []*networkingv1.NetworkPolicy{
		{ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: nsB}, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "allow-from-a", Namespace: nsB}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "server"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": nsA}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: &http}},
			}},
		}},
	} {
		if _, err := cs.NetworkingV1().NetworkPolicies(np.Namespace).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return nsA, nsB
}

func verdicts(t *testing.T, r result) map[string]string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc output.ExplainResult
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	out := map[string]string{}
	for _, v := range doc.Verdicts {
		out[v.PortName] = string(v.Verdict)
	}
	return out
}

func TestIntegrationExplainLive(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	nsA, nsB := seed(t, ctx, cs, "live")

	// Through the real kubeconfig flags, as a user runs it.
	r := run(t, "explain", "--kubeconfig", env.Kubeconfig, nsA, nsB+"/svc/server:80", "-o", "json")
	if got := verdicts(t, r); got["http"] != "allowed" {
		t.Errorf("via Service: %v\n%s", got, r.stdout)
	}
	r = run(t, "explain", "--kubeconfig", env.Kubeconfig, nsA, nsB, "-o", "json")
	if got := verdicts(t, r); got["http"] != "allowed" || got["metrics"] != "denied" {
		t.Errorf("all ports: %v", got)
	}
	r = run(t, "explain", "--kubeconfig", env.Kubeconfig, nsB, nsA+":9999", "--expect", "denied")
	if r.code != 0 {
		t.Errorf("egress of %s is isolated by deny-all: exit %d %s %s", nsB, r.code, r.stdout, r.stderr)
	}
}

// A user with a namespaced Role only: explain reads the namespaces of the
// question one by one and says what it could not read.
func TestIntegrationExplainConfinedUser(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	nsA, nsB := seed(t, ctx, cs, "rbac")
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "namespace-reader"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "services"}, Verbs: []string{"list"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"list"}},
		},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// Bound per namespace: a confined user, no cluster-wide list.
	for _, ns := range []string{nsA, nsB} {
		bind(t, cs, "alice", "namespace-reader", ns)
	}
	r := runUntil(t, as(t, env, "alice"), func(r result) bool { return r.code == 0 }, "explain", nsA, nsB+":http", "-o", "json")
	if got := verdicts(t, r); got["http"] != "allowed" {
		t.Errorf("confined user: %v", got)
	}
	for _, want := range []string{`RBAC does not allow "list" on "namespaces" cluster-wide`, `RBAC does not allow "list" on "pods" cluster-wide`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	// A user with no rights at all is told which verb and resource.
	r = runWithClients(t, clientsFor(t, as(t, env, "bob")), "explain", nsA, nsB+":http")
	if r.code == 0 || !strings.Contains(r.stderr, `RBAC does not allow "list" on "pods"`) {
		t.Errorf("bob: exit %d\n%s", r.code, r.stderr)
	}
}

// With AdminNetworkPolicies present, NetworkPolicy alone decides nothing.
func TestIntegrationExplainOtherLayers(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	nsA, nsB := seed(t, ctx, cs, "layers")
	ext := apiextensionsclient.NewForConfigOrDie(env.Config)
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "adminnetworkpolicies.policy.networking.k8s.io",
			// *.k8s.io groups need an approval annotation, as upstream's CRD has.
			Annotations: map[string]string{"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/network-policy-api/pull/30"}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "policy.networking.k8s.io", Scope: apiextensionsv1.ClusterScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "adminnetworkpolicies", Singular: "adminnetworkpolicy", Kind: "AdminNetworkPolicy", ListKind: "AdminNetworkPolicyList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1alpha1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}}}},
		},
	}
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ext.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), crd.Name, metav1.DeleteOptions{})
	})
	dyn := dynamic.NewForConfigOrDie(env.Config)
	gvr := schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "adminnetworkpolicies"}
	anp := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
		"metadata": map[string]any{"name": "cluster-guard"}, "spec": map[string]any{"priority": int64(10)}}}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, err := dyn.Resource(gvr).Create(ctx, anp, metav1.CreateOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("create AdminNetworkPolicy: %v", err)
	}
	r := run(t, "explain", "--kubeconfig", env.Kubeconfig, nsA, nsB+":http", "-o", "json")
	if got := verdicts(t, r); got["http"] != "unspecified" || !strings.Contains(r.stdout, "OtherPolicyLayers") {
		t.Errorf("with an AdminNetworkPolicy: %v\n%s", got, r.stdout)
	}
	_ = dyn.Resource(gvr).Delete(ctx, "cluster-guard", metav1.DeleteOptions{})
}
