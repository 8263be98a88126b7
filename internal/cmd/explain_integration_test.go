//go:build integration

package cmd

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
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
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

func clientsFor(t *testing.T, cfg *rest.Config) read.Clients {
	t.Helper()
	c, err := read.NewClients(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Config = nil // as the tests were written: no exec through Config
	return c
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

// The cluster-scoped tiers on a real API server: ClusterNetworkPolicy
// through upstream's own CRD (its validation included), an
// AdminNetworkPolicy beside it, and a user who may not read them.
func TestIntegrationExplainClusterTiers(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	nsA, nsB := seed(t, ctx, cs, "tiers")
	ext := apiextensionsclient.NewForConfigOrDie(env.Config)
	preserve := true
	anpCRD := &apiextensionsv1.CustomResourceDefinition{
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
	for _, crd := range []*apiextensionsv1.CustomResourceDefinition{anpCRD, upstreamCRD(t, "policy.networking.k8s.io_clusternetworkpolicies.yaml")} {
		if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		name := crd.Name
		t.Cleanup(func() {
			_ = ext.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	create := func(gvr schema.GroupVersionResource, obj map[string]any) {
		t.Helper()
		u := &unstructured.Unstructured{Object: obj}
		var last error
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			_, last = dyn.Resource(gvr).Create(ctx, u, metav1.CreateOptions{})
			return last == nil, nil
		}); err != nil {
			t.Fatalf("create %s: %v (%v)", u.GetName(), err, last)
		}
		t.Cleanup(func() { _ = dyn.Resource(gvr).Delete(context.Background(), u.GetName(), metav1.DeleteOptions{}) })
	}
	cnp := schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1beta1", Resource: "clusternetworkpolicies"}
	create(cnp, map[string]any{"apiVersion": "policy.networking.k8s.io/v1beta1", "kind": "ClusterNetworkPolicy", "metadata": map[string]any{"name": "guard"},
		"spec": map[string]any{"tier": "Admin", "priority": int64(5),
			"subject": map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": nsB}}},
			"ingress": []any{map[string]any{"name": "no-http-from-a", "action": "Deny",
				"from":      []any{map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": nsA}}}},
				"protocols": []any{map[string]any{"tcp": map[string]any{"destinationPort": map[string]any{"number": int64(3001)}}}}}}}})

	// The admin tier denies what the namespace's NetworkPolicy allows.
	r := run(t, "explain", "--kubeconfig", env.Kubeconfig, nsA, nsB, "-o", "json")
	var doc output.ExplainResult
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	for _, v := range doc.Verdicts {
		switch v.PortName {
		case "http":
			if v.Verdict != "denied" || v.Ingress.Tier != "admin" || v.Ingress.Admin == nil || v.Ingress.Admin.Name != "guard" || v.Ingress.Admin.RuleName != "no-http-from-a" || !strings.Contains(r.stdout, "AdminOverridesNetworkPolicy") {
				t.Errorf("http: %+v\ningress %+v", v, v.Ingress)
			}
		case "metrics":
			if v.Verdict != "denied" || v.Ingress.Tier != "networkpolicy" {
				t.Errorf("metrics: %+v", v.Ingress)
			}
		}
	}

	// doctor: the objects exist, and kube-router does not enforce them.
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "kube-router", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-router"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "kube-router"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-router", Image: "kube-router:v2.1.0"}}}}}}
	if _, err := cs.AppsV1().DaemonSets("kube-system").Create(ctx, ds, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AppsV1().DaemonSets("kube-system").Delete(context.Background(), "kube-router", metav1.DeleteOptions{})
	})
	dr := run(t, "doctor", "--kubeconfig", env.Kubeconfig, "-o", "json")
	if severityOf(findingsOf(t, dr), "TIER-001") != "warn" || !strings.Contains(dr.stdout, "kube-router v2.1.0 does not enforce ClusterNetworkPolicy") {
		t.Errorf("doctor: %s", dr.stdout)
	}

	// An AdminNetworkPolicy at the same time: the API does not order the
	// two generations, so where they disagree nothing is certain.
	anp := schema.GroupVersionResource{Group: "policy.networking.k8s.io", Version: "v1alpha1", Resource: "adminnetworkpolicies"}
	create(anp, map[string]any{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy", "metadata": map[string]any{"name": "allow-a"},
		"spec": map[string]any{"priority": int64(1),
			"subject": map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": nsB}}},
			"ingress": []any{map[string]any{"action": "Allow", "from": []any{map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": nsA}}}}}}}})
	r = run(t, "explain", "--kubeconfig", env.Kubeconfig, nsA, nsB, "-o", "json")
	if got := verdicts(t, r); got["http"] != "unspecified" || got["metrics"] != "allowed" || !strings.Contains(r.stdout, "UndefinedOrder") {
		t.Errorf("both generations: %v\n%s", got, r.stdout)
	}

	// A user who may read everything but the tiers gets no false answer.
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "reader-without-tiers"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces", "pods", "services"}, Verbs: []string{"list"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"list"}},
		},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "carol-reader-without-tiers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "reader-without-tiers"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "carol"}},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	r = runUntil(t, as(t, env, "carol"), func(r result) bool { return r.code == 0 }, "explain", nsA, nsB, "-o", "json")
	if got := verdicts(t, r); got["http"] != "unspecified" || got["metrics"] != "unspecified" {
		t.Errorf("without the tiers: %v\n%s", got, r.stdout)
	}
	if !strings.Contains(r.stderr, `RBAC does not allow "list" on "adminnetworkpolicies.policy.networking.k8s.io" cluster-wide`) {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// upstreamCRD reads a CRD shipped with sigs.k8s.io/network-policy-api (the
// module this build uses), so the test runs against its real validation.
func upstreamCRD(t *testing.T, file string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/network-policy-api").Output()
	if err != nil {
		t.Fatalf("go list -m sigs.k8s.io/network-policy-api: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard", file))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := sigsyaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	return &crd
}

// Calico's policies read live from its CRDs (as felix reads them with no
// Calico API server): a GlobalNetworkPolicy denies what the namespace's
// NetworkPolicy would allow, at an order before the Kubernetes policies.
func TestIntegrationExplainCalico(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	nsA, nsB := seed(t, ctx, cs, "calico")
	ext := apiextensionsclient.NewForConfigOrDie(env.Config)
	preserve := true
	crd := func(plural, kind string, scope apiextensionsv1.ResourceScope) *apiextensionsv1.CustomResourceDefinition {
		return &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + ".crd.projectcalico.org"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "crd.projectcalico.org", Scope: scope,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind, ListKind: kind + "List"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}}}},
			},
		}
	}
	for _, c := range []*apiextensionsv1.CustomResourceDefinition{
		crd("globalnetworkpolicies", "GlobalNetworkPolicy", apiextensionsv1.ClusterScoped),
		crd("networkpolicies", "NetworkPolicy", apiextensionsv1.NamespaceScoped),
	} {
		if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, c, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		name := c.Name
		t.Cleanup(func() {
			_ = ext.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	gnp := schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "globalnetworkpolicies"}
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
		"metadata": map[string]any{"name": "default.no-http-from-a"},
		"spec": map[string]any{"order": float64(100), "selector": "app == 'server'", "types": []any{"Ingress"},
			"ingress": []any{map[string]any{"action": "Deny", "protocol": "TCP",
				"source":      map[string]any{"namespaceSelector": "projectcalico.org/name == '" + nsA + "'"},
				"destination": map[string]any{"ports": []any{"http"}}}}}}}
	var last error
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, last = dyn.Resource(gnp).Create(ctx, obj, metav1.CreateOptions{})
		return last == nil, nil
	}); err != nil {
		t.Fatalf("create: %v (%v)", err, last)
	}
	t.Cleanup(func() { _ = dyn.Resource(gnp).Delete(context.Background(), obj.GetName(), metav1.DeleteOptions{}) })

	r := run(t, "explain", "--kubeconfig", env.Kubeconfig, nsA, nsB, "-o", "json")
	var doc output.ExplainResult
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	for _, v := range doc.Verdicts {
		switch v.PortName {
		case "http": // allowed by allow-from-a, denied first by the GlobalNetworkPolicy
			if v.Verdict != "denied" || v.Ingress.Calico == nil || v.Ingress.Calico.Name != "default.no-http-from-a" || v.Ingress.Calico.Action != "Deny" {
				t.Errorf("http: %s %+v", v.Verdict, v.Ingress.Calico)
			}
		case "metrics": // isolated by deny-all (a Kubernetes policy at order 1000): the end of the tier
			if v.Verdict != "denied" || v.Ingress.Calico == nil || v.Ingress.Calico.Action != "EndOfTier" {
				t.Errorf("metrics: %s %+v", v.Verdict, v.Ingress.Calico)
			}
		}
	}
	if strings.Contains(r.stderr, "other policy layers") {
		t.Errorf("Calico's policies are decided, not another layer:\n%s", r.stderr)
	}
}

