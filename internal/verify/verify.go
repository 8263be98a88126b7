// Package verify is apply --verify's use case: after a namespace's new
// policies have taken effect, probe the connections the engine says they
// change and those they allow, retry what disagrees until the policies
// had time to settle, and say what did not match. The prober and the
// clock are injected; it writes nothing to the cluster.
package verify

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// Prober runs probe plans in the cluster and interprets the results.
type Prober interface {
	Run(ctx context.Context, plans []probe.SourcePlan, mode probe.DenyMode, log io.Writer) []probe.Observation
}

// Verifier checks namespace after namespace against its model of the
// cluster, which it updates as each namespace's policies land.
type Verifier struct {
	Prober Prober
	Mode   probe.DenyMode
	// Settle is how long a mismatch is retried before it counts.
	Settle time.Duration
	// MaxChecks bounds the connections probed per namespace.
	MaxChecks int
	// CheckTimeout is each check's own timeout.
	CheckTimeout time.Duration
	// SystemPods lets checks run from pods of the system namespaces.
	SystemPods bool
	Log        io.Writer
	// Now and Sleep are the clock (nil: the real one).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration)
	// Observations are every final result so far, passed or not.
	Observations []probe.Observation

	current *model.Model
}

// New starts from the cluster as read before the apply.
func New(before *model.Model, prober Prober) *Verifier {
	return &Verifier{current: before, Prober: prober, MaxChecks: 200}
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) sleep(ctx context.Context, d time.Duration) {
	if v.Sleep != nil {
		v.Sleep(ctx, d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (v *Verifier) log() io.Writer {
	if v.Log == nil {
		return io.Discard
	}
	return v.Log
}

// MismatchError reports that the probes did not show what the engine predicted for a
// namespace's new state (or could not run at all: CouldNotRun).
type MismatchError struct {
	Namespace string
	Bad       []probe.Observation
	// CouldNotRun: the probes themselves failed, so nothing was verified.
	CouldNotRun bool
}

func (e *MismatchError) Error() string {
	var rows []string
	for _, o := range e.Bad {
		rows = append(rows, fmt.Sprintf("%s -> %s %s: expected %s, observed %s (%s)", o.From, o.To, o.Port, o.Expected, o.Observed, o.Result))
	}
	what := "did not do what the policies say"
	if e.CouldNotRun {
		what = "could not be probed"
	}
	return fmt.Sprintf("the new state of %s %s:\n  %s", e.Namespace, what, strings.Join(rows, "\n  "))
}

// InconclusiveError reports that probes of a namespace's new state went
// through a service mesh's proxy (the agent saw its connect taken by a
// listener of the pod, or a DNS answer the mesh may have given itself):
// nothing was proven either way. Undoing a baseline that may be right is
// as wrong as passing one that may cut traffic, so apply keeps the state
// (KeepApplied) and stops with this error.
type InconclusiveError struct {
	Namespace string
	Through   []probe.Observation
}

func (e *InconclusiveError) Error() string {
	rows := make([]string, 0, len(e.Through))
	for _, o := range e.Through {
		rows = append(rows, fmt.Sprintf("%s -> %s %s: expected %s, observed %s%s", o.From, o.To, o.Port, o.Expected, o.Observed, meshSuffix(o.Mesh)))
	}
	return fmt.Sprintf("the new state of %s could not be verified: %d connection(s) went through a mesh proxy:\n  %s", e.Namespace, len(rows), strings.Join(rows, "\n  "))
}

// KeepApplied tells apply to stop without undoing: the state is neither
// verified nor refuted.
func (e *InconclusiveError) KeepApplied() bool { return true }

func meshSuffix(m *probe.Mesh) string {
	switch {
	case m == nil:
		return ""
	case m.Bypassed:
		return fmt.Sprintf(" (%s %s, probed as uid %d: the bypass did not hold)", m.Name, m.Mode, *m.BypassUID)
	}
	return fmt.Sprintf(" (%s %s, not bypassed)", m.Name, m.Mode)
}

// Namespace predicts what the namespace's new state changed, probes
// exactly that, and retries mismatches until --settle-timeout passes
// (policies take a moment to reach every node).
func (v *Verifier) Namespace(ctx context.Context, namespace string, landed []*networkingv1.NetworkPolicy) error {
	before := v.current
	after := policy.After(before, map[string][]*networkingv1.NetworkPolicy{namespace: landed}, nil)
	v.current = after
	eb, ea := policy.New(before), policy.New(after)
	focus := map[string]bool{namespace: true}
	changes := policy.FlowChanges(eb, ea, focus)
	// The connections the new policies' rules allow are probed too,
	// changed or not: the bridge keeps them working during the apply, and
	// this proves they still work once it is gone. They are what the new
	// state allows and the same policies without their rules would not.
	allowedByNew := policy.FlowChanges(policy.New(policy.After(before, map[string][]*networkingv1.NetworkPolicy{namespace: withoutRules(landed)}, nil)), ea, focus)
	pairs := probe.ChangePairs(after, uniqueChanges(changes, allowedByNew))
	pairs = append(pairs, externalPairs(eb, ea, after, namespace, landed)...)
	pairs, fromSystem := v.withoutSystemSources(pairs)
	var dnsNames []string
	if touchesDNS(changes, landed) {
		dnsNames = []string{"kubernetes.default.svc." + clusterDomain}
	}
	sortPairs(pairs)
	total := len(pairs)
	log := v.log()
	if fromSystem > 0 {
		fmt.Fprintf(log, "  verify %s: %d connection(s) from pods of system namespaces not probed (a probe would stay in their spec; --verify-system-pods probes them)\n", namespace, fromSystem)
	}
	if total > v.MaxChecks {
		pairs = pairs[:v.MaxChecks]
	}
	plans, skipped := probe.PlanPairs(ea, pairs, dnsNames, v.CheckTimeout)
	if len(plans) == 0 {
		fmt.Fprintf(log, "  verify %s: no connection that can be probed changes (%d changed, %d not probeable)\n", namespace, len(changes), len(skipped))
		return nil
	}
	fmt.Fprintf(log, "  verify %s: probing %d of %d changed connection(s) from %d pod(s)\n", namespace, len(pairs)-len(skipped), total, len(plans))
	deadline := v.now().Add(v.Settle)
	final := map[string]probe.Observation{}
	var order []string
	for attempt := 0; ; attempt++ {
		obs := v.Prober.Run(ctx, plans, v.Mode, log)
		var retry []string
		for _, ob := range obs {
			key := ob.From + "|" + ob.To + "|" + ob.Port + "|" + ob.Kind
			if _, seen := final[key]; !seen {
				order = append(order, key)
			}
			final[key] = ob
			if ob.Result == probe.ResultMismatch || ob.Result == probe.ResultError {
				retry = append(retry, key)
			}
		}
		if len(retry) == 0 || v.now().After(deadline) || ctx.Err() != nil {
			break
		}
		plans = keepChecks(plans, retry)
		v.sleep(ctx, 2*time.Second)
	}
	return v.verdict(namespace, order, final)
}

// withoutSystemSources leaves out the pairs whose source is a pod of a
// system namespace (CoreDNS, a kube-system ingress controller), unless
// SystemPods: an ephemeral container stays in its pod's spec, and the
// plugin does not edit system pods unasked. It returns how many it left.
func (v *Verifier) withoutSystemSources(pairs []probe.Pair) ([]probe.Pair, int) {
	if v.SystemPods {
		return pairs, 0
	}
	kept := pairs[:0:0]
	for _, p := range pairs {
		if p.From != nil && model.SystemNamespaces[p.From.Namespace] {
			continue
		}
		kept = append(kept, p)
	}
	return kept, len(pairs) - len(kept)
}

// verdict records the final observations and says what they prove: a
// mismatch undoes (MismatchError), so do probes that could not run
// (CouldNotRun); otherwise one that a mesh proxy took stops the apply
// unverified (InconclusiveError). The deny mode's inconclusives (a refusal
// under kube-router's reject) pass, as the engine expected a denial there
// or nothing better can be learnt.
func (v *Verifier) verdict(namespace string, order []string, final map[string]probe.Observation) error {
	var bad, errored, meshed []probe.Observation
	for _, key := range order {
		ob := final[key]
		v.Observations = append(v.Observations, ob)
		fmt.Fprintf(v.log(), "    %s -> %s %s: expected %s, observed %s: %s%s\n", ob.From, ob.To, ob.Port, ob.Expected, ob.Observed, ob.Result, meshSuffix(ob.Mesh))
		switch {
		case ob.Result == probe.ResultMismatch:
			bad = append(bad, ob)
		case ob.Result == probe.ResultError:
			errored = append(errored, ob)
		case ob.MeshInconclusive():
			meshed = append(meshed, ob)
		}
	}
	switch {
	case len(bad) > 0:
		return &MismatchError{Namespace: namespace, Bad: bad}
	case len(errored) > 0:
		return &MismatchError{Namespace: namespace, Bad: errored, CouldNotRun: true}
	case len(meshed) > 0:
		return &InconclusiveError{Namespace: namespace, Through: meshed}
	}
	return nil
}

const clusterDomain = "cluster.local"

// touchesDNS: the phase changes a flow on port 53 or opens egress to it
// (allow-dns changes nothing while egress is still open, yet it is the
// rule every later phase depends on), so its sources also resolve a name.
func touchesDNS(changes []policy.FlowChange, landed []*networkingv1.NetworkPolicy) bool {
	for _, c := range changes {
		if c.Port == 53 {
			return true
		}
	}
	for _, np := range landed {
		for _, rule := range np.Spec.Egress {
			for _, p := range rule.Ports {
				if p.Port != nil && p.Port.IntValue() == 53 {
					return true
				}
			}
		}
	}
	return false
}

// keepChecks narrows plans to the checks to retry.
func keepChecks(plans []probe.SourcePlan, keys []string) []probe.SourcePlan {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	var out []probe.SourcePlan
	for _, p := range plans {
		var kept []probe.Planned
		for _, c := range p.Checks {
			if want[c.From+"|"+c.To+"|"+c.PortLabel+"|"+c.Kind] {
				c.ID = fmt.Sprint(len(kept))
				kept = append(kept, c)
			}
		}
		if len(kept) > 0 {
			p.Checks = kept
			out = append(out, p)
		}
	}
	return out
}

// externalPairs are the egress ipBlocks of the phase's policies, checked
// at the first address of each CIDR on each numbered TCP port, from one
// selected pod per group, where the verdict changes.
func externalPairs(before, after *policy.Engine, m *model.Model, namespace string, landed []*networkingv1.NetworkPolicy) []probe.Pair {
	var out []probe.Pair
	seen := map[string]bool{}
	for _, np := range landed {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			continue
		}
		var sources []*model.Pod
		for _, p := range m.PodsIn(namespace) {
			if sel.Matches(labels.Set(p.Labels)) && probe.Probeable(p) {
				sources = append(sources, p)
			}
		}
		if len(sources) == 0 {
			continue
		}
		for _, rule := range np.Spec.Egress {
			for _, peer := range rule.To {
				if peer.IPBlock == nil {
					continue
				}
				prefix, err := netip.ParsePrefix(peer.IPBlock.CIDR)
				if err != nil || !prefix.Addr().Is4() {
					continue
				}
				addr := prefix.Masked().Addr()
				if prefix.Bits() < 31 {
					addr = addr.Next()
				}
				for _, port := range rule.Ports {
					if port.Port == nil || port.Port.IntValue() == 0 || (port.Protocol != nil && *port.Protocol != corev1.ProtocolTCP) {
						continue
					}
					for _, g := range after.Groups(sources) {
						src := g.Pods[0]
						flow := policy.Flow{From: policy.PodEndpoint(src), To: policy.IPEndpoint(addr), Port: int32(port.Port.IntValue()), Protocol: corev1.ProtocolTCP}
						key := src.Key() + addr.String() + port.Port.String()
						if seen[key] || before.Evaluate(flow, false).Verdict == after.Evaluate(flow, false).Verdict {
							continue
						}
						seen[key] = true
						out = append(out, probe.Pair{From: src, FromGroup: g.Name, ToIP: addr, Port: flow.Port, Protocol: corev1.ProtocolTCP})
					}
				}
			}
		}
	}
	return out
}

func sortPairs(pairs []probe.Pair) {
	key := func(p probe.Pair) string {
		to := p.ToIP.String()
		if p.To != nil {
			to = p.To.Key()
		}
		return fmt.Sprintf("%s|%s|%05d|%s", p.From.Key(), to, p.Port, p.Protocol)
	}
	sort.SliceStable(pairs, func(i, j int) bool { return key(pairs[i]) < key(pairs[j]) })
}

// Summarize counts the observations by result ("12 ok, 1 mismatch").
func Summarize(obs []probe.Observation) string {
	counts := map[string]int{}
	for _, o := range obs {
		counts[o.Result]++
	}
	if len(obs) == 0 {
		return "no connection changed that could be probed"
	}
	var parts []string
	for _, r := range []string{probe.ResultOK, probe.ResultFail, probe.ResultInconclusive, probe.ResultInfo} {
		if counts[r] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[r], r))
		}
	}
	return fmt.Sprintf("%d check(s): %s", len(obs), strings.Join(parts, ", "))
}

// uniqueChanges merges lists of flows, each flow once.
func uniqueChanges(lists ...[]policy.FlowChange) []policy.FlowChange {
	seen := map[string]bool{}
	var out []policy.FlowChange
	for _, l := range lists {
		for _, c := range l {
			key := fmt.Sprintf("%s|%s|%d|%s", c.From, c.To, c.Port, c.Protocol)
			if !seen[key] {
				seen[key] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// withoutRules are the policies isolating as before but allowing nothing.
func withoutRules(policies []*networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	out := make([]*networkingv1.NetworkPolicy, 0, len(policies))
	for _, np := range policies {
		c := np.DeepCopy()
		ingress, egress := policy.PolicyTypes(np)
		c.Spec.PolicyTypes, c.Spec.Ingress, c.Spec.Egress = nil, nil, nil
		if ingress {
			c.Spec.PolicyTypes = append(c.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		}
		if egress {
			c.Spec.PolicyTypes = append(c.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
		out = append(out, c)
	}
	return out
}
