package transition

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

const ns = "ns-0"

// randomCase is a namespace with pods, its live policies, and a random set
// of requested writes: new policies, changed ones, deleted ones.
func randomCase(seed uint64) Input {
	m := synth.Model(synth.Options{Seed: seed, Namespaces: 3, Workloads: 4, MaxReplicas: 2, Policies: 10, HostNetworkEvery: 9})
	next := synth.Model(synth.Options{Seed: seed + 7919, Namespaces: 3, Workloads: 1, Policies: 10})
	r := rand.New(rand.NewPCG(seed, 1))
	in := Input{Namespace: ns, Namespaces: m.Namespaces, Labels: map[string]string{"owner": "test"}}
	for _, p := range m.Pods {
		if p.Namespace == ns {
			in.Pods = append(in.Pods, p)
		} else {
			in.Peers = append(in.Peers, p)
		}
	}
	live := map[string]*networkingv1.NetworkPolicy{}
	for _, np := range m.Policies {
		if np.Namespace == ns {
			in.Before = append(in.Before, np)
			live[np.Name] = np
		}
	}
	for _, np := range next.Policies {
		if np.Namespace != ns || r.IntN(3) == 0 {
			continue
		}
		w := Write{Op: Apply, Object: np, Before: live[np.Name], Phase: r.IntN(4) * 5}
		if w.Before != nil && r.IntN(2) == 0 {
			w.Op = Replace
		}
		in.Writes = append(in.Writes, w)
		delete(live, np.Name)
	}
	for _, np := range in.Before {
		if _, still := live[np.Name]; still && r.IntN(3) == 0 {
			in.Writes = append(in.Writes, Write{Op: Delete, Before: np})
		}
	}
	return in
}

// The property: on random namespaces, policies and changes, no state of
// the bridged plan denies a connection allowed before and after.
func TestBridgedPlansNeverCut(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 40
	}
	planned, unsafeWithout := 0, 0
	for seed := uint64(0); seed < uint64(seeds); seed++ {
		in := randomCase(seed)
		if len(in.Writes) == 0 {
			continue
		}
		plan, err := Build(in)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		planned++
		if err := Check(in, plan); err != nil {
			t.Fatalf("seed %d: %v\nplan:\n%s", seed, err, plan.Describe())
		}
		assertReachesTarget(t, seed, in, plan)
		plain := in
		plain.NoBridge = true
		naive, err := Build(plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(Cuts(plain, naive)) > 0 {
			unsafeWithout++
		}
	}
	// The check is not vacuous: the same writes without the bridge cut
	// connections in many of the cases.
	if unsafeWithout == 0 {
		t.Fatalf("no case cut anything without the bridge: the check proves nothing")
	}
	t.Logf("%d plans safe; %d of them would cut connections without the bridge", planned, unsafeWithout)
}

// The plan ends exactly in the requested state: every temporary object is
// gone.
func assertReachesTarget(t *testing.T, seed uint64, in Input, plan *Plan) {
	t.Helper()
	want, err := applyWrites(in.Before, in.Writes)
	if err != nil {
		t.Fatal(err)
	}
	if got, w := names(plan.States[len(plan.States)-1]), names(want); got != w {
		t.Fatalf("seed %d: ends with %s, want %s", seed, got, w)
	}
}

func names(ps []*networkingv1.NetworkPolicy) string {
	var out []string
	for _, np := range ps {
		out = append(out, np.Name)
	}
	return strings.Join(out, ",")
}

func pod(name string, lbl map[string]string) *model.Pod {
	return &model.Pod{Namespace: ns, Name: name, Labels: lbl, Ports: []model.ContainerPort{{Name: "http", Port: 8080, Protocol: "TCP"}}}
}

func denyAll() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
}

func allowWebFromAPI() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-web", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}}}}},
		}}
}

