package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// The EKS network policy agent's own integration scenarios for its
// ClusterNetworkPolicy (networking.k8s.aws/v1alpha1), ported from
// aws-network-policy-agent test/integration/clusternetworkpolicy/ (commit
// c8619c0). Each It becomes a subtest of the same name: the namespaces
// (labels test=… and name=…, as the suite creates them), one pod per
// deployment with the deployment's labels and the ports its servers
// listen on, the NetworkPolicies and ClusterNetworkPolicies as the
// test/framework/manifest builders produce them, and every connection the
// It checks (a reply → Allowed, an error or timeout → Denied).
//
// The builders: SubjectNamespaces(l) is subject.namespaces.matchLabels l;
// SubjectPods(n, p) and NewPodsPeer(n, p) are pods {namespaceSelector
// matchLabels n, podSelector matchLabels p}; NewNetworksPeer is networks;
// NewDomainNamesPeer is domainNames; AddPort(n, proto) adds {portNumber:
// {port: n, protocol: proto}}; matchAllCIDR is 0.0.0.0/0 (the IPv4 run).
// NewNetworkPolicyBuilder().PodSelector(k, v).SetPolicyTypes(…) with no
// rules is a NetworkPolicy that isolates and allows nothing.
//
// Where the suite branches on IsAutoCluster for DNS, the domain tests (run
// only on auto clusters) take the networks peer dnsCIDRAddress
// (10.100.0.10/32, the kube-dns ClusterIP, an IP endpoint here); the
// others take the pods peer kube-system/k8s-app=kube-dns, the CoreDNS pod.
// The engine decides flows after the Service's DNAT (pod to pod); the
// controller resolves a pods peer of an egress rule with its Services'
// ClusterIPs too, so both hold for the agent.
//
// An engine answer that differs from the scenario's expectation goes in the
// scenario's disagreements table: logged, with the reason, not failed.

// awsPortedScenario is one It.
type awsPortedScenario struct {
	name  string // the It text
	items []item // NetworkPolicies and ClusterNetworkPolicies of the It
	flows []flowCase
	// disagreements: flows where the engine's answer differs from the
	// scenario's expectation (want); logged with why, not asserted.
	disagreements []awsDisagreement
}

type awsDisagreement struct {
	flowCase
	why string
}

func runAWSPorted(t *testing.T, base []item, scenarios []awsPortedScenario) {
	t.Helper()
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			m := withMode(newModel(append(append([]item{}, base...), s.items...)...), model.AWSModeStandard)
			for _, p := range m.ClusterPolicies {
				if len(p.Problems) > 0 || p.Unresolvable != "" {
					t.Errorf("%s: the scenario's policy should be valid and resolvable: %v %q", p.Name, p.Problems, p.Unresolvable)
				}
			}
			checkAWSFlows(t, m, s.flows)
			e := New(m)
			// The only Unspecified these scenarios expect is a domainNames
			// peer's: check it is undecided for that reason.
			for _, c := range s.flows {
				if c.want != Unspecified {
					continue
				}
				r := e.Evaluate(Flow{From: endpointOf(t, m, c.from), To: endpointOf(t, m, c.to), Port: c.port, Protocol: c.proto}, true)
				if !strings.Contains(r.Egress.Undecided, "it names domains") {
					t.Errorf("%s -> %s %d/%s: undecided for another reason: egress %+v ingress %+v", c.from, c.to, c.port, c.proto, r.Egress, r.Ingress)
				}
			}
			for _, d := range s.disagreements {
				proto := d.proto
				if proto == "" {
					proto = tcp
				}
				got := e.Evaluate(Flow{From: endpointOf(t, m, d.from), To: endpointOf(t, m, d.to), Port: d.port, Protocol: proto}, true)
				t.Logf("disagreement: %s -> %s %d/%s: engine %s, scenario expects %s: %s", d.from, d.to, d.port, proto, got.Verdict, d.want, d.why)
			}
		})
	}
}

// coreDNS is the kube-dns pod the non-auto branches' pods peer selects.
func coreDNS() []item {
	return []item{
		ns("kube-system", ""),
		pod("kube-system/coredns", "k8s-app=kube-dns", "198.18.0.53", "dns:53/UDP", "dns-tcp:53/TCP"),
	}
}

