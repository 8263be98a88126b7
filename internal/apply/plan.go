package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/transition"
)

// NamespacePlan is everything an apply or rollback of one namespace will
// write, worked out before the first write.
type NamespacePlan struct {
	Namespace string
	// Live is the namespace's NetworkPolicies when planned.
	Live map[string]*networkingv1.NetworkPolicy
	// Parent and Backup are the plugin's ConfigMaps when planned (nil:
	// absent).
	Parent, Backup *corev1.ConfigMap
	// Takeovers are foreign policies the plan overwrites (saved first).
	Takeovers []*networkingv1.NetworkPolicy
	// Transition is the ordered writes, proven not to cut a connection
	// allowed before and after (unless Order is Runbook).
	Transition *transition.Plan
	// Input is what the transition was planned from (for Check).
	Input transition.Input
	// Results are the per-object outcomes a dry run reports.
	Results  []Result
	Warnings []string
	// Rollback: the plan removes the ApplySet instead of applying.
	Rollback bool
	// RestoreSkipped are saved policies a rollback leaves alone, and why.
	RestoreSkipped []string
	// desired are the objects the Apply writes send, by name.
	desired map[string]*networkingv1.NetworkPolicy
}

// PlanError reports that at least one namespace would be refused; nothing was
// written anywhere.
type PlanError struct {
	Errs map[string]error
}

func (e *PlanError) Error() string {
	nss := make([]string, 0, len(e.Errs))
	for ns := range e.Errs {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	var b strings.Builder
	for i, ns := range nss {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%v", e.Errs[ns])
	}
	fmt.Fprintf(&b, "\nnothing was changed in any namespace (%s refused)", strings.Join(nss, ", "))
	return b.String()
}

// Unwrap lets errors.As find the namespace errors.
func (e *PlanError) Unwrap() []error {
	out := make([]error, 0, len(e.Errs))
	for _, err := range e.Errs {
		out = append(out, err)
	}
	return out
}

// Plan works out the apply of every namespace: existence, ownership,
// the parent and its lease, a server dry-run of every object (unless a
// client dry run), the pods and the transition. If any namespace would be
// refused, it returns a *PlanError and nothing is written.
func (a *Applier) Plan(ctx context.Context, namespaces []string, rendered map[string][]baseline.Object) ([]*NamespacePlan, error) {
	a.defaults()
	var plans []*NamespacePlan
	errs := map[string]error{}
	for _, ns := range namespaces {
		p, err := a.planNamespace(ctx, ns, rendered[ns])
		if err != nil {
			var input *baseline.InputError
			if errors.As(err, &input) {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, err
			}
			errs[ns] = err
			continue
		}
		plans = append(plans, p)
	}
	if len(errs) > 0 {
		return nil, &PlanError{Errs: errs}
	}
	return plans, nil
}

func (a *Applier) defaults() {
	if a.DryRun == "" {
		a.DryRun = DryRunNone
	}
	if a.Order == "" {
		a.Order = AllowsFirst
	}
}

func (a *Applier) planNamespace(ctx context.Context, ns string, objs []baseline.Object) (*NamespacePlan, error) {
	want, err := a.desired(ns, objs)
	if err != nil {
		return nil, err
	}
	if _, err := a.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &NamespaceMissingError{Namespace: ns}
		}
		return nil, apiError(err, "get", "namespaces", ns)
	}
	p, err := a.readState(ctx, ns, nil)
	if err != nil {
		return nil, err
	}
	report := &Outcome{Namespace: ns}
	foreign, err := a.checkOwnership(ns, want, p.Live, report)
	if err != nil {
		return nil, err
	}
	p.Warnings, p.Takeovers = report.Warnings, foreign
	isForeign := map[string]bool{}
	for _, np := range foreign {
		isForeign[np.Name] = true
	}

	// The server's answer for every object, before anything is written.
	preview := map[string]*networkingv1.NetworkPolicy{}
	if a.DryRun != DryRunClient {
		for _, d := range want {
			out, err := a.ssa(ctx, d.np, true, true)
			if err != nil {
				return nil, fmt.Errorf("server dry-run of networkpolicy %s/%s failed, nothing was applied: %w", ns, d.np.Name, apiError(err, "patch", "networkpolicies", ns))
			}
			preview[d.np.Name] = out
		}
	}

	var writes []transition.Write
	p.desired = map[string]*networkingv1.NetworkPolicy{}
	for _, phase := range phases(toObjects(want), a.Order) {
		for _, o := range phase.Objects {
			d := findDesired(want, o.GetName())
			live := p.Live[d.Name]
			result := preview[d.Name]
			if result == nil {
				result = d
			}
			p.desired[d.Name] = d
			p.Results = append(p.Results, Result{Namespace: ns, Name: d.Name, Phase: phase.Number, Op: classify(live, result), Object: result})
			w := transition.Write{Op: transition.Apply, Object: result, Before: live, Phase: phase.Number}
			if isForeign[d.Name] {
				w.Op = transition.Replace
				w.Object = takeoverObject(live, d)
			}
			if live != nil && w.Op == transition.Apply && samePolicy(live, result) {
				continue // unchanged: nothing to write
			}
			writes = append(writes, w)
		}
	}
	for _, r := range a.pruneCandidates(ns, want, p.Live) {
		p.Results = append(p.Results, r)
		writes = append(writes, transition.Write{Op: transition.Delete, Before: r.Object})
	}
	// Temporary objects a killed run left behind go in any case.
	for _, name := range slices.Sorted(maps.Keys(p.Live)) {
		np := p.Live[name]
		if isTemporary(np) && findDesired(want, name) == nil && !hasWrite(writes, name) {
			writes = append(writes, transition.Write{Op: transition.Delete, Before: np})
			p.Warnings = append(p.Warnings, fmt.Sprintf("removing %s, left behind by an interrupted run", name))
		}
	}
	if err := a.planTransition(ctx, p, writes, a.Order == Runbook, "netbaseline-bridge"); err != nil {
		return nil, err
	}
	if a.CheckAccess != nil && a.DryRun != DryRunClient && !p.Transition.Empty() {
		if err := a.CheckAccess(ctx, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// readState reads the namespace's policies (unless given, as listed just
// before) and the plugin's ConfigMaps, and checks the parent and its lease.
func (a *Applier) readState(ctx context.Context, ns string, live map[string]*networkingv1.NetworkPolicy) (*NamespacePlan, error) {
	if live == nil {
		var err error
		if live, err = a.livePolicies(ctx, ns); err != nil {
			return nil, err
		}
	}
	p := &NamespacePlan{Namespace: ns, Live: live}
	for _, cm := range []struct {
		name string
		into **corev1.ConfigMap
	}{{ownership.ParentName, &p.Parent}, {ownership.BackupName, &p.Backup}} {
		got, err := a.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, apiError(err, "get", "configmaps", ns)
		default:
			*cm.into = got
		}
	}
	if err := validateParent(p.Parent); err != nil {
		return nil, err
	}
	if err := a.checkLease(ctx, p.Parent); err != nil {
		return nil, err
	}
	return p, nil
}

// planTransition builds the transition of the writes and proves it.
func (a *Applier) planTransition(ctx context.Context, p *NamespacePlan, writes []transition.Write, literal bool, prefix string) error {
	pods, err := a.pods(ctx, p.Namespace)
	if err != nil {
		return err
	}
	in := transition.Input{Namespace: p.Namespace, Pods: pods, Before: sortedPolicies(p.Live), Writes: writes,
		NoBridge: literal, Prefix: prefix, Labels: memberLabels(p.Namespace), Layers: a.Layers}
	plan, err := transition.Build(in)
	if err != nil {
		return err
	}
	p.Transition, p.Input = plan, in
	if literal {
		if cuts := transition.Cuts(in, plan); len(cuts) > 0 {
			p.Warnings = append(p.Warnings, fmt.Sprintf("--order runbook: while it runs, %d connection(s) allowed before and after are cut in %s (for example %s)", len(cuts), p.Namespace, cuts[0]))
		}
		return nil
	}
	return transition.Check(in, plan)
}

// pods are the namespace's pods as the engine sees them everywhere else
// (model.PodFromAPI: addresses too, which ipBlock peers match); finished
// pods have no connections to keep.
func (a *Applier) pods(ctx context.Context, ns string) ([]*model.Pod, error) {
	if a.Pods != nil {
		return a.Pods(ctx, ns)
	}
	list, err := a.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("the transition needs the labels of the namespace's pods: %w", apiError(err, "list", "pods", ns))
	}
	out := make([]*model.Pod, 0, len(list.Items))
	for i := range list.Items {
		pod := &list.Items[i]
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		out = append(out, model.PodFromAPI(pod, ns))
	}
	return out, nil
}

