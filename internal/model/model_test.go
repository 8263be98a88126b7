package model

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Every namespace carries kubernetes.io/metadata.name = its name, as the
// control plane sets it, whatever the input said; labels of its own stay.
func TestNormalizeSetsTheNameLabel(t *testing.T) {
	m := &Model{Namespaces: []*Namespace{
		{Name: "bare"},
		{Name: "team", Labels: map[string]string{"team": "a"}},
		{Name: "lies", Labels: map[string]string{MetadataNameLabel: "other"}},
	}}
	m.Normalize()
	want := map[string]map[string]string{
		"bare": {MetadataNameLabel: "bare"},
		"lies": {MetadataNameLabel: "lies"},
		"team": {MetadataNameLabel: "team", "team": "a"},
	}
	if diff := cmp.Diff(want, namespaceLabels(m)); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

// A namespace that only a pod, a service or a policy names still exists,
// with only the automatic label; a known one is neither doubled nor changed.
func TestNormalizeAddsReferencedNamespaces(t *testing.T) {
	m := &Model{
		Namespaces: []*Namespace{{Name: "known", Labels: map[string]string{"team": "a"}}},
		Pods:       []*Pod{{Namespace: "from-pod", Name: "p"}, {Namespace: "known", Name: "q"}},
		Services:   []*Service{{Namespace: "from-service", Name: "s"}},
		Policies:   []*networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "from-policy", Name: "np"}}},
	}
	m.Normalize()
	want := map[string]map[string]string{
		"from-pod":     {MetadataNameLabel: "from-pod"},
		"from-policy":  {MetadataNameLabel: "from-policy"},
		"from-service": {MetadataNameLabel: "from-service"},
		"known":        {MetadataNameLabel: "known", "team": "a"},
	}
	if diff := cmp.Diff(want, namespaceLabels(m)); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
	if len(m.Namespaces) != len(want) {
		t.Errorf("%d namespaces, want %d", len(m.Namespaces), len(want))
	}
}