// A first apply onto an open namespace: one bridge selecting every pod in
// both directions, the baseline under it, and the bridge's deletion as the
// single cut-over write.
func TestFirstApplyIsOneBridge(t *testing.T) {
	in := Input{Namespace: ns, Pods: []*model.Pod{pod("web", map[string]string{"app": "web"}), pod("api", map[string]string{"app": "api"})},
		Writes: []Write{{Op: Apply, Object: allowWebFromAPI(), Phase: 10}, {Op: Apply, Object: denyAll()}}}
	plan, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	got := plan.Describe()
	want := "1. create netbaseline-bridge (bridge: keeps today's traffic of the pods it selects while the change lands)\n" +
		"2. apply allow-web (baseline: requested)\n3. apply deny-all (baseline: requested)\n" +
		"4. delete netbaseline-bridge (cut-over: the new state takes effect)\n"
	if got != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", got, want)
	}
	b := plan.Steps[0].Object
	if len(b.Spec.PodSelector.MatchLabels) != 0 || len(b.Spec.PolicyTypes) != 2 || len(b.Spec.Ingress) != 1 || len(b.Spec.Egress) != 1 {
		t.Fatalf("bridge = %+v", b.Spec)
	}
	if err := Check(in, plan); err != nil {
		t.Fatal(err)
	}
	// Without the bridge, deny-all first cuts web <- api until allow-web
	// lands: the check names it.
	in.NoBridge = true
	in.Writes[0], in.Writes[1] = in.Writes[1], in.Writes[0]
	naive, _ := Build(in)
	var unsafe *UnsafeError
	if err := Check(in, naive); !errors.As(err, &unsafe) || unsafe.Step.Name() != "deny-all" || !strings.Contains(err.Error(), "ns-0/api -> ns-0/web 8080/TCP") {
		t.Fatalf("runbook order: %v", err)
	}
}

// Pods already isolated are not bridged (the bridge would open what they
// deny today); a policy being replaced is kept as a copy until its
// successor lands.
func TestBridgeSelectsOnlyOpenPods(t *testing.T) {
	web, api := pod("web", map[string]string{"app": "web"}), pod("api", map[string]string{"app": "api", "tier": "back"})
	other := pod("api-canary", map[string]string{"app": "api", "tier": "back", "track": "canary"})
	isolateCanary := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "canary", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"track": "canary"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptrInt(8080)}}}}}}
	narrower := isolateCanary.DeepCopy()
	narrower.Spec.Ingress = nil
	in := Input{Namespace: ns, Pods: []*model.Pod{web, api, other}, Before: []*networkingv1.NetworkPolicy{isolateCanary},
		Writes: []Write{{Op: Apply, Object: allowWebFromAPI()}, {Op: Apply, Object: denyAll()}, {Op: Replace, Object: narrower, Before: isolateCanary}}}
	plan, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*model.Pod{web, api} {
		bridged := false
		for _, s := range plan.Steps {
			bridged = bridged || (s.Role == RoleBridge && selects(s.Object, p))
		}
		if !bridged {
			t.Errorf("no bridge selects %s:\n%s", p.Name, plan.Describe())
		}
	}
	if len(plan.Steps) < 2 || plan.Steps[len(plan.Steps)-1].Role != RoleCutover {
		t.Fatalf("plan:\n%s", plan.Describe())
	}
	for _, s := range plan.Steps {
		if s.Role == RoleBridge && selects(s.Object, other) {
			t.Errorf("bridge %s selects the isolated canary", s.Name())
		}
	}
	if !strings.Contains(plan.Describe(), "create netbaseline-bridge-keep-canary") {
		t.Errorf("no copy of the replaced policy:\n%s", plan.Describe())
	}
	if err := Check(in, plan); err != nil {
		t.Fatalf("%v\n%s", err, plan.Describe())
	}
}

func ptrInt(i int) *intstr.IntOrString { v := intstr.FromInt32(int32(i)); return &v }

// A rollback: the members go, the namespace ends open; the bridge lands
// first, so deny-all going before its allows cuts nothing.
func TestRollbackPlanIsSafe(t *testing.T) {
	d, a := denyAll(), allowWebFromAPI()
	in := Input{Namespace: ns, Pods: []*model.Pod{pod("web", map[string]string{"app": "web"}), pod("api", map[string]string{"app": "api"})},
		Before: []*networkingv1.NetworkPolicy{a, d},
		Writes: []Write{{Op: Delete, Before: d}, {Op: Delete, Before: a}}}
	plan, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(in, plan); err != nil {
		t.Fatalf("%v\n%s", err, plan.Describe())
	}
	// deny-all deleted before allow-web without a bridge: api -> web stays
	// allowed; but deleting allow-web first would cut it.
	in.NoBridge = true
	in.Writes[0], in.Writes[1] = in.Writes[1], in.Writes[0]
	naive, _ := Build(in)
	if Check(in, naive) == nil {
		t.Fatalf("allows deleted before deny-all cut nothing?\n%s", naive.Describe())
	}
}