// takeoverObject is a foreign policy rewritten as ours: its identity and
// metadata kept, our spec and membership labels, and its field ownership
// reset so that no field of the old owner lingers (a forced server-side
// apply would keep fields we do not set, such as extra matchLabels).
func takeoverObject(live *networkingv1.NetworkPolicy, d *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	out := live.DeepCopy()
	out.Spec = *d.Spec.DeepCopy()
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	for k, v := range d.Labels {
		out.Labels[k] = v
	}
	if len(d.Annotations) > 0 && out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		out.Annotations[k] = v
	}
	delete(out.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
	out.ManagedFields = []metav1.ManagedFieldsEntry{{}}
	return out
}

func memberLabels(ns string) map[string]string {
	return map[string]string{ownership.ApplySetPartOf: ownership.ApplySetID(ns), ownership.ManagedByLabel: ownership.ManagedByValue}
}

func sortedPolicies(m map[string]*networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	out := make([]*networkingv1.NetworkPolicy, 0, len(m))
	for _, n := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[n])
	}
	return out
}

func hasWrite(ws []transition.Write, name string) bool {
	for _, w := range ws {
		if w.Name() == name {
			return true
		}
	}
	return false
}

func samePolicy(a, b *networkingv1.NetworkPolicy) bool {
	return equalSpec(a, b) && equalMaps(a.Labels, b.Labels) && equalMaps(a.Annotations, b.Annotations)
}

// equalSpec compares specs as the API serialises them, so that an empty
// list and an absent one (the server's answer and our rendering) agree.
func equalSpec(a, b *networkingv1.NetworkPolicy) bool {
	ra, errA := runtime.DefaultUnstructuredConverter.ToUnstructured(&a.Spec)
	rb, errB := runtime.DefaultUnstructuredConverter.ToUnstructured(&b.Spec)
	return errA == nil && errB == nil && reflect.DeepEqual(ra, rb)
}
