package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/interrupt"
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
		for _, l := range e.Left {
			fmt.Fprintf(&b, "\n  left: %s", l)
		}
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
// back exactly that and notices what others changed since. It is written
// ahead: an entry and the write in flight are recorded before the request
// is sent, so a write whose answer was lost is still known to the undo.
type journal struct {
	ns      string
	entries map[string]*entry
	order   []string
	parent  *corev1.ConfigMap // latest version we wrote
	renewed time.Time
	// leased: we hold the namespace's lease (guarded by Applier.mu).
	leased bool
	landed []string
}

type entry struct {
	kind, name string
	// original is the object before the run (nil: it did not exist).
	originalNP *networkingv1.NetworkPolicy
	originalCM *corev1.ConfigMap
	// written: at least one of our writes landed; rv is the
	// resourceVersion after our last one; deleted: it deleted the object.
	written bool
	rv      string
	deleted bool
	// pending is a write sent whose outcome is not known yet.
	pending *pendingWrite
	// changed: someone else wrote the object during the run.
	changed string
	// added are the entries this run added to the backup.
	added map[string]string
	// maybe: a write of a ConfigMap was sent and its outcome could not be
	// read back (the undo reads it again).
	maybe bool
}

func newJournal(ns string) *journal { return &journal{ns: ns, entries: map[string]*entry{}} }

// entry is the journal's record of an object, made before its first write
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

// intend records a write about to be sent.
func (j *journal) intend(name string, before *networkingv1.NetworkPolicy, w *pendingWrite) {
	j.np(name, before).pending = w
}

// wrote records a write of a policy that landed: its resourceVersion
// after, or its deletion (out nil).
func (j *journal) wrote(name string, before, out *networkingv1.NetworkPolicy) {
	e := j.np(name, before)
	e.pending, e.written = nil, true
	if out == nil {
		e.rv, e.deleted = "", true
		return
	}
	e.rv, e.deleted = out.ResourceVersion, false
}

// currentRV is the resourceVersion a guarded write of name expects.
func (j *journal) currentRV(name string, fallback *networkingv1.NetworkPolicy) string {
	if e, ok := j.entries["networkpolicy/"+name]; ok && e.written && !e.deleted {
		return e.rv
	}
	if fallback != nil {
		return fallback.ResourceVersion
	}
	return ""
}

// Execute carries out the plans. It leases every namespace it writes
// before the first write and keeps the leases renewed until it ends. After
// a failure it undoes every namespace of the run (rollbacks excepted) and
// returns a *FailedError.
func (a *Applier) Execute(ctx context.Context, plans []*NamespacePlan) ([]*Outcome, error) {
	a.defaults()
	reports := make([]*Outcome, 0, len(plans))
	for _, p := range plans {
		reports = append(reports, &Outcome{Namespace: p.Namespace, Warnings: p.Warnings})
	}
	if a.DryRun != DryRunNone {
		return reports, a.preview(ctx, plans, reports)
	}
	// From the first lease on, an interrupt undoes rather than exits.
	defer interrupt.Hold()()
	var runs []*journal
	byNS := map[string]*journal{}
	for _, p := range plans {
		if !needsWrite(p) {
			continue
		}
		j := newJournal(p.Namespace)
		runs, byNS[p.Namespace] = append(runs, j), j
		if err := a.acquire(ctx, p, j); err != nil {
			if wroteAny(runs) {
				err = a.fail(ctx, p, j, runs, err)
			}
			a.releaseAll(ctx, runs)
			return reports, err
		}
	}
	runCtx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	stop := a.keepLeases(runs, lost)
	for i, p := range plans {
		j := byNS[p.Namespace]
		if j == nil {
			reports[i].Results = p.Results // everything is as wanted: write nothing
			continue
		}
		results, err := a.executeNamespace(runCtx, p, j)
		reports[i].Results = results
		if err == nil {
			err = leaseLost(runCtx)
		}
		if keepsApplied(err) {
			stop()
			a.releaseAll(ctx, runs)
			return reports, unverified(plans, i, byNS, err)
		}
		if err != nil {
			err = a.fail(ctx, p, j, runs, stoppedBy(runCtx, err))
			stop()
			a.releaseAll(ctx, runs)
			return reports, err
		}
	}
	stop()
	a.releaseAll(ctx, runs)
	return reports, nil
}

