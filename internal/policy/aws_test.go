package policy

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// The EKS network policy agent's ClusterNetworkPolicy, case by case from
// its source (aws-network-policy-agent: tc.v4ingress.bpf.c,
// fw_rule_processor.go, utils.go; amazon-network-policy-controller-k8s:
// clusternetworkpolicy_resolver.go). basePods: a/client, a/server (http:80,
// dns:53/UDP), b/client, b/server (http:8080); a team=blue, b team=red.

func awsCNP(doc string) item {
	var p model.AWSClusterNetworkPolicy
	mustUnmarshal(doc, &p)
	return clusterItem{model.FromAWSClusterNetworkPolicy(&p)}
}

// checkAWSFlows checks the engine alone: the independent reference for
// this kind is TestEngineAgreesWithNaiveReferenceOnEKS.
func checkAWSFlows(t *testing.T, m *model.Model, cases []flowCase) {
	t.Helper()
	e := New(m)
	for _, c := range cases {
		proto := c.proto
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		f := Flow{From: endpointOf(t, m, c.from), To: endpointOf(t, m, c.to), Port: c.port, Protocol: proto}
		if got := e.Evaluate(f, true); got.Verdict != c.want {
			t.Errorf("%s -> %s %d/%s: %s, want %s\n  egress %+v\n  ingress %+v", c.from, c.to, c.port, proto, got.Verdict, c.want, got.Egress, got.Ingress)
		}
	}
}

func withMode(m *model.Model, mode string) *model.Model {
	m.AWSPolicyMode = mode
	return m
}

func TestEKSRuleOrderDoesNotExist(t *testing.T) {
	// Upstream, the first rule (Accept from b) would decide; the agent
	// weighs both at the policy's priority and Deny wins.
	m := with(awsCNP(`metadata: {name: guard}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {team: blue}}}
  ingress:
  - {action: Accept, from: [{namespaces: {matchLabels: {team: red}}}]}
  - {action: Deny, from: [{namespaces: {}}]}`))
	checkAWSFlows(t, m, []flowCase{
		{"b/client", "a/server", 80, tcp, Denied},
		{"a/client", "a/server", 80, tcp, Denied},
		{"a/client", "b/server", 8080, tcp, Allowed}, // b is not a subject
	})
	r := New(m).Evaluate(Flow{From: endpointOf(t, m, "b/client"), To: endpointOf(t, m, "a/server"), Port: 80, Protocol: tcp}, true)
	if r.Ingress.Tier != TierAdmin || r.Ingress.Admin == nil || r.Ingress.Admin.Rule != 1 || r.Ingress.Admin.Kind != model.KindAWSClusterNetworkPolicy {
		t.Errorf("ingress %+v admin %+v", r.Ingress, r.Ingress.Admin)
	}
	if !hasHint(r, HintEKSRuleOrder) {
		t.Errorf("hints %v", r.Hints)
	}
}

func TestEKSTiesAcrossPoliciesAreDecidedByAction(t *testing.T) {
	accept := `metadata: {name: %s}
spec:
  tier: Admin
  priority: 20
  subject: {namespaces: {}}
  ingress: [{action: %s, from: [{namespaces: {}}]}]`
	t.Run("Deny beats Accept", func(t *testing.T) {
		checkAWSFlows(t, with(awsCNP(fmt.Sprintf(accept, "x-accept", "Accept")), awsCNP(fmt.Sprintf(accept, "y-deny", "Deny"))), []flowCase{
			{"b/client", "a/server", 80, tcp, Denied},
		})
	})
	t.Run("Accept beats Pass", func(t *testing.T) {
		m := with(awsCNP(fmt.Sprintf(accept, "x-pass", "Pass")), awsCNP(fmt.Sprintf(accept, "y-accept", "Accept")), np("a", denyAllIngressA))
		checkAWSFlows(t, m, []flowCase{{"b/client", "a/server", 80, tcp, Allowed}})
	})
	t.Run("a lower priority wins whatever its action", func(t *testing.T) {
		m := with(awsCNP(`metadata: {name: first}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {}}
  ingress: [{action: Pass, from: [{namespaces: {}}]}]`), awsCNP(fmt.Sprintf(accept, "later-deny", "Deny")))
		checkAWSFlows(t, m, []flowCase{{"b/client", "a/server", 80, tcp, Allowed}}) // passed: nothing isolates
	})
}

