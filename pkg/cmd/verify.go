package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/pkg/apply"
	"github.com/netbaseline/kubectl-netbaseline/pkg/baseline"
	"github.com/netbaseline/kubectl-netbaseline/pkg/cluster"
	"github.com/netbaseline/kubectl-netbaseline/pkg/doctor"
	"github.com/netbaseline/kubectl-netbaseline/pkg/policy"
	"github.com/netbaseline/kubectl-netbaseline/pkg/probe"
	"github.com/netbaseline/kubectl-netbaseline/pkg/report"
)

// verifyError stops apply --verify after a phase whose probes did not
// show what the engine predicted (or could not run).
type verifyError struct {
	Namespace string
	Bad       []probe.Observation
	// CouldNotRun: the probes themselves failed, so nothing was verified.
	CouldNotRun bool
}

func (e *verifyError) Error() string {
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

// verifier probes, after each phase, the connections the engine says that
// phase changes.
type verifier struct {
	o       *ApplyOptions
	clients cluster.Clients
	mode    probe.DenyMode
	// current is the cluster as the engine sees it, policies updated as
	// each phase lands.
	current      *cluster.Model
	observations []probe.Observation
}

// checkEnforcement refuses --verify when nothing enforces NetworkPolicy:
// the probes would pass or fail for reasons that have nothing to do with
// the policies. --canary measures enforcement instead of trusting doctor.
func (o *ApplyOptions) checkEnforcement(ctx context.Context, clients cluster.Clients) ([]doctor.Engine, error) {
	snap, err := doctor.ReadEngines(ctx, clients)
	if err != nil {
		return nil, err
	}
	engines, _ := doctor.CheckEngines(snap)
	var names []string
	for _, e := range engines {
		names = append(names, e.Name)
	}
	if o.Canary {
		d := &DoctorOptions{GlobalOptions: o.GlobalOptions, IOStreams: o.IOStreams, Image: o.Image, PullPolicy: o.PullPolicy, Wait: o.WaitTimeout}
		f := d.canary(ctx, clients.Kube)
		if f.Severity != doctor.Pass {
			return nil, &ExitError{Code: ExitFailed, Err: fmt.Errorf("--verify refused, nothing was applied: the canary did not prove enforcement: %s", f.Message)}
		}
		fmt.Fprintf(o.ErrOut, "Canary: %s\n", f.Message)
		return engines, nil
	}
	if len(engines) == 0 {
		_, unreadable := snap.Unreadable["daemonsets"]
		why := "no NetworkPolicy engine was found (doctor ENGINE-001)"
		if unreadable {
			why = "the NetworkPolicy engine could not be detected (listing DaemonSets is forbidden)"
		}
		return nil, &ExitError{Code: ExitFailed, Err: fmt.Errorf("--verify refused, nothing was applied: %s, so probes could not tell whether the policies work; install one (kubectl netbaseline doctor says how), or add --canary to measure enforcement", why)}
	}
	fmt.Fprintf(o.ErrOut, "Enforcement: %s (doctor)\n", strings.Join(names, ", "))
	return engines, nil
}

// runVerified applies namespace by namespace and probes each once its new
// state has taken effect; a mismatch makes the apply undo the whole run.
func (o *ApplyOptions) runVerified(ctx context.Context, clients cluster.Clients, applier *apply.Applier, rendered map[string][]baseline.Object) error {
	engines, err := o.checkEnforcement(ctx, clients)
	if err != nil {
		return err
	}
	model, err := cluster.LoadLive(ctx, clients, cluster.LiveOptions{Namespaces: o.namespaces})
	if err != nil {
		return err
	}
	if model.PoliciesPartial {
		return &ExitError{Code: ExitFailed, Err: errors.New("--verify refused, nothing was applied: the cluster's NetworkPolicies could not all be read, so the engine cannot predict what each phase changes (grant list on networkpolicies cluster-wide)")}
	}
	v := &verifier{o: o, clients: clients, mode: denyModeOf(o.DenyMode, engines), current: model}
	fmt.Fprintf(o.ErrOut, "Verifying each namespace with probes (deny mode %s, image %s)\n", v.mode, o.Image)
	applier.Verify = v.verifyNamespace
	applyErr := o.applyAll(ctx, applier, rendered)
	if o.Save != "" {
		if err := v.save(o.Save); err != nil {
			fmt.Fprintf(o.ErrOut, "Warning: --save: %v\n", err)
		}
	}
	if applyErr == nil {
		fmt.Fprintf(o.ErrOut, "Verified: %s\n", summarize(v.observations))
	}
	return applyErr
}

// verifyNamespace predicts what the namespace's new state changed, probes
// exactly that, and retries mismatches until --verify-settle passes
// (policies take a moment to reach every node).
func (v *verifier) verifyNamespace(ctx context.Context, p *apply.NamespacePlan) error {
	namespace := p.Namespace
	landed := p.Transition.After
	before := v.current
	after := withNamespacePolicies(before, namespace, landed)
	v.current = after
	eb, ea := policy.New(before), policy.New(after)
	focus := map[string]bool{namespace: true}
	changes := policy.FlowChanges(eb, ea, focus)
	// The connections the new policies allow are probed too, changed or
	// not: the bridge keeps them working during the apply, and this proves
	// they still work once it is gone. They are what the new state allows
	// and a namespace-wide deny-all would not.
	denyAll := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "netbaseline-verify-deny-all"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}
	allowedByNew := policy.FlowChanges(policy.New(withNamespacePolicies(before, namespace, []*networkingv1.NetworkPolicy{denyAll})), ea, focus)
	pairs := probe.ChangePairs(after, uniqueChanges(changes, allowedByNew))
	pairs = append(pairs, externalPairs(eb, ea, after, namespace, landed)...)
	var dnsNames []string
	if touchesDNS(changes, landed) {
		dnsNames = []string{"kubernetes.default.svc." + clusterDomain}
	}
	sortPairs(pairs)
	total := len(pairs)
	if total > v.o.VerifyMaxChecks {
		pairs = pairs[:v.o.VerifyMaxChecks]
	}
	plans, skipped := probe.PlanPairs(ea, pairs, dnsNames, v.o.Timeout)
	log := prefixed{v.o.ErrOut}
	if len(plans) == 0 {
		fmt.Fprintf(log, "  verify %s: no connection that can be probed changes (%d changed, %d not probeable)\n", namespace, len(changes), len(skipped))
		return nil
	}
	fmt.Fprintf(log, "  verify %s: probing %d of %d changed connection(s) from %d pod(s)\n", namespace, len(pairs)-len(skipped), total, len(plans))
	deadline := time.Now().Add(v.o.VerifySettle)
	final := map[string]probe.Observation{}
	var order []string
	for attempt := 0; ; attempt++ {
		obs := v.o.runPlans(ctx, v.clients, plans, v.mode, log)
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
		if len(retry) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		plans = keepChecks(plans, retry)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	var bad, errored []probe.Observation
	for _, key := range order {
		ob := final[key]
		v.observations = append(v.observations, ob)
		fmt.Fprintf(log, "    %s -> %s %s: expected %s, observed %s: %s\n", ob.From, ob.To, ob.Port, ob.Expected, ob.Observed, ob.Result)
		switch ob.Result {
		case probe.ResultMismatch:
			bad = append(bad, ob)
		case probe.ResultError:
			errored = append(errored, ob)
		}
	}
	if len(bad) > 0 {
		return &verifyError{Namespace: namespace, Bad: bad}
	}
	if len(errored) > 0 {
		return &verifyError{Namespace: namespace, Bad: errored, CouldNotRun: true}
	}
	return nil
}

// save writes the probe results, passed or not, in probe --save's format.
func (v *verifier) save(path string) error {
	res := report.NewProbeResult(v.mode, v.o.Image, v.observations)
	res.ProbedAt = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
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

// withNamespacePolicies is the model with the namespace's policies
// replaced by the given ones.
func withNamespacePolicies(m *cluster.Model, namespace string, policies []*networkingv1.NetworkPolicy) *cluster.Model {
	next := *m
	next.Policies = nil
	for _, np := range m.Policies {
		if np.Namespace != namespace {
			next.Policies = append(next.Policies, np)
		}
	}
	for _, np := range policies {
		c := np
		if c.Namespace == "" {
			c = np.DeepCopy()
			c.Namespace = namespace
		}
		next.Policies = append(next.Policies, c)
	}
	next.Normalize()
	return &next
}

// externalPairs are the egress ipBlocks of the phase's policies, checked
// at the first address of each CIDR on each numbered TCP port, from one
// selected pod per group, where the verdict changes.
func externalPairs(before, after *policy.Engine, m *cluster.Model, namespace string, landed []*networkingv1.NetworkPolicy) []probe.Pair {
	var out []probe.Pair
	seen := map[string]bool{}
	for _, np := range landed {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			continue
		}
		var sources []*cluster.Pod
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

func summarize(obs []probe.Observation) string {
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
