// Package apply applies a rendered baseline with server-side apply, in a
// safe order, tracks what it applied as an ApplySet (KEP-3659), and rolls
// back exactly that. Clients are passed in.
package apply

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names and labels of the ownership model (docs/design.md, frozen).
const (
	ParentName        = "netbaseline-applyset"
	BackupName        = "netbaseline-backup"
	DefaultManager    = "kubectl-netbaseline"
	ManagedByLabel    = "app.kubernetes.io/managed-by"
	ManagedByValue    = "kubectl-netbaseline"
	ApplySetIDLabel   = "applyset.kubernetes.io/id"
	ApplySetPartOf    = "applyset.kubernetes.io/part-of"
	ApplySetTooling   = "applyset.kubernetes.io/tooling"
	ApplySetGroupKind = "applyset.kubernetes.io/contains-group-kinds"
	memberGroupKind   = "NetworkPolicy.networking.k8s.io"
)

// ApplySetID is the KEP-3659 id of a namespace's ApplySet, whose parent is
// the ConfigMap netbaseline-applyset: kubectl and other tools compute the
// same value from the parent's name, namespace, kind and group.
func ApplySetID(namespace string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{ParentName, namespace, "ConfigMap", ""}, ".")))
	return fmt.Sprintf("applyset-%s-v1", base64.RawURLEncoding.EncodeToString(sum[:]))
}

// IsMember reports whether a policy belongs to the namespace's ApplySet:
// the plugin's definition of "ours".
func IsMember(np *networkingv1.NetworkPolicy) bool {
	return np.Labels[ApplySetPartOf] == ApplySetID(np.Namespace)
}

// parent is the ApplySet's parent ConfigMap.
func parent(namespace, tooling string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ParentName,
			Namespace: namespace,
			Labels: map[string]string{
				ApplySetIDLabel: ApplySetID(namespace),
				ManagedByLabel:  ManagedByValue,
			},
			Annotations: map[string]string{
				ApplySetTooling:   tooling,
				ApplySetGroupKind: memberGroupKind,
			},
		},
	}
}
