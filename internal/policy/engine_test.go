package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

const (
	tcp  = corev1.ProtocolTCP
	udp  = corev1.ProtocolUDP
	sctp = corev1.ProtocolSCTP
)

// Two namespaces with a client and a server each, used by most tests.
func basePods() []item {
	return []item{
		ns("a", "team=blue"), ns("b", "team=red"),
		pod("a/client", "app=client", "10.0.1.1"),
		pod("a/server", "app=server,tier=web", "10.0.1.2", "http:80/TCP", "dns:53/UDP"),
		pod("b/client", "app=client", "10.0.2.1"),
		pod("b/server", "app=server", "10.0.2.2", "http:8080/TCP"),
	}
}

func with(items ...item) *model.Model { return newModel(append(basePods(), items...)...) }

func TestNoPolicyAllowsEverything(t *testing.T) {
	checkFlows(t, with(), []flowCase{
		{"a/client", "b/server", 8080, tcp, Allowed},
		{"b/client", "a/server", 1, udp, Allowed},
		{"a/client", "203.0.113.9", 443, tcp, Allowed},
		{"203.0.113.9", "a/server", 80, tcp, Allowed},
	})
}

func TestPolicyTypesInference(t *testing.T) {
	t.Run("empty policy isolates ingress only", func(t *testing.T) {
		checkFlows(t, with(np("a", "metadata: {name: p}\nspec: {podSelector: {}}")), []flowCase{
			{"b/client", "a/server", 80, tcp, Denied},
			{"a/client", "a/server", 80, tcp, Denied},
			{"a/server", "b/server", 8080, tcp, Allowed}, // egress untouched
		})
	})
	t.Run("egress rules without policyTypes isolate both directions", func(t *testing.T) {
		checkFlows(t, with(np("a", `metadata: {name: p}
spec:
  podSelector: {}
  egress: [{to: [{namespaceSelector: {}}]}]`)), []flowCase{
			{"a/client", "b/server", 8080, tcp, Allowed},
			{"a/client", "203.0.113.9", 443, tcp, Denied},
			{"b/client", "a/server", 80, tcp, Denied}, // ingress isolated too, with no ingress rule
		})
	})
	t.Run("policyTypes Egress ignores ingress rules and leaves ingress open", func(t *testing.T) {
		checkFlows(t, with(np("a", `metadata: {name: p}
spec:
  podSelector: {}
  policyTypes: [Egress]
  ingress: [{from: [{podSelector: {matchLabels: {app: nobody}}}]}]`)), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"a/client", "b/server", 8080, tcp, Denied},
		})
	})
	t.Run("policyTypes Ingress ignores egress rules", func(t *testing.T) {
		checkFlows(t, with(np("a", `metadata: {name: p}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  egress: [{to: [{podSelector: {matchLabels: {app: nobody}}}]}]`)), []flowCase{
			{"a/client", "b/server", 8080, tcp, Allowed},
			{"b/client", "a/server", 80, tcp, Denied},
		})
	})
	t.Run("a policy only isolates the pods it selects", func(t *testing.T) {
		checkFlows(t, with(np("a", "metadata: {name: p}\nspec: {podSelector: {matchLabels: {app: server}}, policyTypes: [Ingress, Egress]}")), []flowCase{
			{"b/client", "a/server", 80, tcp, Denied},
			{"b/server", "a/client", 1, tcp, Allowed},
			{"a/client", "b/server", 8080, tcp, Allowed},
			{"a/server", "b/server", 8080, tcp, Denied},
		})
	})
	t.Run("a policy never selects pods of another namespace", func(t *testing.T) {
		checkFlows(t, with(np("b", "metadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Ingress]}")), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"a/client", "b/server", 8080, tcp, Denied},
		})
	})
}

