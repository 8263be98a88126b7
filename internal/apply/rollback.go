package apply

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/transition"
)

// RollbackPlan is what a rollback deletes and restores.
type RollbackPlan struct {
	Namespace string
	// Members are the ApplySet's NetworkPolicies, by name.
	Members []string
	// HasParent: the ConfigMap netbaseline-applyset exists.
	HasParent bool
	// Restore are the saved foreign policies.
	Restore []*networkingv1.NetworkPolicy
	// HasBackup: the ConfigMap netbaseline-backup exists.
	HasBackup bool

	members []*networkingv1.NetworkPolicy
	live    map[string]*networkingv1.NetworkPolicy
}

// MemberNames are the ApplySet's NetworkPolicies, by name.
func (p *RollbackPlan) MemberNames() []string { return p.Members }

// Empty reports whether there is nothing to roll back.
func (p *RollbackPlan) Empty() bool {
	return len(p.Members) == 0 && !p.HasParent && len(p.Restore) == 0 && !p.HasBackup
}

// PlanRollback finds the ApplySet's members (by label, never by name) and
// the saved foreign policies. It only reads.
func (a *Applier) PlanRollback(ctx context.Context, namespace string) (*RollbackPlan, error) {
	plan := &RollbackPlan{Namespace: namespace}
	live, err := a.livePolicies(ctx, namespace)
	if err != nil {
		return nil, err
	}
	plan.live = live
	for _, name := range slices.Sorted(maps.Keys(live)) {
		if ownership.IsMember(live[name]) {
			plan.Members = append(plan.Members, name)
			plan.members = append(plan.members, live[name])
		}
	}
	if _, err := a.Client.CoreV1().ConfigMaps(namespace).Get(ctx, ownership.ParentName, metav1.GetOptions{}); err == nil {
		plan.HasParent = true
	} else if !apierrors.IsNotFound(err) {
		return nil, apiError(err, "get", "configmaps", namespace)
	}
	cm, err := a.Client.CoreV1().ConfigMaps(namespace).Get(ctx, ownership.BackupName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, apiError(err, "get", "configmaps", namespace)
	default:
		plan.HasBackup = true
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			np := &networkingv1.NetworkPolicy{}
			if err := yaml.UnmarshalStrict([]byte(cm.Data[k]), np); err != nil {
				return nil, fmt.Errorf("ConfigMap %s/%s key %s is not a NetworkPolicy: %w", namespace, ownership.BackupName, k, err)
			}
			np.Namespace = namespace
			plan.Restore = append(plan.Restore, np)
		}
	}
	if plan.Empty() {
		// "Nothing to roll back" would mislead when the name is a typo.
		if _, err := a.Client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil, &NamespaceMissingError{Namespace: namespace, Rollback: true}
		}
	}
	return plan, nil
}

// MemberConflictError reports that members were changed by someone else since the
// plugin wrote them; rollback deletes them only with --force-conflicts.
type MemberConflictError struct {
	Namespace string
	Changed   []string
}

func (e *MemberConflictError) Error() string {
	return fmt.Sprintf("namespace %s: these NetworkPolicies of the plugin were changed by someone else since it wrote them:\n  %s\nnothing was changed; rerun with --force-conflicts to roll them back anyway", e.Namespace, strings.Join(e.Changed, "\n  "))
}

