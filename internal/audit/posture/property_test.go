package posture

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// futurePeer is a pod created after the audit, in an existing namespace
// or in a new one.
type futurePeer struct {
	pod *model.Pod
	ns  *model.Namespace
}

// randomFuture draws pods the audit never saw: labels from synth's
// vocabulary (which its policies select on) and from outside it, in
// existing namespaces and in new ones, some named as selectors name them.
func randomFuture(r *rand.Rand, m *model.Model, n int) []futurePeer {
	pickOr := func(xs []string) string {
		if r.IntN(4) == 0 {
			return fmt.Sprintf("never-seen-%d", r.IntN(3))
		}
		return xs[r.IntN(len(xs))]
	}
	var out []futurePeer
	created := map[string]*model.Namespace{}
	for i := 0; i < n; i++ {
		ns := m.Namespaces[r.IntN(len(m.Namespaces))]
		if r.IntN(2) == 0 {
			name := fmt.Sprintf("future-%d", i)
			if r.IntN(3) == 0 {
				name = fmt.Sprintf("ns-%d", 3+r.IntN(4)) // named by synth's selectors, maybe not existing
			}
			switch {
			case created[name] != nil:
				ns = created[name]
			case m.Namespace(name) == nil:
				ns = &model.Namespace{Name: name, Labels: map[string]string{model.MetadataNameLabel: name}}
				if r.IntN(2) == 0 {
					ns.Labels["env"] = pickOr([]string{"prod", "dev", "staging"})
				}
				if r.IntN(2) == 0 {
					ns.Labels["team"] = pickOr([]string{"red", "blue", "green"})
				}
				created[name] = ns
			}
		}
		labels := map[string]string{}
		for key, values := range map[string][]string{"app": {"web", "api", "db", "cache", "worker", "frontend", "backend"}, "tier": {"front", "back", "data"}, "version": {"v0", "v1", "v2"}, "other": {"x"}} {
			if r.IntN(2) == 0 {
				labels[key] = pickOr(values)
			}
		}
		out = append(out, futurePeer{ns: ns, pod: &model.Pod{Namespace: ns.Name, Name: fmt.Sprintf("future-pod-%d", i), Labels: labels, ServiceAccount: "default"}})
	}
	return out
}

// withFuture is the model once the future pods (and their namespaces)
// exist.
func withFuture(m *model.Model, future []futurePeer) *model.Model {
	next := m.Derive()
	for _, f := range future {
		if m.Namespace(f.ns.Name) == nil && next.Namespace(f.ns.Name) == nil {
			next.Namespaces = append(next.Namespaces, f.ns)
		}
		next.Pods = append(next.Pods, f.pod)
	}
	next.Normalize()
	return next
}

// TestExposureAgreesWithEngineOnFuturePods is the property the exposure
// promises: for random clusters, every pod created later (random labels,
// existing or new namespaces) gets from the engine exactly the verdict
// of its region, on every side and port audit reported.
func TestExposureAgreesWithEngineOnFuturePods(t *testing.T) {
	checked := 0
	for seed := uint64(1); seed <= 60; seed++ {
		o := synth.Options{Seed: seed, Namespaces: 4, Workloads: 2, MaxReplicas: 1, Policies: 8}
		if seed%2 == 0 { // AdminNetworkPolicy and BaselineAdminNetworkPolicy too
			o.ClusterPolicies, o.ClusterPolicyAPI, o.DistinctPriorities = 3, "anp", true
		}
		m := synth.Model(o)
		var names []string
		for _, ns := range m.Namespaces {
			names = append(names, ns.Name)
		}
		a := NewAnalyzer(m, names)
		r := rand.New(rand.NewPCG(seed, 7))
		future := randomFuture(r, m, 40)
		after := policy.New(withFuture(m, future))
		for _, g := range a.Groups() {
			a.Workload(g)
			checked += checkFuture(t, a, after, g, future)
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d future flows checked", checked)
	}
	t.Logf("%d future flows agree with their regions", checked)
}

// checkFuture compares, for one workload, every future pod's verdict on
// every side and port with its region's.
func checkFuture(t *testing.T, a *Analyzer, after *policy.Engine, g policy.Group, future []futurePeer) int {
	t.Helper()
	w := g.Pods[0]
	regs := a.space.regionsOf(w.Namespace)
	n := 0
	for _, ingress := range []bool{true, false} {
		ports := egressPorts(w.Namespace, a.base)
		if ingress {
			ports = ingressPorts(w, a.base)
		}
		for _, pt := range ports {
			promise := a.promises[promiseKey(g.Name, ingress, pt)]
			for _, f := range future {
				key := regs.Key(f.ns.Name, f.ns.Labels, f.pod.Labels)
				want, ok := promise[key]
				if !ok {
					t.Fatalf("%s %s %d/%s: %s is in no region (%s)", g.Name, direction(ingress), pt.port, pt.proto, f.pod.Key(), key)
				}
				flow := policy.Flow{From: policy.PodEndpoint(f.pod), To: policy.PodEndpoint(w), Port: pt.port, Protocol: pt.proto}
				if !ingress {
					flow.From, flow.To = flow.To, flow.From
				}
				res := after.Evaluate(flow, false)
				side := res.Egress
				if ingress {
					side = res.Ingress
				}
				if side.Verdict != want {
					t.Fatalf("%s %s %d/%s: future %s (ns labels %v, labels %v) got %s, the region promised %s", g.Name, direction(ingress), pt.port, pt.proto, f.pod.Key(), f.ns.Labels, f.pod.Labels, side.Verdict, want)
				}
				n++
			}
		}
	}
	return n
}
