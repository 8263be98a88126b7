package policy

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

var propertyPorts = []int32{53, 80, 443, 3000, 3001, 3500, 8080, 9090, 12345}
var propertyProtocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
var externalAddrs = []netip.Addr{
	netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.1.200"), netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("203.0.113.9"),
}

// The engine agrees with the naive reference on every flow of many random
// clusters that use every selector, port and ipBlock feature.
func TestEngineAgreesWithNaiveReference(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	flows := 0
	for seed := 0; seed < seeds; seed++ {
		m := synth.Model(synth.Options{Seed: uint64(seed), Namespaces: 3, Workloads: 3, MaxReplicas: 2, Policies: 6, HostNetworkEvery: 7, NoIPEvery: 5})
		e := New(m)
		eachFlow(m, externalAddrs, func(f Flow) {
			flows++
			got := e.Evaluate(f, false)
			if want := naiveVerdict(m, f); got.Verdict != want {
				t.Fatalf("seed %d: %s -> %s %d/%s: engine %s, reference %s\n%s", seed, f.From, f.To, f.Port, f.Protocol, got.Verdict, want, dumpPolicies(m))
			}
			// A side's verdict is consistent with its reasons.
			for _, s := range []*Side{got.Egress, got.Ingress} {
				if s != nil && !s.Isolated && len(s.IsolatedBy) > 0 {
					t.Fatalf("seed %d: side not isolated but isolatedBy %v", seed, s.IsolatedBy)
				}
			}
		})
	}
	t.Logf("%d flows over %d random clusters agree", flows, seeds)
}

// Policies are a union: once both sides are isolated and a flow is
// allowed, adding another policy never denies it.
func TestAddingAnAllowOnlyAllows(t *testing.T) {
	for seed := 0; seed < 100; seed++ {
		m := synth.Model(synth.Options{Seed: uint64(seed), Namespaces: 3, Workloads: 3, MaxReplicas: 1, Policies: 5})
		before := New(m)
		extra := synth.Model(synth.Options{Seed: uint64(seed + 1000), Namespaces: 3, Workloads: 1, Policies: 1}).Policies[0]
		m2 := *m
		m2.Policies = append(append([]*networkingv1.NetworkPolicy(nil), m.Policies...), extra)
		after := New(&m2)
		for _, from := range m.Pods {
			for _, to := range m.Pods {
				f := Flow{From: PodEndpoint(from), To: PodEndpoint(to), Port: 80, Protocol: corev1.ProtocolTCP}
				b, a := before.Evaluate(f, false), after.Evaluate(f, false)
				if b.Egress.Isolated && b.Ingress.Isolated && b.Verdict == Allowed && a.Verdict != Allowed {
					t.Fatalf("seed %d: %s -> %s allowed by isolated sides, but an added policy denied it", seed, from.Key(), to.Key())
				}
			}
		}
	}
}

// eachFlow calls visit for every flow between the model's pods and the
// addresses, on every property port and protocol.
func eachFlow(m *model.Model, addrs []netip.Addr, visit func(Flow)) {
	var endpoints []Endpoint
	for _, p := range m.Pods {
		endpoints = append(endpoints, PodEndpoint(p))
	}
	for _, a := range addrs {
		endpoints = append(endpoints, IPEndpoint(a))
	}
	for _, from := range endpoints {
		for _, to := range endpoints {
			if from.Pod == nil && to.Pod == nil {
				continue
			}
			for _, port := range propertyPorts {
				for _, proto := range propertyProtocols {
					visit(Flow{From: from, To: to, Port: port, Protocol: proto})
				}
			}
		}
	}
}

func dumpPolicies(m *model.Model) string {
	out := ""
	for _, ns := range m.Namespaces {
		out += fmt.Sprintf("namespace %s %v\n", ns.Name, ns.Labels)
	}
	for _, p := range m.Pods {
		out += fmt.Sprintf("pod %s %v %v %v host=%v\n", p.Key(), p.Labels, p.IPs, p.Ports, p.HostNetwork)
	}
	for _, np := range m.Policies {
		b, _ := yaml.Marshal(np)
		out += "---\n" + string(b)
	}
	return out
}