func TestPoliciesAreAUnion(t *testing.T) {
	checkFlows(t, with(
		np("a", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress]}"),
		np("a", `metadata: {name: http-from-b}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}}], ports: [{port: 80}]}]`),
		np("a", `metadata: {name: dns-from-a}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {}}], ports: [{port: 53, protocol: UDP}]}]`),
	), []flowCase{
		{"b/client", "a/server", 80, tcp, Allowed},
		{"a/client", "a/server", 80, tcp, Denied},
		{"a/client", "a/server", 53, udp, Allowed},
		{"b/client", "a/server", 53, udp, Denied},
	})
}

func TestEmptyRulesVersusNoRules(t *testing.T) {
	t.Run("ingress: [{}] allows everything, external too", func(t *testing.T) {
		checkFlows(t, with(np("a", "metadata: {name: p}\nspec: {podSelector: {}, ingress: [{}]}")), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"198.51.100.7", "a/server", 9999, udp, Allowed},
		})
	})
	t.Run("ingress: [] allows nothing", func(t *testing.T) {
		checkFlows(t, with(np("a", "metadata: {name: p}\nspec: {podSelector: {}, ingress: []}")), []flowCase{
			{"b/client", "a/server", 80, tcp, Denied},
			{"198.51.100.7", "a/server", 80, tcp, Denied},
		})
	})
	t.Run("egress: [{}] allows everything", func(t *testing.T) {
		checkFlows(t, with(np("a", "metadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{}]}")), []flowCase{
			{"a/client", "203.0.113.1", 1, sctp, Allowed},
			{"a/client", "b/server", 8080, tcp, Allowed},
		})
	})
	t.Run("a rule with ports and no peers allows every peer on those ports", func(t *testing.T) {
		checkFlows(t, with(np("a", "metadata: {name: p}\nspec: {podSelector: {}, ingress: [{ports: [{port: 80}]}]}")), []flowCase{
			{"198.51.100.7", "a/server", 80, tcp, Allowed},
			{"b/client", "a/server", 81, tcp, Denied},
		})
	})
	t.Run("from: [] is the same as no from", func(t *testing.T) {
		checkFlows(t, with(np("a", "metadata: {name: p}\nspec: {podSelector: {}, ingress: [{from: [], ports: [{port: 80}]}]}")), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
		})
	})
}

func TestPeers(t *testing.T) {
	deny := np("a", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress]}")
	t.Run("podSelector alone means the policy's own namespace", func(t *testing.T) {
		checkFlows(t, with(deny, np("a", `metadata: {name: p}
spec: {podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]}`)), []flowCase{
			{"a/client", "a/server", 80, tcp, Allowed},
			{"b/client", "a/server", 80, tcp, Denied},
		})
	})
	t.Run("namespaceSelector alone means every pod of the matching namespaces", func(t *testing.T) {
		checkFlows(t, with(deny, np("a", `metadata: {name: p}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}}]}]}`)), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"b/server", "a/server", 80, tcp, Allowed},
			{"a/client", "a/server", 80, tcp, Denied},
		})
	})
	t.Run("both selectors in ONE peer: AND", func(t *testing.T) {
		checkFlows(t, with(deny, np("a", `metadata: {name: p}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}, podSelector: {matchLabels: {app: client}}}]}]`)), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"b/server", "a/server", 80, tcp, Denied},
			{"a/client", "a/server", 80, tcp, Denied},
		})
	})
	t.Run("two peers: OR", func(t *testing.T) {
		checkFlows(t, with(deny, np("a", `metadata: {name: p}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}}, {podSelector: {matchLabels: {app: client}}}]}]`)), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"b/server", "a/server", 80, tcp, Allowed},
			{"a/client", "a/server", 80, tcp, Allowed},
		})
	})
	t.Run("empty selectors match everything in the cluster, nothing outside", func(t *testing.T) {
		checkFlows(t, with(deny, np("a", `metadata: {name: p}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {}}]}]}`)), []flowCase{
			{"b/server", "a/server", 80, tcp, Allowed},
			{"a/client", "a/server", 80, tcp, Allowed},
			{"203.0.113.5", "a/server", 80, tcp, Denied},
		})
	})
	t.Run("empty podSelector in a peer is every pod of the own namespace", func(t *testing.T) {
		checkFlows(t, with(deny, np("a", `metadata: {name: p}
spec: {podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}`)), []flowCase{
			{"a/client", "a/server", 80, tcp, Allowed},
			{"b/client", "a/server", 80, tcp, Denied},
		})
	})
	t.Run("the automatic kubernetes.io/metadata.name label", func(t *testing.T) {
		checkFlows(t, with(deny, np("a", `metadata: {name: p}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: b}}}]}]}`)), []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"a/client", "a/server", 80, tcp, Denied},
		})
	})
}