// PlanRollbackTransition turns a rollback plan into writes: members go
// (or, where they took over a foreign policy, become that policy again in
// place), saved policies that are gone come back, and a bridge keeps
// every connection allowed before and after while it happens.
func (a *Applier) PlanRollbackTransition(ctx context.Context, rp *RollbackPlan) (*NamespacePlan, error) {
	a.defaults()
	p, err := a.readState(ctx, rp.Namespace, rp.live)
	if err != nil {
		return nil, err
	}
	p.Rollback = true
	var changed []string
	for _, m := range rp.members {
		if others := changedBy(m, a.manager()); len(others) > 0 {
			changed = append(changed, fmt.Sprintf("%s (by %s)", m.Name, strings.Join(others, ", ")))
		}
	}
	if len(changed) > 0 && !a.ForceConflicts {
		return nil, &MemberConflictError{Namespace: rp.Namespace, Changed: changed}
	}
	saved := map[string]*networkingv1.NetworkPolicy{}
	for _, np := range rp.Restore {
		saved[np.Name] = np
	}
	var writes []transition.Write
	for _, m := range rp.members {
		cur := p.Live[m.Name]
		if cur == nil {
			continue
		}
		if orig := saved[m.Name]; orig != nil {
			writes = append(writes, transition.Write{Op: transition.Replace, Object: restoreInPlace(cur, orig), Before: cur})
			p.Results = append(p.Results, Result{Namespace: rp.Namespace, Name: m.Name, Op: Restored, Object: orig})
			continue
		}
		writes = append(writes, transition.Write{Op: transition.Delete, Before: cur})
		p.Results = append(p.Results, Result{Namespace: rp.Namespace, Name: m.Name, Op: Deleted, Object: cur})
	}
	for _, orig := range rp.Restore {
		cur := p.Live[orig.Name]
		switch {
		case cur == nil:
			writes = append(writes, transition.Write{Op: transition.Create, Object: cleanForRestore(orig)})
			p.Results = append(p.Results, Result{Namespace: rp.Namespace, Name: orig.Name, Op: Restored, Object: orig})
		case !ownership.IsMember(cur):
			p.RestoreSkipped = append(p.RestoreSkipped, fmt.Sprintf("%s: the live policy of that name is not the plugin's (never taken over, or replaced since); left as it is", orig.Name))
		}
	}
	if err := a.planTransition(ctx, p, writes, false, "netbaseline-rollback-bridge"); err != nil {
		return nil, err
	}
	if a.CheckAccess != nil && a.DryRun == DryRunNone {
		if err := a.CheckAccess(ctx, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Rollback plans the transition and carries it out: it deletes exactly
// the members, restores the saved policies, and removes the plugin's
// ConfigMaps. It deletes nothing else.
func (a *Applier) Rollback(ctx context.Context, rp *RollbackPlan) ([]Result, error) {
	p, err := a.PlanRollbackTransition(ctx, rp)
	if err != nil {
		return nil, err
	}
	for _, s := range p.RestoreSkipped {
		a.progress("note: %s", s)
	}
	reports, err := a.Execute(ctx, []*NamespacePlan{p})
	if len(reports) == 0 {
		return nil, err
	}
	return reports[0].Results, err
}

// finishRollback removes the backup and the parent once every member is
// gone.
func (a *Applier) finishRollback(ctx context.Context, p *NamespacePlan, j *journal) error {
	cms := a.Client.CoreV1().ConfigMaps(p.Namespace)
	if p.Backup != nil {
		if err := a.retry(ctx, 3, time.Time{}, func(ctx context.Context) error {
			rv := p.Backup.ResourceVersion
			err := cms.Delete(ctx, ownership.BackupName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}); err != nil {
			return apiError(err, "delete", "configmaps", p.Namespace)
		}
	}
	// The parent goes last, and with it the lease: no renewal may race
	// its deletion.
	a.mu.Lock()
	defer a.mu.Unlock()
	j.leased = false
	return a.retry(ctx, 5, time.Time{}, func(ctx context.Context) error {
		cur, err := cms.Get(ctx, ownership.ParentName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil // gone: deleted by an attempt whose answer was lost
		case err != nil:
			return err
		case cur.Annotations[leaseHolderAnnotation] != a.holder():
			return &LeaseLostError{Namespace: p.Namespace, Err: fmt.Errorf("the parent %s names another holder", ownership.ParentName)}
		}
		rv := cur.ResourceVersion
		err = cms.Delete(ctx, ownership.ParentName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err):
			return readAgain(err, "the parent changed while being deleted")
		}
		return apiError(err, "delete", "configmaps", p.Namespace)
	})
}

// dryRunRollback sends the rollback's own writes as server dry runs.
func (a *Applier) dryRunRollback(ctx context.Context, p *NamespacePlan) error {
	nps := a.Client.NetworkingV1().NetworkPolicies(p.Namespace)
	dry := []string{metav1.DryRunAll}
	for _, w := range p.Input.Writes {
		var err error
		switch w.Op {
		case transition.Delete:
			err = nps.Delete(ctx, w.Name(), metav1.DeleteOptions{DryRun: dry})
			if apierrors.IsNotFound(err) {
				err = nil
			}
		case transition.Replace:
			_, err = nps.Update(ctx, w.Object, metav1.UpdateOptions{DryRun: dry, FieldManager: a.manager()})
		case transition.Create:
			_, err = nps.Create(ctx, w.Object, metav1.CreateOptions{DryRun: dry, FieldManager: a.manager()})
		}
		if err != nil {
			return fmt.Errorf("server dry-run of the rollback of %s failed at %s %s: %w", p.Namespace, w.Op, w.Name(), apiError(err, string(w.Op), "networkpolicies", p.Namespace))
		}
	}
	return nil
}

// KubectlCommand is the plain kubectl equivalent of a rollback, for the
// runbook's task log.
func (p *RollbackPlan) KubectlCommand() string {
	var lines []string
	if len(p.Members) > 0 {
		lines = append(lines, fmt.Sprintf("kubectl delete networkpolicy -n %s %s", p.Namespace, strings.Join(p.Members, " ")))
	}
	var cms []string
	if p.HasParent {
		cms = append(cms, ownership.ParentName)
	}
	if len(p.Restore) > 0 {
		var saved []string
		for _, np := range p.Restore {
			saved = append(saved, np.Name)
		}
		lines = append(lines, fmt.Sprintf("# restoring the saved foreign policies (%s) needs: kubectl netbaseline rollback -n %s", strings.Join(saved, ", "), p.Namespace))
	} else if p.HasBackup {
		cms = append(cms, ownership.BackupName)
	}
	if len(cms) > 0 {
		lines = append(lines, fmt.Sprintf("kubectl delete configmap -n %s %s", p.Namespace, strings.Join(cms, " ")))
	}
	return strings.Join(lines, "\n")
}
