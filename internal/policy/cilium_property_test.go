package policy_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy/ciliumref"
)

// A random cluster mixing CiliumNetworkPolicies,
// CiliumClusterwideNetworkPolicies and NetworkPolicies with every feature
// of the L3/L4 language, for the comparison with the independent reference
// (internal/policy/ciliumref).

type ciliumGen struct{ r *rand.Rand }

func (g ciliumGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g ciliumGen) chance(p float64) bool    { return g.r.Float64() < p }

var genNamespaces = []string{"ns1", "ns2", "ns3"}

func (g ciliumGen) cluster() ciliumref.Cluster {
	var c ciliumref.Cluster
	for _, ns := range genNamespaces {
		labels := map[string]string{"kubernetes.io/metadata.name": ns}
		if g.chance(0.6) {
			labels["team"] = g.pick("a", "b")
		}
		c.Namespaces = append(c.Namespaces, ciliumref.Namespace{Name: ns, Labels: labels})
	}
	n := 3 + g.r.IntN(4)
	for i := range n {
		p := ciliumref.Pod{Namespace: g.pick(genNamespaces...), Name: "p" + strconv.Itoa(i), IP: fmt.Sprintf("198.18.0.%d", 10+i),
			Labels: map[string]string{"app": g.pick("web", "db", "api")}}
		if g.chance(0.5) {
			p.Labels["tier"] = g.pick("front", "back")
		}
		if g.chance(0.3) {
			p.ServiceAccount = g.pick("default", "robot")
		}
		if g.chance(0.6) {
			p.Ports = append(p.Ports, ciliumref.NamedPort{Name: "http", Port: int32(g.pick2(80, 8080)), Protocol: "TCP"})
		}
		if g.chance(0.3) {
			p.Ports = append(p.Ports, ciliumref.NamedPort{Name: "dns", Port: 53, Protocol: "UDP"})
		}
		c.Pods = append(c.Pods, p)
	}
	for _, ns := range genNamespaces {
		if g.chance(0.5) {
			c.Services = append(c.Services, ciliumref.Service{Namespace: ns, Name: "svc", Selector: map[string]string{"app": g.pick("web", "db")},
				Ports: []ciliumref.ServicePort{{Port: 80, TargetPort: 8080, Protocol: "TCP"}}})
		}
	}
	c.Config = map[string]string{}
	switch g.r.IntN(8) {
	case 0:
		c.Config["enable-policy"] = "always"
	case 1:
		c.Config["enable-policy"] = "never"
	case 2:
		c.Config["enable-policy"] = "default"
	}
	np := 1 + g.r.IntN(5)
	for i := range np {
		c.Policies = append(c.Policies, g.policy(i))
	}
	return c
}

func (g ciliumGen) pick2(a, b int) int {
	if g.chance(0.5) {
		return a
	}
	return b
}

func (g ciliumGen) labelSelector(peer bool) map[string]any {
	sel := map[string]any{}
	ml := map[string]any{}
	switch g.r.IntN(6) {
	case 0:
	case 1:
		ml["app"] = g.pick("web", "db", "api")
	case 2:
		ml["k8s:app"] = g.pick("web", "db")
	case 3:
		sel["matchExpressions"] = []any{map[string]any{"key": "tier", "operator": g.pick("In", "NotIn", "Exists", "DoesNotExist"), "values": g.values()}}
	case 4:
		ml[g.pick("tier", "any:tier")] = g.pick("front", "back")
	case 5:
		ml["io.cilium.k8s.policy.serviceaccount"] = "robot"
	}
	if peer {
		switch g.r.IntN(6) {
		case 0:
			ml[g.pick("k8s:io.kubernetes.pod.namespace", "io.kubernetes.pod.namespace")] = g.pick(genNamespaces...)
		case 1:
			ml["k8s:io.cilium.k8s.namespace.labels.team"] = g.pick("a", "b")
		case 2:
			if g.chance(0.3) {
				ml = map[string]any{"reserved:" + g.pick("host", "world", "remote-node"): ""}
			}
		}
	}
	if len(ml) > 0 {
		sel["matchLabels"] = ml
	}
	return sel
}

func (g ciliumGen) values() []any {
	if g.chance(0.5) {
		return []any{"front"}
	}
	return []any{"front", "back"}
}

