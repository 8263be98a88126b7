package apply

import (
	"fmt"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// otherOwner says that something else manages a policy and will fight the
// plugin's changes (or revert them).
func otherOwner(meta metav1.Object) string {
	labels, annotations := meta.GetLabels(), meta.GetAnnotations()
	var owners []string
	if id, ok := annotations["argocd.argoproj.io/tracking-id"]; ok {
		owners = append(owners, fmt.Sprintf("Argo CD (tracking-id %s)", id))
	} else if app, ok := labels["app.kubernetes.io/instance"]; ok && labels[ownership.ManagedByLabel] != ownership.ManagedByValue {
		owners = append(owners, fmt.Sprintf("Argo CD or Helm (app.kubernetes.io/instance=%s)", app))
	}
	if p, ok := labels["generate.kyverno.io/policy-name"]; ok {
		owners = append(owners, fmt.Sprintf("a Kyverno generate rule (policy %s)", p))
	} else if labels[ownership.ManagedByLabel] == "kyverno" {
		owners = append(owners, "Kyverno")
	}
	if m := labels[ownership.ManagedByLabel]; m != "" && m != ownership.ManagedByValue && m != "kyverno" {
		owners = append(owners, fmt.Sprintf("%s (%s=%s)", m, ownership.ManagedByLabel, m))
	}
	for _, ref := range meta.GetOwnerReferences() {
		owners = append(owners, fmt.Sprintf("%s %s (ownerReference)", ref.Kind, ref.Name))
	}
	return strings.Join(owners, ", ")
}

// fieldManagers lists who wrote a live object.
func fieldManagers(np *networkingv1.NetworkPolicy) string {
	seen := map[string]bool{}
	var out []string
	for _, mf := range np.ManagedFields {
		if mf.Manager != "" && !seen[mf.Manager] {
			seen[mf.Manager] = true
			out = append(out, fmt.Sprintf("%s (%s)", mf.Manager, mf.Operation))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "unknown"
	}
	return strings.Join(out, ", ")
}

// changedBy lists the field managers other than ours that own part of a
// policy's spec or labels: someone edited a member after we wrote it.
func changedBy(np *networkingv1.NetworkPolicy, ours string) []string {
	seen := map[string]bool{}
	var out []string
	for _, mf := range np.ManagedFields {
		if mf.Manager == ours || mf.Manager == "" || mf.FieldsV1 == nil || seen[mf.Manager] {
			continue
		}
		raw := mf.FieldsV1.GetRawString()
		if strings.Contains(raw, `"f:spec"`) {
			seen[mf.Manager] = true
			out = append(out, fmt.Sprintf("%s (%s)", mf.Manager, mf.Operation))
		}
	}
	sort.Strings(out)
	return out
}
