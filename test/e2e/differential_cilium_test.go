//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// The differential with Cilium's own policies: every case of
// TestDifferentialEngineVsEnforcement (namespace and pod labels,
// Kubernetes NetworkPolicies) plus random CiliumNetworkPolicies and
// CiliumClusterwideNetworkPolicies, which the agent (v1.20.2 in the test
// bed) decides together with the NetworkPolicies as one repository, and
// the engine reads back through read.LoadLive.
//
// The content covers what Cilium decides at layers 3 and 4 for pods on an
// IPv4 TCP/UDP cluster: endpointSelector (matchLabels and
// matchExpressions, label sources k8s:/any:/none, the namespace key and
// namespace labels), ingress, ingressDeny, egress and egressDeny with
// fromEndpoints/toEndpoints ({} included), entities, CIDRs and CIDR sets
// with except (the external host, its /24, pod addresses, 0.0.0.0/0),
// toPorts (numbers, ranges, named ports, 0, TCP/UDP/ANY), entries with
// only toPorts, enableDefaultDeny, and a few policies the agent refuses
// (two L3 kinds in one entry). A clusterwide policy's subject stays
// within the fleet's namespaces: the test bed's CoreDNS keeps working.
//
// NETBASELINE_DIFFERENTIAL_CILIUM_CASES (default 40; runs only when
// NETBASELINE_ENGINE=cilium), NETBASELINE_DIFFERENTIAL_SEED and
// NETBASELINE_DIFFERENTIAL_OUT as for the Kubernetes-only differential.

var (
	ciliumNetworkPolicies        = schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumnetworkpolicies"}
	ciliumClusterNetworkPolicies = schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumclusterwidenetworkpolicies"}
)

func TestDifferentialCiliumPolicies(t *testing.T) {
	if enforcerName() != "Cilium" {
		t.Skip("Cilium's own policies need Cilium enforcing (NETBASELINE_ENGINE=cilium)")
	}
	cases := diffEnv("NETBASELINE_DIFFERENTIAL_CILIUM_CASES", 40)
	if cases == 0 {
		t.Skip("NETBASELINE_DIFFERENTIAL_CILIUM_CASES=0")
	}
	runDifferential(t, cases, "cilium-policies", func(d *differential) {
		d.cilium = &ciliumWriter{dyn: dynamic.NewForConfigOrDie(d.cfg)}
		d.cilium.deleteAll(t, context.Background())
		t.Cleanup(func() { d.cilium.deleteAll(t, context.Background()) })
	})
}

// ciliumWriter writes a case's Cilium policies and deletes them all
// between cases. Each case's policies have names of their own: the
// agent's watcher queues events by name, so a policy deleted and
// recreated at once under the same name can reach it as one update, and
// an update it refuses leaves the previous version enforced (the engine
// says so for a policy whose generation shows an update).
type ciliumWriter struct {
	dyn   dynamic.Interface
	cases int
}

// deleteAll removes every CiliumNetworkPolicy of the fleet's namespaces
// and every CiliumClusterwideNetworkPolicy.
func (w *ciliumWriter) deleteAll(t *testing.T, ctx context.Context) {
	t.Helper()
	for n := 0; n < fleetNamespaces; n++ {
		ns := fmt.Sprintf("%s%d", diffPrefix, n)
		if err := w.dyn.Resource(ciliumNetworkPolicies).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Fatalf("delete CiliumNetworkPolicies in %s: %v", ns, err)
		}
	}
	if err := w.dyn.Resource(ciliumClusterNetworkPolicies).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Fatalf("delete CiliumClusterwideNetworkPolicies: %v", err)
	}
}

// replace deletes the previous case's policies and writes this case's.
func (w *ciliumWriter) replace(t *testing.T, ctx context.Context, r *rand.Rand, fleet []fleetPod) (written []map[string]any, undecidable bool) {
	t.Helper()
	w.deleteAll(t, ctx)
	w.cases++
	g := &ciliumGenerator{r: r, fleet: fleet, prefix: fmt.Sprintf("c%d-", w.cases)}
	for i, n := 0, 1+r.IntN(4); i < n; i++ {
		obj := g.policy(i)
		var res dynamic.ResourceInterface = w.dyn.Resource(ciliumClusterNetworkPolicies)
		if obj.GetKind() == "CiliumNetworkPolicy" {
			res = w.dyn.Resource(ciliumNetworkPolicies).Namespace(obj.GetNamespace())
		}
		if _, err := res.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			b, _ := yaml.Marshal(obj.Object)
			t.Fatalf("the generator made a Cilium policy the API rejects: %v\n%s", err, b)
		}
		written = append(written, obj.Object)
	}
	return written, false
}