// The EKS agent's own ClusterNetworkPolicy, read live from its CRD on a
// real API server: decided as the agent does (the Deny of the same
// priority wins over the Accept listed first), and the agent's mode, with
// no aws-node DaemonSet to read it from, unknown rather than standard.
func TestIntegrationExplainEKSClusterNetworkPolicy(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	nsA, nsB := seed(t, ctx, cs, "eks")
	ext := apiextensionsclient.NewForConfigOrDie(env.Config)
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "clusternetworkpolicies.networking.k8s.aws"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "networking.k8s.aws", Scope: apiextensionsv1.ClusterScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "clusternetworkpolicies", Singular: "clusternetworkpolicy", Kind: "ClusterNetworkPolicy", ListKind: "ClusterNetworkPolicyList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1alpha1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}}}},
		},
	}
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ext.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), crd.Name, metav1.DeleteOptions{})
		// The next test must not see the group served (it would read the
		// agent's mode as unknown).
		_ = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			_, err := cs.Discovery().ServerResourcesForGroupVersion("networking.k8s.aws/v1alpha1")
			return apierrors.IsNotFound(err), nil
		})
	})
	gvr := schema.GroupVersionResource{Group: "networking.k8s.aws", Version: "v1alpha1", Resource: "clusternetworkpolicies"}
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "networking.k8s.aws/v1alpha1", "kind": "ClusterNetworkPolicy",
		"metadata": map[string]any{"name": "tenant-guard"},
		"spec": map[string]any{"tier": "Admin", "priority": int64(10), "subject": map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"team": "eks"}}},
			"ingress": []any{
				map[string]any{"name": "from-a", "action": "Accept", "from": []any{map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": nsA}}}}},
				map[string]any{"name": "deny-rest", "action": "Deny", "from": []any{map[string]any{"namespaces": map[string]any{}}}},
			}}}}
	var last error
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, last = dyn(env).Resource(gvr).Create(ctx, obj, metav1.CreateOptions{})
		return last == nil, nil
	}); err != nil {
		t.Fatalf("create: %v (%v)", err, last)
	}
	t.Cleanup(func() { _ = dyn(env).Resource(gvr).Delete(context.Background(), obj.GetName(), metav1.DeleteOptions{}) })

	r := run(t, "explain", "--kubeconfig", env.Kubeconfig, nsA, nsB, "-o", "json")
	var doc output.ExplainResult
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	for _, v := range doc.Verdicts {
		in := v.Ingress
		if v.Verdict != "denied" || in == nil || in.Admin == nil || in.Admin.Kind != "ClusterNetworkPolicy.networking.k8s.aws" || in.Admin.RuleName != "deny-rest" {
			t.Errorf("%s: %s ingress %+v", v.PortName, v.Verdict, in)
			continue
		}
		if v.Egress == nil || v.Egress.Verdict != "unspecified" || v.Egress.Tier != "strict-mode" {
			t.Errorf("%s: the client's egress (no NetworkPolicy selects it, mode unknown) = %+v", v.PortName, v.Egress)
		}
		hinted := false
		for _, h := range v.Hints {
			hinted = hinted || h.Code == "EKSRuleOrderIgnored"
		}
		if !hinted {
			t.Errorf("%s: hints %+v", v.PortName, v.Hints)
		}
	}
	if !strings.Contains(r.stderr, "no aws-node DaemonSet") || strings.Contains(r.stderr, "other policy layers") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func dyn(env *testenv.Env) dynamic.Interface { return dynamic.NewForConfigOrDie(env.Config) }
