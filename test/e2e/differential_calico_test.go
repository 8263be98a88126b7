//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// The differential with Calico's own policies: every case of
// TestDifferentialEngineVsEnforcement (namespace and pod labels,
// Kubernetes NetworkPolicies) plus random Calico NetworkPolicies and
// GlobalNetworkPolicies written straight to the crd.projectcalico.org/v1
// CRDs, the only form the test bed has (no Calico API server), which
// felix reads in Kubernetes-datastore mode and the engine reads back
// through read.LoadLive. Each policy is stored in one of the two forms
// users meet:
//
//   - as written to the CRD by hand: the name as given, types possibly
//     empty (felix then applies the policy in both directions);
//   - as Calico's API server or calicoctl stores a projectcalico.org/v3
//     object (clientv3's Create): the name prefixed "default.", empty
//     types defaulted from the rules (defaultPolicyTypesField).
//
// The content covers what felix v3.28 decides for pods on an IPv4
// TCP/UDP cluster: order (none, ties, around the Kubernetes policies'
// 1000), Calico selectors (every operator), namespaceSelector
// (projectcalico.org/name and label tests, all(), global()), Allow, Deny,
// Pass and Log, protocol and notProtocol (names and numbers), selector,
// notSelector, nets and notNets (fleet pods, their neighbourhoods, the
// pod network, the external host) on either side, destination ports and
// notPorts (numbers, ranges, named ports), ipVersion, ICMP rules (which no
// probed flow matches). A few rules carry matches the engine
// leaves undecided by design (HTTP, source ports): there an
// "unspecified" verdict is expected, counted, and never compared.
//
// NETBASELINE_DIFFERENTIAL_CALICO_CASES (default 40, CI's sample: about
// 4 s a case, a denied probe waits for its timeout; runs only when
// NETBASELINE_ENGINE=calico), NETBASELINE_DIFFERENTIAL_SEED and
// NETBASELINE_DIFFERENTIAL_OUT as for the Kubernetes-only differential.

var (
	calicoNetworkPolicies       = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "networkpolicies"}
	calicoGlobalNetworkPolicies = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "globalnetworkpolicies"}
)

func TestDifferentialCalicoPolicies(t *testing.T) {
	if enforcerName() != "Calico" {
		t.Skip("Calico's own policies need Calico enforcing (NETBASELINE_ENGINE=calico)")
	}
	cases := diffEnv("NETBASELINE_DIFFERENTIAL_CALICO_CASES", 40)
	if cases == 0 {
		t.Skip("NETBASELINE_DIFFERENTIAL_CALICO_CASES=0")
	}
	runDifferential(t, cases, "calico-policies", func(d *differential) {
		d.calico = &calicoWriter{dyn: dynamic.NewForConfigOrDie(d.cfg)}
		d.calico.deleteAll(t, context.Background())
		t.Cleanup(func() { d.calico.deleteAll(t, context.Background()) })
	})
}

// calicoWriter writes a case's Calico policies and deletes them all
// between cases.
type calicoWriter struct {
	dyn dynamic.Interface
}

// deleteAll removes every Calico NetworkPolicy, in every namespace, and
// every GlobalNetworkPolicy: an earlier case's policy left behind would
// decide flows the engine no longer reads as this case's.
func (w *calicoWriter) deleteAll(t *testing.T, ctx context.Context) {
	t.Helper()
	list, err := w.dyn.Resource(calicoNetworkPolicies).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list Calico NetworkPolicies: %v", err)
	}
	namespaces := map[string]bool{}
	for _, item := range list.Items {
		namespaces[item.GetNamespace()] = true
	}
	for ns := range namespaces {
		if err := w.dyn.Resource(calicoNetworkPolicies).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Fatalf("delete Calico NetworkPolicies in %s: %v", ns, err)
		}
	}
	if err := w.dyn.Resource(calicoGlobalNetworkPolicies).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Fatalf("delete GlobalNetworkPolicies: %v", err)
	}
}

// replace deletes the previous case's policies and writes this case's.
// undecidable reports whether some rule carries a match the engine
// leaves unspecified by design.
func (w *calicoWriter) replace(t *testing.T, ctx context.Context, r *rand.Rand, fleet []fleetPod) (written []map[string]any, undecidable bool) {
	t.Helper()
	w.deleteAll(t, ctx)
	g := &calicoGenerator{r: r, fleet: fleet}
	for i, n := 0, 1+r.IntN(4); i < n; i++ {
		obj := g.policy(i)
		var res dynamic.ResourceInterface = w.dyn.Resource(calicoGlobalNetworkPolicies)
		if obj.GetKind() == "NetworkPolicy" {
			res = w.dyn.Resource(calicoNetworkPolicies).Namespace(obj.GetNamespace())
		}
		if _, err := res.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			b, _ := yaml.Marshal(obj.Object)
			t.Fatalf("the generator made a Calico policy the API rejects: %v\n%s", err, b)
		}
		written = append(written, obj.Object)
	}
	return written, g.undecidable
}