// From test/integration/clusternetworkpolicy/rules_preceedence_test.go
// ("Cluster Network Policy Tests": test-ns1, test-ns2, quarantine-ns; web
// and api in test-ns1, db in test-ns2, compromised in quarantine-ns; each
// serves 8080/TCP and 5353/UDP). Every It fetches db by its pod IP but the
// zero-trust one, which goes through db-service (8080/TCP), and needs DNS.
func TestAWSPortedRulesPrecedence(t *testing.T) {
	base := append([]item{
		ns("test-ns1", "test=advanced-policy,name=test-ns1"),
		ns("test-ns2", "test=advanced-policy,name=test-ns2"),
		ns("quarantine-ns", "test=advanced-policy,name=quarantine-ns"),
		pod("test-ns1/web", "app=web,tier=frontend", "198.18.1.1", "8080/TCP", "5353/UDP"),
		pod("test-ns1/api", "app=api,tier=backend", "198.18.1.2", "8080/TCP", "5353/UDP"),
		pod("test-ns2/db", "app=db,tier=database", "198.18.2.1", "8080/TCP", "5353/UDP"),
		pod("quarantine-ns/compromised", "app=compromised,status=quarantined", "198.18.3.1", "8080/TCP", "5353/UDP"),
	}, coreDNS()...)
	denyWebEgress := np("test-ns1", `metadata: {name: network-deny-policy}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress]}`)
	runAWSPorted(t, base, []awsPortedScenario{
		{
			name: "should enforce lower priority Admin policy over higher priority Admin policy",
			items: []item{
				awsCNP(`metadata: {name: high-priority-deny}
spec:
  tier: Admin
  priority: 50
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - {name: deny-all-high-priority, action: Deny, to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {}}}]}`),
				awsCNP(`metadata: {name: low-priority-allow}
spec:
  tier: Admin
  priority: 10
  subject: {pods: {namespaceSelector: {matchLabels: {name: test-ns1}}, podSelector: {matchLabels: {app: api}}}}
  egress:
  - {name: allow-specific-low-priority, action: Accept, to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]}`),
			},
			flows: []flowCase{
				{"test-ns1/api", "test-ns2/db", 8080, tcp, Allowed}, // priority 10's Accept before 50's Deny
			},
		},
		{
			name: "should enforce Admin tier over Baseline tier regardless of priority",
			items: []item{
				awsCNP(`metadata: {name: baseline-high-priority-deny}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {matchLabels: {test: advanced-policy}}}
  egress:
  - {name: baseline-deny-all, action: Deny, to: [{networks: [0.0.0.0/0]}]}`),
				awsCNP(`metadata: {name: admin-low-priority-allow}
spec:
  tier: Admin
  priority: 100
  subject: {pods: {namespaceSelector: {matchLabels: {name: test-ns1}}, podSelector: {matchLabels: {app: web}}}}
  egress:
  - {name: admin-allow-specific, action: Accept, to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {}}}]}`),
			},
			flows: []flowCase{
				{"test-ns1/web", "test-ns2/db", 8080, tcp, Allowed},
			},
		},
		{
			name: "should enforce Network policy over baseline cluster policies",
			items: []item{
				awsCNP(`metadata: {name: cluster-allow-policy}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - {name: cluster-allow-all, action: Accept, to: [{networks: [0.0.0.0/0]}]}`),
				denyWebEgress,
			},
			flows: []flowCase{
				{"test-ns1/web", "test-ns2/db", 8080, tcp, Denied}, // the NetworkPolicy isolates web before the baseline
			},
		},
		{
			name: "should enforce Admin tier cluster policy over network policy",
			items: []item{
				np("test-ns1", `metadata: {name: network-deny-all-policy}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress]}`),
				awsCNP(`metadata: {name: admin-override-network-policy}
spec:
  tier: Admin
  priority: 50
  subject: {pods: {namespaceSelector: {matchLabels: {name: test-ns1}}, podSelector: {matchLabels: {app: web}}}}
  egress:
  - {name: admin-allow-override, action: Accept, to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]}`),
			},
			flows: []flowCase{
				{"test-ns1/web", "test-ns2/db", 8080, tcp, Allowed},
			},
		},
		{
			name: "should enforce DENY over ALLOW when both have same priority",
			items: []item{
				awsCNP(`metadata: {name: same-priority-allow}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - {name: allow-db, action: Accept, to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]}`),
				awsCNP(`metadata: {name: same-priority-deny}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - {name: deny-db, action: Deny, to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]}`),
			},
			flows: []flowCase{
				{"test-ns1/web", "test-ns2/db", 8080, tcp, Denied},
			},
		},
		{
			name: "should enforce ALLOW over PASS when both have same priority",
			items: []item{
				awsCNP(`metadata: {name: same-priority-allow-vs-pass}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - {name: allow-db, action: Accept, to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]}`),
				awsCNP(`metadata: {name: same-priority-pass}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - {name: pass-db, action: Pass, to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]}`),
			},
			flows: []flowCase{
				{"test-ns1/web", "test-ns2/db", 8080, tcp, Allowed},
			},
		},
		{
			// The It asserts only the TCP fetch; the UDP Accept is set up
			// but never exercised.
			name: "should handle UDP and TCP traffic differently",
			items: []item{
				awsCNP(`metadata: {name: protocol-specific-policy}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - name: allow-udp
    action: Accept
    ports: [{portNumber: {port: 5353, protocol: UDP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {}}}]
  - name: deny-tcp
    action: Deny
    ports: [{portNumber: {port: 8080, protocol: TCP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {}}}]`),
			},
			flows: []flowCase{
				{"test-ns1/web", "test-ns2/db", 8080, tcp, Denied},
			},
		},
		{
			name: "should enforce different policies for different ports",
			items: []item{
				awsCNP(`metadata: {name: multi-port-policy}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - name: allow-http
    action: Accept
    ports: [{portNumber: {port: 80, protocol: TCP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {}}}]
  - name: deny-https
    action: Deny
    ports: [{portNumber: {port: 443, protocol: TCP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {}}}]
  - name: allow-custom
    action: Accept
    ports: [{portNumber: {port: 8080, protocol: TCP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]`),
			},
			flows: []flowCase{
				{"test-ns1/web", "test-ns2/db", 8080, tcp, Allowed},
			},
		},
		{
			// Non-auto branch: DNS goes to the CoreDNS pod. The It reaches
			// db through db-service.test-ns2.svc.cluster.local:8080, so
			// both fetches resolve the name first (53/UDP).
			name: "should implement zero trust with baseline deny-all and specific admin allows",
			items: []item{
				awsCNP(`metadata: {name: zero-trust-baseline}
spec:
  tier: Baseline
  priority: 100
  subject: {namespaces: {matchLabels: {test: advanced-policy}}}
  egress:
  - {name: zero-trust-deny, action: Deny, to: [{networks: [0.0.0.0/0]}]}`),
				awsCNP(`metadata: {name: zero-trust-dns}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {test: advanced-policy}}}
  egress:
  - name: allow-dns
    action: Accept
    ports: [{portNumber: {port: 53, protocol: UDP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]`),
				awsCNP(`metadata: {name: zero-trust-api}
spec:
  tier: Admin
  priority: 20
  subject: {pods: {namespaceSelector: {matchLabels: {name: test-ns1}}, podSelector: {matchLabels: {app: api}}}}
  egress:
  - name: allow-api-to-db
    action: Accept
    ports: [{portNumber: {port: 8080, protocol: TCP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]`),
			},
			flows: []flowCase{
				{"test-ns1/api", "kube-system/coredns", 53, udp, Allowed}, // the name lookup the fetch needs
				{"test-ns1/api", "test-ns2/db", 8080, tcp, Allowed},
				{"test-ns1/web", "kube-system/coredns", 53, udp, Allowed},
				{"test-ns1/web", "test-ns2/db", 8080, tcp, Denied}, // the baseline's deny-all
			},
		},
		{
			// The UDP probe is `timeout 5 nc -u <host> 5353` with the host
			// built by fmt.Sprint (not Sprintf): "%s198.18.2.1", which nc
			// cannot resolve, and nc -u waits out the timeout anyway, so
			// the probe errs whatever the policy. The policies deny it all
			// the same (priority 100's Deny has no ports).
			name: "should allow specific protocol with priority 1 and deny everything else with priority 100",
			items: []item{
				awsCNP(`metadata: {name: allow-tcp-priority-1}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - name: allow-tcp-only
    action: Accept
    ports: [{portNumber: {port: 8080, protocol: TCP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]`),
				awsCNP(`metadata: {name: deny-all-priority-100}
spec:
  tier: Admin
  priority: 100
  subject: {namespaces: {matchLabels: {name: test-ns1}}}
  egress:
  - {name: deny-all-protocols, action: Deny, to: [{pods: {namespaceSelector: {matchLabels: {name: test-ns2}}, podSelector: {matchLabels: {app: db}}}}]}`),
			},
			flows: []flowCase{
				{"test-ns1/web", "test-ns2/db", 8080, tcp, Allowed},
				{"test-ns1/web", "test-ns2/db", 5353, udp, Denied},
			},
		},
	})
}