func TestMatchExpressions(t *testing.T) {
	deny := np("a", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress]}")
	m := newModel(
		ns("a", ""), ns("b", "env=prod"), ns("c", "env=dev"), ns("d", ""),
		pod("a/server", "app=server", "10.0.0.1"),
		pod("b/x", "app=x,role=api", "10.0.0.2"), pod("c/x", "app=x", "10.0.0.3"), pod("d/x", "app=x,role=", "10.0.0.4"),
		deny,
	)
	cases := []struct {
		selector string
		allowed  map[string]bool
	}{
		{"namespaceSelector: {matchExpressions: [{key: env, operator: In, values: [prod, staging]}]}", map[string]bool{"b/x": true}},
		{"namespaceSelector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}", map[string]bool{"c/x": true, "d/x": true}},
		{"namespaceSelector: {matchExpressions: [{key: env, operator: Exists}]}", map[string]bool{"b/x": true, "c/x": true}},
		{"namespaceSelector: {matchExpressions: [{key: env, operator: DoesNotExist}]}", map[string]bool{"d/x": true}},
		{"namespaceSelector: {}\n      podSelector: {matchExpressions: [{key: role, operator: Exists}]}", map[string]bool{"b/x": true, "d/x": true}},
		{"namespaceSelector: {}\n      podSelector: {matchExpressions: [{key: role, operator: NotIn, values: [api]}]}", map[string]bool{"c/x": true, "d/x": true}},
		{"namespaceSelector: {}\n      podSelector: {matchLabels: {app: x}, matchExpressions: [{key: role, operator: DoesNotExist}]}", map[string]bool{"c/x": true}},
		{"namespaceSelector: {matchLabels: {env: prod}, matchExpressions: [{key: env, operator: In, values: [dev]}]}", map[string]bool{}},
	}
	for _, c := range cases {
		t.Run(c.selector, func(t *testing.T) {
			mm := *m
			mm.Policies = append(append([]*networkingv1NP(nil), m.Policies...), np("a", "metadata: {name: p}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - "+c.selector).(npItem).NetworkPolicy)
			var flows []flowCase
			for _, src := range []string{"b/x", "c/x", "d/x"} {
				want := Denied
				if c.allowed[src] {
					want = Allowed
				}
				flows = append(flows, flowCase{src, "a/server", 80, tcp, want})
			}
			checkFlows(t, &mm, flows)
		})
	}
}

