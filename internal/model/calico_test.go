package model

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Promoting staged policies: Set creates or replaces the enforced policy
// of the same kind, namespace and name; Delete removes it; a staged
// Kubernetes policy does the same to the Kubernetes one. The model itself
// is left as it was.
func TestWithStaged(t *testing.T) {
	enforced := &CalicoPolicy{Kind: CalicoNetworkPolicy, Namespace: "a", Name: "p", Selector: "old"}
	gone := &CalicoPolicy{Kind: CalicoGlobalNetworkPolicy, Name: "g"}
	k8s := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "k"}}
	m := &Model{Policies: []*networkingv1.NetworkPolicy{k8s}, CalicoPolicies: []*CalicoPolicy{
		enforced, gone,
		{Kind: CalicoStagedNetworkPolicy, Namespace: "a", Name: "p", Selector: "new"},
		{Kind: CalicoStagedGlobalNetworkPolicy, Name: "g", StagedAction: "Delete"},
		{Kind: CalicoStagedGlobalNetworkPolicy, Name: "added"},
		{Kind: CalicoStagedKubernetesPolicy, Namespace: "a", Name: "k", StagedAction: "Delete"},
	}}
	got := m.WithStaged()
	var refs []string
	for _, p := range got.CalicoPolicies {
		refs = append(refs, p.Ref()+"="+p.Selector)
	}
	if len(refs) != 2 || refs[0] != "NetworkPolicy/a/p=new" || refs[1] != "GlobalNetworkPolicy/added=" {
		t.Errorf("promoted = %v", refs)
	}
	if len(got.Policies) != 0 {
		t.Errorf("the staged deletion of k kept %d Kubernetes policies", len(got.Policies))
	}
	if len(m.CalicoPolicies) != 6 || m.CalicoPolicies[0].Selector != "old" || len(m.Policies) != 1 || m.StagedCount() != 4 {
		t.Error("the model itself changed")
	}
}