// FuzzEvaluate decodes arbitrary bytes as a NetworkPolicy, adds it to a
// random cluster and evaluates flows: nothing may panic, and the engine
// still agrees with the reference.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte("metadata: {name: p}\nspec: {podSelector: {}, ingress: [{}]}"), uint64(1), uint16(80))
	f.Add([]byte("metadata: {name: p}\nspec:\n  podSelector: {matchExpressions: [{key: app, operator: Bogus}]}\n  egress: [{to: [{}], ports: [{port: http, endPort: 3}]}]"), uint64(2), uint16(53))
	f.Add([]byte("metadata: {name: p}\nspec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 'nonsense', except: ['::/0']}}]}]"), uint64(3), uint16(0))
	f.Add([]byte("metadata: {name: p}\nspec:\n  podSelector: {}\n  policyTypes: [Sideways]\n  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}], ports: [{protocol: ICMP}]}]"), uint64(4), uint16(443))
	f.Fuzz(func(t *testing.T, doc []byte, seed uint64, port uint16) {
		var np networkingv1.NetworkPolicy
		if err := yaml.Unmarshal(doc, &np); err != nil {
			return
		}
		m := synth.Model(synth.Options{Seed: seed % 64, Namespaces: 2, Workloads: 2, MaxReplicas: 1, Policies: 2, NoIPEvery: 3})
		np.Namespace = m.Namespaces[0].Name
		m.Policies = append(m.Policies, &np)
		e := New(m)
		for _, from := range m.Pods {
			for _, to := range append([]*model.Pod{nil}, m.Pods...) {
				fl := Flow{From: PodEndpoint(from), To: IPEndpoint(externalAddrs[0]), Port: int32(port), Protocol: corev1.ProtocolTCP}
				if to != nil {
					fl.To = PodEndpoint(to)
				}
				got := e.Evaluate(fl, true)
				if want := naiveVerdict(m, fl); got.Verdict != want {
					t.Fatalf("%s -> %s: engine %s, reference %s", fl.From, fl.To, got.Verdict, want)
				}
			}
		}
	})
}

// The engine agrees with the tiered reference on random clusters that
// hold AdminNetworkPolicies, BaselineAdminNetworkPolicies and
// ClusterNetworkPolicies of both tiers, with priority ties, every peer
// kind (nodes, networks, domain names, peers that fail closed) and every
// port form.
func TestEngineAgreesWithNaiveReferenceOnTiers(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	flows, decided := 0, map[Verdict]int{}
	nodeAddr := netip.MustParseAddr("172.16.0.1")
	for seed := 0; seed < seeds; seed++ {
		m := synth.Model(synth.Options{Seed: uint64(seed), Namespaces: 3, Workloads: 2, MaxReplicas: 2, Policies: 3, HostNetworkEvery: 9, NoIPEvery: 4, ClusterPolicies: 1 + seed%5, Nodes: 2})
		if seed%7 == 0 {
			m.MarkUnreadable("nodes", "")
		}
		e := New(m)
		addrs := append(append([]netip.Addr(nil), externalAddrs...), nodeAddr, netip.MustParseAddr("203.0.113.50"))
		eachFlow(m, addrs, func(f Flow) {
			flows++
			got := e.Evaluate(f, false)
			want := naiveTieredVerdict(m, f)
			if got.Verdict != want {
				t.Fatalf("seed %d: %s -> %s %d/%s: engine %s, reference %s\negress %+v\ningress %+v\n%s", seed, f.From, f.To, f.Port, f.Protocol, got.Verdict, want, got.Egress, got.Ingress, dumpClusterPolicies(m))
			}
			decided[want]++
		})
	}
	t.Logf("%d flows over %d random clusters agree: %v", flows, seeds, decided)
	if decided[Allowed] == 0 || decided[Denied] == 0 || decided[Unspecified] == 0 {
		t.Fatalf("the random clusters do not reach every verdict: %v", decided)
	}
}

func dumpClusterPolicies(m *model.Model) string {
	out := dumpPolicies(m)
	for _, p := range m.ClusterPolicies {
		b, _ := yaml.Marshal(p)
		out += "--- " + p.Ref() + "\n" + string(b)
	}
	return out
}

