package policy_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// The world of these tests: namespaces a (team=x) and b, pods web (a),
// db and cache (b), and the DNS server in kube-system.
const calicoWorld = `
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec: {serviceAccountName: web-sa, containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: b, labels: {app: db}}
spec: {containers: [{name: c, image: i, ports: [{name: pg, containerPort: 5432}]}]}
status: {podIP: 10.0.2.1}
---
apiVersion: v1
kind: Pod
metadata: {name: cache, namespace: b, labels: {app: cache}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 6379}]}]}
status: {podIP: 10.0.2.2}
---
apiVersion: v1
kind: Pod
metadata: {name: dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 53, protocol: UDP}]}]}
status: {podIP: 10.0.0.10}
`

type calicoCase struct {
	from, to string
	port     int32
	proto    corev1.Protocol
	want     policy.Verdict
}

func calicoEngine(t *testing.T, docs ...string) (*policy.Engine, *model.Model) {
	t.Helper()
	m, err := read.LoadFiles([]string{"-"}, strings.NewReader(calicoWorld+"---\n"+strings.Join(docs, "\n---\n")), "")
	if err != nil {
		t.Fatal(err)
	}
	return policy.New(m), m
}

func endpointFor(t *testing.T, m *model.Model, s string) policy.Endpoint {
	t.Helper()
	if a, err := netip.ParseAddr(s); err == nil {
		return policy.IPEndpoint(a)
	}
	ns, name, _ := strings.Cut(s, "/")
	p := m.Pod(ns, name)
	if p == nil {
		t.Fatalf("no pod %s", s)
	}
	return policy.PodEndpoint(p)
}

func checkCalico(t *testing.T, e *policy.Engine, m *model.Model, cases []calicoCase) {
	t.Helper()
	for _, c := range cases {
		proto := c.proto
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		r := e.Evaluate(policy.Flow{From: endpointFor(t, m, c.from), To: endpointFor(t, m, c.to), Port: c.port, Protocol: proto}, true)
		if r.Verdict != c.want {
			t.Errorf("%s -> %s %d/%s: %s, want %s\n  egress %s\n  ingress %s", c.from, c.to, c.port, proto, r.Verdict, c.want, describe(r.Egress), describe(r.Ingress))
		}
	}
}

func describe(s *policy.Side) string {
	if s == nil {
		return "-"
	}
	if s.Calico != nil {
		return string(s.Verdict) + ": " + s.Calico.String() + " " + s.Undecided
	}
	return string(s.Verdict) + " " + s.Undecided
}

// Calico's documented default deny: every pod outside the system
// namespaces may only resolve names; Kubernetes policies (order 1000)
// come before it (no order: last).
const defaultAppPolicy = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: default-app-policy}
spec:
  namespaceSelector: has(projectcalico.org/name) && projectcalico.org/name not in {"kube-system", "calico-system", "calico-apiserver"}
  types: [Ingress, Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination: {selector: k8s-app == "kube-dns", ports: [53]}
  - action: Allow
    protocol: TCP
    destination: {selector: k8s-app == "kube-dns", ports: [53]}`

func TestCalicoDefaultAppPolicy(t *testing.T) {
	allowWebToDB := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: b}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: x}}}], ports: [{port: 5432}]}]`
	webEgress := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress: [{to: [{namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}]}]`
	e, m := calicoEngine(t, defaultAppPolicy, allowWebToDB)
	checkCalico(t, e, m, []calicoCase{
		{"a/web", "kube-system/dns", 53, corev1.ProtocolUDP, policy.Allowed}, // DNS allowed; kube-system not selected
		{"a/web", "b/db", 5432, "", policy.Denied},                           // web's egress: only DNS
		{"b/cache", "b/db", 5432, "", policy.Denied},                         // db's ingress: team=x only
		{"a/web", "b/cache", 6379, "", policy.Denied},
		{"b/db", "b/db", 5432, "", policy.Allowed}, // a pod reaches itself
	})
	e, m = calicoEngine(t, defaultAppPolicy, allowWebToDB, webEgress)
	checkCalico(t, e, m, []calicoCase{
		{"a/web", "b/db", 5432, "", policy.Allowed}, // both Kubernetes policies at 1000 first
		{"a/web", "b/db", 5433, "", policy.Denied},
		{"a/web", "b/cache", 6379, "", policy.Denied},
	})
	x := e.Evaluate(policy.Flow{From: endpointFor(t, m, "a/web"), To: endpointFor(t, m, "b/cache"), Port: 6379, Protocol: corev1.ProtocolTCP}, true)
	if x.Ingress.Calico == nil || x.Ingress.Calico.Action != "EndOfTier" || x.Ingress.Tier != policy.TierCalico {
		t.Errorf("cache's ingress: %s", describe(x.Ingress))
	}
}

func TestCalicoActionsAndOrder(t *testing.T) {
	denyFromA := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-from-a}
spec:
  order: 100
  selector: app == 'db'
  ingress: [{action: Deny, source: {namespaceSelector: team == 'x'}}]`
	allowAll := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: b}
