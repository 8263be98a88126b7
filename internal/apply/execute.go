package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/transition"
)

// FailedError reports that a run stopped after it had written something (an API
// error, an admission denial, a timeout, Ctrl-C, a verification that
// failed). Everything it wrote was then undone as far as possible; Undone
// and Left say how far.
type FailedError struct {
	Namespace string
	Err       error
	// Landed are the requested writes that had landed when it stopped.
	Landed []string
	// Undone lists the namespaces put back as they were.
	Undone []string
	// Left says what could not be put back, and why.
	Left []string
	// Rollback: the run was a rollback (not undone: it leaves the
	// namespace more open, never less).
	Rollback bool
}

func (e *FailedError) Error() string {
	var b strings.Builder
	what := "apply"
	if e.Rollback {
		what = "rollback"
	}
	fmt.Fprintf(&b, "%s of %s stopped: %v", what, e.Namespace, e.Err)
	if len(e.Landed) > 0 {
		fmt.Fprintf(&b, "\n  had landed: %s", strings.Join(e.Landed, ", "))
	}
	if e.Rollback {
		fmt.Fprintf(&b, "\n  rerun kubectl netbaseline rollback -n %s to finish", e.Namespace)
		return b.String()
	}
	if len(e.Undone) > 0 {
		fmt.Fprintf(&b, "\n  undone: %s %s as before the run", strings.Join(e.Undone, ", "), plural(len(e.Undone), "is", "are"))
	}
	for _, l := range e.Left {
		fmt.Fprintf(&b, "\n  not undone: %s", l)
	}
	if len(e.Left) > 0 {
		fmt.Fprintf(&b, "\n  check with kubectl netbaseline diff -n %s; kubectl netbaseline rollback -n %s removes what the plugin owns", e.Namespace, e.Namespace)
	}
	return b.String()
}

func (e *FailedError) Unwrap() error { return e.Err }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// journal is what one run wrote in one namespace, so that an undo puts
// back exactly that and notices what others changed since.
type journal struct {
	ns      string
	entries map[string]*entry
	order   []string
	parent  *corev1.ConfigMap // latest version we wrote
	renewed time.Time
	landed  []string
}

type entry struct {
	kind, name string
	// original is the object before the run (nil: it did not exist).
	originalNP *networkingv1.NetworkPolicy
	originalCM *corev1.ConfigMap
	// rv is the resourceVersion after our last write; deleted: our last
	// write deleted it.
	rv      string
	deleted bool
}

func newJournal(ns string) *journal { return &journal{ns: ns, entries: map[string]*entry{}} }

// entry is the journal's record of an object, made on its first write
// with the object as it was before (nil: absent).
func (j *journal) entry(kind, name string, np *networkingv1.NetworkPolicy, cm *corev1.ConfigMap) *entry {
	key := kind + "/" + name
	if e, ok := j.entries[key]; ok {
		return e
	}
	e := &entry{kind: kind, name: name, originalNP: np, originalCM: cm}
	j.entries[key] = e
	j.order = append(j.order, key)
	return e
}

func (j *journal) np(name string, before *networkingv1.NetworkPolicy) *entry {
	return j.entry("networkpolicy", name, before, nil)
}

func (j *journal) cm(name string, before *corev1.ConfigMap) *entry {
	return j.entry("configmap", name, nil, before)
}

// wrote records a write of a policy: its resourceVersion after, or its
// deletion (out nil).
func (j *journal) wrote(name string, before, out *networkingv1.NetworkPolicy) {
	e := j.np(name, before)
	if out == nil {
		e.rv, e.deleted = "", true
		return
	}
	e.rv, e.deleted = out.ResourceVersion, false
}

// currentRV is the resourceVersion a guarded write of name expects.
func (j *journal) currentRV(name string, fallback *networkingv1.NetworkPolicy) string {
	if e, ok := j.entries["networkpolicy/"+name]; ok && !e.deleted {
		return e.rv
	}
	if fallback != nil {
		return fallback.ResourceVersion
	}
	return ""
}