func TestPorts(t *testing.T) {
	deny := np("a", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}")
	m := func(rule string) *model.Model {
		return newModel(ns("a", ""), ns("b", ""),
			pod("a/server", "app=server", "10.0.0.1", "http:80/TCP", "metrics:9090/TCP", "dns:53/UDP", "alt:8080/TCP"),
			pod("a/other", "app=other", "10.0.0.2", "http:81/TCP", "metrics:9091/UDP"),
			pod("b/client", "app=client", "10.0.1.1"),
			deny,
			np("a", "metadata: {name: p}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: "+rule),
		)
	}
	tests := []struct {
		rule  string
		flows []flowCase
	}{
		{"[{port: 80}]", []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"b/client", "a/server", 80, udp, Denied}, // protocol defaults to TCP
			{"b/client", "a/server", 8080, tcp, Denied},
		}},
		{"[{port: 80, protocol: UDP}]", []flowCase{
			{"b/client", "a/server", 80, udp, Allowed},
			{"b/client", "a/server", 80, tcp, Denied},
		}},
		{"[{port: 80, protocol: SCTP}]", []flowCase{
			{"b/client", "a/server", 80, sctp, Allowed},
			{"b/client", "a/server", 80, tcp, Denied},
		}},
		{"[{port: 8000, endPort: 8080}]", []flowCase{
			{"b/client", "a/server", 8000, tcp, Allowed},
			{"b/client", "a/server", 8080, tcp, Allowed},
			{"b/client", "a/server", 8081, tcp, Denied},
			{"b/client", "a/server", 7999, tcp, Denied},
		}},
		{"[{protocol: UDP}]", []flowCase{
			{"b/client", "a/server", 53, udp, Allowed},
			{"b/client", "a/server", 65535, udp, Allowed},
			{"b/client", "a/server", 53, tcp, Denied},
		}},
		{"[{port: http}]", []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"b/client", "a/other", 81, tcp, Allowed}, // resolved per destination pod
			{"b/client", "a/other", 80, tcp, Denied},
			{"b/client", "a/server", 81, tcp, Denied},
		}},
		{"[{port: metrics}]", []flowCase{
			{"b/client", "a/server", 9090, tcp, Allowed},
			{"b/client", "a/other", 9091, udp, Denied}, // declared for UDP, rule is TCP
			{"b/client", "a/other", 9091, tcp, Denied},
		}},
		{"[{port: metrics, protocol: UDP}]", []flowCase{
			{"b/client", "a/other", 9091, udp, Allowed},
			{"b/client", "a/server", 9090, udp, Denied},
		}},
		{"[{port: dns}]", []flowCase{ // the name exists, but for UDP
			{"b/client", "a/server", 53, tcp, Denied},
			{"b/client", "a/server", 53, udp, Denied},
		}},
		{"[{port: 80}, {port: alt}]", []flowCase{
			{"b/client", "a/server", 80, tcp, Allowed},
			{"b/client", "a/server", 8080, tcp, Allowed},
			{"b/client", "a/server", 9090, tcp, Denied},
		}},
		{"[]", []flowCase{ // no ports: all
			{"b/client", "a/server", 1, udp, Allowed},
			{"b/client", "a/server", 65535, sctp, Allowed},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) { checkFlows(t, m(tt.rule), tt.flows) })
	}
}

func TestNamedPortsInEgress(t *testing.T) {
	m := newModel(ns("a", ""), ns("b", ""),
		pod("a/client", "app=client", "10.0.0.1"),
		pod("b/web", "app=web", "10.0.1.1", "http:8080/TCP"),
		pod("b/api", "app=api", "10.0.1.2", "http:3001/TCP"),
		np("a", `metadata: {name: p}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {}}]
    ports: [{port: http}]
  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
    ports: [{port: http}]`),
	)
	checkFlows(t, m, []flowCase{
		{"a/client", "b/web", 8080, tcp, Allowed},
		{"a/client", "b/api", 3001, tcp, Allowed},
		{"a/client", "b/api", 8080, tcp, Denied},
		// A name never matches an address outside the cluster.
		{"a/client", "203.0.113.1", 8080, tcp, Denied},
	})
}

func TestIPBlocks(t *testing.T) {
	m := newModel(ns("a", ""), ns("b", ""),
		pod("a/server", "app=server", "10.0.0.10", "fd00::10"),
		pod("a/client", "app=client", "10.0.0.11", "fd00::11"),
		pod("b/inside", "app=x", "10.1.0.5"),
		pod("b/excepted", "app=x", "10.1.128.5"),
		pod("b/noip", "app=x"),
		np("a", `metadata: {name: in}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{ipBlock: {cidr: 10.1.0.0/16, except: [10.1.128.0/17]}}, {ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:ff::/48"]}}]`),
		np("a", `metadata: {name: out}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]
    ports: [{port: 443}]
  - to: [{ipBlock: {cidr: "2001:db8::/32"}}]`),
	)
	checkFlows(t, m, []flowCase{
		{"10.1.2.3", "a/server", 80, tcp, Allowed},
		{"10.1.200.3", "a/server", 80, tcp, Denied},
		{"10.2.0.1", "a/server", 80, tcp, Denied},
		{"2001:db8:1::1", "a/server", 80, tcp, Allowed},
		{"2001:db8:ff::1", "a/server", 80, tcp, Denied},
		{"b/inside", "a/server", 80, tcp, Allowed}, // ipBlock matches pod IPs too
		{"b/excepted", "a/server", 80, tcp, Denied},
		{"b/noip", "a/server", 80, tcp, Denied},
		{"a/client", "203.0.113.10", 443, tcp, Allowed},
		{"a/client", "203.0.113.200", 443, tcp, Denied},
		{"a/client", "203.0.113.10", 80, tcp, Denied},
		{"a/client", "2001:db8::1", 9, udp, Allowed},
		{"a/client", "198.51.100.1", 443, tcp, Denied},
	})
}

