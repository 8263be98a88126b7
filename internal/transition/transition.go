// Package transition plans how one namespace's NetworkPolicies move from
// the state they are in to the state apply, rollback or a restore wants,
// without an intermediate state that denies a connection allowed both
// before and after (docs: design, "Transitions").
//
// The plan wraps the requested writes in a bridge: first, per direction,
// an allow-all policy that selects exactly the pods that are open (not
// isolated) before or after, and a temporary copy of every policy that is
// about to be changed or deleted while it still protects a pod isolated
// both before and after; then the writes; then the copies go and, last,
// the bridge (the cut-over). Check proves a plan with the engine. The
// package is pure: no API calls.
package transition

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Op is the kind of API write a step makes.
type Op string

const (
	// Create makes a new object (bridges, copies, re-created policies).
	Create Op = "create"
	// Apply is a server-side apply of a baseline member.
	Apply Op = "apply"
	// Replace overwrites an existing object with an update guarded by its
	// resourceVersion (take-overs and restores in place).
	Replace Op = "replace"
	// Delete removes an object, guarded by its resourceVersion when known.
	Delete Op = "delete"
)

// Role says why a step is there.
type Role string

// The roles of the objects a transition writes.
const (
	RoleBridge   Role = "bridge"   // temporary allow-all for pods open before or after
	RoleKeep     Role = "keep"     // temporary copy of a policy that is about to change
	RoleBaseline Role = "baseline" // a requested write
	RoleCutover  Role = "cut-over" // the deletion of the last bridge
	RoleCleanup  Role = "cleanup"  // the deletion of a copy or of another bridge
)

// Write is one requested change. Object is the policy as it will be (nil
// for a delete); Before is the live object it replaces or deletes (nil for
// a create).
type Write struct {
	Op     Op
	Object *networkingv1.NetworkPolicy
	Before *networkingv1.NetworkPolicy
	Phase  int
}

// Name of the object the write touches.
func (w Write) Name() string {
	if w.Object != nil {
		return w.Object.Name
	}
	return w.Before.Name
}

// Step is one write of a plan.
type Step struct {
	Write
	Role Role
	Why  string
	// WaitForBridge: the enforcer must have put the steps before this one in
	// place before it is written. It marks the first write that changes a
	// live policy's spec in place after bridges or copies were created:
	// kube-router keeps a policy's ipsets under the policy's name and
	// fills them for the new spec a moment before it installs the rules of
	// the same sync, so when the bridge lands in that sync too, the old
	// rules (no bridge yet) briefly match with the new spec's peers.
	WaitForBridge bool
}

// String is the step as progress and plans show it.
func (s Step) String() string {
	return fmt.Sprintf("%s %s (%s: %s)", s.Op, s.Name(), s.Role, s.Why)
}

// Input is what a plan needs to know about one namespace.
type Input struct {
	Namespace string
	// Namespaces are the cluster's namespaces with their labels, as far as
	// they are known (peers of other namespaces are synthesised from the
	// policies' selectors otherwise).
	Namespaces []*model.Namespace
	// Pods are the namespace's pods; Peers may add pods of other
	// namespaces for Check.
	Pods  []*model.Pod
	Peers []*model.Pod
	// Before is the namespace's live NetworkPolicies.
	Before []*networkingv1.NetworkPolicy
	// Writes are the requested changes, in the order wanted.
	Writes []Write
	// NoBridge asks for the writes alone, in their order (--order runbook).
	NoBridge bool
	// Prefix names the temporary objects ("netbaseline-bridge").
	Prefix string
	// Labels go on the temporary objects (the ApplySet membership).
	Labels map[string]string
	// Layers are the policies the enforcer evaluates with the
	// namespace's NetworkPolicies (Calico's, the cluster-scoped tiers, the
	// EKS agent's): the proof evaluates every state with them, as they stay.
	Layers *Layers
}