// KeepApplied is implemented by a Verify error after which the run stops
// without undoing: the namespace's new state landed whole (Verify runs
// after its cut-over) and could be neither verified nor refuted, so
// putting it back would be a guess as much as keeping it.
type KeepApplied interface{ KeepApplied() bool }

func keepsApplied(err error) bool {
	var keep KeepApplied
	return errors.As(err, &keep) && keep.KeepApplied()
}

// UnverifiedError reports a run stopped by a Verify error that keeps what
// landed: the namespaces up to Namespace are applied, the rest untouched.
type UnverifiedError struct {
	Namespace string
	Err       error
	// Applied are the namespaces this run changed, Namespace included.
	Applied []string
	// NotApplied are the namespaces it had still to change.
	NotApplied []string
}

func (e *UnverifiedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apply stopped at %s: %v", e.Namespace, e.Err)
	fmt.Fprintf(&b, "\n  left applied, not undone (the probes proved nothing either way): %s", strings.Join(e.Applied, ", "))
	if len(e.NotApplied) > 0 {
		fmt.Fprintf(&b, "\n  not applied: %s", strings.Join(e.NotApplied, ", "))
	}
	fmt.Fprintf(&b, "\n  to roll back: kubectl netbaseline rollback -n %s", strings.Join(e.Applied, " -n "))
	return b.String()
}

func (e *UnverifiedError) Unwrap() error { return e.Err }

// unverified names what a run stopped at plan stop leaves applied.
func unverified(plans []*NamespacePlan, stop int, written map[string]*journal, err error) *UnverifiedError {
	e := &UnverifiedError{Namespace: plans[stop].Namespace, Err: err}
	for i, p := range plans {
		switch {
		case written[p.Namespace] == nil:
		case i <= stop:
			e.Applied = append(e.Applied, p.Namespace)
		default:
			e.NotApplied = append(e.NotApplied, p.Namespace)
		}
	}
	return e
}

// wroteAny: some write of the run landed or may have.
func wroteAny(runs []*journal) bool {
	for _, j := range runs {
		for _, e := range j.entries {
			if e.written || e.pending != nil || e.maybe {
				return true
			}
		}
	}
	return false
}

// needsWrite: a plan that changes nothing writes nothing, not even the lease.
func needsWrite(p *NamespacePlan) bool {
	return !(p.Transition.Empty() && !p.Rollback && len(p.Takeovers) == 0 && p.Parent != nil)
}

// leaseLost is the run's lost lease, if it lost one.
func leaseLost(ctx context.Context) error {
	var lost *LeaseLostError
	if errors.As(context.Cause(ctx), &lost) {
		return lost
	}
	return nil
}

// stoppedBy names a lost lease as the reason of an interruption it caused.
func stoppedBy(ctx context.Context, err error) error {
	if lost := leaseLost(ctx); lost != nil && !errors.As(err, new(*LeaseLostError)) {
		return fmt.Errorf("%w (%v)", lost, err)
	}
	return err
}