func (g ciliumGen) ports(l7ok bool) []any {
	var out []any
	for range 1 + g.r.IntN(2) {
		pr := map[string]any{}
		var ports []any
		for range 1 + g.r.IntN(2) {
			p := map[string]any{}
			switch g.r.IntN(6) {
			case 0, 1:
				p["port"] = g.pick("80", "443", "53", "8080")
			case 2:
				p["port"] = "8000"
				p["endPort"] = 8100
			case 3:
				p["port"] = g.pick("http", "dns")
			case 4:
				p["port"] = "0"
			case 5:
				p["port"] = "5432"
			}
			if g.chance(0.7) {
				p["protocol"] = g.pick("TCP", "UDP", "ANY", "SCTP")
			}
			ports = append(ports, p)
		}
		pr["ports"] = ports
		if l7ok && g.chance(0.2) {
			pr["rules"] = map[string]any{"http": []any{map[string]any{"method": "GET"}}}
		}
		out = append(out, pr)
	}
	return out
}

func (g ciliumGen) peerEntry(ingress, deny bool, clusterwide bool) map[string]any {
	e := map[string]any{}
	pre := "to"
	if ingress {
		pre = "from"
	}
	switch g.r.IntN(9) {
	case 0, 1, 2:
		var sels []any
		for range 1 + g.r.IntN(2) {
			sels = append(sels, g.labelSelector(true))
		}
		e[pre+"Endpoints"] = sels
	case 3:
		e[pre+"Entities"] = []any{g.pick("all", "world", "cluster", "host", "remote-node", "kube-apiserver", "health")}
	case 4:
		e[pre+"CIDR"] = []any{g.pick("198.51.100.0/24", "198.18.0.0/16", "0.0.0.0/0", "198.51.100.7")}
	case 5:
		set := map[string]any{"cidr": g.pick("198.51.100.0/24", "0.0.0.0/0", "198.18.0.0/16")}
		if g.chance(0.5) {
			set["except"] = []any{"198.51.100.0/28"}
			if set["cidr"] == "198.18.0.0/16" {
				set["except"] = []any{"198.18.0.0/28"}
			}
		}
		e[pre+"CIDRSet"] = []any{set}
	case 6:
		if !ingress && !deny && g.chance(0.5) {
			e["toServices"] = []any{map[string]any{"k8sService": map[string]any{"serviceName": "svc", "namespace": g.pick(genNamespaces...)}}}
			return e
		}
		if !ingress && !deny && g.chance(0.5) {
			e["toFQDNs"] = []any{map[string]any{"matchName": "example.com"}}
		}
	case 7:
		// only ports: every peer
	case 8:
		if g.chance(0.3) {
			return map[string]any{} // {}: matches nothing
		}
	}
	if g.chance(0.6) {
		e["toPorts"] = g.ports(!deny)
	} else if g.chance(0.15) {
		e["icmps"] = []any{map[string]any{"fields": []any{map[string]any{"type": 8, "family": "IPv4"}}}}
	}
	return e
}

func (g ciliumGen) rule(clusterwide bool) map[string]any {
	r := map[string]any{"endpointSelector": g.labelSelector(clusterwide && g.chance(0.3))}
	sections := 0
	for _, s := range []string{"ingress", "ingressDeny", "egress", "egressDeny"} {
		p := 0.5
		if strings.HasSuffix(s, "Deny") {
			p = 0.2
		}
		if !g.chance(p) {
			continue
		}
		sections++
		var entries []any
		for range 1 + g.r.IntN(2) {
			entries = append(entries, g.peerEntry(strings.HasPrefix(s, "ingress"), strings.HasSuffix(s, "Deny"), clusterwide))
		}
		r[s] = entries
	}
	if sections == 0 {
		r["ingress"] = []any{g.peerEntry(true, false, clusterwide)}
	}
	if g.chance(0.1) {
		r["enableDefaultDeny"] = map[string]any{g.pick("ingress", "egress"): false}
	}
	return r
}

func (g ciliumGen) policy(i int) map[string]any {
	name := "pol" + strconv.Itoa(i)
	switch g.r.IntN(3) {
	case 0:
		return g.knp(name)
	case 1:
		p := map[string]any{"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": map[string]any{"name": name}}
		g.specs(p, true)
		return p
	default:
		p := map[string]any{"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": map[string]any{"name": name, "namespace": g.pick(genNamespaces...)}}
		g.specs(p, false)
		return p
	}
}

func (g ciliumGen) specs(p map[string]any, clusterwide bool) {
	if g.chance(0.2) {
		p["specs"] = []any{g.rule(clusterwide), g.rule(clusterwide)}
		return
	}
	p["spec"] = g.rule(clusterwide)
}