func TestEKSBaselineAfterNetworkPolicy(t *testing.T) {
	baseline := awsCNP(`metadata: {name: default-deny}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {}}
  ingress:
  - {action: Accept, ports: [{portNumber: {port: 80}}], from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}}]}
  - {action: Deny, from: [{namespaces: {}}]}`)
	checkAWSFlows(t, with(baseline), []flowCase{
		{"b/client", "a/server", 80, tcp, Denied}, // one priority: Deny wins
		{"a/client", "b/server", 8080, tcp, Denied},
	})
	allow := np("a", "metadata: {name: allow}\nspec: {podSelector: {}, ingress: [{}]}")
	checkAWSFlows(t, with(baseline, allow), []flowCase{
		{"b/client", "a/server", 80, tcp, Allowed}, // NetworkPolicy decides before the baseline
		{"a/client", "b/server", 8080, tcp, Denied},
	})
}

func TestEKSIngressRuleIsResolvedByItsFirstPeer(t *testing.T) {
	doc := `metadata: {name: gate}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {team: blue}}}
  ingress:
  - action: Deny
    from:
    - %s
    - {namespaces: {matchLabels: {team: red}}}`
	t.Run("first peer selects no namespace: the rule matches nothing", func(t *testing.T) {
		checkAWSFlows(t, with(awsCNP(fmt.Sprintf(doc, "{pods: {namespaceSelector: {matchLabels: {team: none}}, podSelector: {}}}"))), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
		})
	})
	t.Run("first peer selects a namespace: every peer counts", func(t *testing.T) {
		checkAWSFlows(t, with(awsCNP(fmt.Sprintf(doc, "{pods: {namespaceSelector: {matchLabels: {team: blue}}, podSelector: {matchLabels: {app: none}}}}"))), []flowCase{
			{"b/client", "a/server", 80, tcp, Denied},
			{"a/client", "a/server", 80, tcp, Allowed},
		})
	})
}

func TestEKSNamedPortLeavesThePolicyUnspecified(t *testing.T) {
	m := with(awsCNP(`metadata: {name: named}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {team: blue}}}
  ingress: [{action: Deny, ports: [{namedPort: http}], from: [{namespaces: {matchLabels: {team: red}}}]}]`))
	checkAWSFlows(t, m, []flowCase{
		{"b/client", "a/server", 80, tcp, Unspecified},
		{"b/client", "a/server", 53, corev1.ProtocolUDP, Unspecified}, // the whole policy is in doubt
		// The agent may hold an earlier version of the policy: its rule
		// may match any traffic of its subjects.
		{"a/client", "a/server", 80, tcp, Unspecified},
		{"a/client", "b/server", 8080, tcp, Allowed}, // b is no subject
	})
	if p := m.ClusterPolicies[0]; !strings.Contains(p.Unresolvable, "named port") || len(p.Problems) > 0 {
		t.Errorf("the policy should carry why, and the API server accepts it: %+v", p)
	}
	r := New(m).Evaluate(Flow{From: endpointOf(t, m, "b/client"), To: endpointOf(t, m, "a/server"), Port: 80, Protocol: tcp}, true)
	if !strings.Contains(r.Ingress.Undecided, "controller fails on it") {
		t.Errorf("ingress %+v", r.Ingress)
	}
}

func TestEKSDomainNamesInADenyRuleAreDropped(t *testing.T) {
	checkAWSFlows(t, with(awsCNP(`metadata: {name: d}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {}}
  egress: [{action: Deny, to: [{domainNames: [example.com]}]}]`)), []flowCase{
		{"a/client", "198.51.100.10", 443, tcp, Allowed},
	})
	checkAWSFlows(t, with(awsCNP(`metadata: {name: d}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {}}
  egress: [{action: Accept, to: [{domainNames: [example.com]}]}, {action: Deny, to: [{networks: [0.0.0.0/0]}]}]`)), []flowCase{
		{"a/client", "198.51.100.10", 443, tcp, Denied}, // Deny wins at one priority, named or not
	})
}