// Everything comes out in a stable order, whatever order it was read in;
// other layers are named once.
func TestNormalizeSorts(t *testing.T) {
	m := &Model{
		Namespaces:      []*Namespace{{Name: "b"}, {Name: "a"}},
		Pods:            []*Pod{{Namespace: "b", Name: "a"}, {Namespace: "a", Name: "z"}, {Namespace: "a", Name: "b"}},
		Services:        []*Service{{Namespace: "b", Name: "s"}, {Namespace: "a", Name: "t"}},
		Policies:        []*networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b"}}},
		ClusterPolicies: []*ClusterPolicy{{Kind: "BaselineAdminNetworkPolicy", Name: "default"}, {Kind: "AdminNetworkPolicy", Name: "x"}},
		Nodes:           []*Node{{Name: "n2"}, {Name: "n1"}},
		OtherLayers:     []string{"GlobalNetworkPolicy", "CiliumNetworkPolicy", "GlobalNetworkPolicy"},
	}
	m.Normalize()
	got := map[string][]string{"OtherLayers": m.OtherLayers}
	for _, ns := range m.Namespaces {
		got["Namespaces"] = append(got["Namespaces"], ns.Name)
	}
	for _, p := range m.Pods {
		got["Pods"] = append(got["Pods"], p.Key())
	}
	for _, s := range m.Services {
		got["Services"] = append(got["Services"], s.Key())
	}
	for _, np := range m.Policies {
		got["Policies"] = append(got["Policies"], np.Namespace+"/"+np.Name)
	}
	for _, cp := range m.ClusterPolicies {
		got["ClusterPolicies"] = append(got["ClusterPolicies"], cp.Ref())
	}
	for _, n := range m.Nodes {
		got["Nodes"] = append(got["Nodes"], n.Name)
	}
	want := map[string][]string{
		"Namespaces":      {"a", "b"},
		"Pods":            {"a/b", "a/z", "b/a"},
		"Services":        {"a/t", "b/s"},
		"Policies":        {"a/b", "b/a"},
		"ClusterPolicies": {"AdminNetworkPolicy/x", "BaselineAdminNetworkPolicy/default"},
		"Nodes":           {"n1", "n2"},
		"OtherLayers":     {"CiliumNetworkPolicy", "GlobalNetworkPolicy"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// Lookups match namespace AND name: the same name elsewhere is another object.
func TestLookups(t *testing.T) {
	m := &Model{
		Namespaces: []*Namespace{{Name: "a"}, {Name: "b"}},
		Pods:       []*Pod{{Namespace: "a", Name: "web"}, {Namespace: "b", Name: "web"}, {Namespace: "b", Name: "db"}},
		Services:   []*Service{{Namespace: "a", Name: "web"}, {Namespace: "b", Name: "web"}},
	}
	cases := []struct {
		name      string
		got, want any
	}{
		{"Pod in b", m.Pod("b", "web"), m.Pods[1]},
		{"Pod in a", m.Pod("a", "web"), m.Pods[0]},
		{"Pod not in a", m.Pod("a", "db"), (*Pod)(nil)},
		{"Pod of no namespace", m.Pod("", "web"), (*Pod)(nil)},
		{"Service in b", m.Service("b", "web"), m.Services[1]},
		{"Service absent", m.Service("b", "db"), (*Service)(nil)},
		{"Namespace b", m.Namespace("b"), m.Namespaces[1]},
		{"Namespace absent", m.Namespace("c"), (*Namespace)(nil)},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if got := m.PodsIn("b"); len(got) != 2 || got[0] != m.Pods[1] || got[1] != m.Pods[2] {
		t.Errorf("PodsIn(b) = %v", got)
	}
	if got := m.PodsIn("c"); len(got) != 0 {
		t.Errorf("PodsIn(c) = %v, want none", got)
	}
}

// EnsureNamespace returns the existing namespace untouched, or adds one
// with only its automatic label.
func TestEnsureNamespace(t *testing.T) {
	known := &Namespace{Name: "a", Labels: map[string]string{"team": "x"}}
	m := &Model{Namespaces: []*Namespace{known}}
	if got := m.EnsureNamespace("a"); got != known || len(known.Labels) != 1 {
		t.Errorf("EnsureNamespace(a) = %+v, want the known namespace as it was", got)
	}
	added := m.EnsureNamespace("b")
	if diff := cmp.Diff(&Namespace{Name: "b", Labels: map[string]string{MetadataNameLabel: "b"}}, added); diff != "" {
		t.Errorf("EnsureNamespace(b) (-want +got):\n%s", diff)
	}
	if len(m.Namespaces) != 2 || m.Namespaces[1] != added {
		t.Errorf("namespaces = %v, want a then the added b", m.Namespaces)
	}
}

// A named port resolves on name AND protocol.
func TestNamedPort(t *testing.T) {
	p := &Pod{Ports: []ContainerPort{{"dns", 53, corev1.ProtocolUDP}, {"dns-tcp", 53, corev1.ProtocolTCP}, {"http", 8080, corev1.ProtocolTCP}}}
	cases := []struct {
		name  string
		proto corev1.Protocol
		port  int32
		found bool
	}{
		{"http", corev1.ProtocolTCP, 8080, true},
		{"dns", corev1.ProtocolUDP, 53, true},
		{"dns", corev1.ProtocolTCP, 0, false},
		{"metrics", corev1.ProtocolTCP, 0, false},
	}
	for _, c := range cases {
		port, found := p.NamedPort(c.name, c.proto)
		if port != c.port || found != c.found {
			t.Errorf("NamedPort(%s, %s) = %d, %t; want %d, %t", c.name, c.proto, port, found, c.port, c.found)
		}
	}
}

// Pods of one workload share a group key although their per-pod labels
// differ; what policies can tell apart (labels, ports, host network, a
// ServiceAccount other than default) tells their keys apart.
func TestGroupKey(t *testing.T) {
	base := func(edit func(*Pod)) *Pod {
		p := &Pod{Namespace: "shop", Labels: map[string]string{"app": "web", "pod-template-hash": "1"},
			Ports: []ContainerPort{{"http", 8080, corev1.ProtocolTCP}}, ServiceAccount: "default"}
		if edit != nil {
			edit(p)
		}
		return p
	}
	ref := base(nil).GroupKey()
	cases := []struct {
		name string
		edit func(*Pod)
		same bool
	}{
		{"another pod name and address", func(p *Pod) { p.Name, p.IPs = "web-2", addrs("10.0.0.2") }, true},
		{"per-pod labels", func(p *Pod) {
			p.Labels = map[string]string{"app": "web", "pod-template-hash": "2", "controller-revision-hash": "x",
				"statefulset.kubernetes.io/pod-name": "web-2", "apps.kubernetes.io/pod-index": "2"}
		}, true},
		{"no ServiceAccount named", func(p *Pod) { p.ServiceAccount = "" }, true},
		{"another namespace", func(p *Pod) { p.Namespace = "other" }, false},
		{"another label value", func(p *Pod) { p.Labels = map[string]string{"app": "api"} }, false},
		{"another port", func(p *Pod) { p.Ports = []ContainerPort{{"http", 8081, corev1.ProtocolTCP}} }, false},
		{"host network", func(p *Pod) { p.HostNetwork = true }, false},
		{"its own ServiceAccount", func(p *Pod) { p.ServiceAccount = "api" }, false},
	}
	for _, c := range cases {
		if same := base(c.edit).GroupKey() == ref; same != c.same {
			t.Errorf("%s: same group = %t, want %t", c.name, same, c.same)
		}
	}
}

func TestGroupName(t *testing.T) {
	cases := []struct {
		owner *Owner
		want  string
	}{
		{nil, "shop/web-1"},
		{&Owner{Kind: "deployment", Name: "web"}, "shop/deploy/web"},
		{&Owner{Kind: "statefulset", Name: "db"}, "shop/sts/db"},
		{&Owner{Kind: "daemonset", Name: "agent"}, "shop/ds/agent"},
		{&Owner{Kind: "replicaset", Name: "web-1"}, "shop/rs/web-1"},
		{&Owner{Kind: "job", Name: "once"}, "shop/job/once"},
	}
	for _, c := range cases {
		p := &Pod{Namespace: "shop", Name: "web-1", Owner: c.owner}
		if got := p.GroupName(); got != c.want {
			t.Errorf("GroupName with owner %+v = %q, want %q", c.owner, got, c.want)
		}
	}
}

func TestUniqueKeepsTheFirstOrder(t *testing.T) {
	if got := strings.Join(Unique([]string{"b", "a", "b", "", "a", ""}), ","); got != "b,a," {
		t.Fatalf("got %q", got)
	}
}
