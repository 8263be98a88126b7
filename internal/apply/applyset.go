// Package apply applies a rendered baseline with server-side apply, in a
// safe order, tracks what it applied as an ApplySet (KEP-3659), and rolls
// back exactly that. Clients are passed in.
package apply

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// parent is the ApplySet's parent ConfigMap.
func parent(namespace, tooling string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ownership.ParentName,
			Namespace: namespace,
			Labels: map[string]string{
				ownership.ApplySetIDLabel: ownership.ApplySetID(namespace),
				ownership.ManagedByLabel:  ownership.ManagedByValue,
			},
			Annotations: map[string]string{
				ownership.ApplySetTooling:   tooling,
				ownership.ApplySetGroupKind: ownership.MemberGroupKind,
			},
		},
	}
}

// isTemporary: a bridge or copy of a transition, ours.
func isTemporary(np *networkingv1.NetworkPolicy) bool {
	return ownership.IsMember(np) && np.Labels[ownership.TransitionLabel] != ""
}