// preview reports what a dry run would write.
func (a *Applier) preview(ctx context.Context, plans []*NamespacePlan, reports []*Outcome) error {
	for i, p := range plans {
		reports[i].Results = p.Results
		a.progress("plan for %s:", p.Namespace)
		for i, s := range p.Transition.Steps {
			a.progress("  %d. %s", i+1, s)
		}
		if p.Rollback && a.DryRun == DryRunServer {
			if err := a.dryRunRollback(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *Applier) executeNamespace(ctx context.Context, p *NamespacePlan, j *journal) ([]Result, error) {
	if !p.Rollback && len(p.Takeovers) > 0 {
		if err := a.saveBackup(ctx, p, j); err != nil {
			return nil, err
		}
	}
	written := map[string]*networkingv1.NetworkPolicy{}
	for _, s := range p.Transition.Steps {
		if s.WaitForBridge {
			a.waitForEnforcer(ctx, s)
		}
		if err := ctx.Err(); err != nil {
			return landedResults(p, written), fmt.Errorf("interrupted: %w", err)
		}
		out, err := a.step(ctx, p, j, s, 3)
		if err != nil {
			return landedResults(p, written), err
		}
		// Each line names its namespace: a run over several namespaces
		// announces them all before the first write.
		if s.Role == transition.RoleBaseline && !p.Rollback {
			a.progress("%s %s/%s (phase %s)", s.Op, p.Namespace, s.Name(), baseline.FormatPhase(s.Phase))
		} else {
			a.progress("%s %s/%s", s.Op, p.Namespace, s.Name())
		}
		if s.Role == transition.RoleBaseline {
			j.landed = append(j.landed, s.Name())
			written[s.Name()] = out
		}
	}
	results := landedResults(p, written)
	if p.Rollback {
		return results, a.finishRollback(ctx, p, j)
	}
	if a.Verify != nil {
		if err := a.Verify(ctx, p); err != nil {
			return results, err
		}
	}
	return results, nil
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

// write makes one step's write and journals it as it landed. The write is
// recorded before it is sent; an answer that leaves its outcome open is
// settled by reading the object back (settle.go). Updates and deletes are
// guarded by the resourceVersion the plan (or our last write) saw, so a
// change by someone else stops the run instead of being overwritten.
func (a *Applier) write(ctx context.Context, p *NamespacePlan, j *journal, s transition.Step) (*networkingv1.NetworkPolicy, error) {
	w, err := request(p, j, s)
	if err != nil {
		return nil, err
	}
	name := s.Name()
	j.intend(name, s.Before, w)
	out, err := a.send(ctx, p.Namespace, name, w)
	if err == nil || (w.op == transition.Delete && apierrors.IsNotFound(err)) {
		j.wrote(name, s.Before, out)
		return out, nil
	}
	if !unsettled(err) {
		j.np(name, nil).pending = nil
		return nil, apiError(err, string(w.op), "networkpolicies", p.Namespace)
	}
	// Settle even after Ctrl-C: the read is part of the write.
	settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	live, rerr := a.readBack(settleCtx, p.Namespace, name)
	if rerr != nil { // still pending: the undo settles it
		return nil, fmt.Errorf("%w; whether it landed could not be read back: %v", apiError(err, string(w.op), "networkpolicies", p.Namespace), rerr)
	}
	switch outcomeOf(w, live) {
	case landed:
		a.progress("  %s %s landed although its answer was lost (%v)", w.op, name, err)
		j.wrote(name, s.Before, live)
		return live, nil
	case notLanded:
		j.np(name, nil).pending = nil
		return nil, apiError(err, string(w.op), "networkpolicies", p.Namespace)
	}
	e := j.np(name, nil)
	e.pending = nil
	changed := a.changedError(p.Namespace, name, live)
	e.changed = changed.By
	return nil, changed
}

// request is the object a step sends and the resourceVersion it is
// guarded by.
func request(p *NamespacePlan, j *journal, s transition.Step) (*pendingWrite, error) {
	name := s.Name()
	w := &pendingWrite{op: s.Op}
	switch s.Op {
	case transition.Create:
		w.sent = s.Object.DeepCopy()
		w.sent.ResourceVersion, w.sent.UID = "", ""
	case transition.Apply:
		if w.sent = desiredFor(p, name); w.sent == nil {
			return nil, fmt.Errorf("internal: no desired object for %s", name)
		}
		if s.Before != nil {
			w.guard, w.force = j.currentRV(name, s.Before), true
		}
		w.sent.ResourceVersion = w.guard
	case transition.Replace:
		w.sent = s.Object.DeepCopy()
		w.guard = j.currentRV(name, s.Before)
		w.sent.ResourceVersion = w.guard
	case transition.Delete:
		w.guard = j.currentRV(name, s.Before)
	default:
		return nil, fmt.Errorf("internal: unknown step %q", s.Op)
	}
	return w, nil
}

// send makes the API call of a write. A server-side apply is forced only
// over an object that existed when planned (its owners were checked then,
// and its resourceVersion guards it now); a new one is applied unforced,
// so that one created by someone else since is a conflict, not ours.
func (a *Applier) send(ctx context.Context, ns, name string, w *pendingWrite) (*networkingv1.NetworkPolicy, error) {
	nps := a.Client.NetworkingV1().NetworkPolicies(ns)
	switch w.op {
	case transition.Create:
		return nps.Create(ctx, w.sent, metav1.CreateOptions{FieldManager: a.manager()})
	case transition.Apply:
		return a.ssa(ctx, w.sent, false, w.force)
	case transition.Replace:
		return nps.Update(ctx, w.sent, metav1.UpdateOptions{FieldManager: a.manager()})
	}
	opts := metav1.DeleteOptions{}
	if w.guard != "" {
		opts.Preconditions = &metav1.Preconditions{ResourceVersion: &w.guard}
	}
	return nil, nps.Delete(ctx, name, opts)
}

func desiredFor(p *NamespacePlan, name string) *networkingv1.NetworkPolicy {
	if d := p.desired[name]; d != nil {
		return d.DeepCopy()
	}
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
			if transient(err) && attempt < 5 {
				a.sleep(ctx, time.Second)
				continue
			}
			return apiError(err, "get", "configmaps", p.Namespace)
		}
		if apierrors.IsNotFound(err) {
			cur = nil
		}
		e := j.cm(ownership.BackupName, cur)
		// Written ahead: the undo recognises our entries even when the
		// answer to this write is lost.
		e.added, e.written = add, true
		if cur != nil && maps.Equal(cur.Data, withEntries(cur, add)) {
			return nil // an earlier attempt landed
		}
		if cur == nil {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ownership.BackupName, Namespace: p.Namespace, Labels: map[string]string{ownership.ManagedByLabel: ownership.ManagedByValue}}, Data: add}
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: a.manager()})
		} else {
			_, err = cms.Update(ctx, withData(cur, withEntries(cur, add)), metav1.UpdateOptions{FieldManager: a.manager()})
		}
		if err == nil {
			return nil
		}
		if !unsettled(err) || attempt > 4 {
			return apiError(err, "update", "configmaps", p.Namespace)
		}
		if transient(err) {
			a.sleep(ctx, time.Second)
		}
	}
}