// Execute carries out the plans, namespace by namespace. After a failure
// it undoes every namespace of the run (rollbacks excepted) and returns a
// *FailedError.
func (a *Applier) Execute(ctx context.Context, plans []*NamespacePlan) ([]*Outcome, error) {
	a.defaults()
	var reports []*Outcome
	var runs []*journal
	for _, p := range plans {
		r := &Outcome{Namespace: p.Namespace, Warnings: p.Warnings}
		reports = append(reports, r)
		if a.DryRun != DryRunNone {
			r.Results = p.Results
			a.progress("plan for %s:", p.Namespace)
			for i, s := range p.Transition.Steps {
				a.progress("  %d. %s", i+1, s)
			}
			if p.Rollback && a.DryRun == DryRunServer {
				if err := a.dryRunRollback(ctx, p); err != nil {
					return reports, err
				}
			}
			continue
		}
		j := newJournal(p.Namespace)
		runs = append(runs, j)
		results, err := a.executeNamespace(ctx, p, j)
		r.Results = results
		if err != nil {
			return reports, a.fail(ctx, p, j, runs, err)
		}
	}
	return reports, nil
}

func (a *Applier) executeNamespace(ctx context.Context, p *NamespacePlan, j *journal) ([]Result, error) {
	if p.Transition.Empty() && !p.Rollback && len(p.Takeovers) == 0 && p.Parent != nil {
		return p.Results, nil // everything is as wanted: write nothing
	}
	if err := a.acquire(ctx, p, j); err != nil {
		return nil, err
	}
	if !p.Rollback && len(p.Takeovers) > 0 {
		if err := a.saveBackup(ctx, p, j); err != nil {
			return nil, err
		}
	}
	written := map[string]*networkingv1.NetworkPolicy{}
	for _, s := range p.Transition.Steps {
		if err := ctx.Err(); err != nil {
			return landedResults(p, written), fmt.Errorf("interrupted: %w", err)
		}
		a.renew(ctx, j)
		out, err := a.step(ctx, p, j, s, 3)
		if err != nil {
			return landedResults(p, written), err
		}
		if s.Role == transition.RoleBaseline && !p.Rollback {
			a.progress("%s %s (phase %s)", s.Op, s.Name(), baseline.FormatPhase(s.Phase))
		} else {
			a.progress("%s %s", s.Op, s.Name())
		}
		if s.Role == transition.RoleBaseline {
			j.landed = append(j.landed, s.Name())
			written[s.Name()] = out
		}
	}
	results := landedResults(p, written)
	if p.Rollback {
		if err := a.finishRollback(ctx, p, j); err != nil {
			return results, err
		}
		return results, nil
	}
	if a.Verify != nil {
		if err := a.Verify(ctx, p); err != nil {
			return results, err
		}
	}
	return results, a.release(ctx, j)
}

// landedResults are the plan's results, in its order, for what has landed
// (with the server's answer) and what needed no write.
func landedResults(p *NamespacePlan, written map[string]*networkingv1.NetworkPolicy) []Result {
	var out []Result
	for _, r := range p.Results {
		if obj := written[r.Name]; obj != nil {
			r.Object = obj
		}
		if _, ok := written[r.Name]; ok || r.Op == Unchanged {
			out = append(out, r)
		}
	}
	return out
}

// step makes one write, retrying transient errors.
func (a *Applier) step(ctx context.Context, p *NamespacePlan, j *journal, s transition.Step, attempts int) (*networkingv1.NetworkPolicy, error) {
	var out *networkingv1.NetworkPolicy
	err := a.retry(ctx, attempts, time.Time{}, func(ctx context.Context) error {
		var err error
		out, err = a.write(ctx, p, j, s)
		return err
	})
	return out, err
}

func (a *Applier) write(ctx context.Context, p *NamespacePlan, j *journal, s transition.Step) (*networkingv1.NetworkPolicy, error) {
	nps := a.Client.NetworkingV1().NetworkPolicies(p.Namespace)
	name := s.Name()
	switch s.Op {
	case transition.Create:
		obj := s.Object.DeepCopy()
		obj.ResourceVersion, obj.UID = "", ""
		out, err := nps.Create(ctx, obj, metav1.CreateOptions{FieldManager: a.manager()})
		if err != nil {
			return nil, apiError(err, "create", "networkpolicies", p.Namespace)
		}
		j.wrote(name, s.Before, out)
		return out, nil
	case transition.Apply:
		d := desiredFor(p, name)
		if d == nil {
			return nil, fmt.Errorf("internal: no desired object for %s", name)
		}
		out, err := a.ssa(ctx, d, false, true)
		if err != nil {
			return nil, apiError(err, "patch", "networkpolicies", p.Namespace)
		}
		j.wrote(name, s.Before, out)
		return out, nil
	case transition.Replace:
		obj := s.Object.DeepCopy()
		obj.ResourceVersion = j.currentRV(name, s.Before)
		out, err := nps.Update(ctx, obj, metav1.UpdateOptions{FieldManager: a.manager()})
		if err != nil {
			return nil, apiError(err, "update", "networkpolicies", p.Namespace)
		}
		j.wrote(name, s.Before, out)
		return out, nil
	case transition.Delete:
		rv := j.currentRV(name, s.Before)
		opts := metav1.DeleteOptions{}
		if rv != "" {
			opts.Preconditions = &metav1.Preconditions{ResourceVersion: &rv}
		}
		err := nps.Delete(ctx, name, opts)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, apiError(err, "delete", "networkpolicies", p.Namespace)
		}
		j.wrote(name, s.Before, nil)
		return nil, nil
	}
	return nil, fmt.Errorf("internal: unknown step %q", s.Op)
}