// Layers are what a transition's world holds besides NetworkPolicies.
type Layers struct {
	CalicoPolicies  []*model.CalicoPolicy
	CalicoTiers     []*model.CalicoTier
	ServiceAccounts []*model.ServiceAccount
	// ClusterPolicies are AdminNetworkPolicy, BaselineAdminNetworkPolicy,
	// ClusterNetworkPolicy and the EKS agent's; Nodes for their "nodes" peers.
	ClusterPolicies []*model.ClusterPolicy
	Nodes           []*model.Node
	// AWSPolicyMode is the EKS agent's enforcing mode (model.Model's).
	AWSPolicyMode string
	// CiliumPolicies and Cilium: Cilium enforces (model.Model's); its
	// repository holds the Kubernetes policies with its own, so a
	// CiliumNetworkPolicy that selects a pod keeps it default-deny when no
	// NetworkPolicy does, and its deny entries win over any bridge.
	CiliumPolicies []*model.CiliumPolicy
	Cilium         *model.CiliumInfo
}

// Empty reports whether the layers hold nothing that decides a flow.
func (l *Layers) Empty() bool {
	return l == nil || (len(l.CalicoPolicies) == 0 && len(l.ClusterPolicies) == 0 && l.AWSPolicyMode == "" && len(l.CiliumPolicies) == 0 && l.Cilium == nil)
}

// Plan is the ordered steps and the state after each.
type Plan struct {
	Namespace string
	Steps     []Step
	// Before and After are the namespace's policies before the first and
	// after the last step; States[i] is the state after Steps[i].
	Before, After []*networkingv1.NetworkPolicy
	States        [][]*networkingv1.NetworkPolicy
}

// Empty reports whether the plan writes nothing.
func (p *Plan) Empty() bool { return len(p.Steps) == 0 }

// Build plans the transition. It does not check it: call Check.
func Build(in Input) (*Plan, error) {
	if in.Prefix == "" {
		in.Prefix = "netbaseline-bridge"
	}
	after, err := applyWrites(in.Before, in.Writes)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Namespace: in.Namespace, Before: in.Before, After: after}
	var steps []Step
	if in.NoBridge || len(in.Writes) == 0 {
		for _, w := range in.Writes {
			steps = append(steps, Step{Write: w, Role: RoleBaseline, Why: "requested"})
		}
	} else {
		steps = bridged(in, after)
	}
	state := in.Before
	for _, s := range steps {
		if state, err = applyWrites(state, []Write{s.Write}); err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, s)
		plan.States = append(plan.States, state)
	}
	return plan, nil
}

// bridged wraps the writes in bridges and copies.
func bridged(in Input, after []*networkingv1.NetworkPolicy) []Step {
	pods := realPods(in.Pods)
	before0, after1 := isolation(in.Namespace, pods, in.Before), isolation(in.Namespace, pods, after)
	var openIn, openOut, closedIn, closedOut []*model.Pod
	for _, p := range pods {
		b, a := before0[p], after1[p]
		if !b.ingress || !a.ingress {
			openIn = append(openIn, p)
		} else {
			closedIn = append(closedIn, p)
		}
		if !b.egress || !a.egress {
			openOut = append(openOut, p)
		} else {
			closedOut = append(closedOut, p)
		}
	}
	taken := map[string]bool{}
	for _, np := range in.Before {
		taken[np.Name] = true
	}
	for _, np := range after {
		taken[np.Name] = true
	}
	name := func(base string) string {
		n := base
		for i := 1; taken[n]; i++ {
			n = fmt.Sprintf("%s-%d", base, i)
		}
		taken[n] = true
		return n
	}

	var bridges []*networkingv1.NetworkPolicy
	inSel, outSel := selectorsFor(openIn, closedIn, len(pods)), selectorsFor(openOut, closedOut, len(pods))
	if sameSelectors(inSel, outSel) {
		for _, s := range inSel {
			bridges = append(bridges, bridge(in, name(in.Prefix), s, true, true))
		}
	} else {
		for _, s := range inSel {
			bridges = append(bridges, bridge(in, name(in.Prefix+"-ingress"), s, true, false))
		}
		for _, s := range outSel {
			bridges = append(bridges, bridge(in, name(in.Prefix+"-egress"), s, false, true))
		}
	}

	var steps []Step
	for _, b := range bridges {
		steps = append(steps, Step{Write: Write{Op: Create, Object: b}, Role: RoleBridge, Why: "keeps today's traffic of the pods it selects while the change lands"})
	}
	var keeps []*networkingv1.NetworkPolicy
	for _, w := range in.Writes {
		if w.Before == nil || !protects(in.Namespace, w.Before, closedIn, closedOut) {
			continue
		}
		k := keepCopy(in, name(in.Prefix+"-keep-"+w.Before.Name), w.Before)
		keeps = append(keeps, k)
		steps = append(steps, Step{Write: Write{Op: Create, Object: k}, Role: RoleKeep, Why: "keeps what " + w.Before.Name + " allows until the change lands"})
	}
	settled := len(steps) == 0 // no bridge or copy to wait for
	for _, w := range in.Writes {
		s := Step{Write: w, Role: RoleBaseline, Why: "requested"}
		if !settled && inPlace(w) {
			s.WaitForBridge, settled = true, true
		}
		steps = append(steps, s)
	}
	for _, k := range keeps {
		steps = append(steps, Step{Write: Write{Op: Delete, Before: k}, Role: RoleCleanup, Why: "the change has landed"})
	}
	for i, b := range bridges {
		role, why := RoleCleanup, "the change has landed"
		if i == len(bridges)-1 {
			role, why = RoleCutover, "the new state takes effect"
		}
		steps = append(steps, Step{Write: Write{Op: Delete, Before: b}, Role: role, Why: why})
	}
	return steps
}