// calicoGenerator draws one case's Calico policies.
type calicoGenerator struct {
	r     *rand.Rand
	fleet []fleetPod
	// undecidable: a rule carries an HTTP or source-port match.
	undecidable bool
}

// policy draws the i-th policy of a case: namespaced or global, in the
// form written by hand or as Calico's API server stores it.
func (g *calicoGenerator) policy(i int) *unstructured.Unstructured {
	global := g.r.IntN(3) == 0
	spec := map[string]any{}
	if order := g.order(); order != nil {
		spec["order"] = *order
	}
	if sel := g.podSelector(); sel != "" || g.r.IntN(2) == 0 {
		spec["selector"] = sel
	}
	var ingress, egress []any
	if g.r.IntN(4) > 0 {
		for k := g.r.IntN(3); k >= 0; k-- {
			ingress = append(ingress, g.rule(true))
		}
	}
	if g.r.IntN(3) > 0 {
		for k := g.r.IntN(3); k >= 0; k-- {
			egress = append(egress, g.rule(false))
		}
	}
	if len(ingress) > 0 {
		spec["ingress"] = ingress
	}
	if len(egress) > 0 {
		spec["egress"] = egress
	}
	types := g.types()
	name := fmt.Sprintf("cp-%d", i)
	if g.r.IntN(2) == 0 { // as clientv3 stores a projectcalico.org/v3 object
		name = "default." + name
		if len(types) == 0 {
			types = defaultedTypes(len(ingress) > 0, len(egress) > 0)
		}
	}
	if len(types) > 0 {
		spec["types"] = types
	}
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.projectcalico.org/v1", "spec": spec}}
	obj.SetName(name)
	if global {
		obj.SetKind("GlobalNetworkPolicy")
		if g.r.IntN(2) == 0 {
			spec["namespaceSelector"] = g.namespaceSelector()
		}
		return obj
	}
	obj.SetKind("NetworkPolicy")
	obj.SetNamespace(fmt.Sprintf("%s%d", diffPrefix, g.r.IntN(fleetNamespaces)))
	return obj
}

// defaultedTypes is clientv3's defaultPolicyTypesField: no egress rules →
// Ingress; egress rules but no ingress rules → Egress; else both.
func defaultedTypes(hasIngress, hasEgress bool) []any {
	switch {
	case !hasEgress:
		return []any{"Ingress"}
	case !hasIngress:
		return []any{"Egress"}
	}
	return []any{"Ingress", "Egress"}
}

// types: empty (felix reads both directions when the CRD is written by
// hand), or explicit.
func (g *calicoGenerator) types() []any {
	switch g.r.IntN(4) {
	case 1:
		return []any{"Ingress"}
	case 2:
		return []any{"Egress"}
	case 3:
		return []any{"Ingress", "Egress"}
	}
	return nil
}

// order: none (last), ties, and values on both sides of the Kubernetes
// policies' 1000.
func (g *calicoGenerator) order() *float64 {
	orders := []float64{1, 100, 100, 999.5, 1000, 1001, 5000}
	if g.r.IntN(4) == 0 {
		return nil
	}
	o := orders[g.r.IntN(len(orders))]
	return &o
}

func (g *calicoGenerator) pick(values ...string) string {
	return values[g.r.IntN(len(values))]
}

// podSelector is a Calico selector over the fleet's pod labels, maybe
// combined; "" selects every endpoint.
func (g *calicoGenerator) podSelector() string {
	if g.r.IntN(5) == 0 {
		return g.pick("", "all()")
	}
	return g.combine(g.podAtom, 2)
}

func (g *calicoGenerator) podAtom() string {
	key, values := g.podLabel()
	switch g.r.IntN(11) {
	case 0:
		return fmt.Sprintf("%s == '%s'", key, g.pick(values...))
	case 1:
		return fmt.Sprintf("%s != '%s'", key, g.pick(values...))
	case 2:
		return fmt.Sprintf("has(%s)", key)
	case 3:
		return fmt.Sprintf("!has(%s)", key)
	case 4:
		return fmt.Sprintf("%s in {'%s', '%s'}", key, values[0], g.pick(values...))
	case 5:
		return fmt.Sprintf("%s not in {'%s'}", key, g.pick(values...))
	case 6:
		return fmt.Sprintf("%s starts with '%s'", key, g.pick(values...)[:1])
	case 7:
		v := g.pick(values...)
		return fmt.Sprintf("%s ends with '%s'", key, v[len(v)-1:])
	case 8:
		return fmt.Sprintf("%s contains '%s'", key, g.pick(values...)[1:])
	case 9: // Calico's own label on every workload endpoint
		return fmt.Sprintf("projectcalico.org/namespace == '%s%d'", diffPrefix, g.r.IntN(fleetNamespaces))
	}
	// A label the pod inherits from its namespace's profile.
	key, values = g.namespaceLabel()
	return fmt.Sprintf("pcns.%s == '%s'", key, g.pick(values...))
}

