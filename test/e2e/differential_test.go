//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/agent"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// The differential test: random valid cases (namespace labels, pod labels,
// policies using every selector, port and ipBlock feature that an IPv4,
// TCP/UDP cluster can check) applied to a fixed fleet of pods, every
// pod-to-pod and pod-to-external flow probed by the fleet's own long-lived
// agents, and the engine's verdict compared with what the cluster's
// enforcer (kube-router or Calico, NB_ENGINE of hack/cluster) did.
//
// Not checkable here: IPv6 (the cluster is IPv4-only), SCTP (neither the
// agent nor kube-router's test setup speak it), hostNetwork pods and other
// policy layers (the engine answers "unspecified" for them by design).
//
// NETBASELINE_DIFFERENTIAL_CASES (kube-router: default 20 in reject mode,
// 6 in drop mode, where every denied probe waits for its timeout; Calico:
// 20, its cases are fast), NETBASELINE_DIFFERENTIAL_SEED (default 1);
// NETBASELINE_DIFFERENTIAL_OUT names a directory for a JSON summary and
// every disagreeing case.

const (
	fleetNamespaces = 3
	fleetPodsPerNS  = 2
	diffPrefix      = "nbdiff-"
)

// fleetPorts are what every fleet pod serves; the named ports differ per
// pod so that a named port resolves per destination pod.
var (
	fleetTCP   = []int32{80, 443, 3000, 8080}
	fleetUDP   = []int32{53, 5353}
	namedPorts = [][]corev1.ContainerPort{
		{{Name: "http", ContainerPort: 80}, {Name: "metrics", ContainerPort: 8080}, {Name: "dns", ContainerPort: 5353, Protocol: corev1.ProtocolUDP}},
		{{Name: "http", ContainerPort: 3000}, {Name: "metrics", ContainerPort: 443}, {Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}},
	}
)

type flowResult struct {
	From, To string
	Port     int32
	Protocol corev1.Protocol
	Expected policy.Verdict
	Observed string // allowed | denied | error
	Outcome  string
	Late     bool // disagreed at first, agreed after the enforcer had more time
	// Deviation names a documented enforcer deviation that explains the
	// disagreement (the engine follows the API reference).
	Deviation string `json:",omitempty"`
}

type caseRecord struct {
	Seed            uint64
	Case            int
	NamespaceLabels map[string]map[string]string
	PodLabels       map[string]map[string]string
	Policies        []*networkingv1.NetworkPolicy
	// CalicoPolicies are the case's Calico policies as written to the
	// CRDs; Undecidable says some rule matches what the engine leaves
	// unspecified by design (HTTP, source ports), whose flows are not
	// compared; Unspecified counts what the enforcer did with them.
	CalicoPolicies []map[string]any `json:",omitempty"`
	CiliumPolicies []map[string]any `json:",omitempty"`
	Undecidable    bool             `json:",omitempty"`
	Unspecified    map[string]int   `json:",omitempty"`
	Disagreements  []flowResult
	// Explained are disagreements that a documented enforcer deviation
	// accounts for, counted per deviation in Deviations.
	Explained  []flowResult   `json:",omitempty"`
	Deviations map[string]int `json:",omitempty"`
	Pairs      int
	Late       int
	// Observed counts the first probes' outcomes (allowed, denied, error):
	// a run whose cases allow or deny everything proves little.
	Observed map[string]int `json:",omitempty"`
}

func podOf(m *model.Model, key string) *model.Pod {
	ns, name, _ := strings.Cut(key, "/")
	return m.Pod(ns, name)
}

func diffEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func TestDifferentialEngineVsEnforcement(t *testing.T) {
	defaultCases := map[string]int{"reject": 20, "drop": 6}[denyMode()]
	if enforcerName() == "Calico" {
		defaultCases = 20
	}
	cases := diffEnv("NETBASELINE_DIFFERENTIAL_CASES", defaultCases)
	if cases == 0 {
		t.Skip("NETBASELINE_DIFFERENTIAL_CASES=0")
	}
	runDifferential(t, cases, "", nil)
}

