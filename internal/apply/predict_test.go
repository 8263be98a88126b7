package apply

import (
	"errors"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

func renderedPolicy(name string) baseline.Object {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"}},
	}}
	return baseline.Object{Unstructured: u}
}

// One prediction of apply: a same-named policy that is not ours refuses
// the namespace as apply does; forced, it is taken over (one policy of the
// name, never two); ours are replaced, and pruned with Prune.
func TestPredictPlansAsApplyDoes(t *testing.T) {
	foreign := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-dns", Namespace: "app"}}
	ours := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "old-member", Namespace: "app",
		Labels: map[string]string{ownership.ApplySetPartOf: ownership.ApplySetID("app")}}}
	before := &model.Model{Namespaces: []*model.Namespace{{Name: "app"}}, Policies: []*networkingv1.NetworkPolicy{foreign, ours}}
	rendered := map[string][]baseline.Object{"app": {renderedPolicy("allow-dns"), renderedPolicy("deny-all")}}

	_, err := Predict(before, []string{"app"}, rendered, Options{})
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.Namespace != "app" {
		t.Fatalf("without --force-conflicts: %v, want apply's ConflictError", err)
	}
	after, err := Predict(before, []string{"app"}, rendered, Options{ForceConflicts: true})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, np := range after.Policies {
		names[np.Name]++
	}
	if names["allow-dns"] != 1 || names["deny-all"] != 1 || names["old-member"] != 1 {
		t.Errorf("forced: %v", names)
	}
	after, err = Predict(before, []string{"app"}, rendered, Options{ForceConflicts: true, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, np := range after.Policies {
		if np.Name == "old-member" {
			t.Errorf("pruned members stay: %v", np.Name)
		}
	}
}