func (g *calicoGenerator) podLabel() (string, []string) {
	switch g.r.IntN(3) {
	case 0:
		return "app", []string{"web", "api", "db"}
	case 1:
		return "tier", []string{"front", "back"}
	}
	return "version", []string{"v1", "v2"}
}

func (g *calicoGenerator) namespaceLabel() (string, []string) {
	if g.r.IntN(2) == 0 {
		return "env", []string{"prod", "dev"}
	}
	return "team", []string{"red", "blue"}
}

// namespaceSelector is a Calico selector over namespace labels.
func (g *calicoGenerator) namespaceSelector() string {
	if g.r.IntN(6) == 0 {
		return "all()"
	}
	return g.combine(g.namespaceAtom, 1)
}

func (g *calicoGenerator) namespaceAtom() string {
	key, values := g.namespaceLabel()
	switch g.r.IntN(6) {
	case 0:
		return fmt.Sprintf("projectcalico.org/name == '%s%d'", diffPrefix, g.r.IntN(fleetNamespaces))
	case 1:
		return fmt.Sprintf("%s == '%s'", key, g.pick(values...))
	case 2:
		return fmt.Sprintf("has(%s)", key)
	case 3:
		return fmt.Sprintf("!has(%s)", key)
	case 4:
		return fmt.Sprintf("%s in {'%s', '%s'}", key, values[0], values[1])
	}
	return fmt.Sprintf("%s != '%s'", key, g.pick(values...))
}

// combine joins atoms with &&, || and !, to depth levels.
func (g *calicoGenerator) combine(atom func() string, depth int) string {
	if depth == 0 || g.r.IntN(2) == 0 {
		return atom()
	}
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprintf("(%s) && (%s)", g.combine(atom, depth-1), g.combine(atom, depth-1))
	case 1:
		return fmt.Sprintf("(%s) || (%s)", g.combine(atom, depth-1), g.combine(atom, depth-1))
	}
	return fmt.Sprintf("!(%s)", g.combine(atom, depth-1))
}

// rule draws one rule. The peer (source of an ingress rule, destination
// of an egress rule) gets selectors and nets, the policy's own pod side
// now and then too; ports are always the destination's.
func (g *calicoGenerator) rule(ingress bool) map[string]any {
	action := []string{"Allow", "Allow", "Deny", "Pass", "Log"}[g.r.IntN(5)]
	rule := map[string]any{"action": action}
	protocol := g.protocol()
	g.setProtocol(rule, protocol)
	peer, own := g.entity(), g.ownSide()
	source, destination := peer, own
	if !ingress {
		source, destination = own, peer
	}
	if withPorts(protocol) && g.r.IntN(2) == 0 {
		key := "ports"
		if g.r.IntN(4) == 0 {
			key = "notPorts"
		}
		destination[key] = g.ports(protocol)
	}
	g.maybeUndecidable(rule, source, ingress, protocol)
	if len(source) > 0 {
		rule["source"] = source
	}
	if len(destination) > 0 {
		rule["destination"] = destination
	}
	g.maybeIPVersion(rule, source, destination)
	return rule
}

// protocol: none, TCP or UDP by name or number, now and then ICMP (which
// no probed flow can match).
func (g *calicoGenerator) protocol() any {
	switch g.r.IntN(13) {
	case 0, 1, 2, 3:
		return nil
	case 4, 5:
		return "TCP"
	case 6, 7:
		return "UDP"
	case 8, 9:
		return 6
	case 10, 11:
		return 17
	}
	return "ICMP"
}

// withPorts: the protocol has ports (Calico refuses ports otherwise).
func withPorts(protocol any) bool {
	return protocol == "TCP" || protocol == "UDP" || protocol == 6 || protocol == 17
}

// setProtocol writes protocol, or without one maybe notProtocol; an ICMP
// rule may match a type (Calico allows icmp only with protocol ICMP).
func (g *calicoGenerator) setProtocol(rule map[string]any, protocol any) {
	switch {
	case protocol == "ICMP":
		rule["protocol"] = protocol
		if g.r.IntN(2) == 0 {
			rule["icmp"] = map[string]any{"type": 8}
		}
	case protocol != nil:
		rule["protocol"] = protocol
	case g.r.IntN(4) == 0:
		rule["notProtocol"] = []any{"TCP", "UDP", 17, "ICMP"}[g.r.IntN(4)]
	}
}