// differential is one run's clients and fleet; calico (cilium) is set
// when the cases also write Calico's (Cilium's) own policies.
type differential struct {
	cfg    *rest.Config
	cs     kubernetes.Interface
	fleet  []fleetPod
	dyn    dynamic.Interface
	calico *calicoWriter
	cilium *ciliumWriter
}

// settle waits until the enforcer has caught up with the case: Cilium
// until its agent has realized the labels and policies as they are now
// (a relabelled pod gets a new identity, which takes seconds); the
// others react to the watch events within a moment.
func (d *differential) settle(t *testing.T, ctx context.Context) {
	t.Helper()
	if enforcerName() == "Cilium" {
		waitCiliumRealized(t, ctx, d.cs, d.fleet)
		return
	}
	time.Sleep(1500 * time.Millisecond)
}

// runDifferential runs cases on a fresh fleet and reports; variant names
// the summary file ("" for the Kubernetes-only run), setup adds what the
// variant needs once the fleet runs.
func runDifferential(t *testing.T, cases int, variant string, setup func(*differential)) {
	seed := uint64(diffEnv("NETBASELINE_DIFFERENTIAL_SEED", 1))
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	d := &differential{cfg: cfg, cs: cs, dyn: dynamic.NewForConfigOrDie(cfg), fleet: startFleet(t, ctx, cs)}
	if setup != nil {
		setup(d)
	}
	start := time.Now()
	tot := newDifferentialTotals()
	for i := 0; i < cases; i++ {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		rec := d.runCase(t, ctx, r, seed, i)
		tot.add(rec)
		if len(rec.Disagreements) > 0 {
			b, _ := yaml.Marshal(rec)
			t.Errorf("case %d (seed %d): %d disagreement(s) between the engine and %s:\n%s", i, seed, len(rec.Disagreements), enforcerName(), b)
		}
	}
	summary := fmt.Sprintf("%s%s: %d cases (seed %d, deny mode %s), %d pairs probed (observed %v), %d unexplained disagreements, %d explained by enforcer deviations %v, %d late (agreed after the enforcer had more time), %d unspecified by design (observed %v), %s",
		enforcerName(), variantLabel(variant), cases, seed, denyMode(), tot.pairs, tot.observed, tot.disagreements, sum(tot.deviations), tot.deviations, tot.late,
		sum(tot.unspecified), tot.unspecified, time.Since(start).Round(time.Second))
	t.Log(summary)
	if out := os.Getenv("NETBASELINE_DIFFERENTIAL_OUT"); out != "" {
		tot.write(out, variant, map[string]any{"summary": summary, "cases": cases, "seed": seed, "seconds": int(time.Since(start).Seconds())})
	}
}

// differentialTotals sums a run's cases.
type differentialTotals struct {
	pairs, disagreements, late        int
	deviations, observed, unspecified map[string]int
	disagreeing, deviationExamples    []caseRecord
}

func newDifferentialTotals() *differentialTotals {
	return &differentialTotals{deviations: map[string]int{}, observed: map[string]int{}, unspecified: map[string]int{}}
}

func (tot *differentialTotals) add(rec caseRecord) {
	tot.pairs += rec.Pairs
	tot.late += rec.Late
	tot.disagreements += len(rec.Disagreements)
	addCounts(tot.observed, rec.Observed)
	addCounts(tot.unspecified, rec.Unspecified)
	addCounts(tot.deviations, rec.Deviations)
	if len(rec.Explained) > 0 && len(tot.deviationExamples) < 5 {
		tot.deviationExamples = append(tot.deviationExamples, rec)
	}
	if len(rec.Disagreements) > 0 {
		tot.disagreeing = append(tot.disagreeing, rec)
	}
}

func addCounts(into, from map[string]int) {
	for k, n := range from {
		into[k] += n
	}
}

