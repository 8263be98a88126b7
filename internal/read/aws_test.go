package read

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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

const awsDoc = `apiVersion: networking.k8s.aws/v1alpha1
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {team: x}}}
  ingress: [{name: no-b, action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: b}}}], ports: [{portNumber: {port: 80}}]}]
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Accept, from: [{namespaces: {}}]}]
`

// The EKS agent's kind and the upstream kind of the same name are two
// objects, each read in its own API group.
func TestLoadFilesReadsTheEKSClusterNetworkPolicy(t *testing.T) {
	m, err := LoadFiles([]string{"-"}, strings.NewReader(awsDoc), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.ClusterPolicies) != 2 {
		t.Fatalf("cluster policies = %d, want 2", len(m.ClusterPolicies))
	}
	var aws *model.ClusterPolicy
	for _, p := range m.ClusterPolicies {
		if p.Family == model.FamilyAWS {
			aws = p
		}
	}
	if aws == nil || aws.Ref() != "ClusterNetworkPolicy.networking.k8s.aws/guard" || aws.Tier != model.TierAdmin || aws.Priority != 10 || len(aws.Ingress) != 1 || aws.Ingress[0].Ports[0].Port != 80 {
		t.Fatalf("the EKS policy = %+v", aws)
	}
	if len(m.OtherLayers) != 0 {
		t.Errorf("other layers = %v, want none", m.OtherLayers)
	}
}

func TestLoadFilesWarnsAboutAnEKSNamedPort(t *testing.T) {
	doc := strings.Replace(awsDoc, "{portNumber: {port: 80}}", "{namedPort: http}", 1)
	m, err := LoadFiles([]string{"-"}, strings.NewReader(doc), "")
	if err != nil {
		t.Fatal(err) // the API server accepts it: not an error
	}
	if !strings.Contains(strings.Join(m.Warnings, "\n"), "cannot resolve a named port") {
		t.Errorf("warnings = %v", m.Warnings)
	}
}

func awsDiscovery(cs *fake.Clientset, withPolicies bool) *fakediscovery.FakeDiscovery {
	disc := cs.Discovery().(*fakediscovery.FakeDiscovery)
	resources := []metav1.APIResource{{Name: "policyendpoints", Kind: "PolicyEndpoint", Namespaced: true}}
	if withPolicies {
		resources = append(resources, metav1.APIResource{Name: "clusternetworkpolicies", Kind: "ClusterNetworkPolicy"})
	}
	disc.Resources = []*metav1.APIResourceList{{GroupVersion: "networking.k8s.aws/v1alpha1", APIResources: resources}}
	return disc
}

func awsNodeDaemonSet(env ...corev1.EnvVar) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "aws-node", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "aws-node", Env: env}, {Name: "aws-eks-nodeagent"}}}}}}
}

func TestLoadLiveReadsTheEKSAgentsPoliciesAndMode(t *testing.T) {
	cs := fake.NewClientset(append(objects(), awsNodeDaemonSet(corev1.EnvVar{Name: "NETWORK_POLICY_ENFORCING_MODE", Value: "strict"}))...)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.aws/v1alpha1", "kind": "ClusterNetworkPolicy", "metadata": map[string]any{"name": "guard"},
		"spec": map[string]any{"tier": "Baseline", "priority": int64(5), "subject": map[string]any{"namespaces": map[string]any{}},
			"ingress": []any{map[string]any{"action": "Deny", "from": []any{map[string]any{"namespaces": map[string]any{}}}}}},
	}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{awsClusterPolicies: "ClusterNetworkPolicyList"}, obj)
	m, err := LoadLive(context.Background(), Clients{Kube: cs, Discovery: awsDiscovery(cs, true), Dynamic: dyn}, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.ClusterPolicies) != 1 || m.ClusterPolicies[0].Family != model.FamilyAWS || m.ClusterPolicies[0].Tier != model.TierBaseline {
		t.Fatalf("cluster policies = %+v", m.ClusterPolicies)
	}
	if m.AWSPolicyMode != model.AWSModeStrict || len(m.OtherLayers) != 0 {
		t.Errorf("mode %q, other layers %v", m.AWSPolicyMode, m.OtherLayers)
	}
}

func TestLoadLiveEKSModeIsNeverGuessed(t *testing.T) {
	forbidden := func(cs *fake.Clientset) {
		cs.PrependReactor("get", "daemonsets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "daemonsets"}, "aws-node", errors.New("no"))
		})
	}
	for _, c := range []struct {
		name    string
		objects []runtime.Object
		setup   func(*fake.Clientset)
		want    string
		warning string
	}{
		{"unset is standard", []runtime.Object{awsNodeDaemonSet()}, nil, model.AWSModeStandard, ""},
		{"forbidden", nil, forbidden, model.AWSModeUnknown, `RBAC does not allow "get" on "daemonsets" in namespace kube-system`},
		{"no aws-node (Auto Mode)", nil, nil, model.AWSModeUnknown, "no aws-node DaemonSet"},
		{"from a ConfigMap", []runtime.Object{awsNodeDaemonSet(corev1.EnvVar{Name: "NETWORK_POLICY_ENFORCING_MODE", ValueFrom: &corev1.EnvVarSource{}})}, nil, model.AWSModeUnknown, "from another object"},
		{"a word the agent refuses", []runtime.Object{awsNodeDaemonSet(corev1.EnvVar{Name: "NETWORK_POLICY_ENFORCING_MODE", Value: "strictest"})}, nil, model.AWSModeUnknown, "neither standard nor strict"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := fake.NewClientset(append(objects(), c.objects...)...)
			if c.setup != nil {
				c.setup(cs)
			}
			dyn := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
			m, err := LoadLive(context.Background(), Clients{Kube: cs, Discovery: awsDiscovery(cs, false), Dynamic: dyn}, LiveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.AWSPolicyMode != c.want || !strings.Contains(strings.Join(m.Warnings, "\n"), c.warning) {
				t.Errorf("mode %q warnings %v", m.AWSPolicyMode, m.Warnings)
			}
		})
	}
}

func TestLoadLiveUnreadableEKSPoliciesMakeVerdictsUnspecified(t *testing.T) {
	cs := fake.NewClientset(append(objects(), awsNodeDaemonSet())...)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{awsClusterPolicies: "ClusterNetworkPolicyList"})
	dyn.PrependReactor("list", "clusternetworkpolicies", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.aws", Resource: "clusternetworkpolicies"}, "", errors.New("no"))
	})
	m, err := LoadLive(context.Background(), Clients{Kube: cs, Discovery: awsDiscovery(cs, true), Dynamic: dyn}, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web, api := m.Pod("a", "web"), m.Pod("b", "api")
	if r := policy.New(m).Evaluate(policy.Flow{From: policy.PodEndpoint(api), To: policy.PodEndpoint(web), Port: 80}, false); r.Verdict != policy.Unspecified {
		t.Errorf("verdict %s, want unspecified; warnings %v", r.Verdict, m.Warnings)
	}
}