func desiredFor(p *NamespacePlan, name string) *networkingv1.NetworkPolicy {
	if d := p.desired[name]; d != nil {
		return d.DeepCopy()
	}
	return nil
}

// acquire takes the lease, creating the parent if needed.
func (a *Applier) acquire(ctx context.Context, p *NamespacePlan, j *journal) error {
	cms := a.Client.CoreV1().ConfigMaps(p.Namespace)
	cur := p.Parent
	for attempt := 0; ; attempt++ {
		e := j.cm(ownership.ParentName, p.Parent)
		if cur == nil {
			out, err := cms.Create(ctx, a.withLease(parent(p.Namespace, a.Tooling)), metav1.CreateOptions{FieldManager: a.manager()})
			if err == nil {
				e.rv, j.parent, j.renewed = out.ResourceVersion, out, a.now()
				return nil
			}
			if !apierrors.IsAlreadyExists(err) || attempt > 2 {
				return apiError(err, "create", "configmaps", p.Namespace)
			}
		} else {
			next := a.withLease(cur)
			if next.Annotations[ownership.ApplySetTooling] == "" && a.Tooling != "" {
				next.Annotations[ownership.ApplySetTooling] = a.Tooling
			}
			out, err := cms.Update(ctx, next, metav1.UpdateOptions{FieldManager: a.manager()})
			if err == nil {
				e.rv, j.parent, j.renewed = out.ResourceVersion, out, a.now()
				return nil
			}
			if !apierrors.IsConflict(err) || attempt > 2 {
				return apiError(err, "update", "configmaps", p.Namespace)
			}
		}
		// Someone wrote the parent since we planned: read it again.
		got, err := cms.Get(ctx, ownership.ParentName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			cur = nil
		case err != nil:
			return apiError(err, "get", "configmaps", p.Namespace)
		default:
			if err := validateParent(got); err != nil {
				return err
			}
			if err := a.checkLease(got); err != nil {
				return err
			}
			cur = got
		}
	}
}

// renew extends the lease when a third of it has passed.
func (a *Applier) renew(ctx context.Context, j *journal) {
	if j.parent == nil || a.now().Sub(j.renewed) < leaseDuration/3 {
		return
	}
	out, err := a.Client.CoreV1().ConfigMaps(j.ns).Update(ctx, a.withLease(j.parent), metav1.UpdateOptions{FieldManager: a.manager()})
	if err != nil {
		a.progress("warning: could not renew the lease on %s/%s: %v", j.ns, ownership.ParentName, err)
		return
	}
	j.parent, j.renewed = out, a.now()
	j.cm(ownership.ParentName, nil).rv = out.ResourceVersion
}

// release gives the lease back.
func (a *Applier) release(ctx context.Context, j *journal) error {
	if j.parent == nil {
		return nil
	}
	out, err := a.Client.CoreV1().ConfigMaps(j.ns).Update(ctx, withoutLease(j.parent), metav1.UpdateOptions{FieldManager: a.manager()})
	if err != nil {
		// The baseline has landed; a lease left behind only expires.
		a.progress("warning: could not release the lease on %s/%s (it expires by itself): %v", j.ns, ownership.ParentName, err)
		return nil
	}
	j.parent = out
	j.cm(ownership.ParentName, nil).rv = out.ResourceVersion
	return nil
}