// ciliumGenerator draws one case's Cilium policies.
type ciliumGenerator struct {
	r      *rand.Rand
	fleet  []fleetPod
	prefix string // the case's own names
}

func (g *ciliumGenerator) pick(values ...string) string { return values[g.r.IntN(len(values))] }

func (g *ciliumGenerator) namespace() string {
	return fmt.Sprintf("%s%d", diffPrefix, g.r.IntN(fleetNamespaces))
}

// policy draws the i-th policy: a CiliumNetworkPolicy in a fleet
// namespace or a clusterwide one whose subject stays in the fleet.
func (g *ciliumGenerator) policy(i int) *unstructured.Unstructured {
	clusterwide := g.r.IntN(3) == 0
	subject := g.selector(false)
	spec := map[string]any{"endpointSelector": subject}
	if clusterwide {
		g.withinFleet(subject)
	}
	sections := 0
	for _, section := range []string{"ingress", "ingressDeny", "egress", "egressDeny"} {
		chance := 2
		if section == "ingressDeny" || section == "egressDeny" {
			chance = 4
		}
		if g.r.IntN(chance) != 0 {
			continue
		}
		rules := []any{}
		for j, n := 0, g.r.IntN(3); j < n; j++ {
			rules = append(rules, g.rule(section))
		}
		spec[section] = rules // [] as written by hand: whether it isolates is Cilium's to say
		sections++
	}
	if sections == 0 {
		spec["ingress"] = []any{g.rule("ingress")}
	}
	if g.r.IntN(6) == 0 {
		spec["enableDefaultDeny"] = map[string]any{"ingress": g.r.IntN(2) == 0, "egress": g.r.IntN(2) == 0}
	}
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "cilium.io/v2", "spec": spec}}
	obj.SetName(g.prefix + "cnp-" + strconv.Itoa(i))
	if clusterwide {
		obj.SetKind("CiliumClusterwideNetworkPolicy")
		obj.SetName("nbdiff-" + g.prefix + "ccnp-" + strconv.Itoa(i))
	} else {
		obj.SetKind("CiliumNetworkPolicy")
		obj.SetNamespace(g.namespace())
	}
	return obj
}

// withinFleet limits a clusterwide subject to fleet namespaces.
func (g *ciliumGenerator) withinFleet(selector map[string]any) {
	var values []any
	for n := 0; n < fleetNamespaces; n++ {
		if n == 0 || g.r.IntN(2) == 0 {
			values = append(values, fmt.Sprintf("%s%d", diffPrefix, n))
		}
	}
	exprs, _ := selector["matchExpressions"].([]any)
	selector["matchExpressions"] = append(exprs, map[string]any{"key": "k8s:io.kubernetes.pod.namespace", "operator": "In", "values": values})
}

// podKey draws a pod label key with one of Cilium's source forms.
func (g *ciliumGenerator) podKey() (string, []string) {
	key := g.pick("app", "tier", "version")
	values := map[string][]string{"app": {"web", "api", "db"}, "tier": {"front", "back"}, "version": {"v1", "v2"}}[key]
	return g.pick("", "k8s:", "any:") + key, values
}

// selector draws an endpoint selector; peer selectors may also name the
// namespace or its labels.
func (g *ciliumGenerator) selector(peer bool) map[string]any {
	sel := map[string]any{}
	if g.r.IntN(5) == 0 {
		return sel
	}
	labels := map[string]any{}
	var exprs []any
	for i, n := 0, 1+g.r.IntN(2); i < n; i++ {
		key, values := g.podKey()
		if peer && g.r.IntN(3) == 0 {
			key, values = g.namespaceKey()
		}
		if g.r.IntN(2) == 0 {
			labels[key] = values[g.r.IntN(len(values))]
			continue
		}
		exprs = append(exprs, g.expression(key, values))
	}
	if len(labels) > 0 {
		sel["matchLabels"] = labels
	}
	if len(exprs) > 0 {
		sel["matchExpressions"] = exprs
	}
	return sel
}