func TestSelfHostNetworkAndOtherLayers(t *testing.T) {
	deny := np("a", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}")
	checkFlows(t, newModel(ns("a", ""), pod("a/p", "app=p", "10.0.0.1"), pod("a/host", "app=h", "hostNetwork", "192.0.2.1"), deny), []flowCase{
		{"a/p", "a/p", 80, tcp, Allowed},
		{"a/host", "a/p", 80, tcp, Unspecified},
		{"a/p", "a/host", 80, tcp, Unspecified},
	})
	checkFlows(t, newModel(ns("a", ""), pod("a/p", "app=p", "10.0.0.1"), pod("a/q", "app=q", "10.0.0.2"), deny, layerItem("AdminNetworkPolicy")), []flowCase{
		{"a/p", "a/q", 80, tcp, Unspecified},
	})
}

func TestBothSidesMustAllow(t *testing.T) {
	denyA := np("a", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}")
	denyB := np("b", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}")
	egress := np("a", `metadata: {name: to-b}
spec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: {team: red}}}], ports: [{port: 8080}]}]}`)
	ingress := np("b", `metadata: {name: from-a}
spec: {podSelector: {matchLabels: {app: server}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}], ports: [{port: 8080}]}]}`)
	checkFlows(t, with(denyA, denyB, egress), []flowCase{{"a/client", "b/server", 8080, tcp, Denied}})
	checkFlows(t, with(denyA, denyB, ingress), []flowCase{{"a/client", "b/server", 8080, tcp, Denied}})
	checkFlows(t, with(denyA, denyB, egress, ingress), []flowCase{
		{"a/client", "b/server", 8080, tcp, Allowed},
		{"a/server", "b/server", 8080, tcp, Denied},
	})
}

func TestInvalidSelectorsMatchNothing(t *testing.T) {
	m := with(
		np("a", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress]}"),
		np("a", `metadata: {name: bad}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: Equals, values: [red]}]}}, {}]}]`),
	)
	checkFlows(t, m, []flowCase{{"b/client", "a/server", 80, tcp, Denied}})
	e := New(m)
	if len(e.Problems) != 2 {
		t.Errorf("problems = %q, want the bad operator and the empty peer", e.Problems)
	}
}

func TestAllowedByIndices(t *testing.T) {
	m := with(
		np("a", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress]}"),
		np("a", `metadata: {name: allow}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: nobody}}}]
  - from: [{podSelector: {matchLabels: {app: nobody}}}, {namespaceSelector: {matchLabels: {team: red}}}]
    ports: [{port: 81}, {port: 80}]
  - {}`),
	)
	e := New(m)
	r := e.Evaluate(Flow{From: PodEndpoint(m.Pod("b", "client")), To: PodEndpoint(m.Pod("a", "server")), Port: 80, Protocol: tcp}, false)
	want := []RuleRef{
		{Namespace: "a", Name: "allow", Rule: 1, Peer: intPtr(1), Port: intPtr(1)},
		{Namespace: "a", Name: "allow", Rule: 2},
	}
	if diff := cmp.Diff(want, r.Ingress.AllowedBy); diff != "" {
		t.Errorf("allowedBy (-want +got):\n%s", diff)
	}
	if !cmp.Equal(r.Ingress.IsolatedBy, []string{"allow", "deny"}) || !r.Ingress.Isolated {
		t.Errorf("isolatedBy = %v", r.Ingress.IsolatedBy)
	}
	if r.Egress.Isolated || len(r.Egress.IsolatedBy) != 0 {
		t.Errorf("egress = %+v, want not isolated", r.Egress)
	}
}