func TestEKSPortsOfTheAgent(t *testing.T) {
	m := with(awsCNP(`metadata: {name: ports}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {team: blue}}}
  ingress:
  - action: Deny
    from: [{namespaces: {}}]
    ports: [{portNumber: {port: 80}, portRange: {protocol: UDP, start: 50, end: 60}}]`))
	checkAWSFlows(t, m, []flowCase{
		{"b/client", "a/server", 80, tcp, Denied},
		{"b/client", "a/server", 53, corev1.ProtocolUDP, Denied},
		{"b/client", "a/server", 53, tcp, Allowed},
	})
	empty := with(awsCNP(`metadata: {name: empty}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {team: blue}}}
  ingress: [{action: Deny, from: [{namespaces: {}}], ports: [{}]}]`))
	checkAWSFlows(t, empty, []flowCase{{"b/client", "a/server", 80, tcp, Denied}}) // no port at all: every port
}

func TestEKSMoreEntriesThanTheAgentKeeps(t *testing.T) {
	var ports []string
	for p := 1000; p < 1000+awsEntryLimit; p++ {
		ports = append(ports, fmt.Sprintf("{portNumber: {port: %d}}", p))
	}
	doc := `metadata: {name: many}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {team: blue}}}
  ingress: [{action: Accept, from: [{namespaces: {}}], ports: [%s]}, {action: Deny, from: [{namespaces: {matchLabels: {team: red}}}]%s}]`
	checkAWSFlows(t, with(awsCNP(fmt.Sprintf(doc, strings.Join(ports, ", "), ""))), []flowCase{
		{"b/client", "a/server", 80, tcp, Unspecified}, // 25 entries for b's addresses
		{"a/client", "a/server", 80, tcp, Allowed},     // 24 for a's: all kept
		{"a/client", "a/server", 1000, tcp, Allowed},
	})
}

func TestEKSStrictMode(t *testing.T) {
	egressOnly := np("a", "metadata: {name: egress}\nspec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{}]}")
	t.Run("a pod no NetworkPolicy selects is denied both ways", func(t *testing.T) {
		checkAWSFlows(t, withMode(with(egressOnly), model.AWSModeStrict), []flowCase{
			{"a/client", "b/server", 8080, tcp, Denied}, // b/server: ingress denied
			{"b/client", "a/client", 80, tcp, Denied},   // b/client: egress denied
			{"a/client", "198.51.100.10", 443, tcp, Allowed},
			{"198.51.100.10", "a/client", 80, tcp, Allowed}, // selected for egress: ingress open
		})
	})
	t.Run("a ClusterNetworkPolicy's Accept lets it through", func(t *testing.T) {
		m := withMode(with(awsCNP(`metadata: {name: open}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Accept, from: [{namespaces: {}}]}]
  egress: [{action: Accept, to: [{namespaces: {}}]}]`)), model.AWSModeStrict)
		checkAWSFlows(t, m, []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"b/client", "198.51.100.10", 80, tcp, Denied},
		})
		r := New(m).Evaluate(Flow{From: endpointOf(t, m, "b/client"), To: endpointOf(t, m, "198.51.100.10"), Port: 80, Protocol: tcp}, true)
		if r.Egress.Tier != TierStrictMode || !hasHint(r, HintEKSStrictMode) {
			t.Errorf("egress %+v hints %v", r.Egress, r.Hints)
		}
	})
	t.Run("standard mode and no mode allow", func(t *testing.T) {
		for _, mode := range []string{"", model.AWSModeStandard} {
			checkAWSFlows(t, withMode(with(), mode), []flowCase{{"a/client", "b/server", 8080, tcp, Allowed}})
		}
	})
	t.Run("an unknown mode leaves it open", func(t *testing.T) {
		m := withMode(with(egressOnly), model.AWSModeUnknown)
		checkAWSFlows(t, m, []flowCase{
			{"a/client", "b/server", 8080, tcp, Unspecified},
			{"a/client", "198.51.100.10", 443, tcp, Allowed},
		})
		r := New(m).Evaluate(Flow{From: endpointOf(t, m, "a/client"), To: endpointOf(t, m, "b/server"), Port: 8080, Protocol: tcp}, true)
		if !strings.Contains(r.Ingress.Undecided, "could not be read") {
			t.Errorf("ingress %+v", r.Ingress)
		}
	})
}