// write saves the JSON summary and every disagreeing case in dir, as
// differential-ENGINE-DENYMODE[-VARIANT].json.
func (tot *differentialTotals) write(dir, variant string, doc map[string]any) {
	for k, v := range map[string]any{"enforcer": enforcerName(), "variant": variant, "denyMode": denyMode(), "pairs": tot.pairs, "observed": tot.observed,
		"disagreements": tot.disagreements, "deviations": tot.deviations, "deviationExamples": tot.deviationExamples, "late": tot.late,
		"unspecified": tot.unspecified, "disagreeing": tot.disagreeing} {
		doc[k] = v
	}
	_ = os.MkdirAll(dir, 0o755)
	b, _ := json.MarshalIndent(doc, "", "  ")
	name := "differential-" + os.Getenv("NETBASELINE_ENGINE") + "-" + denyMode()
	if variant != "" {
		name += "-" + variant
	}
	_ = os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644)
}

func variantLabel(variant string) string {
	if variant == "" {
		return ""
	}
	return " (" + variant + ")"
}

func enforcerName() string {
	name, _ := clusterEngine()
	return name
}

// enforcerModel explains a disagreement by a documented deviation of the
// enforcer from the API ("" when none accounts for it).
type enforcerModel interface {
	explain(f policy.Flow, observed string) string
}

// newEnforcerModel models the cluster's enforcer. Calico has no model:
// the differential found no deviation of felix v3.28 from the API (see
// docs/commands.md, "The engine against real enforcement"), so every
// disagreement there fails the test.
func newEnforcerModel(m *model.Model) enforcerModel {
	if enforcerName() == "kube-router" {
		return newKubeRouterModel(m)
	}
	return followsTheAPI{}
}

type followsTheAPI struct{}

func (followsTheAPI) explain(policy.Flow, string) string { return "" }

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// fleetPod is one pod of the fleet.
type fleetPod struct {
	Namespace, Name string
	IP              netip.Addr
}

func (p fleetPod) key() string { return p.Namespace + "/" + p.Name }

// startFleet creates the namespaces and bare pods once (bare pods: no
// controller reverts their relabelling) and waits until they run.
func startFleet(t *testing.T, ctx context.Context, cs kubernetes.Interface) []fleetPod {
	t.Helper()
	var serve []string
	for _, p := range fleetTCP {
		serve = append(serve, fmt.Sprintf("tcp:%d", p))
	}
	for _, p := range fleetUDP {
		serve = append(serve, fmt.Sprintf("udp:%d", p))
	}
	var names []string
	for n := 0; n < fleetNamespaces; n++ {
		ns := fmt.Sprintf("%s%d", diffPrefix, n)
		names = append(names, ns)
		err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(context.Context) (bool, error) {
			_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			return err == nil, nil // an earlier run's namespace may still be terminating
		})
		if err != nil {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
		for i := 0; i < fleetPodsPerNS; i++ {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: ns},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: new(int64),
					SecurityContext: &corev1.PodSecurityContext{
						// The agent runs as 65534; let it bind 53, 80 and 443.
						Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}},
					},
					Containers: []corev1.Container{{
						Name: "agent", Image: probeImage, ImagePullPolicy: corev1.PullIfNotPresent,
						Args:  []string{"--serve=" + strings.Join(serve, ",")},
						Ports: namedPorts[i%len(namedPorts)],
					}},
				},
			}
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		for _, ns := range names {
			_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	var fleet []fleetPod
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(context.Context) (bool, error) {
		fleet = nil
		for _, ns := range names {
			list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			for _, p := range list.Items {
				if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
					return false, nil
				}
				fleet = append(fleet, fleetPod{Namespace: ns, Name: p.Name, IP: netip.MustParseAddr(p.Status.PodIP)})
			}
		}
		return len(fleet) == fleetNamespaces*fleetPodsPerNS, nil
	})
	if err != nil {
		t.Fatalf("fleet not running: %v", err)
	}
	sort.Slice(fleet, func(i, j int) bool { return fleet[i].key() < fleet[j].key() })
	return fleet
}

