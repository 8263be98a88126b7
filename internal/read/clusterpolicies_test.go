package read

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

const tiersDoc = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: guardrails}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress:
  - {name: monitoring, action: Allow, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}], ports: [{namedPort: metrics}]}
  egress:
  - {action: Pass, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}], ports: [{portNumber: {protocol: UDP, port: 53}}, {portRange: {start: 8000, end: 8100}}]}
  - {action: Deny, to: [{nodes: {matchLabels: {zone: a}}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {pods: {namespaceSelector: {}, podSelector: {}}}
  ingress: [{action: Deny, from: [{namespaces: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: old}
spec:
  tier: Admin
  priority: 3
  subject: {namespaces: {}}
  egress: [{action: Accept, to: [{networks: [198.51.100.0/24]}], protocols: [{tcp: {destinationPort: {number: 443}}}, {udp: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: new}
spec:
  tier: Baseline
  priority: 7
  subject: {namespaces: {}}
  egress: [{action: Pass, to: [{domainNames: ["*.example.com"]}], protocols: [{tcp: {destinationPort: {range: {start: 1, end: 1024}}}}, {destinationNamedPort: https}]}]
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {zone: a}}
status: {addresses: [{type: InternalIP, address: 198.51.100.7}]}
`

func TestLoadFilesReadsClusterTiers(t *testing.T) {
	m, err := LoadFiles([]string{"-"}, strings.NewReader(tiersDoc), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.OtherLayers) != 0 || len(m.Warnings) != 0 {
		t.Fatalf("other layers %v, warnings %v", m.OtherLayers, m.Warnings)
	}
	var got []string
	for _, p := range m.ClusterPolicies {
		s := fmt.Sprintf("%s tier=%s priority=%d family=%s", p.Ref(), p.Tier, p.Priority, p.Family)
		for _, r := range append(append([]model.ClusterRule(nil), p.Ingress...), p.Egress...) {
			s += fmt.Sprintf(" | %s(%s) peers=%d ports=%v", r.Action, r.ActionAsWritten, len(r.Peers), r.Ports)
		}
		got = append(got, s)
	}
	want := []string{
		"AdminNetworkPolicy/guardrails tier=admin priority=10 family=anp | Allow(Allow) peers=1 ports=[{ 0 0 metrics false}] | Pass(Pass) peers=1 ports=[{UDP 53 53  false} {TCP 8000 8100  false}] | Deny(Deny) peers=1 ports=[]",
		"BaselineAdminNetworkPolicy/default tier=baseline priority=0 family=anp | Deny(Deny) peers=1 ports=[]",
		"ClusterNetworkPolicy/new tier=baseline priority=7 family=cnp | Pass(Pass) peers=1 ports=[{TCP 1 1024  false} { 0 0 https false}]",
		"ClusterNetworkPolicy/old tier=admin priority=3 family=cnp | Allow(Accept) peers=1 ports=[{TCP 443 443  false} {UDP 0 0  false}]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(m.Nodes) != 1 || m.Nodes[0].Addresses[0].String() != "198.51.100.7" {
		t.Errorf("nodes = %+v", m.Nodes)
	}
}

func TestLoadFilesRefusesInvalidClusterPolicies(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{"kind: AdminNetworkPolicy\nmetadata: {name: p}\nspec: {priority: 1001, subject: {namespaces: {}}}", "spec.priority 1001 is outside 0-1000"},
		{"kind: AdminNetworkPolicy\nmetadata: {name: p}\nspec: {priority: 1, subject: {namespaces: {}, pods: {namespaceSelector: {}, podSelector: {}}}}", "spec.subject must set exactly one of namespaces and pods"},
		{"kind: AdminNetworkPolicy\nmetadata: {name: p}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Drop, from: [{namespaces: {}}]}]}", `ingress[0]: action "Drop" is not Allow, Accept, Deny or Pass`},
		{"kind: AdminNetworkPolicy\nmetadata: {name: p}\nspec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{networks: [nonsense]}]}]}", `egress[0].peers[0]: networks "nonsense" is not a CIDR`},
		{"kind: AdminNetworkPolicy\nmetadata: {name: p}\nspec: {priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{}]}]}", "egress[0].peers[0]: exactly one field must be set"},
		{"kind: BaselineAdminNetworkPolicy\nmetadata: {name: p}\nspec: {subject: {namespaces: {}}}", `only one BaselineAdminNetworkPolicy, named "default"`},
	} {
		doc := "apiVersion: policy.networking.k8s.io/v1alpha1\n" + tt.doc + "\n"
		_, err := LoadFiles([]string{"-"}, strings.NewReader(doc), "")
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "would be refused by the API server") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n  error %v\n  want %q", tt.doc, err, tt.want)
		}
	}
}

// A peer with a field this version does not know is read with a warning
// and fails closed, as the API asks: a Deny rule then denies everything.
func TestLoadFilesUnknownPeerFailsClosed(t *testing.T) {
	doc := `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: future}
spec:
  priority: 1
  subject: {namespaces: {}}
  egress: [{action: Deny, to: [{services: [{name: x}]}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: y}
status: {podIP: 10.0.0.2}
`
	m, err := LoadFiles([]string{"-"}, strings.NewReader(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	warnings := strings.Join(m.Warnings, "\n")
	if !strings.Contains(warnings, "spec.egress[0].to[0].services") || !strings.Contains(warnings, "the rule denies all traffic") {
		t.Errorf("warnings = %s", warnings)
	}
	e := policy.New(m)
	r := e.Evaluate(policy.Flow{From: policy.PodEndpoint(m.Pod("x", "a")), To: policy.PodEndpoint(m.Pod("y", "b")), Port: 80}, true)
	if r.Verdict != policy.Denied || r.Egress.Tier != policy.TierAdmin {
		t.Errorf("verdict %s, egress %+v", r.Verdict, r.Egress)
	}
}

// FuzzLoadClusterPolicy: any document of the three kinds loads or is
// refused with a FileError; what loads evaluates without panicking.
func FuzzLoadClusterPolicy(f *testing.F) {
	f.Add([]byte("metadata: {name: p}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]}"), uint8(0))
	f.Add([]byte("metadata: {name: default}\nspec: {subject: {pods: {namespaceSelector: {}, podSelector: {matchExpressions: [{key: a, operator: Bogus}]}}}, egress: [{action: Allow, to: [{nodes: {}}], ports: [{namedPort: x}]}]}"), uint8(1))
	f.Add([]byte("metadata: {name: c}\nspec: {tier: Admin, priority: 0, subject: {namespaces: {}}, egress: [{action: Pass, to: [{networks: ['::/0']}], protocols: [{tcp: {destinationPort: {range: {start: 5, end: 1}}}}]}]}"), uint8(2))
	f.Add([]byte("metadata: {name: c}\nspec: {tier: Sideways, subject: {}, egress: [{action: Accept, to: [{}], protocols: [{}]}]}"), uint8(3))
	heads := []string{
		"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n",
		"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n",
		"apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n",
		"apiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\n",
	}
	pods := "\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: a}}\nspec: {containers: [{name: c, ports: [{name: x, containerPort: 80}]}]}\nstatus: {podIP: 10.0.0.1}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: y}\nstatus: {podIP: 10.0.0.2}\n"
	f.Fuzz(func(t *testing.T, doc []byte, kind uint8) {
		text := heads[int(kind)%len(heads)] + string(doc) + pods
		m, err := LoadFiles([]string{"-"}, strings.NewReader(text), "")
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FileError: %v", err)
			}
			return
		}
		e := policy.New(m)
		for _, from := range m.Pods {
			for _, to := range m.Pods {
				e.Evaluate(policy.Flow{From: policy.PodEndpoint(from), To: policy.PodEndpoint(to), Port: 80}, true)
			}
		}
	})
}