func TestHints(t *testing.T) {
	sample := func(extra ...item) *model.Model {
		m := newModel(append([]item{
			ns("frontend-dev", "name=frontend-dev"), ns("backend-dev", ""), ns("kube-system", ""),
			pod("frontend-dev/frontend", "app=frontend", "10.0.0.1", "http:3000/TCP"),
			pod("backend-dev/backend", "app=backend", "10.0.1.1", "http:3001/TCP", "metrics:8080/TCP"),
			pod("kube-system/coredns", "k8s-app=kube-dns", "10.0.2.1", "dns:53/UDP", "dns-tcp:53/TCP"),
			np("backend-dev", "metadata: {name: deny-all}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}"),
			np("frontend-dev", "metadata: {name: deny-all}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}"),
		}, extra...)...)
		m.Services = append(m.Services, &model.Service{Namespace: "backend-dev", Name: "backend", Selector: map[string]string{"app": "backend"},
			Ports: []model.ServicePort{{Port: 80, TargetPort: intstrFromString("http"), Protocol: tcp}}})
		return m
	}
	tests := []struct {
		name    string
		model   *model.Model
		flow    flowCase
		want    string // a code that must be present
		message string // and a substring of its message
	}{
		{"Service port in the policy", sample(np("backend-dev", `metadata: {name: allow-from-frontend}
spec: {podSelector: {matchLabels: {app: backend}}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 80}]}]}`)),
			flowCase{"frontend-dev/frontend", "backend-dev/backend", 3001, tcp, Denied}, HintServicePortInPolicy, "80/TCP, the port of svc/backend"},
		{"other port allowed", sample(np("backend-dev", `metadata: {name: allow-from-frontend}
spec: {podSelector: {matchLabels: {app: backend}}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 80}]}]}`)),
			flowCase{"frontend-dev/frontend", "backend-dev/backend", 3001, tcp, Denied}, HintOtherPortAllowed, "would allow this peer on 80/TCP, not on 3001/TCP"},
		{"namespace label missing", sample(np("backend-dev", `metadata: {name: allow-from-frontend}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: web}}}]}]}`)),
			flowCase{"frontend-dev/frontend", "backend-dev/backend", 3001, tcp, Denied}, HintNamespaceLabelMissing, "wants namespaces matching team=web; namespace frontend-dev lacks the label team"},
		{"podSelector only", sample(np("backend-dev", `metadata: {name: allow-from-frontend}
spec: {podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}]}]}`)),
			flowCase{"frontend-dev/frontend", "backend-dev/backend", 3001, tcp, Denied}, HintPodSelectorOwnNS, "add a namespaceSelector to the same peer"},
		{"pod labels differ", sample(np("backend-dev", `metadata: {name: allow-from-frontend}
spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}]}]}`)),
			flowCase{"frontend-dev/frontend", "backend-dev/backend", 3001, tcp, Denied}, HintPodLabelMismatch, "wants pods matching app=web"},
		{"named port not declared", sample(np("backend-dev", `metadata: {name: allow-from-monitoring}
spec: {podSelector: {}, ingress: [{ports: [{port: prometheus}]}]}`)),
			flowCase{"frontend-dev/frontend", "backend-dev/backend", 8080, tcp, Denied}, HintNamedPortNotDeclared, "named port prometheus/TCP"},
		{"DNS over UDP only", sample(np("frontend-dev", `metadata: {name: allow-dns}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 53, protocol: UDP}]}]}`)),
			flowCase{"frontend-dev/frontend", "kube-system/coredns", 53, udp, Allowed}, HintDNSUDPOnly, "not over TCP"},
		{"protocol mismatch", sample(np("frontend-dev", `metadata: {name: allow-dns}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 53, protocol: UDP}]}]}`)),
			flowCase{"frontend-dev/frontend", "kube-system/coredns", 53, tcp, Denied}, HintProtocolMismatch, "allows 53/UDP but not 53/TCP"},
		{"forgeable namespace label", sample(np("backend-dev", `metadata: {name: allow-from-frontend}
spec: {podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{from: [{namespaceSelector: {matchLabels: {name: frontend-dev}}}]}]}`),
			np("frontend-dev", "metadata: {name: out}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{}]}")),
			flowCase{"frontend-dev/frontend", "backend-dev/backend", 3001, tcp, Allowed}, HintForgeableNamespace, "selects namespaces by name"},
		{"ipBlock matches a pod", sample(np("backend-dev", `metadata: {name: cidr}
spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/24}}]}]}`),
			np("frontend-dev", "metadata: {name: out}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{}]}")),
			flowCase{"frontend-dev/frontend", "backend-dev/backend", 3001, tcp, Allowed}, HintIPBlockMatchesPod, "implementations differ"},
		{"policy selecting nothing", sample(np("backend-dev", `metadata: {name: allow-from-frontend}
spec: {podSelector: {matchLabels: {app: backendd}}, ingress: [{}]}`)),
			flowCase{"frontend-dev/frontend", "backend-dev/backend", 3001, tcp, Denied}, HintSelectorMatchesNothing, "backend-dev/allow-from-frontend selects no pod (podSelector app=backendd)"},
		{"not isolated", newModel(ns("a", ""), pod("a/x", "", "10.0.0.1"), pod("a/y", "", "10.0.0.2")),
			flowCase{"a/x", "a/y", 1, tcp, Allowed}, HintNotIsolated, "no NetworkPolicy selects a/x for egress"},
		{"host network", newModel(ns("a", ""), pod("a/x", "", "hostNetwork"), pod("a/y", "", "10.0.0.2")),
			flowCase{"a/x", "a/y", 1, tcp, Unspecified}, HintHostNetwork, "host network"},
		{"self", newModel(ns("a", ""), pod("a/x", "", "10.0.0.1")),
			flowCase{"a/x", "a/x", 1, tcp, Allowed}, HintSelfTraffic, "itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFlows(t, tt.model, []flowCase{tt.flow})
			e := New(tt.model)
			r := e.Evaluate(Flow{From: endpointOf(t, tt.model, tt.flow.from), To: endpointOf(t, tt.model, tt.flow.to), Port: tt.flow.port, Protocol: tt.flow.proto}, true)
			for _, h := range r.Hints {
				if h.Code == tt.want && strings.Contains(h.Message, tt.message) {
					return
				}
			}
			t.Errorf("no %s hint containing %q in %+v", tt.want, tt.message, r.Hints)
		})
	}
}

// A pod read from a template has no address yet: a block of every address
// of the cluster's family (no except) holds it for sure; any other block
// cannot be known to, and is read as no match with the PodWithoutIP hint.
func TestAnAddresslessPodIsInABlockOfEveryAddress(t *testing.T) {
	for _, tt := range []struct {
		name, block string
		want        Verdict
	}{
		{"every IPv4 address", `{cidr: "0.0.0.0/0"}`, Allowed},
		{"every IPv4 address but some", `{cidr: "0.0.0.0/0", except: ["10.0.0.0/8"]}`, Denied},
		{"a range", `{cidr: "10.0.0.0/8"}`, Denied},
		{"every IPv6 address in an IPv4 cluster", `{cidr: "::/0"}`, Denied},
	} {
		m := newModel(ns("a", ""), ns("b", ""), pod("a/server", "app=server", "10.0.0.10"), pod("b/template", "app=x"),
			np("a", `metadata: {name: in}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{ipBlock: `+tt.block+`}]`))
		t.Run(tt.name, func(t *testing.T) {
			checkFlows(t, m, []flowCase{{"b/template", "a/server", 80, tcp, tt.want}})
		})
	}
}
