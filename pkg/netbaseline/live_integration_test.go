//go:build integration

package netbaseline_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
	"github.com/netbaseline/kubectl-netbaseline/pkg/netbaseline"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A live snapshot answers as the same objects read from manifests do.
func TestIntegrationLoadLiveAnswersAsManifests(t *testing.T) {
	env := testenv.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprint(time.Now().UnixNano() % 100000)
	front, back := "frontend-"+suffix, "backend-"+suffix
	for _, ns := range []string{front, back} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	createPod(ctx, t, cs, front, "web-0", "web", "198.18.0.10", corev1.ContainerPort{Name: "http", ContainerPort: 8080})
	createPod(ctx, t, cs, back, "api-0", "api", "198.18.0.20", corev1.ContainerPort{Name: "http", ContainerPort: 3001}, corev1.ContainerPort{Name: "metrics", ContainerPort: 9090})
	http := intstr.FromString("http")
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-from-frontend"}, Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"kubernetes.io/metadata.name": front}}}}, Ports: []networkingv1.NetworkPolicyPort{{Port: &http}}}}}}
	if _, err := cs.NetworkingV1().NetworkPolicies(back).Create(ctx, np, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	live, err := netbaseline.LoadLive(ctx, env.Config, netbaseline.LiveOptions{Namespaces: []string{front, back}})
	if err != nil {
		t.Fatal(err)
	}
	files, err := netbaseline.LoadReader(strings.NewReader(strings.NewReplacer("namespace: frontend", "namespace: "+front, "namespace: backend", "namespace: "+back,
		"metadata.name: frontend", "metadata.name: "+front).Replace(shop)), netbaseline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := files.Explain(front+"/web-0", back+"/api-0")
	if err != nil {
		t.Fatal(err)
	}
	got, err := live.Explain(front+"/web-0", back+"/api-0")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || len(got) != 2 || got[0].Verdict != "allowed" || got[1].Verdict != "denied" {
		t.Fatalf("live:      %+v\nmanifests: %+v", got, want)
	}
}

func createPod(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name, app, ip string, ports ...corev1.ContainerPort) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: app, Ports: ports}}}}
	created, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
