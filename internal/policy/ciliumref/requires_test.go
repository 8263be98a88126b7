package ciliumref

import "testing"

func TestParseCiliumVersion(t *testing.T) {
	for in, want := range map[string]ciliumVersion{"": 0, "1.15": 1015, "v1.18": 1018, "1.19.2": 1019, " 1.9 ": 1009, "2.0": 2000} {
		got, err := parseCiliumVersion(in)
		if err != nil || got != want {
			t.Errorf("parseCiliumVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"1", "1.x", "one.two", "0.9", "1.2.3.4", "-1.5", "1.-1"} {
		if _, err := parseCiliumVersion(in); err == nil {
			t.Errorf("parseCiliumVersion(%q): want an error", in)
		}
	}
	if _, err := Decide(Cluster{Config: map[string]string{"cilium-version": "latest"}}, ip("198.51.100.1"), ip("198.51.100.2"), 80, "TCP"); err == nil {
		t.Error("Decide with cilium-version=latest: want an error")
	}
	if !ciliumVersion(1018).requiresModelled() || ciliumVersion(1019).requiresModelled() || ciliumVersion(0).requiresModelled() {
		t.Error("requiresModelled: want true for 1.18 only")
	}
}

// fromRequires/toRequires by release (requires.go).
func TestDecideRequires(t *testing.T) {
	v := func(s string) map[string]string { return map[string]string{"cilium-version": s} }
	// b: fromEndpoints app=a (policy p) + a separate policy r whose rule only
	// has fromRequires app=a. Requirements from every rule selecting b fold
	// into every fromEndpoints selector of every rule selecting b.
	crossPolicy := `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: b}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: c}}, {matchLabels: {app: a}}]
  - fromEntities: [world]
  - toPorts: [{ports: [{port: "8443", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: r, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: b}}
  ingress:
  - fromRequires: [{matchLabels: {app: a}}]
`
	// requirements get the policy's namespace: app=x in ns2 never meets
	// "app=x, namespace=ns1".
	nsInjected := `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: b}}
  ingress:
  - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: ns2}}]
    fromRequires: [{matchLabels: {app: x}}]
`
	// deny requirements only constrain deny rules, allow requirements only
	// allow rules (requirements vs requirementsDeny).
	denyReq := `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: b}}
  ingress:
  - fromEndpoints: [{}]
  ingressDeny:
  - fromEndpoints: [{}]
    fromRequires: [{matchLabels: {app: c}}]
`
	egressReq := `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: a}}
  egress:
  - toEndpoints: [{}]
  - toRequires: []
  - toEndpoints: [{matchLabels: {app: c}}]
    toRequires: [{matchLabels: {app: b}}]
`
	runDecideCases(t, []decideCase{
		{name: "1.18: requirement from another policy constrains fromEndpoints", config: v("1.18"), policies: crossPolicy, from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "1.18: peer meeting the requirement", config: v("1.18"), policies: crossPolicy, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "1.18: fromEntities not constrained", config: v("1.18"), policies: crossPolicy, from: ip("198.51.100.1"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "1.18: L4-only rule (wildcard peer) not constrained", config: v("1.18"), policies: crossPolicy, from: pod("ns1/c"), to: pod("ns1/b"), port: 8443, want: Allowed},
		{name: "1.15: same as 1.18", config: v("1.15"), policies: crossPolicy, from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "1.19: policy with fromRequires rejected, the other still applies", config: v("1.19"), policies: crossPolicy, from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "1.19: rejected policy adds no allow", config: v("1.19"), policies: nsInjected, from: pod("ns2/x"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "no version: answers differ", policies: crossPolicy, from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Unspecified},
		{name: "no version: same answer", policies: crossPolicy, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "1.18: requirement gets the policy namespace", config: v("1.18"), policies: nsInjected, from: pod("ns2/x"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "1.18: deny requirement narrows the deny", config: v("1.18"), policies: denyReq, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "1.18: deny requirement met", config: v("1.18"), policies: denyReq, from: pod("ns1/c"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "1.18: toRequires constrains every toEndpoints", config: v("1.18"), policies: egressReq, from: pod("ns1/a"), to: pod("ns1/c"), port: 80, want: Denied},
		{name: "1.18: toRequires met", config: v("1.18"), policies: egressReq, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "1.19: empty toRequires list is accepted", config: v("1.19"), policies: `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: a}}
  egress:
  - toEndpoints: [{matchLabels: {app: b}}]
    toRequires: []
`, from: pod("ns1/a"), to: pod("ns1/c"), port: 80, want: Denied},
	})
}

// A fromRequires-only rule still puts the endpoint into default deny and
// allows nothing itself (rule.go mergeIngress: no endpoint, no port).
func TestDecideRequiresOnly(t *testing.T) {
	only := `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: r, namespace: ns1}
spec:
  endpointSelector: {matchLabels: {app: b}}
  ingress:
  - fromRequires: [{matchLabels: {app: a}}]
`
	runDecideCases(t, []decideCase{
		{name: "1.18", config: map[string]string{"cilium-version": "1.18"}, policies: only, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Denied},
		{name: "1.19", config: map[string]string{"cilium-version": "1.19"}, policies: only, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Allowed},
		{name: "no version", policies: only, from: pod("ns1/a"), to: pod("ns1/b"), port: 80, want: Unspecified},
	})
}
