// Package ownership is the vocabulary of what the plugin owns
// (docs/design.md, "Ownership"): the names of its ConfigMaps, the labels and
// annotations it writes, and the test of whether a NetworkPolicy is ours.
package ownership

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// APIVersion is the group and version of every document the plugin
// reads or writes (Config, ExplainResult, ProbeResult, Report, ...).
const APIVersion = "netbaseline.io/v1alpha1"

// Names and labels of the ownership model (docs/design.md, frozen).
const (
	ParentName        = "netbaseline-applyset"
	BackupName        = "netbaseline-backup"
	FieldManager      = "kubectl-netbaseline"
	ManagedByLabel    = "app.kubernetes.io/managed-by"
	ManagedByValue    = "kubectl-netbaseline"
	ApplySetIDLabel   = "applyset.kubernetes.io/id"
	ApplySetPartOf    = "applyset.kubernetes.io/part-of"
	ApplySetTooling   = "applyset.kubernetes.io/tooling"
	ApplySetGroupKind = "applyset.kubernetes.io/contains-group-kinds"
	// MemberGroupKind is the one kind an ApplySet of the plugin holds.
	MemberGroupKind = "NetworkPolicy.networking.k8s.io"
	// PhaseAnnotation orders the apply: lower phases first.
	PhaseAnnotation = "netbaseline.io/phase"
	// TransitionLabel marks the temporary objects of a transition (bridge,
	// keep copies), so that leftovers of a killed run are recognised.
	TransitionLabel = "netbaseline.io/transition"
	// DenyModeAnnotation on an engine's DaemonSet states how denied
	// packets end ("drop" or "reject") when the network changes what the
	// engine itself does; doctor and probe's --deny-mode=auto honour it.
	DenyModeAnnotation = "netbaseline.io/deny-mode"
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