// runCase relabels, replaces the policies, lets the enforcer sync, probes
// every flow and compares with the engine on the cluster as read back.
func (d *differential) runCase(t *testing.T, ctx context.Context, r *rand.Rand, seed uint64, index int) caseRecord {
	t.Helper()
	cs, fleet := d.cs, d.fleet
	rec := caseRecord{Seed: seed, Case: index, NamespaceLabels: map[string]map[string]string{}, PodLabels: map[string]map[string]string{}}
	for n := 0; n < fleetNamespaces; n++ {
		ns := fmt.Sprintf("%s%d", diffPrefix, n)
		labels := map[string]any{"env": maybe(r, []string{"prod", "dev"}), "team": maybe(r, []string{"red", "blue"})}
		rec.NamespaceLabels[ns] = patchLabels(t, ctx, func(b []byte) error {
			_, err := cs.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, b, metav1.PatchOptions{})
			return err
		}, labels)
	}
	for _, p := range fleet {
		labels := map[string]any{"app": maybe(r, []string{"web", "api", "db"}), "tier": maybe(r, []string{"front", "back"}), "version": maybe(r, []string{"v1", "v2"})}
		rec.PodLabels[p.key()] = patchLabels(t, ctx, func(b []byte) error {
			_, err := cs.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, b, metav1.PatchOptions{})
			return err
		}, labels)
	}
	for n := 0; n < fleetNamespaces; n++ {
		ns := fmt.Sprintf("%s%d", diffPrefix, n)
		if err := cs.NetworkingV1().NetworkPolicies(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := 0, 1+r.IntN(4); i < n; i++ {
		np := randomPolicy(r, fmt.Sprintf("np-%d", i), fmt.Sprintf("%s%d", diffPrefix, r.IntN(fleetNamespaces)), fleet)
		if _, err := cs.NetworkingV1().NetworkPolicies(np.Namespace).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			b, _ := yaml.Marshal(np)
			t.Fatalf("the generator made a policy the API rejects: %v\n%s", err, b)
		}
		rec.Policies = append(rec.Policies, np)
	}
	// as the plugin reads: with the dynamic client, which the other
	// layers' policies (Cilium's, Calico's) are read through
	clients := read.Clients{Kube: cs, Discovery: cs.Discovery(), Dynamic: d.dyn}
	if d.calico != nil {
		rec.CalicoPolicies, rec.Undecidable = d.calico.replace(t, ctx, r, fleet)
	}
	if d.cilium != nil {
		rec.CiliumPolicies, rec.Undecidable = d.cilium.replace(t, ctx, r, fleet)
	}
	written := time.Now()
	d.settle(t, ctx)
	settled := time.Since(written)

	// The engine reads the cluster back through the plugin's own read path.
	var namespaces []string
	for n := 0; n < fleetNamespaces; n++ {
		namespaces = append(namespaces, fmt.Sprintf("%s%d", diffPrefix, n))
	}
	snapshot, err := read.LoadLive(ctx, clients, read.LiveOptions{Namespaces: namespaces})
	if err != nil {
		t.Fatal(err)
	}
	if d.calico != nil && len(snapshot.CalicoPolicies) != len(rec.CalicoPolicies) {
		t.Fatalf("case %d: wrote %d Calico policies, the live reader read %d back", index, len(rec.CalicoPolicies), len(snapshot.CalicoPolicies))
	}
	if d.cilium != nil && len(snapshot.CiliumPolicies) != len(rec.CiliumPolicies) {
		t.Fatalf("case %d: wrote %d Cilium policies, the live reader read %d back", index, len(rec.CiliumPolicies), len(snapshot.CiliumPolicies))
	}
	engine := policy.New(snapshot)
	enforcer := newEnforcerModel(snapshot)
	probing := time.Now()
	results := probeFleet(t, ctx, engine, snapshot, fleet)
	t.Logf("case %d: the enforcer settled in %s, the fleet probed in %s", index, settled.Round(10*time.Millisecond), time.Since(probing).Round(10*time.Millisecond))
	rec.Pairs = len(results)
	var disagreeing []flowResult
	rec.Observed, rec.Unspecified = map[string]int{}, map[string]int{}
	for _, fr := range results {
		rec.Observed[fr.Observed]++
		switch {
		case fr.Expected == policy.Unspecified && rec.Undecidable:
			rec.Unspecified[fr.Observed]++ // a match the engine leaves undecided by design
		case string(fr.Expected) != fr.Observed:
			disagreeing = append(disagreeing, fr)
		}
	}
	if rec.Deviations == nil {
		rec.Deviations = map[string]int{}
	}
	if len(disagreeing) > 0 {
		// Rule out enforcer lag before calling it a disagreement.
		time.Sleep(3 * time.Second)
		again := map[string]flowResult{}
		for _, fr := range probeFleet(t, ctx, engine, snapshot, fleet) {
			again[flowKey(fr)] = fr
		}
		for _, fr := range disagreeing {
			if a := again[flowKey(fr)]; string(a.Expected) == a.Observed {
				rec.Late++
				continue
			}
			src := podOf(snapshot, fr.From)
			to := policy.IPEndpoint(netip.MustParseAddr(externalIP()))
			if fr.To != externalIP() {
				to = policy.PodEndpoint(podOf(snapshot, fr.To))
			}
			flow := policy.Flow{From: policy.PodEndpoint(src), To: to, Port: fr.Port, Protocol: fr.Protocol}
			if d := enforcer.explain(flow, fr.Observed); d != "" {
				fr.Deviation = d
				rec.Deviations[d]++
				rec.Explained = append(rec.Explained, fr)
				continue
			}
			rec.Disagreements = append(rec.Disagreements, fr)
		}
	}
	return rec
}

