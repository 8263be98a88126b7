package read

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

func TestCompletionNames(t *testing.T) {
	yes := true
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f-x1", Namespace: "a", Labels: map[string]string{"pod-template-hash": "5d8f"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-5d8f", Controller: &yes}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a"}},
	)
	c := Clients{Kube: cs}
	ctx := context.Background()
	if got := NamespaceNames(ctx, c); !cmp.Equal(got, []string{"a"}) {
		t.Errorf("namespaces = %v", got)
	}
	if got := PodNames(ctx, c, "a"); !cmp.Equal(got, []string{"web-5d8f-x1"}) {
		t.Errorf("pods = %v", got)
	}
	if got := ServiceNames(ctx, c, "a"); !cmp.Equal(got, []string{"web"}) {
		t.Errorf("services = %v", got)
	}
	if got := WorkloadNames(ctx, c, "a", "deployment"); !cmp.Equal(got, []string{"web"}) {
		t.Errorf("deployments = %v", got)
	}
	if got := WorkloadNames(ctx, c, "a", "replicaset"); !cmp.Equal(got, []string{"web-5d8f"}) {
		t.Errorf("replicasets = %v", got)
	}
}

func TestAppliedNamespaces(t *testing.T) {
	member := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: "orphan",
		Labels: map[string]string{ownership.ManagedByLabel: ownership.ManagedByValue, ownership.ApplySetPartOf: ownership.ApplySetID("orphan")}}}
	lookalike := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "other",
		Labels: map[string]string{ownership.ManagedByLabel: ownership.ManagedByValue}}}
	parent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ownership.ParentName, Namespace: "shop"}}
	cs := fake.NewClientset(member, lookalike, parent)
	got, err := AppliedNamespaces(context.Background(), Clients{Kube: cs})
	if err != nil || !cmp.Equal(got, []string{"orphan", "shop"}) {
		t.Errorf("AppliedNamespaces = %v, %v (a parent, or a member whose parent is gone; never a lookalike)", got, err)
	}

	// A refused list is an error naming what to grant, never "nothing applied".
	cs.PrependReactor("list", "networkpolicies", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"}, "", errors.New("no"))
	})
	_, err = AppliedNamespaces(context.Background(), Clients{Kube: cs})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Verb != "list" || apiErr.Resource != "networkpolicies" {
		t.Errorf("forbidden list: %v", err)
	}
}

func TestEndpointCompletionsFollowTheGrammar(t *testing.T) {
	yes := true
	c := Clients{Kube: fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f-x1", Namespace: "shop", Labels: map[string]string{"pod-template-hash": "5d8f"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-5d8f", Controller: &yes}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}},
	)}
	ctx := context.Background()
	for _, tt := range []struct {
		toComplete string
		want       []string
	}{
		{"sh", []string{"shop", "shop/"}},
		{"shop/w", []string{"shop/web-5d8f-x1"}},
		{"shop/s", []string{"shop/sts/", "shop/svc/"}},
		{"shop/svc/", []string{"shop/svc/web"}},
		{"shop/deploy/w", []string{"shop/deploy/web"}},
		{"shop/nokind/", nil},
	} {
		if got := EndpointCompletions(ctx, c, tt.toComplete); !cmp.Equal(got, tt.want) {
			t.Errorf("%q: %v, want %v", tt.toComplete, got, tt.want)
		}
	}
}