spec: {podSelector: {}, ingress: [{}]}`
	e, m := calicoEngine(t, denyFromA, allowAll)
	checkCalico(t, e, m, []calicoCase{
		{"a/web", "b/db", 5432, "", policy.Denied},     // the Deny at order 100 before the Kubernetes allow
		{"b/cache", "b/db", 5432, "", policy.Allowed},  // no Deny match: the Kubernetes allow
		{"a/web", "b/cache", 6379, "", policy.Allowed}, // not selected by deny-from-a
	})

	pass := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: pass-web}
spec:
  order: 10
  selector: app == 'db'
  ingress: [{action: Log}, {action: Pass, source: {selector: app == 'web'}}]`
	isolate := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate, namespace: b}
spec: {podSelector: {}, policyTypes: [Ingress]}`
	e, m = calicoEngine(t, pass, isolate)
	checkCalico(t, e, m, []calicoCase{
		{"a/web", "b/db", 5432, "", policy.Allowed},  // Log goes on, Pass skips the tier: the profile allows
		{"b/cache", "b/db", 5432, "", policy.Denied}, // no Pass: the Kubernetes isolation, end of tier
	})
}

// Calico's API server fills empty types from the rules and stores the
// name as default.<name>; a CRD written directly keeps both: no types
// means both directions to felix.
func TestCalicoTypesAndNamesByForm(t *testing.T) {
	for _, tt := range []struct {
		group      string
		webEgress  policy.Verdict
		tieWinsFor string
	}{
		{"projectcalico.org/v3", policy.Allowed, "z-deny"},
		{"crd.projectcalico.org/v1", policy.Denied, "default.z-deny"},
	} {
		ingressOnly := `apiVersion: ` + tt.group + `
kind: NetworkPolicy
metadata: {name: web-in, namespace: a}
spec:
  selector: app == 'web'
  ingress: [{action: Allow}]`
		e, m := calicoEngine(t, ingressOnly)
		checkCalico(t, e, m, []calicoCase{{"a/web", "b/db", 5432, "", tt.webEgress}})

		// Equal orders: the stored names decide. Through the API server
		// "default.a-allow" < "default.z-deny"; as CRDs "default.z-deny"
		// (written so) < "z-allow".
		allowName, denyName := "a-allow", "z-deny"
		if tt.group == "crd.projectcalico.org/v1" {
			allowName, denyName = "z-allow", "default.z-deny"
		}
		tie := func(name, action string) string {
			return `apiVersion: ` + tt.group + `
kind: GlobalNetworkPolicy
metadata: {name: ` + name + `}
spec: {order: 5, selector: app == 'db', types: [Ingress], ingress: [{action: ` + action + `}]}`
		}
		e, m = calicoEngine(t, tie(allowName, "Allow"), tie(denyName, "Deny"))
		want := policy.Allowed
		if tt.group == "crd.projectcalico.org/v1" {
			want = policy.Denied
		}
		checkCalico(t, e, m, []calicoCase{{"b/cache", "b/db", 5432, "", want}})
	}
}

func TestCalicoRuleMatches(t *testing.T) {
	rules := `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: db-rules, namespace: b}
