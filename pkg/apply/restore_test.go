package apply

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func policyNames(t *testing.T, a *Applier, ns string) []string {
	t.Helper()
	list, err := a.Client.NetworkingV1().NetworkPolicies(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, np := range list.Items {
		out = append(out, np.Name)
	}
	sort.Strings(out)
	return out
}

// AfterPhase stops the apply where it fails, and Restore puts back exactly
// the state from before: a member that changed gets its old spec, a
// foreign policy taken over gets its old self, new members and the new
// parent go, and a policy created meanwhile by someone else stays.
func TestAfterPhaseStopsAndRestoreUndoes(t *testing.T) {
	ctx := context.Background()
	oldDNS := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-dns", Namespace: "backend-dev",
		Labels: map[string]string{ApplySetPartOf: ApplySetID("backend-dev"), ManagedByLabel: ManagedByValue}},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}
	foreign := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-from-ingress", Namespace: "backend-dev", Labels: map[string]string{"team": "web"}},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "old"}}}}
	a := &Applier{Client: newFake(oldDNS, foreign), Options: Options{Order: AllowsFirst, ForceConflicts: true}}
	before, err := a.Capture(ctx, "backend-dev")
	if err != nil {
		t.Fatal(err)
	}
	if before.Parent != nil || before.Backup != nil || len(before.Policies) != 2 {
		t.Fatalf("captured %+v", before)
	}
	var seen []string
	stop := errors.New("probe mismatch")
	a.AfterPhase = func(_ context.Context, ns string, phase Phase, landed []*networkingv1.NetworkPolicy) error {
		for _, np := range landed {
			seen = append(seen, np.Name)
		}
		if phase.Number == 15 {
			return stop
		}
		return nil
	}
	_, err = a.Apply(ctx, "backend-dev", sample(t, "backend-dev"))
	var partial *PartialError
	if !errors.As(err, &partial) || !errors.Is(err, stop) {
		t.Fatalf("err = %v", err)
	}
	if diff := cmp.Diff([]string{"allow-dns", "allow-from-frontend", "allow-from-ingress"}, seen); diff != "" {
		t.Errorf("phases seen (-want +got):\n%s", diff)
	}
	// Someone else creates a policy in the meantime: not ours to remove.
	other := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "team-policy", Namespace: "backend-dev"}}
	if _, err := a.Client.NetworkingV1().NetworkPolicies("backend-dev").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Restore(ctx, before); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"allow-dns", "allow-from-ingress", "team-policy"}, policyNames(t, a, "backend-dev")); diff != "" {
		t.Errorf("after restore (-want +got):\n%s", diff)
	}
	got, _ := a.Client.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, "allow-from-ingress", metav1.GetOptions{})
	if !cmp.Equal(got.Spec, foreign.Spec) || !cmp.Equal(got.Labels, foreign.Labels) {
		t.Errorf("foreign policy not restored: %+v", got)
	}
	got, _ = a.Client.NetworkingV1().NetworkPolicies("backend-dev").Get(ctx, "allow-dns", metav1.GetOptions{})
	if !cmp.Equal(got.Spec, oldDNS.Spec) {
		t.Errorf("member not restored: %+v", got.Spec)
	}
	for _, name := range []string{ParentName, BackupName} {
		if _, err := a.Client.CoreV1().ConfigMaps("backend-dev").Get(ctx, name, metav1.GetOptions{}); err == nil {
			t.Errorf("ConfigMap %s should be gone: it did not exist before", name)
		}
	}
}

func TestRestoreConfigMaps(t *testing.T) {
	ctx := context.Background()
	parentBefore := parent("backend-dev", "kubectl-netbaseline/v0")
	a := &Applier{Client: newFake(parentBefore)}
	before, err := a.Capture(ctx, "backend-dev")
	if err != nil || before.Parent == nil {
		t.Fatalf("capture: %v %+v", err, before)
	}
	// The apply changed the parent's tooling and deleted nothing; a later
	// step deleted it.
	cm := before.Parent.DeepCopy()
	cm.Annotations[ApplySetTooling] = "kubectl-netbaseline/v9"
	if _, err := a.Client.CoreV1().ConfigMaps("backend-dev").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Restore(ctx, before); err != nil {
		t.Fatal(err)
	}
	got, _ := a.Client.CoreV1().ConfigMaps("backend-dev").Get(ctx, ParentName, metav1.GetOptions{})
	if got.Annotations[ApplySetTooling] != "kubectl-netbaseline/v0" {
		t.Errorf("parent not restored: %+v", got.Annotations)
	}
	_ = a.Client.CoreV1().ConfigMaps("backend-dev").Delete(ctx, ParentName, metav1.DeleteOptions{})
	if _, err := a.Restore(ctx, before); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.CoreV1().ConfigMaps("backend-dev").Get(ctx, ParentName, metav1.GetOptions{}); err != nil {
		t.Errorf("deleted parent not recreated: %v", err)
	}
}