// The engine's verdict for the sample equals the check's idea of open.
func TestIsolationAgreesWithEngine(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		in := randomCase(seed)
		m := &model.Model{Namespaces: in.Namespaces, Pods: append(append([]*model.Pod(nil), in.Pods...), in.Peers...), Policies: in.Before}
		m.Normalize()
		e := policy.New(m)
		isos := isolation(ns, realPods(in.Pods), in.Before)
		for _, p := range realPods(in.Pods) {
			r := e.Evaluate(policy.Flow{From: policy.PodEndpoint(p), To: policy.IPEndpoint(externalTestAddr), Port: 1, Protocol: "TCP"}, false)
			if r.Egress.Isolated != isos[p].egress {
				t.Fatalf("seed %d: %s egress isolated: engine %v, transition %v", seed, p.Name, r.Egress.Isolated, isos[p].egress)
			}
		}
	}
}

func TestSelectorsForExcludeSupersets(t *testing.T) {
	open := []*model.Pod{pod("a", map[string]string{"app": "api"})}
	closed := []*model.Pod{pod("b", map[string]string{"app": "api", "track": "canary"})}
	sels := selectorsFor(open, closed, 2)
	if len(sels) != 1 || metav1.FormatLabelSelector(&sels[0]) != "track notin (canary)" {
		t.Fatalf("selectors = %v", sels)
	}
	// A closed pod whose every label an open pod shares cannot be shut out
	// by one NotIn: one selector per open label set then.
	open = []*model.Pod{pod("a", map[string]string{"app": "api"}), pod("b", map[string]string{"track": "canary"})}
	closed = []*model.Pod{pod("c", map[string]string{"app": "api", "track": "canary"})}
	sels = selectorsFor(open, closed, 3)
	var got []string
	for i := range sels {
		got = append(got, metav1.FormatLabelSelector(&sels[i]))
	}
	if fmt.Sprint(got) != "[app=api,!track !app,track=canary]" {
		t.Fatalf("selectors = %v", got)
	}
}

// BenchmarkPlanAndCheck: a namespace of 40 workloads of up to 10 replicas
// (labels vary: tier, version) among 4 namespaces, 10 live policies and
// 10 requested writes; the plan and its proof.
//
//	go test -bench PlanAndCheck -benchmem ./pkg/transition/
func BenchmarkPlanAndCheck(b *testing.B) {
	m := synth.Model(synth.Options{Seed: 42, Namespaces: 4, Workloads: 40, MaxReplicas: 10, Policies: 40})
	next := synth.Model(synth.Options{Seed: 43, Namespaces: 4, Workloads: 1, Policies: 40})
	in := Input{Namespace: ns, Namespaces: m.Namespaces, Labels: map[string]string{"owner": "bench"}}
	live := map[string]*networkingv1.NetworkPolicy{}
	for _, p := range m.Pods {
		if p.Namespace == ns {
			in.Pods = append(in.Pods, p)
		} else {
			in.Peers = append(in.Peers, p)
		}
	}
	for _, np := range m.Policies {
		if np.Namespace == ns {
			in.Before = append(in.Before, np)
			live[np.Name] = np
		}
	}
	for _, np := range next.Policies {
		if np.Namespace == ns {
			in.Writes = append(in.Writes, Write{Op: Apply, Object: np, Before: live[np.Name]})
		}
	}
	b.ReportMetric(float64(len(in.Pods)), "pods")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plan, err := Build(in)
		if err != nil {
			b.Fatal(err)
		}
		if err := Check(in, plan); err != nil {
			b.Fatal(err)
		}
	}
}

// A rollback that restores a taken-over policy in place: the enforcer
// must have the bridge before the policy changes (kube-router fills the
// policy's ipsets for the new spec before the sync's rules, bridge
// included, are installed), so the in-place write, and only it, waits.
func TestInPlaceChangeWaitsForTheBridge(t *testing.T) {
	web := pod("web", map[string]string{"app": "web"})
	taken := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-dns", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptrInt(53)}}}}}}
	original := taken.DeepCopy()
	original.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"dns": "strict"}}
	deny := denyAll()
	in := Input{Namespace: ns, Pods: []*model.Pod{web}, Before: []*networkingv1.NetworkPolicy{taken, deny},
		Writes: []Write{{Op: Replace, Object: original, Before: taken}, {Op: Delete, Before: deny}}}
	plan, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var settled []string
	for i, s := range plan.Steps {
		if s.WaitForBridge {
			settled = append(settled, s.Name())
			if i == 0 || plan.Steps[i-1].Role != RoleBridge {
				t.Errorf("the wait is not right after the bridge:\n%s", plan.Describe())
			}
		}
	}
	if strings.Join(settled, ",") != "allow-dns" {
		t.Fatalf("waits before %v, want before allow-dns only:\n%s", settled, plan.Describe())
	}
	// The same spec (a label or annotation change) and deletions alone
	// change no enforced rule in place: no wait.
	same := taken.DeepCopy()
	same.Labels = map[string]string{"team": "platform"}
	in.Writes[0].Object = same
	if plan, err = Build(in); err != nil {
		t.Fatal(err)
	}
	for _, s := range plan.Steps {
		if s.WaitForBridge {
			t.Fatalf("waits before %s although no spec changes in place:\n%s", s.Name(), plan.Describe())
		}
	}
}

