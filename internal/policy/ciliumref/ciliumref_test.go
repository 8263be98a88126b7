package ciliumref

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// policies decodes a YAML stream of policy objects separated by "---".
func policies(t *testing.T, docs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("policy yaml: %v\n%s", err, d)
		}
		out = append(out, m)
	}
	return out
}

// baseCluster: ns1 (team=a) with pods a, b, c; ns2 (team=b) with pod x.
func baseCluster() Cluster {
	return Cluster{
		Namespaces: []Namespace{{Name: "ns1", Labels: map[string]string{"team": "a"}}, {Name: "ns2", Labels: map[string]string{"team": "b"}}},
		Pods: []Pod{
			{Namespace: "ns1", Name: "a", IP: "198.18.0.1", Labels: map[string]string{"app": "a"}, Ports: []NamedPort{{Name: "web", Port: 8080, Protocol: "TCP"}}},
			{Namespace: "ns1", Name: "b", IP: "198.18.0.2", Labels: map[string]string{"app": "b"}, Ports: []NamedPort{{Name: "web", Port: 9090}}},
			{Namespace: "ns1", Name: "c", IP: "198.18.0.3", Labels: map[string]string{"app": "c"}},
			{Namespace: "ns2", Name: "x", IP: "198.18.1.1", Labels: map[string]string{"app": "x"}},
		},
		Services: []Service{
			{Namespace: "ns1", Name: "bsvc", Selector: map[string]string{"app": "b"}},
			{Namespace: "ns1", Name: "ext"},
		},
	}
}

type decideCase struct {
	name     string
	config   map[string]string
	policies string
	from, to Endpoint
	port     int32
	proto    string
	want     Verdict
	l7       bool
}

func pod(n string) Endpoint    { return Endpoint{Pod: n} }
func ip(a string) Endpoint     { return Endpoint{IP: a} }
func entity(e string) Endpoint { return Endpoint{Entity: e} }

func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := baseCluster()
			c.Config = tc.config
			c.Policies = policies(t, tc.policies)
			proto := tc.proto
			if proto == "" {
				proto = "TCP"
			}
			got, err := Decide(c, tc.from, tc.to, tc.port, proto)
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tc.want || got.L7 != tc.l7 {
				t.Errorf("got %s (l7=%v), want %s (l7=%v)\nreason: %s", got.Verdict, got.L7, tc.want, tc.l7, got.Reason)
			}
		})
	}
}

const bIngressFromA = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: b}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: a}}]
`

// Enforcement modes and default deny (intro.rst, rule.go EnableDefaultDeny,
// rule_validation.go Sanitize).
func TestDecideEnforcement(t *testing.T) {
	runDecideCases(t, []decideCase{
		{name: "no policy: allowed", from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "selected: default deny", policies: bIngressFromA, from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "selected: allowed peer", policies: bIngressFromA, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "always: no rule", config: map[string]string{"enable-policy": "always"}, from: pod("ns1/c"), to: pod("ns1/a"), port: 80, want: Denied},
		{name: "always: outside to pod", config: map[string]string{"enable-policy": "always"}, from: ip("198.51.100.1"), to: pod("ns1/a"), port: 80, want: Denied},
		{name: "always: pod to outside", config: map[string]string{"enable-policy": "always"}, from: pod("ns1/a"), to: ip("198.51.100.1"), port: 80, want: Denied},
		{name: "never", config: map[string]string{"enable-policy": "never"}, policies: bIngressFromA, from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "enableDefaultDeny false", policies: strings.Replace(bIngressFromA, "  ingress:", "  enableDefaultDeny: {ingress: false}\n  ingress:", 1),
			from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "enableDefaultDeny ignored when non-default-deny policies are off", config: map[string]string{"enable-non-default-deny-policies": "false"},
			policies: strings.Replace(bIngressFromA, "  ingress:", "  enableDefaultDeny: {ingress: false}\n  ingress:", 1),
			from:     pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "enableDefaultDeny egress true without egress section: no effect", policies: strings.Replace(bIngressFromA, "  ingress:", "  enableDefaultDeny: {egress: true}\n  ingress:", 1),
			from: pod("ns1/b"), to: pod("ns1/c"), port: 80, want: Allowed},
		{name: "ingress [{}] denies all", policies: `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {}
  ingress: [{}]
`, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "toPorts only: every peer", policies: `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: a}}
  egress:
  - toPorts: [{ports: [{port: "53", protocol: UDP}]}]