spec:
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Deny
    protocol: TCP
    source: {nets: [10.0.1.0/24], notNets: [10.0.1.1/32]}
  - action: Allow
    protocol: 6
    source: {namespaceSelector: team == 'x', serviceAccounts: {names: [web-sa]}}
    destination: {ports: [pg]}
  - action: Allow
    protocol: TCP
    source: {selector: app == 'cache'}
    destination: {ports: ["6000:6500"], notPorts: [6379]}
  - action: Allow
    notProtocol: TCP
    source: {selector: app == 'web'}`
	e, m := calicoEngine(t, rules)
	checkCalico(t, e, m, []calicoCase{
		{"a/web", "b/db", 5432, "", policy.Allowed},                  // named port pg, team=x, service account web-sa
		{"a/web", "b/db", 5433, "", policy.Denied},                   // not pg
		{"b/cache", "b/db", 6001, "", policy.Allowed},                // in the range
		{"b/cache", "b/db", 6379, "", policy.Denied},                 // notPorts
		{"a/web", "b/db", 9999, corev1.ProtocolUDP, policy.Denied},   // selector app == 'web' is limited to namespace b
		{"10.0.1.7", "b/db", 5432, "", policy.Denied},                // Deny by nets
		{"10.0.1.1", "b/db", 5432, "", policy.Denied},                // notNets spares it; no other rule matches an address
		{"b/cache", "b/db", 6379, corev1.ProtocolUDP, policy.Denied}, // notProtocol TCP, but not web
	})
}

func TestCalicoUndecidedMatches(t *testing.T) {
	http := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: http-only}
spec:
  order: 1
  selector: app == 'db'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    http: {methods: [GET]}
  - action: Deny`
	logged := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: sport}
spec:
  order: 1
  selector: app == 'cache'
  types: [Ingress]
  ingress:
  - action: Deny
    protocol: TCP
    source: {ports: [1000]}
  - action: Deny`
	e, m := calicoEngine(t, http, logged)
	checkCalico(t, e, m, []calicoCase{
		{"b/cache", "b/db", 5432, "", policy.Unspecified}, // allowed only where an application layer checks HTTP
		{"a/web", "b/cache", 6379, "", policy.Denied},     // denied whatever the source port
	})
	r := e.Evaluate(policy.Flow{From: endpointFor(t, m, "b/cache"), To: endpointFor(t, m, "b/db"), Port: 5432, Protocol: corev1.ProtocolTCP}, true)
	if !strings.Contains(r.Ingress.Undecided, "HTTP match") {
		t.Errorf("undecided: %q", r.Ingress.Undecided)
	}
}

func TestCalicoStagedPoliciesAreNotEnforced(t *testing.T) {
	staged := `apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: staged-deny}
spec: {selector: all(), types: [Ingress, Egress]}`
	e, m := calicoEngine(t, staged)
	checkCalico(t, e, m, []calicoCase{{"a/web", "b/db", 5432, "", policy.Allowed}})
}

// Labels nobody could read (the namespaces could not be listed) are never
// read as absent: a policy whose selector needs them may or may not apply,
// and the side is decided only where both answers agree.
func TestCalicoUnreadableNamespaceLabels(t *testing.T) {
	teamOnly := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: team-x-only}
spec:
  order: 10
  namespaceSelector: team == 'x'
  types: [Egress]
  egress: [{action: Deny, destination: {selector: app == 'db'}}]`
	denyAllDB := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: db-closed}