// With Calico, felix evaluates the Kubernetes policies with Calico's: a
// GlobalNetworkPolicy that denies what no earlier policy allows turns the
// moment a Kubernetes allow is gone into a cut the Kubernetes-only view
// cannot see (the pod looks open). The proof sees it; the bridge keeps it.
func TestCalicoPoliciesTakePartInTheProof(t *testing.T) {
	web, api := pod("web", map[string]string{"app": "web"}), pod("api", map[string]string{"app": "api"})
	web.ServiceAccount, api.ServiceAccount = "default", "default"
	renamed := allowWebFromAPI()
	renamed.Name = "allow-web-v2"
	in := Input{Namespace: ns, Pods: []*model.Pod{web, api}, Before: []*networkingv1.NetworkPolicy{allowWebFromAPI()},
		Writes: []Write{{Op: Delete, Before: allowWebFromAPI()}, {Op: Apply, Object: renamed}}, NoBridge: true}
	literal, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if cuts := Cuts(in, literal); len(cuts) != 0 {
		t.Fatalf("without Calico the pod is open between the two writes: %v", cuts)
	}
	rest := &model.CalicoPolicy{Kind: model.CalicoGlobalNetworkPolicy, Name: "deny-rest", Group: model.CalicoAPIGroup,
		Selector: "app == 'web'", Types: []string{"Ingress"}, Ingress: []model.CalicoRule{{Action: "Deny"}}}
	in.Layers = &Layers{CalicoPolicies: []*model.CalicoPolicy{rest}}
	if cuts := Cuts(in, literal); len(cuts) == 0 || !strings.Contains(cuts[0].String(), "ns-0/api -> ns-0/web 8080/TCP") {
		t.Fatalf("with Calico, deleting allow-web first cuts api -> web: %v", cuts)
	}
	in.NoBridge = false
	bridged, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(in, bridged); err != nil {
		t.Fatalf("bridged: %v", err)
	}
}

// The EKS agent's baseline-tier ClusterNetworkPolicy denies what reaches
// it: the moment no NetworkPolicy selects web, its Deny decides. The proof
// evaluates every state with it.
func TestEKSClusterPoliciesTakePartInTheProof(t *testing.T) {
	web, api := pod("web", map[string]string{"app": "web"}), pod("api", map[string]string{"app": "api"})
	renamed := allowWebFromAPI()
	renamed.Name = "allow-web-v2"
	in := Input{Namespace: ns, Pods: []*model.Pod{web, api}, Before: []*networkingv1.NetworkPolicy{allowWebFromAPI()},
		Writes: []Write{{Op: Delete, Before: allowWebFromAPI()}, {Op: Apply, Object: renamed}}, NoBridge: true}
	literal, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	deny := model.FromAWSClusterNetworkPolicy(&model.AWSClusterNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-rest"},
		Spec: model.AWSClusterNetworkPolicySpec{Tier: "Baseline", Priority: 1, Subject: model.AWSClusterNetworkSubject{Namespaces: &metav1.LabelSelector{}},
			Ingress: []model.AWSIngressRule{{Action: "Deny", From: []model.AWSIngressPeer{{Namespaces: &metav1.LabelSelector{}}}}}}})
	in.Layers = &Layers{ClusterPolicies: []*model.ClusterPolicy{deny}}
	if cuts := Cuts(in, literal); len(cuts) == 0 || !strings.Contains(cuts[0].String(), "ns-0/api -> ns-0/web 8080/TCP") {
		t.Fatalf("with the baseline Deny, deleting allow-web first cuts api -> web: %v", cuts)
	}
	in.NoBridge = false
	bridged, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(in, bridged); err != nil {
		t.Fatalf("bridged: %v", err)
	}
}