`, from: pod("ns1/a"), to: ip("198.51.100.53"), port: 53, proto: "UDP", want: Allowed},
		{name: "toPorts with no ports allows nothing", policies: `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: a}}
  egress:
  - toPorts: [{}]
`, from: pod("ns1/a"), to: ip("198.51.100.53"), port: 53, proto: "UDP", want: Denied},
	})
}

// Deny precedence (deny.rst) and allow-localhost (layer3.rst note,
// mapstate determineAllowLocalhostIngress).
func TestDecideDenyAndLocalhost(t *testing.T) {
	denyFromA := `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: d}
spec:
  endpointSelector: {matchLabels: {app: b}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: a}}]
    toPorts: [{ports: [{port: "80"}]}]
`
	allowAll := `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all, namespace: ns1}
spec:
  podSelector: {}
  ingress: [{}]
`
	fromHost := `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: b}}
  ingress: [{}]
`
	runDecideCases(t, []decideCase{
		{name: "deny beats K8s allow-all", policies: denyFromA + "\n---\n" + allowAll, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "deny port only", policies: denyFromA + "\n---\n" + allowAll, from: pod("ns1/a"), to: pod("ns1/b"), port: 81, want: Allowed},
		{name: "deny ANY covers UDP", policies: denyFromA + "\n---\n" + allowAll, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, proto: "UDP", want: Denied},
		{name: "deny alone: default deny", policies: denyFromA, from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "local host always allowed", policies: fromHost, from: entity("host"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "allow-localhost=policy", config: map[string]string{"allow-localhost": "policy"}, policies: fromHost, from: entity("host"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "remote node is not the local host", policies: fromHost, from: entity("remote-node"), to: pod("ns1/b"), port: 80, want: Denied},
	})
}

// Selectors and scoping (utils.go getEndpointSelector, network_policy.go).
func TestDecideScoping(t *testing.T) {
	cnp := func(peer string) string {
		return `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: a}}
  ingress:
  - fromEndpoints: [` + peer + `]
`
	}
	ccnp := `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: p}
spec:
  endpointSelector: {matchLabels: {app: a}}
  ingress:
  - fromEndpoints: [{}]
`
	knp := func(peer string) string {
		return `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress:
  - from: [` + peer + `]
`
	}
	runDecideCases(t, []decideCase{
		{name: "CNP {} same ns", policies: cnp("{}"), from: pod("ns1/c"), to: pod("ns1/a"), port: 80, want: Allowed},
		{name: "CNP {} other ns", policies: cnp("{}"), from: pod("ns2/x"), to: pod("ns1/a"), port: 80, want: Denied},
		{name: "CNP any: namespace key", policies: cnp("{matchLabels: {io.kubernetes.pod.namespace: ns2}}"), from: pod("ns2/x"), to: pod("ns1/a"), port: 80, want: Allowed},
		{name: "CNP namespace label key", policies: cnp("{matchLabels: {io.cilium.k8s.namespace.labels.team: b}}"), from: pod("ns2/x"), to: pod("ns1/a"), port: 80, want: Allowed},
		{name: "CNP metadata.name label", policies: cnp("{matchLabels: {k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name: ns2}}"), from: pod("ns2/x"), to: pod("ns1/a"), port: 80, want: Allowed},
		{name: "CNP reserved selector", policies: cnp(`{matchLabels: {"reserved:remote-node": ""}}`), from: entity("remote-node"), to: pod("ns1/a"), port: 80, want: Allowed},
		{name: "CNP matchExpressions Exists ns", policies: cnp("{matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}"), from: pod("ns2/x"), to: pod("ns1/a"), port: 80, want: Allowed},
		{name: "CNP DoesNotExist", policies: cnp("{matchExpressions: [{key: app, operator: DoesNotExist}]}"), from: pod("ns1/c"), to: pod("ns1/a"), port: 80, want: Denied},
		{name: "CCNP {} any pod", policies: ccnp, from: pod("ns2/x"), to: pod("ns1/a"), port: 80, want: Allowed},
		{name: "CCNP {} not world", policies: ccnp, from: ip("198.51.100.1"), to: pod("ns1/a"), port: 80, want: Denied},
		{name: "KNP podSelector same ns", policies: knp("{podSelector: {}}"), from: pod("ns1/c"), to: pod("ns1/a"), port: 80, want: Allowed},
		{name: "KNP podSelector other ns", policies: knp("{podSelector: {}}"), from: pod("ns2/x"), to: pod("ns1/a"), port: 80, want: Denied},
		{name: "KNP namespaceSelector expr", policies: knp("{namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [b]}]}}"), from: pod("ns2/x"), to: pod("ns1/a"), port: 80, want: Allowed},
		{name: "KNP namespaceSelector not world", policies: knp("{namespaceSelector: {}}"), from: ip("198.51.100.1"), to: pod("ns1/a"), port: 80, want: Denied},
		{name: "KNP ipBlock not pods", policies: knp("{ipBlock: {cidr: 198.18.0.0/16}}"), from: pod("ns1/c"), to: pod("ns1/a"), port: 80, want: Denied},
		{name: "KNP policyTypes [Egress] with ingress rules: Cilium still converts them", policies: `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: b}}}]
  egress: [{}]