// saveBackup merges the policies about to be taken over into the backup
// ConfigMap: read, add, write with the resourceVersion read, so a
// concurrent writer makes it read again instead of losing entries.
func (a *Applier) saveBackup(ctx context.Context, p *NamespacePlan, j *journal) error {
	cms := a.Client.CoreV1().ConfigMaps(p.Namespace)
	add := map[string]string{}
	for _, np := range p.Takeovers {
		b, err := yaml.Marshal(cleanForRestore(np))
		if err != nil {
			return err
		}
		add[backupKey(np.Name)] = string(b)
	}
	for attempt := 0; ; attempt++ {
		cur, err := cms.Get(ctx, ownership.BackupName, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return apiError(err, "get", "configmaps", p.Namespace)
		}
		if apierrors.IsNotFound(err) {
			cur = nil
		}
		e := j.cm(ownership.BackupName, cur)
		var out *corev1.ConfigMap
		if cur == nil {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ownership.BackupName, Namespace: p.Namespace, Labels: map[string]string{ownership.ManagedByLabel: ownership.ManagedByValue}}, Data: add}
			out, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: a.manager()})
		} else {
			next := cur.DeepCopy()
			if next.Data == nil {
				next.Data = map[string]string{}
			}
			for k, v := range add {
				next.Data[k] = v
			}
			out, err = cms.Update(ctx, next, metav1.UpdateOptions{FieldManager: a.manager()})
		}
		if err == nil {
			e.rv = out.ResourceVersion
			return nil
		}
		if !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) || attempt > 4 {
			return apiError(err, "update", "configmaps", p.Namespace)
		}
	}
}

// fail undoes the run after err and says what state it left.
func (a *Applier) fail(ctx context.Context, p *NamespacePlan, j *journal, runs []*journal, cause error) error {
	fe := &FailedError{Namespace: p.Namespace, Err: cause, Landed: j.landed, Rollback: p.Rollback}
	if p.Rollback {
		return fe
	}
	timeout := a.RestoreTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	// Undo even after Ctrl-C: a half-applied baseline is what apply
	// promises never to leave behind. A second Ctrl-C ends the process.
	undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	for i := len(runs) - 1; i >= 0; i-- {
		if len(runs[i].order) == 0 {
			continue
		}
		a.progress("undoing what this run wrote in %s", runs[i].ns)
		left := a.undo(undoCtx, runs[i])
		if len(left) == 0 {
			fe.Undone = append(fe.Undone, runs[i].ns)
		}
		fe.Left = append(fe.Left, left...)
	}
	return fe
}

// undo puts back what the journal says this run wrote, where nobody else
// changed it since, with the same zero-disruption transition. It returns
// what it could not put back.
func (a *Applier) undo(ctx context.Context, j *journal) []string {
	var left []string
	var live map[string]*networkingv1.NetworkPolicy
	if err := a.retry(ctx, 0, deadlineOf(ctx), func(ctx context.Context) error {
		var err error
		live, err = a.livePolicies(ctx, j.ns)
		return err
	}); err != nil {
		return []string{fmt.Sprintf("%s: could not read its NetworkPolicies: %v", j.ns, err)}
	}
	var writes []transition.Write
	for _, key := range j.order {
		e := j.entries[key]
		if e.kind != "networkpolicy" {
			continue
		}
		cur := live[e.name]
		ours := (e.deleted && cur == nil) || (!e.deleted && cur != nil && cur.ResourceVersion == e.rv)
		if !ours {
			left = append(left, fmt.Sprintf("networkpolicy %s/%s was changed by someone else after this run wrote it; left as it is", j.ns, e.name))
			continue
		}
		orig := e.originalNP
		switch {
		case orig == nil && cur != nil:
			writes = append(writes, transition.Write{Op: transition.Delete, Before: cur})
		case orig != nil && cur == nil:
			writes = append(writes, transition.Write{Op: transition.Create, Object: cleanForRestore(orig)})
		case orig != nil && cur != nil:
			writes = append(writes, transition.Write{Op: transition.Replace, Object: restoreInPlace(cur, orig), Before: cur})
		}
	}
	p := &NamespacePlan{Namespace: j.ns, Live: live}
	if err := a.planTransition(ctx, p, writes, false, "netbaseline-restore-bridge"); err != nil {
		var unsafe *transition.UnsafeError
		if !errors.As(err, &unsafe) || p.Transition == nil {
			return append(left, fmt.Sprintf("%s: could not plan the undo: %v", j.ns, err))
		}
		a.progress("warning: %v", err)
	}
	undoJournal := newJournal(j.ns)
	for _, s := range p.Transition.Steps {
		if _, err := a.retried(ctx, p, undoJournal, s); err != nil {
			if apierrors.IsConflict(err) {
				left = append(left, fmt.Sprintf("networkpolicy %s/%s changed while being put back; left as it is", j.ns, s.Name()))
				continue
			}
			return append(left, fmt.Sprintf("%s: %s failed: %v", j.ns, s, err))
		}
		a.progress("  %s %s", s.Op, s.Name())
	}
	left = append(left, a.undoConfigMaps(ctx, j, len(left) > 0)...)
	return left
}

