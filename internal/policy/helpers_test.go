package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	npav1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	npav1alpha2 "sigs.k8s.io/network-policy-api/apis/v1alpha2"
	npav1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// The helpers build read models tersely: ns("a", "team=x"), pod("a/web",
// "app=web", "10.0.0.1", "http:80/TCP"), np("a", `yaml of the spec`).

type item interface{ addTo(*model.Model) }

type nsItem struct{ *model.Namespace }
type podItem struct{ *model.Pod }
type npItem struct{ *networkingv1.NetworkPolicy }
type layerItem string

func (i nsItem) addTo(m *model.Model)    { m.Namespaces = append(m.Namespaces, i.Namespace) }
func (i podItem) addTo(m *model.Model)   { m.Pods = append(m.Pods, i.Pod) }
func (i npItem) addTo(m *model.Model)    { m.Policies = append(m.Policies, i.NetworkPolicy) }
func (i layerItem) addTo(m *model.Model) { m.OtherLayers = append(m.OtherLayers, string(i)) }

func parseLabels(s string) map[string]string {
	out := map[string]string{}
	if s == "" {
		return out
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func ns(name, labelSpec string) item {
	return nsItem{&model.Namespace{Name: name, Labels: parseLabels(labelSpec)}}
}

// pod takes "ns/name", labels, then any of: an IP ("10.0.0.1", "fd00::1"),
// a port ("http:80/TCP", "9090/UDP"), or "hostNetwork".
func pod(key, labelSpec string, extra ...string) item {
	namespace, name, _ := strings.Cut(key, "/")
	p := &model.Pod{Namespace: namespace, Name: name, Labels: parseLabels(labelSpec)}
	for _, x := range extra {
		if x == "hostNetwork" {
			p.HostNetwork = true
			continue
		}
		if a, err := netip.ParseAddr(x); err == nil {
			p.IPs = append(p.IPs, a)
			continue
		}
		portName, rest, hasName := strings.Cut(x, ":")
		if !hasName {
			rest, portName = portName, ""
		}
		num, proto, _ := strings.Cut(rest, "/")
		n, err := strconv.Atoi(num)
		if err != nil {
			panic("bad port " + x)
		}
		p.Ports = append(p.Ports, model.ContainerPort{Name: portName, Port: int32(n), Protocol: corev1.Protocol(proto)})
	}
	return podItem{p}
}

// np parses a NetworkPolicy from YAML: "name: x\nspec: ..." in namespace ns.
func np(namespace, doc string) item {
	var pol networkingv1.NetworkPolicy
	if err := yaml.UnmarshalStrict([]byte(doc), &pol); err != nil {
		panic(err)
	}
	pol.Namespace = namespace
	return npItem{&pol}
}

func newModel(items ...item) *model.Model {
	m := &model.Model{}
	for _, it := range items {
		it.addTo(m)
	}
	m.Normalize()
	return m
}

type flowCase struct {
	from, to string // "ns/pod" or an IP
	port     int32
	proto    corev1.Protocol
	want     Verdict
}

func endpointOf(t *testing.T, m *model.Model, s string) Endpoint {
	t.Helper()
	if a, err := netip.ParseAddr(s); err == nil {
		return IPEndpoint(a)
	}
	namespace, name, _ := strings.Cut(s, "/")
	p := m.Pod(namespace, name)
	if p == nil {
		t.Fatalf("no pod %s", s)
	}
	return PodEndpoint(p)
}

func checkFlows(t *testing.T, m *model.Model, cases []flowCase) {
	t.Helper()
	e := New(m)
	for _, c := range cases {
		proto := c.proto
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		f := Flow{From: endpointOf(t, m, c.from), To: endpointOf(t, m, c.to), Port: c.port, Protocol: proto}
		got := e.Evaluate(f, true)
		if got.Verdict != c.want {
			t.Errorf("%s -> %s %d/%s: %s, want %s\n  egress %+v\n  ingress %+v\n  hints %v", c.from, c.to, c.port, proto, got.Verdict, c.want, got.Egress, got.Ingress, got.Hints)
		}
		// The naive reference evaluator must agree on every case.
		if ref := naiveTieredVerdict(m, f); ref != got.Verdict {
			t.Errorf("%s -> %s %d/%s: engine %s, naive reference %s", c.from, c.to, c.port, proto, got.Verdict, ref)
		}
	}
}

type clusterItem struct{ *model.ClusterPolicy }
type nodeItem struct{ *model.Node }

func (i clusterItem) addTo(m *model.Model) {
	m.ClusterPolicies = append(m.ClusterPolicies, i.ClusterPolicy)
}
func (i nodeItem) addTo(m *model.Model) { m.Nodes = append(m.Nodes, i.Node) }

// anp, banp and cnp parse the cluster-scoped kinds from YAML
// ("metadata: {name: x}\nspec: ..."); cnp is v1beta1, cnpAlpha v1alpha2.
func anp(doc string) item {
	var p npav1alpha1.AdminNetworkPolicy
	mustUnmarshal(doc, &p)
	return clusterItem{model.FromAdminNetworkPolicy(&p)}
}

func banp(doc string) item {
	var p npav1alpha1.BaselineAdminNetworkPolicy
	mustUnmarshal(doc, &p)
	return clusterItem{model.FromBaselineAdminNetworkPolicy(&p)}
}

func cnp(doc string) item {
	var p npav1beta1.ClusterNetworkPolicy
	mustUnmarshal(doc, &p)
	return clusterItem{model.FromClusterNetworkPolicy(&p)}
}

func cnpAlpha(doc string) item {
	var p npav1alpha2.ClusterNetworkPolicy
	mustUnmarshal(doc, &p)
	return clusterItem{model.FromClusterNetworkPolicyV1alpha2(&p)}
}

func node(name, labelSpec string, addrs ...string) item {
	n := &model.Node{Name: name, Labels: parseLabels(labelSpec)}
	for _, a := range addrs {
		n.Addresses = append(n.Addresses, netip.MustParseAddr(a))
	}
	return nodeItem{n}
}

func mustUnmarshal(doc string, into any) {
	if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
		panic(err)
	}
}

type networkingv1NP = networkingv1.NetworkPolicy

func intstrFromString(s string) intstr.IntOrString { return intstr.FromString(s) }