// From test/integration/clusternetworkpolicy/multi_deployment_with_tiered_policy_test.go
// ("Multi-Deployment ClusterNetworkPolicy Tests": ns1-ns4; app1 and app2
// in ns1, app3 in ns2, app4 in ns3, app5 in ns4; each serves 8080/TCP
// only). The DNS rules take the non-auto branch (the CoreDNS pod).
func TestAWSPortedMultiDeploymentTiered(t *testing.T) {
	base := append([]item{
		ns("ns1", "test=multi-deployment,name=ns1"),
		ns("ns2", "test=multi-deployment,name=ns2"),
		ns("ns3", "test=multi-deployment,name=ns3"),
		ns("ns4", "test=multi-deployment,name=ns4"),
		pod("ns1/app1", "app=app1,tier=frontend", "198.18.11.1", "8080/TCP"),
		pod("ns1/app2", "app=app2,tier=backend", "198.18.11.2", "8080/TCP"),
		pod("ns2/app3", "app=app3,tier=database", "198.18.12.1", "8080/TCP"),
		pod("ns3/app4", "app=app4,tier=cache", "198.18.13.1", "8080/TCP"),
		pod("ns4/app5", "app=app5,tier=worker", "198.18.14.1", "8080/TCP"),
	}, coreDNS()...)
	runAWSPorted(t, base, []awsPortedScenario{
		{
			name: "should enforce tiered cluster network policies correctly",
			items: []item{
				awsCNP(`metadata: {name: allow-coredns-policy}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {test: multi-deployment}}}
  egress:
  - name: allow-coredns
    action: Accept
    ports: [{portNumber: {port: 53, protocol: TCP}}, {portNumber: {port: 53, protocol: UDP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]`),
				awsCNP(`metadata: {name: same-namespace-policy}
spec:
  tier: Admin
  priority: 20
  subject: {pods: {namespaceSelector: {matchLabels: {name: ns1}}, podSelector: {}}}
  ingress:
  - {name: allow-same-ns-ingress, action: Accept, from: [{pods: {namespaceSelector: {matchLabels: {name: ns1}}, podSelector: {}}}]}
  egress:
  - {name: allow-same-ns-egress, action: Accept, to: [{pods: {namespaceSelector: {matchLabels: {name: ns1}}, podSelector: {}}}]}`),
				awsCNP(`metadata: {name: ns2-to-ns3-policy}
spec:
  tier: Admin
  priority: 30
  subject: {pods: {namespaceSelector: {matchLabels: {name: ns2}}, podSelector: {}}}
  ingress:
  - {name: allow-ns2-to-ns3-ingress, action: Accept, from: [{pods: {namespaceSelector: {matchLabels: {name: ns2}}, podSelector: {}}}]}
  egress:
  - {name: allow-ns2-to-ns3-egress, action: Accept, to: [{pods: {namespaceSelector: {matchLabels: {name: ns3}}, podSelector: {}}}]}`),
				awsCNP(`metadata: {name: default-pass-policy}
spec:
  tier: Admin
  priority: 100
  subject: {namespaces: {matchLabels: {test: multi-deployment}}}
  egress:
  - {name: default-pass, action: Pass, to: [{networks: [0.0.0.0/0]}]}`),
				awsCNP(`metadata: {name: baseline-deny-all}
spec:
  tier: Baseline
  priority: 20
  subject: {namespaces: {matchLabels: {test: multi-deployment}}}
  egress:
  - {name: deny-all-baseline, action: Deny, to: [{networks: [0.0.0.0/0]}]}`),
			},
			flows: []flowCase{
				{"ns1/app1", "ns1/app2", 8080, tcp, Allowed}, // same namespace
				{"ns2/app3", "ns3/app4", 8080, tcp, Allowed}, // ns2 to ns3
				{"ns1/app1", "ns2/app3", 8080, tcp, Denied},  // passed, then the baseline's deny
				{"ns3/app4", "ns2/app3", 8080, tcp, Denied},  // only ns2 to ns3 is accepted
				{"ns4/app5", "ns1/app1", 8080, tcp, Denied},  // the baseline
				{"ns4/app5", "ns2/app3", 8080, tcp, Denied},
				{"ns1/app1", "ns4/app5", 8080, tcp, Denied},
			},
		},
		{
			// nslookup app3-service.ns2.svc.cluster.local: a UDP query to
			// CoreDNS (53/UDP); then both directions between app1 and app3.
			name: "should allow DNS resolution while denying ns2 traffic",
			items: []item{
				awsCNP(`metadata: {name: allow-coredns-cluster-policy}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {matchLabels: {name: ns1}}}
  egress:
  - name: allow-coredns-egress
    action: Accept
    ports: [{portNumber: {port: 53, protocol: TCP}}, {portNumber: {port: 53, protocol: UDP}}]
    to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]
  ingress:
  - name: allow-coredns-ingress
    action: Accept
    ports: [{portNumber: {port: 53, protocol: TCP}}, {portNumber: {port: 53, protocol: UDP}}]
    from: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]`),
				np("ns1", `metadata: {name: deny-all-ns1-policy}
spec: {podSelector: {matchLabels: {app: app1}}, policyTypes: [Ingress, Egress]}`),
			},
			flows: []flowCase{
				{"ns1/app1", "kube-system/coredns", 53, udp, Allowed},
				{"ns1/app1", "ns2/app3", 8080, tcp, Denied},
				{"ns2/app3", "ns1/app1", 8080, tcp, Denied},
			},
		},
	})
}

