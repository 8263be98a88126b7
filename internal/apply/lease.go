package apply

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// The lease: one writer at a time per namespace. It lives in the ApplySet
// parent's annotations and is taken, renewed and released with
// resourceVersion preconditions, so two runs cannot both believe they hold
// it. A run leases every namespace it writes before its first write and
// renews the leases on a timer until it ends, verification and undo
// included (keeper.go).
const (
	leaseHolderAnnotation = "netbaseline.io/lease-holder"
	// leaseExpiresAnnotation is the holder's own reading of when the lease
	// ends: for people, and to refuse quickly; never trusted to take over.
	leaseExpiresAnnotation = "netbaseline.io/lease-expires"
	// defaultLeaseDuration is how long a lease lives without renewal; a
	// run renews it every sixth of that, so only a dead run misses one.
	defaultLeaseDuration = time.Minute
)

// LeaseHeldError reports that another run is applying or rolling back the namespace.
type LeaseHeldError struct {
	Namespace, Holder string
	Expires           time.Time
	// Duration is how long the holder's lease lives without renewal.
	Duration time.Duration
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("namespace %s is being changed by another kubectl netbaseline run (%s), which renews its lease as it goes; wait for it to finish (a run that died loses the lease once it goes %s without renewal: then rerun)",
		e.Namespace, e.Holder, e.Duration)
}

// LeaseLostError reports that the run could not keep its lease: someone
// else wrote the parent, or renewals failed for too long. The run stops
// and undoes what it wrote, since it is no longer the only writer.
type LeaseLostError struct {
	Namespace string
	Err       error
}

func (e *LeaseLostError) Error() string {
	return fmt.Sprintf("lost the lease on namespace %s (%v); stopped, since another run may now write there", e.Namespace, e.Err)
}

func (e *LeaseLostError) Unwrap() error { return e.Err }

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

func (a *Applier) leaseDuration() time.Duration {
	if a.LeaseDuration > 0 {
		return a.LeaseDuration
	}
	return defaultLeaseDuration
}

// checkLease refuses when another run holds the lease and is alive. The
// holder's clock is trusted only to refuse (a lease that ends within one
// lease duration by our clock), never to take over: a lease is taken over
// only after it was seen unrenewed for a whole lease duration, as
// client-go's leader election judges a lease, so clock skew cannot steal it.
func (a *Applier) checkLease(ctx context.Context, cm *corev1.ConfigMap) error {
	if cm == nil {
		return nil
	}
	holder := cm.Annotations[leaseHolderAnnotation]
	if holder == "" || holder == a.holder() {
		return nil
	}
	held := &LeaseHeldError{Namespace: cm.Namespace, Holder: holder, Duration: a.leaseDuration()}
	if expires, err := time.Parse(time.RFC3339, cm.Annotations[leaseExpiresAnnotation]); err == nil {
		held.Expires = expires
		if left := expires.Sub(a.now()); left > 0 && left <= a.leaseDuration() {
			return held
		}
	}
	return a.observeLease(ctx, cm, held)
}

// observeLease watches a lease that looks stale for one lease duration: a
// renewal (any write of the parent while held) means its run is alive.
func (a *Applier) observeLease(ctx context.Context, cm *corev1.ConfigMap, held *LeaseHeldError) error {
	a.progress("namespace %s: the lease of %s looks stale; watching it for %s before taking it over", cm.Namespace, held.Holder, a.leaseDuration())
	// Counted polls, not clock readings: a whole lease duration of sleeps.
	poll := min(2*time.Second, a.leaseDuration()/10)
	for range int(a.leaseDuration() / poll) {
		a.sleep(ctx, poll)
		if err := ctx.Err(); err != nil {
			return err
		}
		got, err := a.Client.CoreV1().ConfigMaps(cm.Namespace).Get(ctx, ownership.ParentName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return apiError(err, "get", "configmaps", cm.Namespace)
		case got.Annotations[leaseHolderAnnotation] == "":
			return nil
		case got.ResourceVersion != cm.ResourceVersion:
			held.Holder = got.Annotations[leaseHolderAnnotation]
			return held
		}
	}
	a.progress("namespace %s: the lease of %s was not renewed for %s: taking it over", cm.Namespace, held.Holder, a.leaseDuration())
	return nil
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
	out.Annotations[leaseExpiresAnnotation] = a.now().Add(a.leaseDuration()).UTC().Format(time.RFC3339)
	return out
}

// withoutLease is the parent with the lease released.
func withoutLease(cm *corev1.ConfigMap) *corev1.ConfigMap {
	out := cm.DeepCopy()
	delete(out.Annotations, leaseHolderAnnotation)
	delete(out.Annotations, leaseExpiresAnnotation)
	return out
}

// Holder names this run in the namespace lease: who, where, which process.
func Holder() string {
	host, _ := os.Hostname()
	who := os.Getenv("USER")
	if who == "" {
		who = "someone"
	}
	return fmt.Sprintf("%s@%s pid %d", who, host, os.Getpid())
}
