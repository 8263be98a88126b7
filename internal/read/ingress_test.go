package read

import (
	"context"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestLoadLiveIngresses: audit's listing reads the Ingresses (class and
// Service backends); one refused everywhere is unreadable, never none;
// other commands do not list them.
func TestLoadLiveIngresses(t *testing.T) {
	class := "nginx"
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a"}, Spec: networkingv1.IngressSpec{
		IngressClassName: &class,
		Rules: []networkingv1.IngressRule{{Host: "web.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
		}}}},
	}}
	cs := fake.NewClientset(append(objects(), ing)...)
	m, err := LoadLive(context.Background(), Clients{Kube: cs}, LiveOptions{Ingresses: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Ingresses) != 1 || m.Ingresses[0].Class != "nginx" || len(m.Ingresses[0].Backends) != 1 || m.Ingresses[0].Backends[0].Service != "web" || m.Ingresses[0].Backends[0].Port != 80 {
		t.Fatalf("ingresses = %+v", m.Ingresses)
	}
	if m, _ := LoadLive(context.Background(), Clients{Kube: cs}, LiveOptions{}); len(m.Ingresses) != 0 {
		t.Errorf("Ingresses listed without being asked: %+v", m.Ingresses)
	}
	forbidClusterWide(cs, "ingresses", "a")
	m, err = LoadLive(context.Background(), Clients{Kube: cs}, LiveOptions{Ingresses: true, Namespaces: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if !m.CouldNotRead("ingresses", "a") || len(m.Ingresses) != 0 {
		t.Fatalf("refused Ingresses: unreadable %v, %d read", m.Unreadable, len(m.Ingresses))
	}
}
