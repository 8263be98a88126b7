package policy

import (
	"strings"
	"testing"
)

// The cluster-scoped tiers, rule by rule from the API reference
// (sigs.k8s.io/network-policy-api v0.3.0: AdminNetworkPolicy,
// BaselineAdminNetworkPolicy, ClusterNetworkPolicy) and the scenarios of
// its conformance suite. basePods: a/client, a/server (http:80, dns:53/UDP),
// b/client, b/server (http:8080); namespace a team=blue, b team=red.

const denyAllIngressA = "metadata: {name: deny-all}\nspec: {podSelector: {}}"

func TestAdminTierComesBeforeNetworkPolicy(t *testing.T) {
	t.Run("an Allow overrides the namespace's deny-all", func(t *testing.T) {
		checkFlows(t, with(np("a", denyAllIngressA), anp(`metadata: {name: monitoring}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {team: blue}}}
  ingress: [{action: Allow, from: [{namespaces: {matchLabels: {team: red}}}]}]`)), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"a/client", "a/server", 80, tcp, Denied}, // not matched by the ANP: NetworkPolicy decides
		})
	})
	t.Run("a Deny overrides a NetworkPolicy allow", func(t *testing.T) {
		checkFlows(t, with(np("a", "metadata: {name: allow}\nspec: {podSelector: {}, ingress: [{}]}"), anp(`metadata: {name: guard}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {team: red}}}]}]`)), []flowCase{
			{"b/client", "a/server", 80, tcp, Denied},
			{"a/client", "a/server", 80, tcp, Allowed},
			{"a/client", "b/server", 8080, tcp, Allowed},
		})
	})
}

// CNPAdminTierIntegration: Pass hands over to NetworkPolicy; without a
// NetworkPolicy selecting the pod, the baseline tier decides.
func TestPassHandsOverToNetworkPolicyThenBaseline(t *testing.T) {
	admin := cnp(`metadata: {name: pass-example}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {team: blue}}}
  ingress: [{action: Pass, from: [{namespaces: {matchLabels: {team: red}}}]}]
  egress: [{action: Pass, to: [{namespaces: {matchLabels: {team: red}}}]}]`)
	baseline := cnp(`metadata: {name: default}
spec:
  tier: Baseline
  priority: 10
  subject: {namespaces: {matchLabels: {team: blue}}}
  ingress: [{action: Deny, from: [{namespaces: {matchLabels: {team: red}}}]}]
  egress: [{action: Deny, to: [{namespaces: {matchLabels: {team: red}}}]}]`)
	allowFromB := np("a", `metadata: {name: allow-from-b}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}}]}]
  egress: [{to: [{namespaceSelector: {matchLabels: {team: red}}}]}]`)
	t.Run("NetworkPolicy allows what was passed", func(t *testing.T) {
		checkFlows(t, with(admin, baseline, allowFromB), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"a/client", "b/server", 8080, tcp, Allowed},
		})
	})
	t.Run("without a NetworkPolicy the baseline denies", func(t *testing.T) {
		m := with(admin, baseline)
		checkFlows(t, m, []flowCase{
			{"b/client", "a/server", 80, tcp, Denied},
			{"a/client", "b/server", 8080, tcp, Denied},
			{"a/client", "a/server", 80, tcp, Allowed}, // nothing matches: allowed
		})
		r := New(m).Evaluate(Flow{From: endpointOf(t, m, "b/client"), To: endpointOf(t, m, "a/server"), Port: 80, Protocol: tcp}, true)
		if r.Ingress.Tier != TierBaseline || r.Ingress.Admin == nil || r.Ingress.Admin.Action != "Pass" || r.Ingress.Baseline.Name != "default" {
			t.Errorf("ingress %+v", r.Ingress)
		}
		if !hasHint(r, HintPassToBaseline) {
			t.Errorf("hints %v, want %s", r.Hints, HintPassToBaseline)
		}
	})
	t.Run("a NetworkPolicy that isolates decides even when it allows nothing", func(t *testing.T) {
		checkFlows(t, with(admin, cnp(`metadata: {name: allow-all}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Accept, from: [{namespaces: {}}]}]`), np("a", denyAllIngressA)), []flowCase{
			{"b/client", "a/server", 80, tcp, Denied},
		})
	})
}