`, from: pod("ns1/c"), to: pod("ns1/a"), port: 80, want: Denied},
		{name: "KNP ipBlock outside", policies: knp("{ipBlock: {cidr: 198.51.100.0/24}}"), from: ip("198.51.100.7"), to: pod("ns1/a"), port: 80, want: Allowed},
	})
}

// Entities, CIDR, world family (entity.go, layer3.rst).
func TestDecideEntitiesAndCIDR(t *testing.T) {
	egress := func(rule string) string {
		return `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: a}}
  egress:
  - ` + rule + `
`
	}
	dual := map[string]string{"enable-ipv4": "true", "enable-ipv6": "true"}
	single := map[string]string{"enable-ipv4": "true", "enable-ipv6": "false"}
	runDecideCases(t, []decideCase{
		{name: "all includes pods", policies: egress("toEntities: [all]"), from: pod("ns1/a"), to: pod("ns2/x"), port: 80, want: Allowed},
		{name: "all includes world", policies: egress("toEntities: [all]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 80, want: Allowed},
		{name: "cluster includes pods of other ns", policies: egress("toEntities: [cluster]"), from: pod("ns1/a"), to: pod("ns2/x"), port: 80, want: Allowed},
		{name: "cluster excludes world", policies: egress("toEntities: [cluster]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 80, want: Denied},
		{name: "cluster includes kube-apiserver", policies: egress("toEntities: [cluster]"), from: pod("ns1/a"), to: entity("kube-apiserver"), port: 443, want: Allowed},
		{name: "world vs kube-apiserver: unknown", policies: egress("toEntities: [world]"), from: pod("ns1/a"), to: entity("kube-apiserver"), port: 443, want: Unspecified},
		{name: "world-ipv4 unknown family", policies: egress("toEntities: [world-ipv4]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 80, want: Unspecified},
		{name: "world-ipv4 dual stack", config: dual, policies: egress("toEntities: [world-ipv4]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 80, want: Allowed},
		{name: "world-ipv4 single stack", config: single, policies: egress("toEntities: [world-ipv4]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 80, want: Denied},
		{name: "world in dual stack", config: dual, policies: egress("toEntities: [world]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 80, want: Allowed},
		{name: "none", policies: egress("toEntities: [none]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 80, want: Denied},
		{name: "health", policies: egress("toEntities: [health]"), from: pod("ns1/a"), to: entity("health"), port: 4240, want: Allowed},
		{name: "CIDR bare address", policies: egress("toCIDR: [198.51.100.9]"), from: pod("ns1/a"), to: ip("198.51.100.9"), port: 80, want: Allowed},
		{name: "CIDR except", policies: egress("toCIDRSet: [{cidr: 198.51.100.0/24, except: [198.51.100.0/30]}]"), from: pod("ns1/a"), to: ip("198.51.100.2"), port: 80, want: Denied},
		{name: "CIDR vs world entity (not /0)", policies: egress("toCIDR: [198.51.100.0/24]"), from: pod("ns1/a"), to: entity("world"), port: 80, want: Unspecified},
		{name: "CIDR vs host", policies: egress("toCIDR: [0.0.0.0/0]"), from: pod("ns1/a"), to: entity("host"), port: 80, want: Denied},
		{name: "cidrGroupRef", policies: egress("toCIDRSet: [{cidrGroupRef: g}]"), from: pod("ns1/a"), to: ip("198.51.100.2"), port: 80, want: Unspecified},
		{name: "service VIP", from: pod("ns1/a"), to: ip("198.19.0.10"), port: 80, want: Unspecified},
	})
}

// L4 and L7 (rule_validation.go, l4.go, named ports).
func TestDecidePortsAndL7(t *testing.T) {
	ports := func(pp string) string {
		return `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {}
  egress:
  - toEndpoints: [{}]
    toPorts: [` + pp + `]
