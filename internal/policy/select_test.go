package policy

import (
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

func TestSelectionQueries(t *testing.T) {
	m := newModel(
		ns("a", "team=x"), ns("b", ""),
		pod("a/web", "app=web", "10.0.0.1", "http:80/TCP"), pod("a/db", "app=db", "10.0.0.2"),
		pod("b/job", "app=job", "10.1.0.1"),
		np("a", `{metadata: {name: p}, spec: {podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {matchLabels: {app: db}}}, {ipBlock: {cidr: 10.1.0.0/16}}]}, {}]}}`),
	)
	e := New(m)
	p := m.Policies[0]
	if got := e.Selected(p); len(got) != 1 || got[0].Name != "web" {
		t.Errorf("Selected = %v", got)
	}
	for _, tt := range []struct {
		rule int
		pod  string
		want bool
	}{
		{0, "a/db", true}, {0, "b/job", true}, {0, "a/web", false}, {1, "a/web", true}, {2, "a/web", false},
	} {
		if got := e.RuleAdmits(p, true, tt.rule, endpointOf(t, m, tt.pod).Pod); got != tt.want {
			t.Errorf("RuleAdmits(ingress[%d], %s) = %v, want %v", tt.rule, tt.pod, got, tt.want)
		}
	}
	if got := e.PodsWithLabels("a", nil); len(got) != 2 {
		t.Errorf("PodsWithLabels(a, any) = %v", got)
	}
	if got := e.PodsWithLabels("a", map[string]string{"app": "db"}); len(got) != 1 || got[0].Name != "db" {
		t.Errorf("PodsWithLabels(a, app=db) = %v", got)
	}
	web := endpointOf(t, m, "a/web").Pod
	if !Declares(web, intstr.FromString("http"), "") || !Declares(web, intstr.FromInt32(80), "TCP") || Declares(web, intstr.FromInt32(80), "UDP") {
		t.Error("Declares: web declares http 80/TCP only")
	}
}

func TestOverlappingExcepts(t *testing.T) {
	for _, tt := range []struct {
		peers string
		want  bool
	}{
		{`[{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]`, false},
		{`[{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}, {ipBlock: {cidr: 10.1.0.0/16}}]`, false},
		{`[{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.2.0/24]}}, {ipBlock: {cidr: 10.1.0.0/16}}]`, true},
		{`[{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/24]}}, {ipBlock: {cidr: 10.1.0.0/16}}]`, false},
		{`[{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.2.0/24]}}, {podSelector: {}}]`, false},
	} {
		var peers []networkingv1.NetworkPolicyPeer
		if err := yaml.Unmarshal([]byte(tt.peers), &peers); err != nil {
			t.Fatal(err)
		}
		if got := OverlappingExcepts(peers); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.peers, got, tt.want)
		}
	}
}

// The parts of a split CIDR are named by their own ranges, not their
// first address.
func TestRangeNames(t *testing.T) {
	for _, tt := range []struct{ first, last, want string }{
		{"198.51.100.0", "198.51.100.127", "198.51.100.0/25"},
		{"198.51.100.128", "198.51.100.255", "198.51.100.128/25"},
		{"198.51.100.7", "198.51.100.7", "198.51.100.7/32"},
		{"198.51.100.64", "198.51.100.255", "198.51.100.64-198.51.100.255"},
		{"2001:db8::", "2001:db8::ffff", "2001:db8::/112"},
	} {
		if got := rangeName(netip.MustParseAddr(tt.first), netip.MustParseAddr(tt.last)); got != tt.want {
			t.Errorf("%s-%s: %s, want %s", tt.first, tt.last, got, tt.want)
		}
	}
}
