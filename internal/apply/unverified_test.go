package apply

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// proofless is a Verify error that neither verifies nor refutes a state
// (apply --verify's mesh-inconclusive probes).
type proofless struct{}

func (proofless) Error() string     { return "went through a mesh proxy" }
func (proofless) KeepApplied() bool { return true }

// A Verify error that keeps what landed stops the run without an undo: the
// verified namespace and the unverified one stay applied, the next one is
// not touched, the leases are released, and the error names what to roll
// back.
func TestVerifyThatProvesNothingStopsWithoutUndo(t *testing.T) {
	_, target, _ := cleanApply(t)
	tb := newTestbed(t)
	a := tb.applier(false)
	namespaces := []string{"backend-dev", "frontend-dev"}
	plans, err := a.Plan(context.Background(), namespaces, rendered(t, namespaces...))
	if err != nil {
		t.Fatal(err)
	}
	a.Verify = func(_ context.Context, p *NamespacePlan) error {
		if p.Namespace == "backend-dev" {
			return proofless{}
		}
		return nil
	}
	_, err = a.Execute(context.Background(), plans)
	var unv *UnverifiedError
	if !errors.As(err, &unv) || !errors.Is(err, error(proofless{})) {
		t.Fatalf("err = %v", err)
	}
	if !cmp.Equal(unv.Applied, []string{"backend-dev"}) || !cmp.Equal(unv.NotApplied, []string{"frontend-dev"}) {
		t.Errorf("applied %v, not applied %v", unv.Applied, unv.NotApplied)
	}
	if !strings.Contains(err.Error(), "to roll back: kubectl netbaseline rollback -n backend-dev") || !strings.Contains(err.Error(), "not undone") {
		t.Errorf("message: %s", err)
	}
	var backend []string
	for _, np := range tb.policies() {
		if np.Namespace == "backend-dev" {
			backend = append(backend, np.Name)
		}
	}
	var want []string
	for _, np := range target {
		if np.Namespace == "backend-dev" {
			want = append(want, np.Name)
		}
	}
	if !cmp.Equal(backend, want) {
		t.Errorf("backend-dev after the stop: %v, want the applied baseline %v (undone?)", backend, want)
	}
	for _, np := range tb.policies() {
		if np.Namespace == "frontend-dev" && ownership.IsMember(np) {
			t.Errorf("frontend-dev was written after the stop: %s", np.Name)
		}
	}
	parent, _ := tb.cs.CoreV1().ConfigMaps("backend-dev").Get(context.Background(), ownership.ParentName, metav1.GetOptions{})
	if parent == nil || parent.Annotations[leaseHolderAnnotation] != "" {
		t.Errorf("the lease was not released: %v", parent)
	}
}