func flowKey(f flowResult) string {
	return fmt.Sprintf("%s|%s|%d|%s", f.From, f.To, f.Port, f.Protocol)
}

func maybe(r *rand.Rand, values []string) any {
	if r.IntN(3) == 0 {
		return nil // a merge patch deletes the label
	}
	return values[r.IntN(len(values))]
}

func patchLabels(t *testing.T, ctx context.Context, patch func([]byte) error, labels map[string]any) map[string]string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	if err := patch(b); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range labels {
		if v != nil {
			out[k] = v.(string)
		}
	}
	return out
}

// probeFleet runs, in each fleet pod's long-lived agent (kubectl exec, no
// new container), a plan to every other pod on every served port and to
// the external host, and judges the outcomes: every probed port is served,
// so a refusal or a timeout can only be the enforcer.
func probeFleet(t *testing.T, ctx context.Context, engine *policy.Engine, snapshot *model.Model, fleet []fleetPod) []flowResult {
	t.Helper()
	external := netip.MustParseAddr(externalIP())
	type target struct {
		to    string
		ep    policy.Endpoint
		addr  string
		port  int32
		proto corev1.Protocol
	}
	var mu sync.Mutex
	var out []flowResult
	var wg sync.WaitGroup
	for _, src := range fleet {
		srcPod := snapshot.Pod(src.Namespace, src.Name)
		var targets []target
		for _, dst := range fleet {
			if dst == src {
				continue
			}
			dstPod := snapshot.Pod(dst.Namespace, dst.Name)
			for _, p := range fleetTCP {
				targets = append(targets, target{dst.key(), policy.PodEndpoint(dstPod), dst.IP.String(), p, corev1.ProtocolTCP})
			}
			for _, p := range fleetUDP {
				targets = append(targets, target{dst.key(), policy.PodEndpoint(dstPod), dst.IP.String(), p, corev1.ProtocolUDP})
			}
		}
		for _, p := range []int32{80, 443} {
			targets = append(targets, target{external.String(), policy.IPEndpoint(external), external.String(), p, corev1.ProtocolTCP})
		}
		plan := agent.Plan{DeadlineMS: 6000}
		for i, tg := range targets {
			kind := agent.KindTCP
			if tg.proto == corev1.ProtocolUDP {
				kind = agent.KindUDP
			}
			plan.Checks = append(plan.Checks, agent.Check{ID: strconv.Itoa(i), Kind: kind, Target: tg.addr, Port: tg.port, TimeoutMS: 1500})
		}
		encoded, err := agent.EncodePlan(plan)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ectx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			o := runCmd(ectx, "", kubectl, "-n", src.Namespace, "exec", src.Name, "--", "/netbaseline-probe", "--plan="+encoded, "--termination-log=/dev/null")
			got := map[string]agent.Result{}
			sc := bufio.NewScanner(strings.NewReader(o.stdout))
			for sc.Scan() {
				var res agent.Result
				if json.Unmarshal(sc.Bytes(), &res) == nil {
					got[res.ID] = res
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for i, tg := range targets {
				res, ok := got[strconv.Itoa(i)]
				fr := flowResult{From: src.key(), To: tg.to, Port: tg.port, Protocol: tg.proto, Outcome: res.Outcome + " " + res.Detail}
				fr.Expected = engine.Evaluate(policy.Flow{From: policy.PodEndpoint(srcPod), To: tg.ep, Port: tg.port, Protocol: tg.proto}, false).Verdict
				switch {
				case !ok:
					fr.Observed, fr.Outcome = "error", fmt.Sprintf("no result (exec: %v %s)", o.err, o.stderr)
				case res.Outcome == agent.Connected:
					fr.Observed = "allowed"
				case res.Outcome == agent.Timeout || res.Outcome == agent.Refused:
					fr.Observed = "denied"
				default:
					fr.Observed = "error"
				}
				out = append(out, fr)
			}
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return flowKey(out[i]) < flowKey(out[j]) })
	return out
}

// randomPolicy draws a valid policy over the fleet's vocabulary: pod and
// namespace selectors (matchLabels, every matchExpressions operator, {}
// and absent), AND and OR of peers, empty vs absent rule lists, policyTypes
// explicit or inferred, numbered, named and ranged ports for TCP and UDP,
// protocol-only ports, and ipBlocks with except over pod IPs and the
// external host.
func randomPolicy(r *rand.Rand, name, namespace string, fleet []fleetPod) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: diffPodSelector(r)}}
	switch r.IntN(4) {
	case 1:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	case 2:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case 3:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	}
	if r.IntN(4) > 0 {
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
		for k := r.IntN(3); k > 0; k-- {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: diffPeers(r, fleet), Ports: diffPorts(r)})
		}
	}
	if r.IntN(3) > 0 {
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
		for k := r.IntN(3); k > 0; k-- {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: diffPeers(r, fleet), Ports: diffPorts(r)})
		}
	}
	return np
}