// inPlace reports whether the write changes the spec of a live policy
// (same name, same object): what an enforcer may apply in two moves.
func inPlace(w Write) bool {
	return w.Before != nil && w.Object != nil && !equality.Semantic.DeepEqual(w.Before.Spec, w.Object.Spec)
}

type iso struct{ ingress, egress bool }

// isolation says, per pod, which directions the policies isolate.
func isolation(namespace string, pods []*model.Pod, policies []*networkingv1.NetworkPolicy) map[*model.Pod]iso {
	out := make(map[*model.Pod]iso, len(pods))
	for _, np := range policies {
		if np.Namespace != "" && np.Namespace != namespace {
			continue
		}
		ing, eg := policy.PolicyTypes(np)
		for _, p := range pods {
			if selects(np, p) {
				cur := out[p]
				out[p] = iso{ingress: cur.ingress || ing, egress: cur.egress || eg}
			}
		}
	}
	return out
}

func selects(np *networkingv1.NetworkPolicy, p *model.Pod) bool {
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	return err == nil && sel.Matches(labels.Set(p.Labels))
}

// protects: the policy isolates, in one of its directions, a pod that is
// isolated that way both before and after, so its allows matter until the
// replacement lands.
func protects(namespace string, np *networkingv1.NetworkPolicy, closedIn, closedOut []*model.Pod) bool {
	ing, eg := policy.PolicyTypes(np)
	for _, p := range closedIn {
		if ing && selects(np, p) {
			return true
		}
	}
	for _, p := range closedOut {
		if eg && selects(np, p) {
			return true
		}
	}
	return false
}

// selectorsFor returns label selectors that together select every open
// pod and no closed one. Usually one: {} when every pod is open, else {}
// narrowed by NotIn terms that each shut out closed pods and no open one.
// When some closed pod cannot be told apart that way, one selector per
// open label set, excluding closed pods whose labels are a superset.
func selectorsFor(open, closed []*model.Pod, total int) []metav1.LabelSelector {
	if len(open) == 0 {
		return nil
	}
	if len(open) == total || len(closed) == 0 {
		return []metav1.LabelSelector{{}}
	}
	if sel, ok := exclusionSelector(open, closed); ok {
		return []metav1.LabelSelector{sel}
	}
	seen := map[string]bool{}
	var out []metav1.LabelSelector
	for _, p := range open {
		key := labels.Set(p.Labels).String()
		if seen[key] {
			continue
		}
		seen[key] = true
		sel := metav1.LabelSelector{MatchLabels: copyMap(p.Labels)}
		excluded := map[string]bool{}
		for _, c := range closed {
			if !labels.SelectorFromSet(p.Labels).Matches(labels.Set(c.Labels)) {
				continue
			}
			// c has every label of p, and one more (equal label sets are
			// isolated alike): that key tells them apart.
			for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
				if _, in := p.Labels[k]; !in {
					if !excluded[k] {
						excluded[k] = true
						sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpDoesNotExist})
					}
					break
				}
			}
		}
		if len(sel.MatchLabels) == 0 {
			sel.MatchLabels = nil
		}
		out = append(out, sel)
	}
	return out
}