func TestBaselineOnlyWhereNoNetworkPolicyIsolates(t *testing.T) {
	checkFlows(t, with(banp(`metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
  egress: [{action: Allow, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: server}}}}]}, {action: Deny, to: [{namespaces: {}}]}]`),
		np("b", "metadata: {name: allow}\nspec: {podSelector: {}, ingress: [{}]}")), []flowCase{
		{"a/client", "b/server", 8080, tcp, Allowed},   // egress: baseline Allow; ingress: NetworkPolicy allows
		{"b/client", "a/server", 80, tcp, Denied},      // ingress of a/server: baseline Deny
		{"a/server", "b/client", 9, tcp, Denied},       // egress: the second rule denies
		{"a/client", "203.0.113.9", 443, tcp, Allowed}, // no rule matches an address: allowed
	})
}

func TestPriorityLowerFirstAndRulesInOrder(t *testing.T) {
	deny := func(priority string) item {
		return anp("metadata: {name: deny-" + priority + "}\nspec:\n  priority: " + priority + "\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {}}]}]")
	}
	allow := func(priority string) item {
		return anp("metadata: {name: allow-" + priority + "}\nspec:\n  priority: " + priority + "\n  subject: {namespaces: {}}\n  ingress: [{action: Allow, from: [{namespaces: {}}]}]")
	}
	checkFlows(t, with(deny("1"), allow("2")), []flowCase{{"a/client", "b/server", 8080, tcp, Denied}})
	checkFlows(t, with(deny("2"), allow("1")), []flowCase{{"a/client", "b/server", 8080, tcp, Allowed}})
	checkFlows(t, with(anp(`metadata: {name: ordered}
spec:
  priority: 5
  subject: {namespaces: {}}
  ingress:
  - {action: Allow, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}}], ports: [{portNumber: {port: 8080, protocol: TCP}}]}
  - {action: Deny, from: [{namespaces: {}}]}`)), []flowCase{
		{"a/client", "b/server", 8080, tcp, Allowed},
		{"a/client", "b/server", 8081, tcp, Denied},
		{"a/server", "b/server", 8080, tcp, Denied},
	})
}

// CNPAdminTierSamePriority: policies at one priority all apply when their
// rules do not overlap; where they disagree the API leaves the result
// undefined, and so does the engine.
func TestSamePriority(t *testing.T) {
	p := func(name, action, from string) item {
		return anp("metadata: {name: " + name + "}\nspec:\n  priority: 7\n  subject: {namespaces: {matchLabels: {team: red}}}\n  ingress: [{action: " + action + ", from: [{namespaces: {matchLabels: {team: " + from + "}}}]}]")
	}
	t.Run("disjoint rules both apply", func(t *testing.T) {
		checkFlows(t, with(p("x", "Deny", "blue"), p("w", "Allow", "red"), np("b", denyAllIngressA)), []flowCase{
			{"a/client", "b/server", 8080, tcp, Denied},
			{"b/client", "b/server", 8080, tcp, Allowed},
		})
	})
	t.Run("agreeing policies decide", func(t *testing.T) {
		checkFlows(t, with(p("x", "Deny", "blue"), p("w", "Deny", "blue")), []flowCase{{"a/client", "b/server", 8080, tcp, Denied}})
	})
	t.Run("disagreeing policies are unspecified", func(t *testing.T) {
		m := with(p("x", "Deny", "blue"), p("w", "Allow", "blue"))
		checkFlows(t, m, []flowCase{{"a/client", "b/server", 8080, tcp, Unspecified}})
		r := New(m).Evaluate(Flow{From: endpointOf(t, m, "a/client"), To: endpointOf(t, m, "b/server"), Port: 8080, Protocol: tcp}, true)
		if !strings.Contains(r.Ingress.Undecided, "allow by w[0] (priority 7)") || !strings.Contains(r.Ingress.Undecided, "deny by x[0] (priority 7)") || !hasHint(r, HintUndefinedOrder) {
			t.Errorf("ingress %+v, hints %v", r.Ingress, r.Hints)
		}
	})
	t.Run("a Pass against an Allow: both allow when NetworkPolicy allows", func(t *testing.T) {
		checkFlows(t, with(p("x", "Pass", "blue"), p("w", "Allow", "blue")), []flowCase{{"a/client", "b/server", 8080, tcp, Allowed}})
		checkFlows(t, with(p("x", "Pass", "blue"), p("w", "Allow", "blue"), np("b", denyAllIngressA)), []flowCase{{"a/client", "b/server", 8080, tcp, Unspecified}})
	})
	t.Run("AdminNetworkPolicy and ClusterNetworkPolicy are not ordered against each other", func(t *testing.T) {
		checkFlows(t, with(p("x", "Deny", "blue"), cnp(`metadata: {name: z}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Accept, from: [{namespaces: {}}]}]`)), []flowCase{{"a/client", "b/server", 8080, tcp, Unspecified}})
	})
	t.Run("one side denied decides even when the other is unspecified", func(t *testing.T) {
		checkFlows(t, with(p("x", "Deny", "blue"), p("w", "Allow", "blue"), np("a", `metadata: {name: no-egress}
spec: {podSelector: {}, policyTypes: [Egress]}`)), []flowCase{{"a/client", "b/server", 8080, tcp, Denied}})
	})
}

