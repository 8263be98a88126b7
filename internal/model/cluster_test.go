package model

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Only a node's InternalIP and ExternalIP addresses are its addresses for
// "nodes" peers, and only those that parse.
func TestNodeFromAPI(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a"}}}
	node.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: "10.1.0.99"}, // some clouds name hosts by address
		{Type: corev1.NodeInternalIP, Address: "10.1.0.1"},
		{Type: corev1.NodeInternalDNS, Address: "n1.internal"},
		{Type: corev1.NodeExternalIP, Address: "203.0.113.1"},
		{Type: corev1.NodeInternalIP, Address: "garbage"},
	}
	want := &Node{Name: "n1", Labels: map[string]string{"zone": "a"}, Addresses: addrs("10.1.0.1", "203.0.113.1")}
	if diff := cmp.Diff(want, NodeFromAPI(node), addrsEqual); diff != "" {
		t.Errorf("NodeFromAPI: only Internal and External IPs that parse (-want +got):\n%s", diff)
	}
}
