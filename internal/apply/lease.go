package apply

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// The lease: one writer at a time per namespace. It lives in the ApplySet
// parent's annotations and is taken and released with resourceVersion
// preconditions, so two runs cannot both believe they hold it.
const (
	leaseHolderAnnotation  = "netbaseline.io/lease-holder"
	leaseExpiresAnnotation = "netbaseline.io/lease-expires"
	// leaseDuration is how long a lease lasts without renewal; a run
	// renews it as it goes, so only a run that died leaves one to expire.
	leaseDuration = 5 * time.Minute
)

// LeaseHeldError reports that another run is applying or rolling back the namespace.
type LeaseHeldError struct {
	Namespace, Holder string
	Expires           time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("namespace %s is being changed by another kubectl netbaseline run (%s) until %s at the latest; wait for it, or, if that run is dead, wait for the lease to expire (kubectl annotate configmap -n %s %s %s- removes it now)",
		e.Namespace, e.Holder, e.Expires.UTC().Format(time.RFC3339), e.Namespace, ownership.ParentName, leaseHolderAnnotation)
}

// ParentError reports that a ConfigMap of the parent's name exists that is not our
// ApplySet parent; kubectl refuses such a parent too.
type ParentError struct {
	Namespace, Why string
}

func (e *ParentError) Error() string {
	return fmt.Sprintf("ConfigMap %s/%s is not the ApplySet parent of kubectl netbaseline: %s; nothing was changed (rename or remove that ConfigMap)", e.Namespace, ownership.ParentName, e.Why)
}

// validateParent checks an existing parent as kubectl checks an ApplySet
// parent: its id must be the one computed from its name and namespace and
// its tooling ours.
func validateParent(cm *corev1.ConfigMap) error {
	if cm == nil {
		return nil
	}
	id, ok := cm.Labels[ownership.ApplySetIDLabel]
	switch {
	case !ok:
		return &ParentError{Namespace: cm.Namespace, Why: "it has no " + ownership.ApplySetIDLabel + " label"}
	case id != ownership.ApplySetID(cm.Namespace):
		return &ParentError{Namespace: cm.Namespace, Why: fmt.Sprintf("its %s is %q, not %q", ownership.ApplySetIDLabel, id, ownership.ApplySetID(cm.Namespace))}
	}
	if tooling, ok := cm.Annotations[ownership.ApplySetTooling]; ok && !strings.HasPrefix(tooling, ownership.ManagedByValue+"/") && tooling != ownership.ManagedByValue {
		return &ParentError{Namespace: cm.Namespace, Why: fmt.Sprintf("its tooling is %q", tooling)}
	}
	return nil
}

func (a *Applier) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// checkLease refuses when another live holder has the lease.
func (a *Applier) checkLease(cm *corev1.ConfigMap) error {
	if cm == nil {
		return nil
	}
	holder := cm.Annotations[leaseHolderAnnotation]
	if holder == "" || holder == a.holder() {
		return nil
	}
	expires, err := time.Parse(time.RFC3339, cm.Annotations[leaseExpiresAnnotation])
	if err != nil || !a.now().Before(expires) {
		return nil // expired or unreadable: the holder is gone
	}
	return &LeaseHeldError{Namespace: cm.Namespace, Holder: holder, Expires: expires}
}

func (a *Applier) holder() string {
	if a.Holder == "" {
		return ownership.ManagedByValue
	}
	return a.Holder
}

// withLease is the parent with our lease annotations.
func (a *Applier) withLease(cm *corev1.ConfigMap) *corev1.ConfigMap {
	out := cm.DeepCopy()
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[leaseHolderAnnotation] = a.holder()
	out.Annotations[leaseExpiresAnnotation] = a.now().Add(leaseDuration).UTC().Format(time.RFC3339)
	return out
}

// withoutLease is the parent with the lease released.
func withoutLease(cm *corev1.ConfigMap) *corev1.ConfigMap {
	out := cm.DeepCopy()
	delete(out.Annotations, leaseHolderAnnotation)
	delete(out.Annotations, leaseExpiresAnnotation)
	return out
}