func withData(cm *corev1.ConfigMap, data map[string]string) *corev1.ConfigMap {
	out := cm.DeepCopy()
	out.Data = data
	return out
}

// fail undoes the run after err and says what state it left.
func (a *Applier) fail(ctx context.Context, p *NamespacePlan, j *journal, runs []*journal, cause error) error {
	fe := &FailedError{Namespace: p.Namespace, Err: cause, Landed: j.landed, Rollback: p.Rollback}
	timeout := a.RestoreTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	// Undo even after Ctrl-C: a half-applied baseline is what apply
	// promises never to leave behind. A second Ctrl-C ends the process.
	undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if p.Rollback {
		// A rollback is not undone (it only opens), but what it leaves
		// is named.
		fe.Left = a.leftovers(undoCtx, p.Namespace, nil)
		return fe
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if len(runs[i].order) == 0 {
			continue
		}
		a.progress("undoing what this run wrote in %s", runs[i].ns)
		left := a.undo(undoCtx, runs[i])
		left = append(left, a.leftovers(undoCtx, runs[i].ns, left)...)
		if len(left) == 0 {
			fe.Undone = append(fe.Undone, runs[i].ns)
		}
		fe.Left = append(fe.Left, left...)
	}
	return fe
}

// leftovers names the temporary policies (bridges and copies) still in a
// namespace, so that none is left behind without a word.
func (a *Applier) leftovers(ctx context.Context, ns string, said []string) []string {
	live, err := a.retriedPolicies(ctx, ns, 5)
	if err != nil {
		return []string{fmt.Sprintf("%s: could not check for temporary policies left behind: %v", ns, err)}
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(live)) {
		role := live[name].Labels[ownership.TransitionLabel]
		if !isTemporary(live[name]) || mentions(said, ns+"/"+name) {
			continue
		}
		out = append(out, fmt.Sprintf("networkpolicy %s/%s (a temporary %s policy of the transition) is still there; kubectl netbaseline rollback -n %s or the next apply removes it", ns, name, role, ns))
	}
	return out
}