`
	}
	runDecideCases(t, []decideCase{
		{name: "port 0 = all", policies: ports(`{ports: [{port: "0", protocol: TCP}]}`), from: pod("ns1/a"), to: pod("ns1/b"), port: 1234, want: Allowed},
		{name: "egress named port resolved on the destination", policies: ports(`{ports: [{port: web, protocol: TCP}]}`), from: pod("ns1/a"), to: pod("ns1/b"), port: 9090, want: Allowed},
		{name: "egress named port: other pod's number", policies: ports(`{ports: [{port: web, protocol: TCP}]}`), from: pod("ns1/a"), to: pod("ns1/b"), port: 8080, want: Denied},
		{name: "named port to outside", policies: ports(`{ports: [{port: web, protocol: TCP}]}`), from: pod("ns1/a"), to: pod("ns1/c"), port: 8080, want: Denied},
		{name: "ANY excludes ICMP", policies: ports(`{ports: [{port: "0", protocol: ANY}]}`), from: pod("ns1/a"), to: pod("ns1/b"), proto: "ICMP", want: Denied},
		{name: "http L7", policies: ports(`{ports: [{port: "80", protocol: TCP}], rules: {http: [{path: /}]}}`), from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed, l7: true},
		{name: "empty rules is not L7", policies: ports(`{ports: [{port: "80", protocol: TCP}], rules: {}}`), from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "kafka L7", policies: ports(`{ports: [{port: "9092", protocol: TCP}], rules: {kafka: [{topic: t}]}}`), from: pod("ns1/a"), to: pod("ns1/b"), port: 9092, want: Allowed, l7: true},
		{name: "L7 on ANY is rejected", policies: ports(`{ports: [{port: "80"}], rules: {http: [{path: /}]}}`), from: pod("ns1/a"), to: pod("ns1/b"), port: 81, want: Allowed},
	})
}

// Constructs this evaluator cannot decide.
func TestDecideUnspecified(t *testing.T) {
	egress := func(rule string) string {
		return `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: a}}
  egress:
  - ` + rule + `
`
	}
	host := `
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: h}
spec:
  nodeSelector: {}
  ingress: [{fromEntities: [cluster]}]
`
	runDecideCases(t, []decideCase{
		{name: "toFQDNs to outside", policies: egress("toFQDNs: [{matchName: example.com}]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 443, want: Unspecified},
		{name: "toFQDNs never selects pods", policies: egress("toFQDNs: [{matchName: example.com}]"), from: pod("ns1/a"), to: pod("ns1/b"), port: 443, want: Denied},
		{name: "toGroups", policies: egress("toGroups: [{aws: {securityGroupsIds: [sg-1]}}]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 443, want: Unspecified},
		{name: "toServices with selector", policies: egress("toServices: [{k8sService: {serviceName: bsvc, namespace: ns1}}]"), from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "toServices without namespace matches any namespace", policies: egress("toServices: [{k8sService: {serviceName: bsvc}}]"), from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "toServices missing service", policies: egress("toServices: [{k8sService: {serviceName: nope}}]"), from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "toServices without selector", policies: egress("toServices: [{k8sService: {serviceName: ext}}]"), from: pod("ns1/a"), to: ip("198.51.100.1"), port: 80, want: Unspecified},
		{name: "k8sServiceSelector", policies: egress("toServices: [{k8sServiceSelector: {selector: {matchLabels: {tier: x}}}}]"), from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Unspecified},
		{name: "toRequires without cilium-version", policies: egress("{toRequires: [{matchLabels: {app: b}}], toEndpoints: [{}]}"), from: pod("ns1/a"), to: pod("ns1/c"), port: 80, want: Unspecified},
		{name: "toNodes", policies: egress("toNodes: [{matchLabels: {role: cp}}]"), from: pod("ns1/a"), to: entity("remote-node"), port: 80, want: Unspecified},
		{name: "authentication required", policies: egress("{toEndpoints: [{}], authentication: {mode: required}}"), from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Unspecified},
		{name: "host policy with a node side", policies: host, from: pod("ns1/a"), to: entity("host"), port: 22, want: Unspecified},
		{name: "host policy, pods only", policies: host, from: pod("ns1/a"), to: pod("ns1/b"), port: 22, want: Allowed},
	})
}

// Policies Cilium rejects enforce nothing (rule_validation.go).
func TestDecideRejected(t *testing.T) {
	rule := func(body string) string {
		return `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: b}}