func diffRequirement(r *rand.Rand, key string, values []string) metav1.LabelSelectorRequirement {
	ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
	req := metav1.LabelSelectorRequirement{Key: key, Operator: ops[r.IntN(len(ops))]}
	if req.Operator == metav1.LabelSelectorOpIn || req.Operator == metav1.LabelSelectorOpNotIn {
		req.Values = []string{values[r.IntN(len(values))]}
		if r.IntN(2) == 0 && len(values) > 1 {
			req.Values = []string{values[0], values[1]}
		}
	}
	return req
}

func diffPodSelector(r *rand.Rand) metav1.LabelSelector {
	switch r.IntN(5) {
	case 0:
		return metav1.LabelSelector{}
	case 1:
		return metav1.LabelSelector{MatchLabels: map[string]string{"app": []string{"web", "api", "db"}[r.IntN(3)]}}
	case 2:
		return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{diffRequirement(r, "tier", []string{"front", "back"})}}
	case 3:
		return metav1.LabelSelector{MatchLabels: map[string]string{"app": []string{"web", "api", "db"}[r.IntN(3)]},
			MatchExpressions: []metav1.LabelSelectorRequirement{diffRequirement(r, "version", []string{"v1", "v2"})}}
	}
	return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{diffRequirement(r, "app", []string{"web", "api", "db"}), diffRequirement(r, "tier", []string{"front", "back"})}}
}