// ownSide is the rule's side of the pods the policy applies to: mostly
// empty, sometimes a selector or nets that the subject pod itself may
// fail.
func (g *calicoGenerator) ownSide() map[string]any {
	e := map[string]any{}
	switch g.r.IntN(8) {
	case 0:
		e["selector"] = g.combine(g.podAtom, 1)
	case 1:
		e["nets"] = g.nets()
	}
	return e
}

// maybeUndecidable now and then adds a match the engine leaves
// unspecified by design: HTTP (only on an ingress Allow rule whose
// protocol is TCP or none, as Calico's validation demands) or source
// ports.
func (g *calicoGenerator) maybeUndecidable(rule, source map[string]any, ingress bool, protocol any) {
	switch {
	case g.r.IntN(25) == 0 && ingress && rule["action"] == "Allow" && (protocol == nil || protocol == "TCP"):
		rule["http"] = map[string]any{"methods": []any{"GET"}}
		g.undecidable = true
	case g.r.IntN(25) == 0 && withPorts(protocol):
		source["ports"] = []any{"1024:65535"}
		g.undecidable = true
	}
}

// maybeIPVersion now and then limits the rule to IPv4 (every probed flow)
// or, when it names no nets (Calico refuses IPv4 nets with ipVersion 6),
// to IPv6 (none).
func (g *calicoGenerator) maybeIPVersion(rule, source, destination map[string]any) {
	if g.r.IntN(10) > 0 || rule["protocol"] == "ICMP" || rule["notProtocol"] == "ICMP" {
		return // ICMP (v4) with ipVersion 6 is refused too
	}
	version := 4
	if g.r.IntN(2) == 0 && !hasNets(source) && !hasNets(destination) {
		version = 6
	}
	rule["ipVersion"] = version
}

func hasNets(e map[string]any) bool {
	return e["nets"] != nil || e["notNets"] != nil
}

// entity draws a rule's peer: selectors, namespaceSelector, nets,
// notNets, any of them, or none (every endpoint and address).
func (g *calicoGenerator) entity() map[string]any {
	e := map[string]any{}
	if g.r.IntN(5) == 0 {
		return e
	}
	if g.r.IntN(2) == 0 {
		e["selector"] = g.podSelector()
	}
	if g.r.IntN(6) == 0 {
		e["notSelector"] = g.combine(g.podAtom, 1)
	}
	if g.r.IntN(3) == 0 {
		e["namespaceSelector"] = g.pick(g.namespaceSelector(), g.namespaceSelector(), "all()", "global()")
		if e["namespaceSelector"] == "global()" {
			delete(e, "selector") // global() must be the only selector
			delete(e, "notSelector")
		}
	}
	if g.r.IntN(3) == 0 {
		e["nets"] = g.nets()
	}
	if g.r.IntN(6) == 0 {
		e["notNets"] = g.nets()
	}
	return e
}

// nets: a fleet pod's /32, its neighbourhood, the pod network, the
// external host, or the external host's network.
func (g *calicoGenerator) nets() []any {
	var out []any
	for k := 1 + g.r.IntN(2); k > 0; k-- {
		pod := g.fleet[g.r.IntN(len(g.fleet))].IP
		switch g.r.IntN(5) {
		case 0:
			out = append(out, netip.PrefixFrom(pod, 32).String())
		case 1:
			out = append(out, netip.PrefixFrom(pod, 28+g.r.IntN(4)).Masked().String())
		case 2:
			out = append(out, "198.18.0.0/16")
		case 3:
			out = append(out, externalIP()+"/32")
		default:
			out = append(out, "198.51.100.0/24")
		}
	}
	return out
}

// ports: numbers the fleet serves, ranges, and the named ports the
// fleet's pods declare (resolved per destination pod).
func (g *calicoGenerator) ports(protocol any) []any {
	udp := protocol == "UDP" || protocol == 17
	var out []any
	for k := 1 + g.r.IntN(2); k > 0; k-- {
		switch g.r.IntN(3) {
		case 0:
			if udp {
				out = append(out, int(fleetUDP[g.r.IntN(len(fleetUDP))]))
			} else {
				out = append(out, int(fleetTCP[g.r.IntN(len(fleetTCP))]))
			}
		case 1:
			lo := []int{53, 80, 443, 3000}[g.r.IntN(4)]
			out = append(out, fmt.Sprintf("%d:%d", lo, lo+g.r.IntN(5400)))
		default:
			if udp {
				out = append(out, "dns")
			} else {
				out = append(out, g.pick("http", "metrics"))
			}
		}
	}
	return out
}