// retriedPolicies lists a namespace's policies, retrying transient errors
// (attempts 0: until the context's deadline).
func (a *Applier) retriedPolicies(ctx context.Context, ns string, attempts int) (map[string]*networkingv1.NetworkPolicy, error) {
	var live map[string]*networkingv1.NetworkPolicy
	err := a.retry(ctx, attempts, deadlineOf(ctx), func(ctx context.Context) error {
		var err error
		live, err = a.livePolicies(ctx, ns)
		return err
	})
	return live, err
}

// readAgain turns the conflict of a read-modify-write into an error that
// the retry loop retries, so that it reads the object again.
func readAgain(err error, what string) error {
	if apierrors.IsConflict(err) {
		return apierrors.NewServiceUnavailable(what + "; reading it again")
	}
	return err
}

func mentions(lines []string, what string) bool {
	for _, l := range lines {
		if strings.Contains(l, what) {
			return true
		}
	}
	return false
}

// settlePending decides the writes whose outcome the run never learned,
// from the live objects.
func settlePending(j *journal, live map[string]*networkingv1.NetworkPolicy, manager string) {
	for _, key := range j.order {
		e := j.entries[key]
		if e.kind != "networkpolicy" || e.pending == nil {
			continue
		}
		cur := live[e.name]
		switch outcomeOf(e.pending, cur) {
		case landed:
			e.written, e.deleted, e.rv = true, cur == nil, ""
			if cur != nil {
				e.rv = cur.ResourceVersion
			}
		case changedByOthers:
			if cur == nil {
				e.changed = "deleted"
			} else {
				e.changed = "written by " + lastWriters(cur, manager)
			}
		}
		e.pending = nil
	}
}

// undo puts back what the journal says this run wrote, where nobody else
// changed it since, with the same zero-disruption transition. It returns
// what it could not put back.
func (a *Applier) undo(ctx context.Context, j *journal) []string {
	live, err := a.retriedPolicies(ctx, j.ns, 0)
	if err != nil {
		return []string{fmt.Sprintf("%s: could not read its NetworkPolicies: %v", j.ns, err)}
	}
	settlePending(j, live, a.manager())
	writes, left := undoWrites(j, live)
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
		if s.WaitForBridge {
			a.waitForEnforcer(ctx, s)
		}
		if _, err := a.retried(ctx, p, undoJournal, s); err != nil {
			var changed *ChangedError
			if errors.As(err, &changed) || apierrors.IsConflict(err) {
				left = append(left, fmt.Sprintf("networkpolicy %s/%s changed while being put back (%v); left as it is", j.ns, s.Name(), err))
				continue
			}
			return append(left, fmt.Sprintf("%s: %s failed: %v", j.ns, s, err))
		}
		a.progress("  %s %s", s.Op, s.Name())
	}
	return append(left, a.undoConfigMaps(ctx, j, len(left) > 0)...)
}