// In the agent's strict mode a pod no NetworkPolicy selects is denied both
// ways: deleting web's only (ingress) policy first cuts web's egress too.
func TestEKSStrictModeTakesPartInTheProof(t *testing.T) {
	web, api := pod("web", map[string]string{"app": "web"}), pod("api", map[string]string{"app": "api"})
	allowAPI := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "api-open", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{}}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	renamed := allowWebFromAPI()
	renamed.Name = "allow-web-v2"
	in := Input{Namespace: ns, Pods: []*model.Pod{web, api}, Before: []*networkingv1.NetworkPolicy{allowWebFromAPI(), allowAPI},
		Writes: []Write{{Op: Delete, Before: allowWebFromAPI()}, {Op: Apply, Object: renamed}}, NoBridge: true}
	literal, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{model.AWSModeStrict, model.AWSModeUnknown} {
		in.Layers = &Layers{AWSPolicyMode: mode}
		cuts := Cuts(in, literal)
		var egress bool
		for _, c := range cuts {
			egress = egress || strings.HasPrefix(c.String(), "ns-0/web -> ns-0/api")
		}
		if !egress {
			t.Fatalf("%s mode: web -> api should be cut while no policy selects web: %v", mode, cuts)
		}
	}
	in.NoBridge = false
	in.Layers = &Layers{AWSPolicyMode: model.AWSModeStrict}
	bridged, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(in, bridged); err != nil {
		t.Fatalf("bridged: %v", err)
	}
}

// With Cilium, its repository holds the Kubernetes policies with its own:
// a CiliumNetworkPolicy selecting web keeps it default-deny once the
// Kubernetes allow is gone, so deleting allow-web before its successor
// lands cuts api -> web, which the Kubernetes-only view (web open) cannot
// see; the bridge, a NetworkPolicy allow, adds up with it and keeps the
// connection. A Cilium deny entry wins over every allow, the bridge
// included: a connection it denies is denied in every state, never a cut
// to bridge.
func TestCiliumPoliciesTakePartInTheProof(t *testing.T) {
	web, api := pod("web", map[string]string{"app": "web"}), pod("api", map[string]string{"app": "api"})
	renamed := allowWebFromAPI()
	renamed.Name = "allow-web-v2"
	in := Input{Namespace: ns, Pods: []*model.Pod{web, api}, Before: []*networkingv1.NetworkPolicy{allowWebFromAPI()},
		Writes: []Write{{Op: Delete, Before: allowWebFromAPI()}, {Op: Apply, Object: renamed}}, NoBridge: true}
	literal, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if cuts := Cuts(in, literal); len(cuts) != 0 {
		t.Fatalf("without Cilium the pod is open between the two writes: %v", cuts)
	}
	f := false
	hostOnly := &model.CiliumPolicy{Kind: model.CiliumNetworkPolicyKind, Namespace: ns, Name: "host-only", Rules: []model.CiliumRule{{
		EndpointSelector:  &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Ingress:           []model.CiliumPeerRule{{FromEntities: []string{"host"}}},
		EnableDefaultDeny: &model.CiliumDefaultDeny{Egress: &f},
	}}}
	in.Layers = &Layers{CiliumPolicies: []*model.CiliumPolicy{hostOnly}, Cilium: &model.CiliumInfo{Source: "test"}}
	if cuts := Cuts(in, literal); len(cuts) == 0 || !strings.Contains(cuts[0].String(), "ns-0/api -> ns-0/web 8080/TCP") {
		t.Fatalf("with Cilium, deleting allow-web first cuts api -> web: %v", cuts)
	}
	in.NoBridge = false
	bridged, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(in, bridged); err != nil {
		t.Fatalf("bridged: %v", err)
	}
	// A deny entry for api: denied before, after and in between, whatever
	// the bridge allows; nothing to keep, no cut.
	hostOnly.Rules = append(hostOnly.Rules, model.CiliumRule{
		EndpointSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		IngressDeny:      []model.CiliumPeerRule{{FromEndpoints: []metav1.LabelSelector{{MatchLabels: map[string]string{"app": "api"}}}}},
	})
	if cuts := Cuts(in, literal); len(cuts) != 0 {
		t.Fatalf("a connection Cilium denies in every state is no cut: %v", cuts)
	}
	m := &model.Model{Pods: []*model.Pod{web, api}, Policies: bridged.States[0], CiliumPolicies: in.Layers.CiliumPolicies, Cilium: in.Layers.Cilium}
	m.Normalize()
	r := policy.New(m).Evaluate(policy.Flow{From: policy.PodEndpoint(api), To: policy.PodEndpoint(web), Port: 8080, Protocol: "TCP"}, false)
	if r.Verdict != policy.Denied || r.Ingress.Cilium == nil || r.Ingress.Cilium.Decision != "deny" {
		t.Fatalf("with the bridge in place, Cilium's deny still decides: %s", r.Verdict)
	}
}
