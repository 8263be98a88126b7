package synth

import (
	"fmt"
	"io"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// WriteManifests writes a model as the multi-document YAML kubectl and
// kustomize write (Namespaces, Pods owned by ReplicaSets, NetworkPolicies,
// Nodes, then the cluster-scoped policy objects), for benchmarks and
// hack/gen-cluster.
func WriteManifests(w io.Writer, m *model.Model, clusterObjects []any) error {
	for _, obj := range APIObjects(m, clusterObjects) {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "---\n%s", b); err != nil {
			return err
		}
	}
	return nil
}

// WriteManifestsFile writes the model's manifests to a new file at path.
func WriteManifestsFile(path string, m *model.Model) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteManifests(f, m, nil); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// APIObjects are the model's objects as the API holds them (Namespaces,
// Pods with their status, NetworkPolicies, Nodes), then clusterObjects: what
// WriteManifests writes, and what a benchmark creates on an API server.
func APIObjects(m *model.Model, clusterObjects []any) []any {
	var objects []any
	for _, ns := range m.Namespaces {
		objects = append(objects, &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: ns.Labels}})
	}
	for _, p := range m.Pods {
		pod := &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels},
			Spec:       corev1.PodSpec{HostNetwork: p.HostNetwork, Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		}
		if p.Owner != nil {
			yes := true
			pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: p.Owner.Name + "-" + p.Labels["pod-template-hash"], UID: "u", Controller: &yes}}
		}
		for _, cp := range p.Ports {
			pod.Spec.Containers[0].Ports = append(pod.Spec.Containers[0].Ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: cp.Port, Protocol: cp.Protocol})
		}
		for _, ip := range p.IPs {
			pod.Status.PodIPs = append(pod.Status.PodIPs, corev1.PodIP{IP: ip.String()})
		}
		objects = append(objects, pod)
	}
	for _, np := range m.Policies {
		objects = append(objects, np)
	}
	for _, n := range m.Nodes {
		node := &corev1.Node{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"}, ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels}}
		for _, a := range n.Addresses {
			node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a.String()})
		}
		objects = append(objects, node)
	}
	return append(objects, clusterObjects...)
}