` + body
	}
	for _, body := range []string{
		"  ingress: []\n",
		"  ingress:\n  - {fromEndpoints: [{}], fromEntities: [world]}\n",
		"  ingress:\n  - {toPorts: [{ports: [{port: \"80\"}]}], icmps: [{fields: [{type: 8}]}]}\n",
		"  ingress:\n  - {fromEntities: [galaxy]}\n",
		"  ingress:\n  - {toPorts: [{ports: [{port: \"53\", protocol: UDP}], rules: {dns: [{matchName: x}]}}]}\n",
		"  ingress:\n  - {toPorts: [{ports: [{port: \"80\", protocol: UDP}], rules: {http: [{}]}}]}\n",
		"  ingress:\n  - {toPorts: [{ports: [{port: \"99999\"}]}]}\n",
		"  ingress:\n  - {toPorts: [{ports: [{protocol: TCP}]}]}\n",
		"  ingress:\n  - {fromCIDRSet: [{cidr: 10.0.0.0/8, except: [192.168.0.0/16]}]}\n",
		"  ingress:\n  - {fromEndpoints: [{matchExpressions: [{key: app, operator: Foo}]}]}\n",
		"  nodeSelector: {}\n  ingress: [{}]\n",
	} {
		c := baseCluster()
		c.Policies = policies(t, rule(body))
		got, err := Decide(c, pod("ns1/c"), pod("ns1/b"), 80, "TCP")
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if got.Verdict != Allowed || !strings.Contains(got.Reason, "rejected") {
			t.Errorf("%q: got %s, want allowed (policy rejected)\nreason: %s", body, got.Verdict, got.Reason)
		}
	}
}

func TestDecideMalformed(t *testing.T) {
	c := baseCluster()
	for name, f := range map[string]func() error{
		"unknown pod": func() error { _, err := Decide(c, pod("ns1/zz"), pod("ns1/a"), 80, "TCP"); return err },
		"two fields": func() error {
			_, err := Decide(c, Endpoint{Pod: "ns1/a", IP: "1.2.3.4"}, pod("ns1/a"), 80, "TCP")
			return err
		},
		"no field":       func() error { _, err := Decide(c, Endpoint{}, pod("ns1/a"), 80, "TCP"); return err },
		"bad protocol":   func() error { _, err := Decide(c, pod("ns1/a"), pod("ns1/b"), 80, "GRE"); return err },
		"bad port":       func() error { _, err := Decide(c, pod("ns1/a"), pod("ns1/b"), 70000, "TCP"); return err },
		"bad ip":         func() error { _, err := Decide(c, ip("nope"), pod("ns1/b"), 80, "TCP"); return err },
		"unknown entity": func() error { _, err := Decide(c, entity("moon"), pod("ns1/b"), 80, "TCP"); return err },
		"bad enable-policy": func() error {
			c2 := c
			c2.Config = map[string]string{"enable-policy": "sometimes"}
			_, err := Decide(c2, pod("ns1/a"), pod("ns1/b"), 80, "TCP")
			return err
		},
		"unknown kind": func() error {
			c2 := c
			c2.Policies = []map[string]any{{"kind": "GlobalNetworkPolicy"}}
			_, err := Decide(c2, pod("ns1/a"), pod("ns1/b"), 80, "TCP")
			return err
		},
		"ingress not a list": func() error {
			c2 := c
			c2.Policies = []map[string]any{{"kind": "CiliumNetworkPolicy", "spec": map[string]any{"ingress": "x"}}}
			_, err := Decide(c2, pod("ns1/a"), pod("ns1/b"), 80, "TCP")
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestIdentityRelevant(t *testing.T) {
	for key, want := range map[string]bool{
		"app":                         true,
		"pod-template-hash":           false,
		"controller-revision-hash":    false,
		"kubernetes.io/hostname":      false,
		"topology.kubernetes.io/zone": true, // kubernetes\.io does not match at the start
		"beta.kubernetes.io/arch":     false,
		"app.kubernetes.io/name":      true,
		"io.kubernetes.pod.namespace": true,
		"io.kubernetes.container":     false,
		"io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name": true,
		"io.cilium.k8s.policy.serviceaccount":                        true,
		"k8s.io/foo":                                                 false,
		"annotation.x":                                               false,
	} {
		if got := identityRelevant(label{"k8s", key, "v"}); got != want {
			t.Errorf("%s: got %v, want %v", key, got, want)
		}
	}
}

func TestInjectNamespace(t *testing.T) {
	parse := func(ml map[string]string) selector {
		s, err := ciliumSelector(&rawLabelSelector{MatchLabels: ml})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name string
		in   map[string]string
		ns   string
		init bool
		want string
	}{
		{"cnp empty", nil, "ns1", false, "{k8s:io.kubernetes.pod.namespace in (ns1)}"},
		{"cnp ns given", map[string]string{"k8s:io.kubernetes.pod.namespace": "x"}, "ns1", false, "{k8s:io.kubernetes.pod.namespace in (x)}"},
		{"cnp any ns given", map[string]string{"io.kubernetes.pod.namespace": "x"}, "ns1", false, "{any:io.kubernetes.pod.namespace in (x)}"},
		{"cnp ns labels", map[string]string{"io.cilium.k8s.namespace.labels.team": "a"}, "ns1", false, "{any:io.cilium.k8s.namespace.labels.team in (a)}"},
		{"reserved", map[string]string{"reserved:host": ""}, "ns1", false, "{reserved:host in ()}"},
		{"ccnp empty", nil, "", false, "{k8s:io.kubernetes.pod.namespace Exists}"},
		{"ccnp init subject", nil, "", true, "{all}"},
	}
	for _, tc := range cases {
		if got := injectNamespace(parse(tc.in), tc.ns, tc.init).String(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestSelectorMatching(t *testing.T) {
	lbls := []label{{"k8s", "app", "web"}, {"k8s", "tier", "fe"}}
	cases := []struct {
		raw  rawLabelSelector
		want bool
	}{
		{rawLabelSelector{MatchLabels: map[string]string{"app": "web"}}, true},
		{rawLabelSelector{MatchLabels: map[string]string{"k8s:app": "web"}}, true},
		{rawLabelSelector{MatchLabels: map[string]string{"any:app": "web"}}, true},
		{rawLabelSelector{MatchLabels: map[string]string{"container:app": "web"}}, false},
		{rawLabelSelector{MatchLabels: map[string]string{"app": "db"}}, false},
		{rawLabelSelector{}, true},
	}
	for i, tc := range cases {
		s, err := ciliumSelector(&tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.matches(lbls); got != tc.want {
			t.Errorf("case %d %s: got %v", i, s, got)
		}
	}
	exprs := []struct {
		op     string
		values []string
		want   bool
	}{
		{"In", []string{"fe", "be"}, true}, {"NotIn", []string{"fe"}, false}, {"Exists", nil, true}, {"DoesNotExist", nil, false},
	}
	for _, e := range exprs {
		r := requirement{source: "any", key: "tier", op: e.op, values: e.values}
		if got := r.matches(lbls); got != e.want {
			t.Errorf("%s %v: got %v", e.op, e.values, got)
		}
		r.key = "missing"
		if got := r.matches(lbls); got != (e.op == "NotIn" || e.op == "DoesNotExist") {
			t.Errorf("%s on a missing key: got %v", e.op, got)
		}
	}
}

func TestPortMatching(t *testing.T) {
	dst := &endpointInfo{pod: &Pod{Ports: []NamedPort{{Name: "http", Port: 8080}, {Name: "dns", Port: 53, Protocol: "UDP"}}}}
	cases := []struct {
		pp    portProto
		port  int32
		proto string
		want  tri
	}{
		{portProto{port: 80, proto: "TCP"}, 80, "TCP", yes},
		{portProto{port: 80, proto: "TCP"}, 80, "UDP", no},
		{portProto{port: 80, proto: "ANY"}, 80, "SCTP", yes},
		{portProto{port: 80, endPort: 90, proto: "ANY"}, 90, "UDP", yes},
		{portProto{port: 80, endPort: 90, proto: "ANY"}, 91, "UDP", no},
		{portProto{port: 80, endPort: 70, proto: "TCP"}, 80, "TCP", yes},
		{portProto{port: 0, proto: "UDP"}, 5000, "UDP", yes},
		{portProto{name: "http", proto: "TCP"}, 8080, "TCP", yes},
		{portProto{name: "http", proto: "ANY"}, 8080, "UDP", no},
		{portProto{name: "dns", proto: "ANY"}, 53, "UDP", yes},
		{portProto{name: "nope", proto: "TCP"}, 8080, "TCP", no},
	}
	for i, tc := range cases {
		if got := tc.pp.match(connection{port: tc.port, proto: tc.proto, dst: dst}); got != tc.want {
			t.Errorf("case %d %+v on %d/%s: got %v, want %v", i, tc.pp, tc.port, tc.proto, got, tc.want)
		}
	}
}