// retried is step with retries until the context's deadline.
func (a *Applier) retried(ctx context.Context, p *NamespacePlan, j *journal, s transition.Step) (*networkingv1.NetworkPolicy, error) {
	var out *networkingv1.NetworkPolicy
	err := a.retry(ctx, 0, deadlineOf(ctx), func(ctx context.Context) error {
		var err error
		out, err = a.write(ctx, p, j, s)
		return err
	})
	return out, err
}

// undoConfigMaps puts back the backup and the parent (the parent last,
// and only when nothing of ours is left, so members never dangle).
func (a *Applier) undoConfigMaps(ctx context.Context, j *journal, membersLeft bool) []string {
	var left []string
	cms := a.Client.CoreV1().ConfigMaps(j.ns)
	for _, name := range []string{ownership.BackupName, ownership.ParentName} {
		e, ok := j.entries["configmap/"+name]
		if !ok {
			continue
		}
		err := a.retry(ctx, 0, deadlineOf(ctx), func(ctx context.Context) error {
			cur, err := cms.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if name == ownership.ParentName && e.originalCM == nil && membersLeft {
				_, err := cms.Update(ctx, withoutLease(cur), metav1.UpdateOptions{FieldManager: a.manager()})
				return err
			}
			if name == ownership.BackupName && cur.ResourceVersion != e.rv {
				left = append(left, fmt.Sprintf("configmap %s/%s was changed by someone else; left as it is", j.ns, name))
				return nil
			}
			if e.originalCM == nil {
				rv := cur.ResourceVersion
				return cms.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
			}
			back := cur.DeepCopy()
			back.Data, back.Labels, back.Annotations = e.originalCM.Data, e.originalCM.Labels, e.originalCM.Annotations
			if name == ownership.ParentName {
				back = withoutLease(back)
			}
			_, err = cms.Update(ctx, back, metav1.UpdateOptions{FieldManager: a.manager()})
			return err
		})
		if err != nil {
			left = append(left, fmt.Sprintf("configmap %s/%s: %v", j.ns, name, err))
		}
	}
	return left
}

// restoreInPlace is the live object with the original's spec and
// metadata: same UID, so whoever owns it sees their object, not a copy.
func restoreInPlace(cur, orig *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	out := cur.DeepCopy()
	out.Spec = *orig.Spec.DeepCopy()
	out.Labels, out.Annotations = orig.Labels, orig.Annotations
	out.ManagedFields = []metav1.ManagedFieldsEntry{{}}
	return out
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// retry runs f until it succeeds, fails for good, or runs out of attempts
// (attempts > 0) or of time (until not zero), with backoff.
func (a *Applier) retry(ctx context.Context, attempts int, until time.Time, f func(context.Context) error) error {
	wait := time.Second
	for n := 1; ; n++ {
		err := f(ctx)
		if err == nil || !transient(err) {
			return err
		}
		if attempts > 0 && n >= attempts {
			return err
		}
		if !until.IsZero() && a.now().Add(wait).After(until) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
		a.progress("retrying in %s: %v", wait, err)
		a.sleep(ctx, wait)
		if wait < 8*time.Second {
			wait *= 2
		}
	}
}

func (a *Applier) sleep(ctx context.Context, d time.Duration) {
	if a.Sleep != nil {
		a.Sleep(ctx, d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// transient reports whether an API error may go away when retried.
func transient(err error) bool {
	switch {
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err):
		return true
	case utilnet.IsConnectionReset(err), utilnet.IsConnectionRefused(err), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return false
}

// Apply plans and executes one namespace.
func (a *Applier) Apply(ctx context.Context, namespace string, objs []baseline.Object) (*Outcome, error) {
	plans, err := a.Plan(ctx, []string{namespace}, map[string][]baseline.Object{namespace: objs})
	if err != nil {
		var pe *PlanError
		if errors.As(err, &pe) && len(pe.Errs) == 1 {
			return nil, pe.Errs[namespace]
		}
		return nil, err
	}
	reports, err := a.Execute(ctx, plans)
	if len(reports) == 0 {
		return nil, err
	}
	return reports[0], err
}