// An egress Accept ends the source's evaluation; the destination's
// ingress still applies.
func TestEgressAcceptLeavesIngressToTheDestination(t *testing.T) {
	checkFlows(t, with(cnpAlpha(`metadata: {name: out}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {team: blue}}}
  egress: [{action: Accept, to: [{namespaces: {}}]}]`), np("a", "metadata: {name: no-egress}\nspec: {podSelector: {}, policyTypes: [Egress]}"), np("b", denyAllIngressA)), []flowCase{
		{"a/client", "b/server", 8080, tcp, Denied},  // b's ingress deny-all
		{"a/client", "a/server", 80, tcp, Allowed},   // a/server's ingress is open
		{"a/client", "203.0.113.9", 80, tcp, Denied}, // not matched by the Accept: NetworkPolicy denies
	})
}

func TestNetworksMatchPodAddressesToo(t *testing.T) {
	checkFlows(t, with(anp(`metadata: {name: no-internet}
spec:
  priority: 20
  subject: {namespaces: {}}
  egress:
  - {action: Pass, to: [{networks: [10.0.2.0/24]}]}
  - {action: Deny, to: [{networks: [0.0.0.0/0]}]}`)), []flowCase{
		{"a/client", "b/server", 8080, tcp, Allowed}, // passed; nothing else decides
		{"b/client", "a/server", 80, tcp, Denied},    // 10.0.1.2 is in 0.0.0.0/0
		{"a/client", "203.0.113.9", 443, tcp, Denied},
		{"a/client", "2001:db8::1", 443, tcp, Allowed},
	})
	t.Run("a pod without an address is unknown", func(t *testing.T) {
		checkFlows(t, newModel(ns("a", ""), pod("a/x", "app=x", "10.0.1.1"), pod("a/template", "app=t"), anp(`metadata: {name: no-internet}
spec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}]}]}`)), []flowCase{
			{"a/x", "a/template", 80, tcp, Unspecified}, // its address may be in 10/8 or not
			{"a/template", "10.0.1.1", 80, tcp, Denied},
		})
		// 0.0.0.0/0 holds every address of an IPv4 cluster (the API's own
		// warning), so also the pods read from templates.
		deny := anp(`metadata: {name: no-internet}
spec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [0.0.0.0/0]}]}]}`)
		checkFlows(t, newModel(ns("a", ""), pod("a/t1", "app=x"), pod("a/t2", "app=t"), deny), []flowCase{{"a/t1", "a/t2", 80, tcp, Denied}})
		// In a cluster with IPv6 addresses the pod may be reached over IPv6.
		checkFlows(t, newModel(ns("a", ""), pod("a/x", "app=x", "fd00::1"), pod("a/template", "app=t"), deny), []flowCase{{"a/x", "a/template", 80, tcp, Unspecified}})
		checkFlows(t, newModel(ns("a", ""), pod("a/x", "app=x", "10.0.1.1"), pod("a/template", "app=t"), anp(`metadata: {name: no-metadata}
spec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [169.254.0.0/16, "fe80::/64"]}]}]}`)), []flowCase{
			{"a/x", "a/template", 80, tcp, Allowed}, // no pod is given a link-local address
			{"a/template", "169.254.169.254", 80, tcp, Denied},
		})
	})
}

