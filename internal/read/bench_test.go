package read

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// clusterFile writes a generated cluster (replicas with canary/version
// labels, as hack/gen-cluster writes it) and returns its path.
func clusterFile(b testing.TB, namespaces, policies int) string {
	b.Helper()
	m := synth.Model(synth.Options{Seed: 42, Namespaces: namespaces, Workloads: 10, MaxReplicas: 19, Policies: policies})
	var sb strings.Builder
	emit := func(v any) {
		out, err := yaml.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		sb.WriteString("---\n")
		sb.Write(out)
	}
	for _, ns := range m.Namespaces {
		emit(&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: ns.Labels}})
	}
	for _, p := range m.Pods {
		pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
		for _, cp := range p.Ports {
			pod.Spec.Containers[0].Ports = append(pod.Spec.Containers[0].Ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: cp.Port, Protocol: cp.Protocol})
		}
		for _, ip := range p.IPs {
			pod.Status.PodIPs = append(pod.Status.PodIPs, corev1.PodIP{IP: ip.String()})
		}
		emit(pod)
	}
	for _, np := range m.Policies {
		emit(np)
	}
	path := filepath.Join(b.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchmarkLoad(b *testing.B, namespaces, policies int) {
	path := clusterFile(b, namespaces, policies)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadFiles([]string{path}, nil, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// About 500 pods and 100 policies; about 5,000 pods and 1,000 policies.
func BenchmarkLoadFiles500(b *testing.B)  { benchmarkLoad(b, 5, 100) }
func BenchmarkLoadFiles5000(b *testing.B) { benchmarkLoad(b, 50, 1000) }