func (g ciliumGen) knpPeers() []any {
	var peers []any
	for range g.r.IntN(3) {
		switch g.r.IntN(4) {
		case 0:
			peers = append(peers, map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"app": g.pick("web", "db")}}})
		case 1:
			peer := map[string]any{"namespaceSelector": map[string]any{}}
			if g.chance(0.5) {
				peer["namespaceSelector"] = map[string]any{"matchLabels": map[string]any{"team": g.pick("a", "b")}}
			}
			if g.chance(0.5) {
				peer["podSelector"] = map[string]any{"matchLabels": map[string]any{"app": g.pick("web", "api")}}
			}
			peers = append(peers, peer)
		case 2:
			block := map[string]any{"cidr": g.pick("198.18.0.0/16", "198.51.100.0/24", "0.0.0.0/0")}
			if g.chance(0.4) {
				block["except"] = []any{g.pick("198.18.0.8/29", "198.51.100.0/28")}
				if !strings.HasPrefix(block["cidr"].(string), "0.") && !strings.HasPrefix(block["except"].([]any)[0].(string), block["cidr"].(string)[:7]) {
					delete(block, "except")
				}
			}
			peers = append(peers, map[string]any{"ipBlock": block})
		case 3:
			peers = append(peers, map[string]any{"podSelector": map[string]any{}})
		}
	}
	return peers
}

func (g ciliumGen) knpPorts() []any {
	var ports []any
	for range g.r.IntN(3) {
		p := map[string]any{}
		switch g.r.IntN(4) {
		case 0:
			p["port"] = g.pick2(80, 53)
		case 1:
			p["port"] = "http"
		case 2:
			p["port"] = 8000
			p["endPort"] = 8100
		}
		if g.chance(0.5) {
			p["protocol"] = g.pick("TCP", "UDP", "SCTP")
		}
		ports = append(ports, p)
	}
	return ports
}

func (g ciliumGen) knp(name string) map[string]any {
	spec := map[string]any{"podSelector": map[string]any{}}
	if g.chance(0.6) {
		spec["podSelector"] = map[string]any{"matchLabels": map[string]any{"app": g.pick("web", "db", "api")}}
	}
	var types []any
	if g.chance(0.7) {
		types = append(types, "Ingress")
		var rules []any
		for range g.r.IntN(3) {
			rules = append(rules, map[string]any{"from": g.knpPeers(), "ports": g.knpPorts()})
		}
		spec["ingress"] = rules
	}
	if g.chance(0.5) || len(types) == 0 {
		types = append(types, "Egress")
		var rules []any
		for range g.r.IntN(3) {
			rules = append(rules, map[string]any{"to": g.knpPeers(), "ports": g.knpPorts()})
		}
		spec["egress"] = rules
	}
	spec["policyTypes"] = types
	return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": map[string]any{"name": name, "namespace": g.pick(genNamespaces...)}, "spec": spec}
}

// TestCiliumEngineAgreesWithReference compares the engine with the
// independent reference on every flow of random clusters.
func TestCiliumEngineAgreesWithReference(t *testing.T) {
	n := 200
	if s := os.Getenv("NETBASELINE_CILIUM_CLUSTERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		n = 50
	}
	flows, errs := 0, 0
	classes := map[string]int{}
	examples := map[string]string{}
	for seed := range n {
		g := ciliumGen{rand.New(rand.NewPCG(uint64(seed), 36))}
		c := g.cluster()
		m := ciliumModel(t, t.TempDir(), c)
		e := policy.New(m)
		matrixAgrees(t, seed, m, e)
		var ends []ciliumref.Endpoint
		for _, p := range c.Pods {
			ends = append(ends, ciliumref.Endpoint{Pod: p.Namespace + "/" + p.Name})
		}
		ends = append(ends, ciliumref.Endpoint{IP: "198.51.100.7"}, ciliumref.Endpoint{IP: "198.51.100.200"},
			ciliumref.Endpoint{Entity: "host"}, ciliumref.Endpoint{Entity: "remote-node"}, ciliumref.Endpoint{Entity: "world"})
		for _, from := range ends {
			for _, to := range ends {
				if from.Pod == "" && to.Pod == "" || from == to {
					continue
				}
				for _, pp := range []struct {
					port  int32
					proto string
				}{{80, "TCP"}, {8080, "TCP"}, {53, "UDP"}, {8050, "SCTP"}, {5432, "TCP"}, {0, "ICMP"}} {
					ref, err := ciliumref.Decide(c, from, to, pp.port, pp.proto)
					if err != nil {
						errs++
						continue
					}
					flows++
					fe, _ := ciliumEndpoint(m, from)
					te, _ := ciliumEndpoint(m, to)
					r := e.Evaluate(policy.Flow{From: fe, To: te, Port: pp.port, Protocol: corev1.Protocol(pp.proto)}, false)
					l7 := ciliumL7(r)
					if string(r.Verdict) == string(ref.Verdict) && (r.Verdict != policy.Allowed || l7 == ref.L7) {
						continue
					}
					class := fmt.Sprintf("engine %s/l7=%v reference %s/l7=%v", r.Verdict, l7, ref.Verdict, ref.L7)
					classes[class]++
					if _, ok := examples[class]; !ok || len(examples[class]) > 3000 {
						examples[class] = fmt.Sprintf("seed %d %v → %v :%d/%s\n  ref: %s\n  egress: %s\n  ingress: %s\n%s",
							seed, from, to, pp.port, pp.proto, ref.Reason, sideText(r.Egress), sideText(r.Ingress), ciliumManifests(c))
					}
				}
			}
		}
	}
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("%d flows: %s; e.g. %s", classes[k], k, examples[k])
	}
	t.Logf("%d clusters, %d flows compared, %d reference errors, %d classes of disagreement", n, flows, errs, len(keys))
}