// undoWrites are the writes that put back what the journal says this run
// wrote, and what it must leave because someone else changed it.
func undoWrites(j *journal, live map[string]*networkingv1.NetworkPolicy) ([]transition.Write, []string) {
	var writes []transition.Write
	var left []string
	for _, key := range j.order {
		e := j.entries[key]
		if e.kind != "networkpolicy" {
			continue
		}
		cur := live[e.name]
		if e.changed != "" {
			left = append(left, fmt.Sprintf("networkpolicy %s/%s was changed by someone else during the run (%s); left as they wrote it", j.ns, e.name, e.changed))
			continue
		}
		if !e.written {
			continue
		}
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
	return writes, left
}

// DefaultEnforcerSettle is how long a transition waits for the enforcer
// to put its bridge in place before a policy changes in place
// (kube-router applies a change within about a second).
const DefaultEnforcerSettle = 2 * time.Second

// waitForEnforcer waits before a step marked WaitForBridge: the bridge
// and the copies written so far must be enforced before the policy
// changes in place.
func (a *Applier) waitForEnforcer(ctx context.Context, s transition.Step) {
	d := a.EnforcerSettle
	if d <= 0 {
		d = DefaultEnforcerSettle
	}
	a.progress("waiting %s for the enforcer to put the bridge in place before %s changes in place", d, s.Name())
	a.sleep(ctx, d)
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

// undoConfigMaps puts back the backup and the parent, only when every
// policy was put back: a backup may hold the only copy of a foreign
// policy, and the parent names the members that are left.
func (a *Applier) undoConfigMaps(ctx context.Context, j *journal, policiesLeft bool) []string {
	if policiesLeft {
		return nil
	}
	var left []string
	for _, name := range []string{ownership.BackupName, ownership.ParentName} {
		e, ok := j.entries["configmap/"+name]
		if !ok || !(e.written || e.maybe) {
			continue
		}
		if name == ownership.ParentName {
			a.mu.Lock()
			j.leased = false // the parent goes back to how it was, without our lease
			a.mu.Unlock()
		}
		if err := a.retry(ctx, 0, deadlineOf(ctx), func(ctx context.Context) error {
			return a.restoreConfigMap(ctx, j.ns, e, &left)
		}); err != nil {
			left = append(left, fmt.Sprintf("configmap %s/%s: %v", j.ns, name, err))
		}
	}
	return left
}

// restoreConfigMap puts one of the plugin's ConfigMaps back as it was
// before the run (deleted when the run created it). A backup that holds
// more than this run added was changed by someone else and stays.
func (a *Applier) restoreConfigMap(ctx context.Context, ns string, e *entry, left *[]string) error {
	cms := a.Client.CoreV1().ConfigMaps(ns)
	cur, err := cms.Get(ctx, e.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if e.name == ownership.BackupName && e.originalCM != nil && maps.Equal(cur.Data, e.originalCM.Data) {
		return nil // our entries never landed
	}
	if e.name == ownership.BackupName && !maps.Equal(cur.Data, withEntries(e.originalCM, e.added)) {
		*left = append(*left, fmt.Sprintf("configmap %s/%s was changed by someone else; left as it is", ns, e.name))
		return nil
	}
	if e.name == ownership.ParentName && e.maybe && !e.written && cur.Annotations[leaseHolderAnnotation] != a.holder() {
		return nil // our create never landed: this parent is another run's
	}
	if e.originalCM == nil {
		rv := cur.ResourceVersion
		err := cms.Delete(ctx, e.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		return readAgain(err, "changed while being deleted")
	}
	back := cur.DeepCopy()
	back.Data, back.Labels, back.Annotations = e.originalCM.Data, e.originalCM.Labels, e.originalCM.Annotations
	back = withoutLease(back)
	_, err = cms.Update(ctx, back, metav1.UpdateOptions{FieldManager: a.manager()})
	return readAgain(err, "changed while being put back")
}

// withEntries is a ConfigMap's data with entries added.
func withEntries(cm *corev1.ConfigMap, add map[string]string) map[string]string {
	out := map[string]string{}
	if cm != nil {
		maps.Copy(out, cm.Data)
	}
	maps.Copy(out, add)
	return out
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