func TestNodesPeer(t *testing.T) {
	m := with(node("n1", "zone=a", "198.51.100.7"), node("n2", "zone=b", "198.51.100.8"), anp(`metadata: {name: nodes}
spec:
  priority: 1
  subject: {namespaces: {}}
  egress: [{action: Deny, to: [{nodes: {matchLabels: {zone: a}}}]}]`))
	checkFlows(t, m, []flowCase{
		{"a/client", "198.51.100.7", 10250, tcp, Denied},
		{"a/client", "198.51.100.8", 10250, tcp, Allowed},
		{"a/client", "b/server", 8080, tcp, Allowed},
	})
	t.Run("nodes that could not be read are unknown", func(t *testing.T) {
		m.MarkUnreadable("nodes", "")
		checkFlows(t, m, []flowCase{{"a/client", "198.51.100.9", 10250, tcp, Unspecified}, {"a/client", "b/server", 8080, tcp, Allowed}})
	})
}

func TestClusterPorts(t *testing.T) {
	checkFlows(t, with(anp(`metadata: {name: ports}
spec:
  priority: 1
  subject: {namespaces: {}}
  ingress:
  - {action: Deny, from: [{namespaces: {}}], ports: [{namedPort: http}]}
  - {action: Deny, from: [{namespaces: {}}], ports: [{portRange: {start: 50, end: 60, protocol: UDP}}]}
  - {action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {port: 9000, protocol: TCP}}]}`)), []flowCase{
		{"a/client", "a/server", 80, tcp, Denied},   // http is 80 on a/server
		{"a/client", "b/server", 8080, tcp, Denied}, // and 8080 on b/server
		{"a/client", "b/server", 80, tcp, Allowed},  // 80 is not http there
		{"a/client", "a/server", 53, udp, Denied},   // in 50-60/UDP
		{"a/client", "a/server", 53, tcp, Allowed},  // wrong protocol
		{"a/client", "a/server", 9000, tcp, Denied}, // a number
		{"a/client", "a/server", 9000, sctp, Allowed},
	})
	checkFlows(t, with(cnp(`metadata: {name: protocols}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}], protocols: [{udp: {}}, {tcp: {destinationPort: {range: {start: 8000, end: 8100}}}}, {destinationNamedPort: dns}]}]`)), []flowCase{
		{"a/client", "a/server", 5353, udp, Denied}, // every UDP port
		{"a/client", "b/server", 8080, tcp, Denied},
		{"a/client", "a/server", 80, tcp, Allowed},
		{"a/client", "a/server", 53, sctp, Allowed},
	})
}

// A peer or port this version cannot read fails closed: an Allow rule
// matches nothing, a Deny or Pass rule denies everything.
func TestFailClosed(t *testing.T) {
	rule := func(action string) item {
		return anp("metadata: {name: future}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: " + action + ", from: [{}]}]")
	}
	checkFlows(t, with(rule("Allow"), np("b", denyAllIngressA)), []flowCase{{"a/client", "b/server", 8080, tcp, Denied}})
	checkFlows(t, with(rule("Deny")), []flowCase{{"a/client", "b/server", 8080, tcp, Denied}})
	checkFlows(t, with(rule("Pass")), []flowCase{{"a/client", "b/server", 8080, tcp, Denied}})
	checkFlows(t, with(anp("metadata: {name: future-port}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Pass, from: [{namespaces: {matchLabels: {none: x}}}], ports: [{}]}]")), []flowCase{{"a/client", "b/server", 8080, tcp, Denied}})
}