// From test/integration/clusternetworkpolicy/domain_policy_test.go
// ("Domain-based Cluster Network Policy Tests", run on auto clusters only:
// domain-test-ns, labelled test=domain-policy; test-app, five replicas of
// one pod template, here one pod; a suite-wide Admin priority 0 policy
// accepts DNS, 53/UDP and 53/TCP, to dnsCIDRAddress 10.100.0.10/32).
//
// Every It names a host (google.com, example.com, …) that the pod resolves
// and fetches. The model knows no name's addresses: a flow goes to an IP
// endpoint, one per host in 198.51.100.0/24 here, which may or may not be
// an address of the domain a rule names. Where a domainNames peer would decide the flow the
// engine answers Unspecified by design (it cannot tell whether the address
// is the domain's), for the expected reply and the expected block alike;
// those flows assert Unspecified. Where the domain rule's ports exclude the
// flow's port, the name does not matter and the engine decides.
func TestAWSPortedDomainPolicy(t *testing.T) {
	const dns = "10.100.0.10" // the kube-dns ClusterIP, dnsCIDRAddress
	base := []item{
		ns("domain-test-ns", "test=domain-policy"),
		pod("domain-test-ns/test-app", "app=test-app", "198.18.21.1"),
		awsCNP(`metadata: {name: allow-dns-policy}
spec:
  tier: Admin
  priority: 0
  subject: {namespaces: {matchLabels: {test: domain-policy}}}
  egress:
  - name: allow-dns
    action: Accept
    ports: [{portNumber: {port: 53, protocol: UDP}}, {portNumber: {port: 53, protocol: TCP}}]
    to: [{networks: [10.100.0.10/32]}]`),
		np("domain-test-ns", `metadata: {name: deny-all-egress}
spec: {podSelector: {matchLabels: {app: test-app}}, policyTypes: [Egress]}`),
	}
	const app = "domain-test-ns/test-app"
	allowDomains := func(name, rule string, port int32, domains string) item {
		return awsCNP(`metadata: {name: ` + name + `}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {test: domain-policy}}}
  egress:
  - name: ` + rule + `
    action: Accept
    ports: [{portNumber: {port: ` + fmt.Sprint(port) + `, protocol: TCP}}]
    to: [{domainNames: [` + domains + `]}]`)
	}
	resolves := flowCase{app, dns, 53, udp, Allowed} // every It resolves its host first
	runAWSPorted(t, base, []awsPortedScenario{
		{
			name:  "should allow access to specific domain",
			items: []item{allowDomains("allow-google-policy", "allow-google", 80, "google.com")},
			flows: []flowCase{
				resolves,
				{app, "198.51.100.10", 80, tcp, Unspecified}, // http://google.com: expected reachable
				{app, "198.51.100.11", 80, tcp, Unspecified}, // http://example.com: expected blocked
			},
		},
		{
			name:  "should allow access to wildcard domains",
			items: []item{allowDomains("allow-aws-wildcard-policy", "allow-aws-wildcard", 80, `"*.amazonaws.com"`)},
			flows: []flowCase{
				resolves,
				{app, "198.51.100.12", 80, tcp, Unspecified}, // http://s3.amazonaws.com: expected reachable
				{app, "198.51.100.13", 80, tcp, Unspecified}, // http://amazon.com: expected blocked
			},
		},
		{
			name:  "should allow access to multiple specific domains",
			items: []item{allowDomains("allow-multiple-domains-policy", "allow-multiple-domains", 80, "amazon.com, stackoverflow.com, kubernetes.io")},
			flows: []flowCase{
				resolves,
				{app, "198.51.100.13", 80, tcp, Unspecified}, // http://amazon.com: expected reachable
				{app, "198.51.100.14", 80, tcp, Unspecified}, // http://stackoverflow.com: expected reachable
				{app, "198.51.100.15", 80, tcp, Unspecified}, // http://kubernetes.io: expected reachable
				{app, "198.51.100.10", 80, tcp, Unspecified}, // http://google.com: expected blocked
			},
		},
		{
			name:  "should enforce port-specific domain policies",
			items: []item{allowDomains("port-specific-amazon-policy", "allow-https", 443, "amazon.com")},
			flows: []flowCase{
				resolves,
				{app, "198.51.100.13", 443, tcp, Unspecified}, // https://amazon.com: expected reachable
				{app, "198.51.100.13", 80, tcp, Denied},       // http://amazon.com: no rule has 80, the NetworkPolicy denies
			},
		},
		{
			name: "should enforce domain priority correctly",
			items: []item{
				allowDomains("allow-example-priority-10", "allow-example", 80, "example.com"),
				awsCNP(`metadata: {name: deny-example-priority-20}
spec:
  tier: Admin
  priority: 20
  subject: {namespaces: {matchLabels: {test: domain-policy}}}
  egress:
  - name: deny-example
    action: Deny
    ports: [{portNumber: {port: 80, protocol: TCP}}]
    to: [{networks: [0.0.0.0/0]}]`),
			},
			flows: []flowCase{
				resolves,
				// http://example.com: expected reachable (priority 10's
				// Accept before 20's Deny); example.com or not is unknown,
				// and were it not, priority 20 would deny it.
				{app, "198.51.100.11", 80, tcp, Unspecified},
			},
		},
		{
			name: "should enforce Admin tier over Baseline tier for domains",
			items: []item{
				awsCNP(`metadata: {name: baseline-deny-all}
spec:
  tier: Baseline
  priority: 10
  subject: {namespaces: {matchLabels: {test: domain-policy}}}
  egress:
  - name: baseline-deny-all
    action: Deny
    ports: [{portNumber: {port: 80, protocol: TCP}}]
    to: [{networks: [0.0.0.0/0]}]`),
				awsCNP(`metadata: {name: admin-allow-google}
spec:
  tier: Admin
  priority: 20
  subject: {namespaces: {matchLabels: {test: domain-policy}}}
  egress:
  - name: admin-allow-google
    action: Accept
    ports: [{portNumber: {port: 80, protocol: TCP}}]
    to: [{domainNames: [google.com]}]`),
			},
			flows: []flowCase{
				resolves,
				{app, "198.51.100.10", 80, tcp, Unspecified}, // http://google.com: expected reachable
			},
		},
		{
			name:  "should allow HTTPS access to domains",
			items: []item{allowDomains("allow-amazon-https-policy", "allow-amazon-https", 443, "amazon.com")},
			flows: []flowCase{
				resolves,
				{app, "198.51.100.13", 443, tcp, Unspecified}, // https://amazon.com: expected reachable
				{app, "198.51.100.13", 80, tcp, Denied},       // http://amazon.com: blocked, no rule has 80
			},
		},
	})
}