spec: {order: 20, selector: app == 'db', types: [Ingress], ingress: [{action: Deny}]}`
	m, err := read.LoadFiles([]string{"-"}, strings.NewReader(calicoWorld+"---\n"+teamOnly+"\n---\n"+denyAllDB), "")
	if err != nil {
		t.Fatal(err)
	}
	m.MarkUnreadable("namespaces", "a")
	e := policy.New(m)
	checkCalico(t, e, m, []calicoCase{
		{"a/web", "b/cache", 6379, "", policy.Unspecified}, // team-x-only may apply to web: unknown
		{"a/web", "b/db", 5432, "", policy.Denied},         // denied either way (db-closed)
		{"b/cache", "b/db", 5432, "", policy.Denied},       // b's labels were read
	})
	r := e.Evaluate(policy.Flow{From: endpointFor(t, m, "a/web"), To: endpointFor(t, m, "b/cache"), Port: 6379, Protocol: corev1.ProtocolTCP}, true)
	if !strings.Contains(r.Egress.Undecided, "could not be read") {
		t.Errorf("undecided: %q", r.Egress.Undecided)
	}
}

// Tiers by version: felix before v3.30 orders every policy as one tier;
// v3.30 and later by tier; unknown, the engine decides only where both
// orders agree.
func TestCalicoTiersByVersion(t *testing.T) {
	tiered := `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.late-deny}
spec: {tier: security, order: 5000, selector: app == 'db', types: [Ingress], ingress: [{action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: early-allow}
spec: {order: 10, selector: app == 'db', types: [Ingress], ingress: [{action: Allow}]}`
	version := func(v string) string {
		return "apiVersion: crd.projectcalico.org/v1\nkind: ClusterInformation\nmetadata: {name: default}\nspec: {calicoVersion: " + v + "}"
	}
	for _, tt := range []struct {
		docs []string
		want policy.Verdict
	}{
		{[]string{tiered}, policy.Unspecified},                 // security first (tiers) or early-allow first (one tier)
		{[]string{tiered, version("v3.28.5")}, policy.Allowed}, // one tier: order 10 before 5000
		{[]string{tiered, version("v3.30.2")}, policy.Denied},  // the security tier first
	} {
		e, m := calicoEngine(t, tt.docs...)
		checkCalico(t, e, m, []calicoCase{{"b/cache", "b/db", 5432, "", tt.want}})
	}
	// Before v3.30 (one tier) the staged policies are previewed too.
	staged := `apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: close-web}
spec: {selector: app == 'web', types: [Egress]}`
	e, m := calicoEngine(t, tiered, version("v3.28.5"), staged)
	r := e.Evaluate(policy.Flow{From: endpointFor(t, m, "a/web"), To: endpointFor(t, m, "b/cache"), Port: 6379, Protocol: corev1.ProtocolTCP}, true)
	if !slices.ContainsFunc(r.Hints, func(h policy.Hint) bool { return h.Code == policy.HintStagedWouldChange }) {
		t.Errorf("no staged preview with one tier: %+v", r.Hints)
	}
}

// Explain's hints under Calico: a Calico policy ordered before the
// Kubernetes ones, the end of a tier, and a staged policy that would
// change the verdict.
func TestCalicoHints(t *testing.T) {
	early := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: early-deny}
spec: {order: 100, selector: app == 'db', types: [Ingress], ingress: [{action: Deny, source: {selector: app == 'cache'}}]}`
	allowAll := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: b}
spec: {podSelector: {}, ingress: [{}]}`
	closeWeb := `apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: close-web}
spec: {selector: app == 'web', types: [Egress]}`
	e, m := calicoEngine(t, early, allowAll, closeWeb)
	hints := func(from, to string, port int32) map[string]string {
		r := e.Evaluate(policy.Flow{From: endpointFor(t, m, from), To: endpointFor(t, m, to), Port: port, Protocol: corev1.ProtocolTCP}, true)
		out := map[string]string{}
		for _, h := range r.Hints {
			out[h.Code] += h.Message + "\n"
		}
		return out
	}
	if h := hints("b/cache", "b/db", 5432); !strings.Contains(h[policy.HintCalicoBeforeNetworkPolicy], "GlobalNetworkPolicy early-deny decided ingress of b/db") {
		t.Errorf("before NetworkPolicy: %v", h)
	}
	if h := hints("a/web", "b/db", 5432); !strings.Contains(h[policy.HintStagedWouldChange], "would make this denied") {
		t.Errorf("staged: %v", h)
	}
	e, m = calicoEngine(t, defaultAppPolicy)
	if h := hints("a/web", "b/db", 5432); !strings.Contains(h[policy.HintCalicoEndOfTier], "tier default apply to a/web for egress") {
		t.Errorf("end of tier: %v", h)
	}
}
