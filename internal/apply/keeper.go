package apply

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// acquire takes the lease of one namespace, creating the parent if needed.
// Every answer is settled: a create or update whose answer was lost is
// recognised by our holder name in the parent read back.
func (a *Applier) acquire(ctx context.Context, p *NamespacePlan, j *journal) error {
	cms := a.Client.CoreV1().ConfigMaps(p.Namespace)
	cur := p.Parent
	e := j.cm(ownership.ParentName, p.Parent)
	for attempt := 0; ; attempt++ {
		var out *corev1.ConfigMap
		var err error
		if cur == nil {
			out, err = cms.Create(ctx, a.withLease(parent(p.Namespace, a.Tooling)), metav1.CreateOptions{FieldManager: a.manager()})
		} else {
			next := a.withLease(cur)
			if next.Annotations[ownership.ApplySetTooling] == "" && a.Tooling != "" {
				next.Annotations[ownership.ApplySetTooling] = a.Tooling
			}
			out, err = cms.Update(ctx, next, metav1.UpdateOptions{FieldManager: a.manager()})
		}
		if err == nil {
			a.holdParent(j, e, out)
			return nil
		}
		if !unsettled(err) || attempt > 4 {
			verb := "update"
			if cur == nil {
				verb = "create"
			}
			return apiError(err, verb, "configmaps", p.Namespace)
		}
		if transient(err) {
			a.sleep(ctx, time.Second)
		}
		// Someone wrote the parent since we planned, or our write's
		// answer was lost: read it again (after Ctrl-C too).
		got, gerr := a.settleParent(ctx, p.Namespace)
		if gerr != nil {
			a.mu.Lock()
			e.maybe, j.leased = true, true // the undo and the release read it again
			a.mu.Unlock()
			return gerr
		}
		if got != nil && got.Annotations[leaseHolderAnnotation] == a.holder() {
			a.holdParent(j, e, got)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := validateParent(got); err != nil {
			return err
		}
		if err := a.checkLease(ctx, got); err != nil {
			return err
		}
		cur = got
	}
}

// holdParent records the parent as our write left it, with the lease held.
func (a *Applier) holdParent(j *journal, e *entry, out *corev1.ConfigMap) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e.rv, e.written = out.ResourceVersion, true
	j.parent, j.renewed, j.leased = out, a.now(), true
}

// settleParent reads the parent back after a write whose answer was lost,
// even after Ctrl-C.
func (a *Applier) settleParent(ctx context.Context, ns string) (*corev1.ConfigMap, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	return a.readParent(ctx, ns)
}

// readParent reads the parent (nil: absent), retrying transient errors.
func (a *Applier) readParent(ctx context.Context, ns string) (*corev1.ConfigMap, error) {
	var got *corev1.ConfigMap
	err := a.retry(ctx, 5, deadlineOf(ctx), func(ctx context.Context) error {
		cm, err := a.Client.CoreV1().ConfigMaps(ns).Get(ctx, ownership.ParentName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			got = nil
			return nil
		case err != nil:
			return err
		}
		got = cm
		return nil
	})
	if err != nil {
		return nil, apiError(err, "get", "configmaps", ns)
	}
	return got, nil
}

// keepLeases renews the leases of the run's namespaces on a timer until
// stop is called; when a lease cannot be kept, lost cancels the run.
func (a *Applier) keepLeases(runs []*journal, lost context.CancelCauseFunc) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		every := a.leaseDuration() / 6
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, j := range runs {
				if err := a.renew(ctx, j); err != nil {
					lost(err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// renew extends one lease. A conflict whose parent still names us was our
// own earlier renewal answered late; anything else means the lease is
// gone. Transient failures are tolerated until the lease would lapse.
func (a *Applier) renew(ctx context.Context, j *journal) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !j.leased || j.parent == nil {
		return nil
	}
	cms := a.Client.CoreV1().ConfigMaps(j.ns)
	out, err := cms.Update(ctx, a.withLease(j.parent), metav1.UpdateOptions{FieldManager: a.manager()})
	if err != nil && unsettled(err) && ctx.Err() == nil {
		got, gerr := cms.Get(ctx, ownership.ParentName, metav1.GetOptions{})
		if gerr == nil && got.Annotations[leaseHolderAnnotation] == a.holder() {
			out, err = cms.Update(ctx, a.withLease(got), metav1.UpdateOptions{FieldManager: a.manager()})
		} else if gerr == nil || apierrors.IsNotFound(gerr) {
			j.leased = false
			return &LeaseLostError{Namespace: j.ns, Err: fmt.Errorf("the parent %s was changed or removed by someone else", ownership.ParentName)}
		}
	}
	if err != nil {
		if ctx.Err() == nil && a.now().Sub(j.renewed) > a.leaseDuration()*2/3 {
			j.leased = false
			return &LeaseLostError{Namespace: j.ns, Err: fmt.Errorf("could not renew it since %s: %w", j.renewed.UTC().Format(time.RFC3339), err)}
		}
		return nil
	}
	j.parent, j.renewed = out, a.now()
	j.cm(ownership.ParentName, nil).rv = out.ResourceVersion
	return nil
}

// release gives a lease back: read, drop our annotations, write with the
// resourceVersion read, until the parent no longer names us (or is gone).
func (a *Applier) release(ctx context.Context, j *journal) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !j.leased {
		return nil
	}
	j.leased = false
	cms := a.Client.CoreV1().ConfigMaps(j.ns)
	err := a.retry(ctx, 6, deadlineOf(ctx), func(ctx context.Context) error {
		cur, err := cms.Get(ctx, ownership.ParentName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		case cur.Annotations[leaseHolderAnnotation] != a.holder():
			return nil
		}
		out, err := cms.Update(ctx, withoutLease(cur), metav1.UpdateOptions{FieldManager: a.manager()})
		if err != nil {
			return readAgain(err, "the parent changed while the lease was released")
		}
		j.parent = out
		j.cm(ownership.ParentName, nil).rv = out.ResourceVersion
		return nil
	})
	if err != nil {
		return fmt.Errorf("could not release the lease on %s/%s (another run can take it once it has gone %s without renewal): %w", j.ns, ownership.ParentName, a.leaseDuration(), apiError(err, "update", "configmaps", j.ns))
	}
	return nil
}

// releaseAll gives back every lease of the run, even after Ctrl-C, and
// warns about the ones it could not (they lapse by themselves).
func (a *Applier) releaseAll(ctx context.Context, runs []*journal) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, j := range runs {
		if err := a.release(ctx, j); err != nil {
			a.progress("warning: %v", err)
		}
	}
}
