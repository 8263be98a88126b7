package apply

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/transition"
)

// A write whose answer does not say whether it landed (a timeout, a 5xx,
// a reset, or a 409/AlreadyExists/NotFound that may be the echo of our own
// earlier attempt) is settled by reading the object back and recognising
// our write in it: the state before has the resourceVersion the write was
// guarded by (or no object), the state after has the content we sent.

// pendingWrite is a write that was sent and whose outcome is not known
// yet; the journal keeps it until it is settled.
type pendingWrite struct {
	op transition.Op
	// sent is the object as sent (nil for a delete).
	sent *networkingv1.NetworkPolicy
	// guard is the resourceVersion the write was conditional on ("" when
	// the object did not exist or the write had no precondition).
	guard string
	// force: a server-side apply over an object that existed when planned.
	force bool
}

// settleTimeout bounds the read-back of one write, which goes on after
// Ctrl-C: the run must know what it wrote before it undoes it.
const settleTimeout = 20 * time.Second

type outcome int

const (
	notLanded       outcome = iota // the object is as before the write
	landed                         // the object is as the write left it
	changedByOthers                // neither: someone else wrote it
)

// outcomeOf recognises a pending write in the live object (nil: absent).
func outcomeOf(w *pendingWrite, live *networkingv1.NetworkPolicy) outcome {
	if w.guard == "" && w.op != transition.Create && !(w.op == transition.Apply && !w.force) {
		return unguardedOutcome(w, live)
	}
	switch w.op {
	case transition.Delete:
		switch {
		case live == nil:
			return landed
		case live.ResourceVersion == w.guard:
			return notLanded
		}
	case transition.Create:
		switch {
		case live == nil:
			return notLanded
		case samePolicy(live, w.sent):
			return landed
		}
	case transition.Replace, transition.Apply:
		switch {
		case live == nil && w.guard == "":
			return notLanded // an unforced apply of a new object
		case live == nil:
			return changedByOthers
		case w.guard != "" && live.ResourceVersion == w.guard:
			return notLanded
		case sentIn(w, live):
			return landed
		}
	}
	return changedByOthers
}

// unguardedOutcome judges a write to an existing object that carried no
// resourceVersion (a server that keeps none, as client-go's fake): by
// content alone.
func unguardedOutcome(w *pendingWrite, live *networkingv1.NetworkPolicy) outcome {
	switch {
	case w.op == transition.Delete && live == nil, w.op != transition.Delete && live != nil && sentIn(w, live):
		return landed
	case live == nil:
		return changedByOthers
	}
	return notLanded
}

// sentIn says whether live holds what an update or apply sent.
func sentIn(w *pendingWrite, live *networkingv1.NetworkPolicy) bool {
	if w.op == transition.Apply {
		return appliedTo(live, w.sent)
	}
	return samePolicy(live, w.sent)
}

// appliedTo says whether a server-side apply of sent is what live holds:
// the same spec, and every label and annotation sent.
func appliedTo(live, sent *networkingv1.NetworkPolicy) bool {
	if !equalSpec(live, sent) {
		return false
	}
	for _, m := range [][2]map[string]string{{sent.Labels, live.Labels}, {sent.Annotations, live.Annotations}} {
		for k, v := range m[0] {
			if got, ok := m[1][k]; !ok || got != v {
				return false
			}
		}
	}
	return true
}

// unsettled reports whether an error leaves the write's outcome open.
func unsettled(err error) bool {
	return transient(err) || apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// ChangedError reports that someone else wrote an object between the plan
// and the run's write; the run stops there and undoes what it wrote.
type ChangedError struct {
	Namespace, Name string
	// By names the other writers (field managers) of the live object, or
	// says that it was deleted.
	By string
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("networkpolicy %s/%s was changed by someone else (%s) after this run planned it; stopped so as not to overwrite it", e.Namespace, e.Name, e.By)
}

// changedError names who wrote the live object.
func (a *Applier) changedError(ns, name string, live *networkingv1.NetworkPolicy) *ChangedError {
	if live == nil {
		return &ChangedError{Namespace: ns, Name: name, By: "deleted"}
	}
	return &ChangedError{Namespace: ns, Name: name, By: "written by " + lastWriters(live, a.manager())}
}

// lastWriters lists the field managers of an object other than ours, the
// most recent first.
func lastWriters(np *networkingv1.NetworkPolicy, ours string) string {
	entries := append([]metav1.ManagedFieldsEntry(nil), np.ManagedFields...)
	sort.SliceStable(entries, func(i, j int) bool {
		ti, tj := entries[i].Time, entries[j].Time
		return ti != nil && tj != nil && tj.Before(ti)
	})
	var out []string
	seen := map[string]bool{}
	for _, mf := range entries {
		if mf.Manager == "" || mf.Manager == ours || seen[mf.Manager] {
			continue
		}
		seen[mf.Manager] = true
		out = append(out, fmt.Sprintf("%s (%s)", mf.Manager, mf.Operation))
	}
	if len(out) == 0 {
		return "an unknown writer"
	}
	return strings.Join(out, ", ")
}

// readBack reads one policy for settling, retrying transient errors until
// the context's deadline (nil: absent).
func (a *Applier) readBack(ctx context.Context, ns, name string) (*networkingv1.NetworkPolicy, error) {
	var live *networkingv1.NetworkPolicy
	err := a.retry(ctx, 5, deadlineOf(ctx), func(ctx context.Context) error {
		got, err := a.Client.NetworkingV1().NetworkPolicies(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			live = nil
			return nil
		case err != nil:
			return err
		}
		live = got
		return nil
	})
	if err != nil {
		return nil, apiError(err, "get", "networkpolicies", ns)
	}
	return live, nil
}