// Peers are resolved on first use; questions asked from many goroutines
// at once (the matrix workers, probe) get the answers one goroutine gets.
func TestConcurrentQuestionsAgreeWithSequential(t *testing.T) {
	m := synth.Model(synth.Options{Seed: 7, Namespaces: 3, Workloads: 3, MaxReplicas: 2, Policies: 10, PodsPerLabelSet: 2})
	var flows []Flow
	eachFlow(m, externalAddrs, func(f Flow) { flows = append(flows, f) })
	want := make([]Verdict, len(flows))
	sequential := New(m)
	for i, f := range flows {
		want[i] = sequential.Evaluate(f, true).Verdict
	}
	concurrent := New(m)
	const workers = 8
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for k := range flows {
				i := (k + w*len(flows)/workers) % len(flows)
				if got := concurrent.Evaluate(flows[i], true).Verdict; got != want[i] {
					errs <- fmt.Errorf("%s -> %s %d/%s: %s concurrently, %s alone", flows[i].From, flows[i].To, flows[i].Port, flows[i].Protocol, got, want[i])
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// A matrix computed on several goroutines yields the verdicts of one
// goroutine, in the same order; an error from yield stops it.
func TestParallelMatrixIsSequential(t *testing.T) {
	m := synth.Model(synth.Options{Seed: 9, Namespaces: 4, Workloads: 4, MaxReplicas: 3, Policies: 10, PodsPerLabelSet: 2})
	e := New(m)
	groups := e.Groups(m.Pods)
	collect := func() []string {
		var out []string
		if err := e.MatrixBetween(groups, groups, nil, func(x Explanation) error {
			out = append(out, fmt.Sprintf("%s %s %d/%s %s", x.FromGroup, x.ToGroup, x.Port, x.Protocol, x.Verdict))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	defer func(n int) { parallelMatrixPairs = n }(parallelMatrixPairs)
	parallelMatrixPairs = 1 << 30
	sequential := collect()
	parallelMatrixPairs = 1
	parallel := collect()
	if len(sequential) == 0 || fmt.Sprint(parallel) != fmt.Sprint(sequential) {
		t.Fatalf("parallel matrix differs: %d verdicts against %d", len(parallel), len(sequential))
	}
	stop := fmt.Errorf("enough")
	seen := 0
	err := e.MatrixBetween(groups, groups, nil, func(Explanation) error {
		seen++
		if seen == 5 {
			return stop
		}
		return nil
	})
	if err != stop || seen != 5 {
		t.Errorf("stopping: err %v after %d verdicts", err, seen)
	}
}

// The verdicts-only matrix gives every verdict the full one gives, on
// random clusters with both cluster-scoped tiers.
func TestMatrixVerdictsAgree(t *testing.T) {
	for seed := 0; seed < 40; seed++ {
		m, _ := synth.ModelAndObjects(synth.Options{Seed: uint64(seed), Namespaces: 3, Workloads: 3, MaxReplicas: 2, Policies: 6, HostNetworkEvery: 7, NoIPEvery: 5, ClusterPolicies: seed % 4})
		e := New(m)
		groups := e.Groups(m.Pods)
		var full, fast []string
		_ = e.MatrixBetween(groups, groups, nil, func(x Explanation) error {
			full = append(full, fmt.Sprintf("%s %s %d %s %s", x.FromGroup, x.ToGroup, x.Port, x.Protocol, x.Verdict))
			return nil
		})
		_ = e.MatrixVerdicts(groups, groups, nil, func(x Explanation) error {
			fast = append(fast, fmt.Sprintf("%s %s %d %s %s", x.FromGroup, x.ToGroup, x.Port, x.Protocol, x.Verdict))
			return nil
		})
		if fmt.Sprint(full) != fmt.Sprint(fast) {
			t.Fatalf("seed %d: verdicts-only matrix differs", seed)
		}
	}
}

// NamespaceSums, with sets of sources, gives exactly what the streamed
// matrix summed per namespace gives: counts and examples, for whole and
// focused matrices, declared and requested (named) ports, host-network
// pods, pods without addresses and pod templates.
func TestNamespaceSumsAgreeWithTheStream(t *testing.T) {
	defer func(n int) { parallelMatrixPairs = n }(parallelMatrixPairs)
	checked := 0
	for seed := 0; seed < 150; seed++ {
		m := synth.Model(synth.Options{Seed: uint64(seed), Namespaces: 2 + seed%4, Workloads: 3, MaxReplicas: 1 + seed%3, Policies: 2 + seed%9, HostNetworkEvery: 5, NoIPEvery: 4, PodsPerLabelSet: seed % 3})
		if seed%5 == 0 {
			for _, p := range m.Pods[:len(m.Pods)/3] {
				p.FromTemplate, p.IPs = true, nil
			}
		}
		e := New(m)
		groups := e.Groups(m.Pods)
		var ports []PortSpec
		switch seed % 3 {
		case 1:
			ports = []PortSpec{{Port: "80", Protocol: "TCP"}, {Port: "53", Protocol: "UDP"}}
		case 2:
			ports = []PortSpec{{Port: "http", Protocol: "TCP"}, {Port: "3000", Protocol: "TCP"}}
		}
		for _, c := range []struct{ sources, destinations []Group }{
			{groups, groups},
			{groups[:len(groups)/2+1], groups},
			{groups, groups[len(groups)/3:]},
		} {
			agg := NewNamespaces()
			if err := e.MatrixBetween(c.sources, c.destinations, ports, agg.Add); err != nil {
				t.Fatal(err)
			}
			want := agg.Flows()
			parallelMatrixPairs = []int{1, 1 << 30}[seed%2] // on several cores, or one
			got, ok := e.NamespaceSums(c.sources, c.destinations, ports)
			if !ok {
				t.Fatalf("seed %d: NamespaceSums declined a NetworkPolicy-only model", seed)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("seed %d (%d groups, ports %v):\nsets:   %v\nstream: %v\n%s", seed, len(groups), ports, got, want, dumpPolicies(m))
			}
			checked += len(want)
		}
	}
	t.Logf("%d namespace flows agree", checked)
	// Cluster-scoped tiers: declined (the stream decides).
	m, _ := synth.ModelAndObjects(synth.Options{Seed: 1, Namespaces: 2, Workloads: 2, Policies: 2, ClusterPolicies: 2})
	e := New(m)
	if _, ok := e.NamespaceSums(e.Groups(m.Pods), e.Groups(m.Pods), nil); ok {
		t.Error("NamespaceSums took a model with cluster-scoped tiers")
	}
}