func TestDomainNamesAreUnknownForAddresses(t *testing.T) {
	checkFlows(t, with(anp(`metadata: {name: allow-example}
spec:
  priority: 1
  subject: {namespaces: {}}
  egress:
  - {action: Allow, to: [{domainNames: ["*.example.com"]}]}
  - {action: Deny, to: [{networks: [0.0.0.0/0]}]}`)), []flowCase{
		{"a/client", "203.0.113.9", 443, tcp, Unspecified}, // allowed if it is an example.com address
		{"a/client", "b/server", 8080, tcp, Denied},        // pods are not reached by domain names
	})
}

func TestSubjectsAndDirections(t *testing.T) {
	checkFlows(t, with(anp(`metadata: {name: servers}
spec:
  priority: 1
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: server}}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]`)), []flowCase{
		{"a/client", "b/server", 8080, tcp, Denied},
		{"b/server", "a/client", 1, tcp, Allowed},     // a/client is no subject
		{"b/server", "a/server", 80, tcp, Denied},     // ingress of a subject
		{"a/server", "203.0.113.9", 80, tcp, Allowed}, // no egress rules: egress untouched
	})
	t.Run("host-network pods are never subjects, and stay unspecified", func(t *testing.T) {
		checkFlows(t, newModel(ns("a", ""), pod("a/h", "app=h", "10.0.1.5", "hostNetwork"), pod("a/x", "app=x", "10.0.1.6"), anp(`metadata: {name: all}
spec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]}`)), []flowCase{
			{"a/x", "a/h", 80, tcp, Unspecified},
		})
	})
}

func TestAdminOverrideHint(t *testing.T) {
	m := with(np("a", denyAllIngressA), anp(`metadata: {name: monitoring}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress: [{action: Allow, from: [{namespaces: {matchLabels: {team: red}}}], ports: [{namedPort: metrics}]}, {action: Allow, from: [{namespaces: {matchLabels: {team: red}}}]}]`))
	r := New(m).Evaluate(Flow{From: endpointOf(t, m, "b/client"), To: endpointOf(t, m, "a/server"), Port: 80, Protocol: tcp}, true)
	if r.Verdict != Allowed || r.Ingress.Tier != TierAdmin || r.Ingress.Admin.Rule != 1 || !hasHint(r, HintAdminOverrides) || !hasHint(r, HintClusterNamedPort) {
		t.Errorf("verdict %s, ingress %+v, hints %v", r.Verdict, r.Ingress, r.Hints)
	}
}

func hasHint(r Result, code string) bool {
	for _, h := range r.Hints {
		if h.Code == code {
			return true
		}
	}
	return false
}

// diff --flows and apply --verify predict with After: the tiers stay, so a
// NetworkPolicy change shows only where NetworkPolicy decides.
func TestFlowChangesRespectTheTiers(t *testing.T) {
	guard := anp(`metadata: {name: guard}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {team: red}}}
  ingress: [{action: Deny, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: server}}}}]}]`)
	base := banp(`metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]`)
	before := with(guard, base)
	allowAll, ok := np("b", "metadata: {name: allow-all}\nspec: {podSelector: {}, ingress: [{}]}").(npItem)
	if !ok {
		t.Fatal("not a NetworkPolicy")
	}
	after := After(before, map[string][]*networkingv1NP{"b": {allowAll.NetworkPolicy}}, nil)
	changes := FlowChanges(New(before), New(after), map[string]bool{"b": true})
	got := map[string]string{}
	for _, c := range changes {
		got[c.From+">"+c.To] = string(c.Before) + ">" + string(c.After)
	}
	// Clients in a and b reach b/server once b isolates itself with an
	// allow-all (the baseline no longer applies); a/server stays denied by
	// the admin tier whatever b's NetworkPolicy says.
	if got["a/client>b/server"] != "denied>allowed" || got["b/client>b/server"] != "denied>allowed" {
		t.Errorf("changes %v", got)
	}
	if _, changed := got["a/server>b/server"]; changed {
		t.Errorf("a/server -> b/server changed although the admin tier decides it: %v", got)
	}
}