func diffNamespaceSelector(r *rand.Rand) *metav1.LabelSelector {
	switch r.IntN(4) {
	case 0:
		return &metav1.LabelSelector{}
	case 1:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"env": []string{"prod", "dev"}[r.IntN(2)]}}
	case 2:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{diffRequirement(r, "team", []string{"red", "blue"})}}
	}
	return &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": fmt.Sprintf("%s%d", diffPrefix, r.IntN(fleetNamespaces))}}
}

func diffPeers(r *rand.Rand, fleet []fleetPod) []networkingv1.NetworkPolicyPeer {
	if r.IntN(5) == 0 {
		return nil // every source or destination
	}
	var out []networkingv1.NetworkPolicyPeer
	for k := 1 + r.IntN(2); k > 0; k-- {
		var p networkingv1.NetworkPolicyPeer
		switch r.IntN(5) {
		case 0:
			sel := diffPodSelector(r)
			p.PodSelector = &sel
		case 1:
			p.NamespaceSelector = diffNamespaceSelector(r)
		case 2: // AND: pods in namespaces
			sel := diffPodSelector(r)
			p.PodSelector, p.NamespaceSelector = &sel, diffNamespaceSelector(r)
		default:
			p.IPBlock = diffIPBlock(r, fleet)
		}
		out = append(out, p)
	}
	return out
}

func diffIPBlock(r *rand.Rand, fleet []fleetPod) *networkingv1.IPBlock {
	pod := fleet[r.IntN(len(fleet))].IP
	switch r.IntN(4) {
	case 0: // one pod
		return &networkingv1.IPBlock{CIDR: netip.PrefixFrom(pod, 32).String()}
	case 1: // the pod network minus one pod
		return &networkingv1.IPBlock{CIDR: "198.18.0.0/16", Except: []string{netip.PrefixFrom(pod, 32).String()}}
	case 2: // a pod's neighbourhood, maybe minus half of it
		base := netip.PrefixFrom(pod, 28+r.IntN(3)).Masked()
		b := &networkingv1.IPBlock{CIDR: base.String()}
		if r.IntN(2) == 0 {
			b.Except = []string{netip.PrefixFrom(base.Addr(), base.Bits()+1).Masked().String()}
		}
		return b
	}
	if r.IntN(2) == 0 {
		return &networkingv1.IPBlock{CIDR: externalIP() + "/32"}
	}
	return &networkingv1.IPBlock{CIDR: "198.51.100.0/24", Except: []string{"198.51.100.0/29"}}
}

func diffPorts(r *rand.Rand) []networkingv1.NetworkPolicyPort {
	if r.IntN(3) == 0 {
		return nil
	}
	var out []networkingv1.NetworkPolicyPort
	for k := 1 + r.IntN(2); k > 0; k-- {
		var p networkingv1.NetworkPolicyPort
		proto := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolTCP, corev1.ProtocolUDP}[r.IntN(3)]
		if r.IntN(3) > 0 || proto == corev1.ProtocolUDP {
			p.Protocol = &proto
		}
		switch r.IntN(4) {
		case 0: // protocol only
		case 1:
			names := map[corev1.Protocol][]string{corev1.ProtocolTCP: {"http", "metrics"}, corev1.ProtocolUDP: {"dns"}}[proto]
			v := intstr.FromString(names[r.IntN(len(names))])
			p.Port = &v
		case 2:
			nums := map[corev1.Protocol][]int32{corev1.ProtocolTCP: fleetTCP, corev1.ProtocolUDP: fleetUDP}[proto]
			v := intstr.FromInt32(nums[r.IntN(len(nums))])
			p.Port = &v
		default:
			lo := []int32{53, 80, 443, 3000}[r.IntN(4)]
			v := intstr.FromInt32(lo)
			end := lo + int32(r.IntN(5400))
			p.Port, p.EndPort = &v, &end
		}
		out = append(out, p)
	}
	return out
}