// exclusionSelector is {} with "key NotIn (values)" terms: for each closed
// pod a label of it that no open pod carries with that value.
func exclusionSelector(open, closed []*model.Pod) (metav1.LabelSelector, bool) {
	openHas := map[string]bool{}
	for _, p := range open {
		for k, v := range p.Labels {
			openHas[k+"="+v] = true
		}
	}
	notIn := map[string][]string{}
	for _, c := range closed {
		excluded := false
		for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
			if slices.Contains(notIn[k], c.Labels[k]) {
				excluded = true
				break
			}
		}
		if excluded {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
			if !openHas[k+"="+c.Labels[k]] {
				notIn[k] = append(notIn[k], c.Labels[k])
				excluded = true
				break
			}
		}
		if !excluded {
			return metav1.LabelSelector{}, false
		}
	}
	var sel metav1.LabelSelector
	for _, k := range slices.Sorted(maps.Keys(notIn)) {
		values := slices.Sorted(slices.Values(notIn[k]))
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpNotIn, Values: values})
	}
	return sel, true
}

func sameSelectors(a, b []metav1.LabelSelector) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if metav1.FormatLabelSelector(&a[i]) != metav1.FormatLabelSelector(&b[i]) {
			return false
		}
	}
	return true
}

func bridge(in Input, name string, sel metav1.LabelSelector, ingress, egress bool) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: in.Namespace, Labels: transitionLabels(in.Labels, RoleBridge)},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: sel},
	}
	if ingress {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
	}
	if egress {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}}
	}
	return np
}

func keepCopy(in Input, name string, of *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	if len(name) > 253 {
		name = name[:253]
	}
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: in.Namespace, Labels: transitionLabels(in.Labels, RoleKeep)},
		Spec:       *of.Spec.DeepCopy(),
	}
	// An implicit policyTypes depends on the rules; spell it out so the
	// copy isolates exactly as the original did.
	ing, eg := policy.PolicyTypes(of)
	np.Spec.PolicyTypes = nil
	if ing {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
	}
	if eg {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
	return np
}

func transitionLabels(base map[string]string, role Role) map[string]string {
	out := copyMap(base)
	if out == nil {
		out = map[string]string{}
	}
	out[ownership.TransitionLabel] = string(role)
	return out
}

// applyWrites is the state after the writes.
func applyWrites(state []*networkingv1.NetworkPolicy, writes []Write) ([]*networkingv1.NetworkPolicy, error) {
	byName := make(map[string]*networkingv1.NetworkPolicy, len(state))
	for _, np := range state {
		byName[np.Name] = np
	}
	for _, w := range writes {
		name := w.Name()
		_, exists := byName[name]
		switch w.Op {
		case Create:
			if exists {
				return nil, fmt.Errorf("plan creates networkpolicy %s, which exists", name)
			}
			byName[name] = w.Object
		case Apply:
			byName[name] = w.Object
		case Replace:
			if !exists {
				return nil, fmt.Errorf("plan replaces networkpolicy %s, which does not exist", name)
			}
			byName[name] = w.Object
		case Delete:
			if !exists {
				return nil, fmt.Errorf("plan deletes networkpolicy %s, which does not exist", name)
			}
			delete(byName, name)
		default:
			return nil, fmt.Errorf("unknown op %q", w.Op)
		}
	}
	out := make([]*networkingv1.NetworkPolicy, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[name])
	}
	return out, nil
}

// realPods leaves out pods whose policies do not decide their traffic.
func realPods(pods []*model.Pod) []*model.Pod {
	var out []*model.Pod
	for _, p := range pods {
		if !p.HostNetwork {
			out = append(out, p)
		}
	}
	return out
}

func copyMap(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// Describe is the plan as numbered lines.
func (p *Plan) Describe() string {
	var b strings.Builder
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "%d. %s\n", i+1, s)
	}
	return b.String()
}