func (g *ciliumGenerator) namespaceKey() (string, []string) {
	if g.r.IntN(2) == 0 {
		return "k8s:io.kubernetes.pod.namespace", []string{diffPrefix + "0", diffPrefix + "1", diffPrefix + "2"}
	}
	key := g.pick("env", "team")
	values := map[string][]string{"env": {"prod", "dev"}, "team": {"red", "blue"}}[key]
	return g.pick("", "k8s:") + "io.cilium.k8s.namespace.labels." + key, values
}

func (g *ciliumGenerator) expression(key string, values []string) map[string]any {
	switch op := g.pick("In", "NotIn", "Exists", "DoesNotExist"); op {
	case "In", "NotIn":
		var vs []any
		for _, v := range values {
			if g.r.IntN(2) == 0 {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			vs = []any{values[0]}
		}
		return map[string]any{"key": key, "operator": op, "values": vs}
	default:
		return map[string]any{"key": key, "operator": op}
	}
}

// rule draws one entry of a section: one kind of peer (or none: only
// ports), maybe ports; now and then two peer kinds, which the agent
// refuses.
func (g *ciliumGenerator) rule(section string) map[string]any {
	from := "from"
	if section == "egress" || section == "egressDeny" {
		from = "to"
	}
	rule := map[string]any{}
	kinds := 1
	if g.r.IntN(25) == 0 {
		kinds = 2
	}
	for i := 0; i < kinds; i++ {
		switch g.r.IntN(6) {
		case 0, 1, 2:
			var peers []any
			for j, n := 0, 1+g.r.IntN(2); j < n; j++ {
				peers = append(peers, g.selector(true))
			}
			rule[from+"Endpoints"] = peers
		case 3:
			rule[from+"Entities"] = []any{g.pick("world", "cluster", "all", "host", "remote-node", "kube-apiserver", "init", "health", "unmanaged")}
		case 4:
			rule[from+"CIDR"] = []any{g.cidr()}
		case 5:
			set := map[string]any{"cidr": g.pick("198.51.100.0/24", "0.0.0.0/0", "198.18.0.0/16")}
			if g.r.IntN(2) == 0 {
				set["except"] = []any{g.pick(externalIP()+"/32", "198.51.100.0/25", g.podAddress()+"/32")}
			}
			rule[from+"CIDRSet"] = []any{set}
		}
	}
	if len(rule) == 0 || g.r.IntN(2) == 0 {
		rule["toPorts"] = []any{map[string]any{"ports": g.ports()}}
	}
	if g.r.IntN(12) == 0 {
		delete(rule, from+"Endpoints")
		delete(rule, from+"Entities")
		delete(rule, from+"CIDR")
		delete(rule, from+"CIDRSet")
		rule["toPorts"] = []any{map[string]any{"ports": g.ports()}}
	}
	return rule
}

func (g *ciliumGenerator) podAddress() string {
	return g.fleet[g.r.IntN(len(g.fleet))].IP.String()
}

func (g *ciliumGenerator) cidr() string {
	return g.pick(externalIP()+"/32", "198.51.100.0/24", g.podAddress()+"/32", "198.18.0.0/16", "0.0.0.0/0")
}

// ports draws toPorts' ports: numbers the fleet serves (or not), ranges,
// named ports, 0 (every port); TCP, UDP or ANY (the default).
func (g *ciliumGenerator) ports() []any {
	var ports []any
	for i, n := 0, 1+g.r.IntN(2); i < n; i++ {
		p := map[string]any{}
		switch g.r.IntN(6) {
		case 0, 1:
			p["port"] = g.pick("80", "443", "3000", "8080", "53", "5353", "9999")
		case 2:
			p["port"] = g.pick("80", "443", "53")
			p["endPort"] = int64(g.pick2(443, 3000, 8080, 5353))
		case 3:
			p["port"] = g.pick("http", "metrics", "dns")
		case 4:
			p["port"] = "0"
		}
		if proto := g.pick("TCP", "UDP", "ANY", ""); proto != "" {
			p["protocol"] = proto
		}
		ports = append(ports, p)
	}
	return ports
}

func (g *ciliumGenerator) pick2(values ...int) int { return values[g.r.IntN(len(values))] }