// matrixAgrees: a matrix (verdicts only, which stops at the first allow)
// answers as Evaluate does, l7 included.
func matrixAgrees(t *testing.T, seed int, m *model.Model, e *policy.Engine) {
	t.Helper()
	groups := make([]policy.Group, 0, len(m.Pods))
	for _, p := range m.Pods {
		groups = append(groups, policy.Group{Name: p.Key(), Pods: []*model.Pod{p}})
	}
	ports := []policy.PortSpec{{Port: "80", Protocol: "TCP"}, {Port: "53", Protocol: "UDP"}, {Port: "8050", Protocol: "SCTP"}}
	err := e.MatrixVerdicts(groups, groups, ports, func(x policy.Explanation) error {
		fns, fname, _ := strings.Cut(x.From, "/")
		tns, tname, _ := strings.Cut(x.To, "/")
		from, to := m.Pod(fns, fname), m.Pod(tns, tname)
		r := e.Evaluate(policy.Flow{From: policy.PodEndpoint(from), To: policy.PodEndpoint(to), Port: x.Port, Protocol: x.Protocol}, false)
		mr := policy.Result{Verdict: x.Verdict, Egress: x.Egress, Ingress: x.Ingress}
		if r.Verdict != x.Verdict || ciliumL7(r) != ciliumL7(mr) {
			t.Errorf("seed %d %s → %s %d/%s: matrix %s (l7 %v), Evaluate %s (l7 %v)", seed, x.From, x.To, x.Port, x.Protocol, x.Verdict, ciliumL7(mr), r.Verdict, ciliumL7(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzCiliumEngineAgreesWithReference drives the comparison from fuzzed
// seeds.
func FuzzCiliumEngineAgreesWithReference(f *testing.F) {
	f.Add(uint64(1))
	f.Add(uint64(82))
	f.Fuzz(func(t *testing.T, seed uint64) {
		g := ciliumGen{rand.New(rand.NewPCG(seed, 36))}
		c := g.cluster()
		m := ciliumModel(t, t.TempDir(), c)
		e := policy.New(m)
		ends := []ciliumref.Endpoint{{IP: "198.51.100.7"}, {Entity: "host"}, {Entity: "world"}}
		for _, p := range c.Pods {
			ends = append(ends, ciliumref.Endpoint{Pod: p.Namespace + "/" + p.Name})
		}
		for _, from := range ends {
			for _, to := range ends {
				if from.Pod == "" && to.Pod == "" || from == to {
					continue
				}
				ref, err := ciliumref.Decide(c, from, to, 80, "TCP")
				if err != nil {
					continue
				}
				fe, _ := ciliumEndpoint(m, from)
				te, _ := ciliumEndpoint(m, to)
				r := e.Evaluate(policy.Flow{From: fe, To: te, Port: 80, Protocol: "TCP"}, false)
				if string(r.Verdict) != string(ref.Verdict) || (r.Verdict == policy.Allowed && ciliumL7(r) != ref.L7) {
					t.Fatalf("seed %d %v → %v: engine %s (l7 %v), reference %s (l7 %v): %s\n%s", seed, from, to, r.Verdict, ciliumL7(r), ref.Verdict, ref.L7, ref.Reason, ciliumManifests(c))
				}
			}
		}
	})
}
