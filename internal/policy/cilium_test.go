package policy_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

const ciliumTraps = `
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: web, labels: {app: web}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 198.18.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 198.18.0.20}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-client, namespace: web}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
  - fromCIDR: [198.18.0.0/16]
    toPorts: [{ports: [{port: "9090"}]}]
  - fromEntities: [world]
    toPorts: [{ports: [{port: "8080", protocol: TCP}], rules: {http: [{method: GET}]}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: fqdn, namespace: other}
spec:
  endpointSelector: {}
  egress:
  - toFQDNs: [{matchName: api.example.com}]
  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: web}}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: no-ssh}
spec:
  endpointSelector: {}
  ingressDeny:
  - toPorts: [{ports: [{port: "22"}]}]
`

func loadCilium(t *testing.T, manifests string) *model.Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := read.LoadFiles([]string{path}, nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func hintCodes(r policy.Result) string {
	var out []string
	for _, h := range r.Hints {
		out = append(out, h.Code)
	}
	return strings.Join(out, ",")
}

func TestCiliumExplainAndHints(t *testing.T) {
	m := loadCilium(t, ciliumTraps)
	e := policy.New(m)
	web, client := policy.PodEndpoint(m.Pod("web", "web")), policy.PodEndpoint(m.Pod("other", "client"))
	world := policy.IPEndpoint(mustAddr("198.51.100.9"))
	tests := []struct {
		name    string
		f       policy.Flow
		verdict policy.Verdict
		hint    string
		reason  string
	}{
		{"peer without namespace", policy.Flow{From: client, To: web, Port: 8080, Protocol: "TCP"}, policy.Denied, policy.HintCiliumPeerOwnNamespace, "denied by default"},
		{"CIDR holds the pod", policy.Flow{From: client, To: web, Port: 9090, Protocol: "TCP"}, policy.Denied, policy.HintCiliumCIDRNotPod, "denied by default"},
		{"L7", policy.Flow{From: world, To: web, Port: 8080, Protocol: "TCP"}, policy.Allowed, policy.HintCiliumL7, "requests filtered by L7 rules of CiliumNetworkPolicy/web/allow-client"},
		{"deny wins", policy.Flow{From: world, To: web, Port: 22, Protocol: "TCP"}, policy.Denied, policy.HintCiliumDenyWins, "deny by CiliumClusterwideNetworkPolicy no-ssh rule 0 ingressDeny[0]"},
		{"toFQDNs without DNS", policy.Flow{From: client, To: world, Port: 443, Protocol: "TCP"}, policy.Unspecified, policy.HintCiliumFQDNWithoutDNS, ""},
	}
	for _, tt := range tests {
		r := e.Evaluate(tt.f, true)
		if r.Verdict != tt.verdict || !strings.Contains(hintCodes(r), tt.hint) {
			t.Errorf("%s: %s, hints %s; want %s with %s\n%s\n%s", tt.name, r.Verdict, hintCodes(r), tt.verdict, tt.hint, sideText(r.Egress), sideText(r.Ingress))
		}
		if tt.reason != "" && !strings.Contains(sideText(r.Ingress), tt.reason) {
			t.Errorf("%s: ingress %s, want %q", tt.name, sideText(r.Ingress), tt.reason)
		}
	}
}

// TestCiliumEnforcerSemanticsForIPBlock: with Cilium enforcing, a
// NetworkPolicy ipBlock never selects a pod (Cilium's documentation,
// layer3.rst); without it, upstream's semantics hold.
func TestCiliumEnforcerSemanticsForIPBlock(t *testing.T) {
	const np = `
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 198.18.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 198.18.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ipblock, namespace: x}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{ipBlock: {cidr: 198.18.0.0/16}}]}]
`
	flow := func(m *model.Model) policy.Result {
		return policy.New(m).Evaluate(policy.Flow{From: policy.PodEndpoint(m.Pod("x", "a")), To: policy.PodEndpoint(m.Pod("x", "b")), Port: 80, Protocol: "TCP"}, true)
	}
	if v := flow(loadCilium(t, np)).Verdict; v != policy.Allowed {
		t.Errorf("without Cilium: %s, want allowed", v)
	}
	cfg := "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: kube-system}\ndata: {enable-policy: default}\n"
	r := flow(loadCilium(t, np+cfg))
	if r.Verdict != policy.Denied || r.Ingress.Tier != policy.TierCilium || !strings.Contains(hintCodes(r), policy.HintCiliumCIDRNotPod) {
		t.Errorf("with Cilium: %s %s, hints %s; want denied by Cilium with %s", r.Verdict, sideText(r.Ingress), hintCodes(r), policy.HintCiliumCIDRNotPod)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
