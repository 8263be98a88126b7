package posture

import (
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

func anp(name string, priority, subject, rules string) string {
	return "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: " + name + "}\nspec:\n  priority: " + priority +
		"\n  subject: " + subject + "\n" + rules
}

const banpAllowTeam = `---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}]}
`

func shadowed(doc *Document) []Finding {
	var out []Finding
	for _, f := range doc.Findings {
		if f.ID == IDShadowedRule {
			out = append(out, f)
		}
	}
	return out
}

// TestShadowedRules: an Allow that an earlier Deny or Pass covers whole is
// reported with the rule that shadows it; partial cover, later denies,
// and orders the API leaves open are not.
func TestShadowedRules(t *testing.T) {
	all := "{namespaces: {}}"
	cases := []struct {
		name   string
		yaml   string
		edit   func(*model.Model)
		want   string // the shadowing rule's reference ("": no finding)
		allows string // the shadowed rule's reference
	}{
		{name: "deny everyone, then allow a team", yaml: anp("a", "10", all, `  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {}}]}
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}]}
`), want: "adminnetworkpolicy/a ingress[0] (deny) Deny", allows: "adminnetworkpolicy/a ingress[1] (team)"},
		{name: "allow first", yaml: anp("a", "10", all, `  ingress:
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}]}
  - {name: deny, action: Deny, from: [{namespaces: {}}]}
`)},
		{name: "deny on one port only", yaml: anp("a", "10", all, `  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 80}}]}
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}]}
`)},
		{name: "port within the denied range", yaml: anp("a", "10", all, `  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {}}], ports: [{portRange: {protocol: TCP, start: 8000, end: 9000}}]}
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}], ports: [{portNumber: {protocol: TCP, port: 8080}}]}
`), want: "adminnetworkpolicy/a ingress[0] (deny) Deny", allows: "adminnetworkpolicy/a ingress[1] (team)"},
		{name: "other protocol", yaml: anp("a", "10", all, `  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {}}], ports: [{portRange: {protocol: TCP, start: 8000, end: 9000}}]}
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}], ports: [{portNumber: {protocol: UDP, port: 8080}}]}
`)},
		{name: "pass in a policy of lower priority", yaml: anp("first", "1", all, `  ingress:
  - {name: hand-on, action: Pass, from: [{namespaces: {}}]}
`) + anp("second", "5", "{namespaces: {matchLabels: {team: a}}}", `  ingress:
  - {name: team, action: Allow, from: [{pods: {namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {app: x}}}}]}
`), want: "adminnetworkpolicy/first ingress[0] (hand-on) Pass", allows: "adminnetworkpolicy/second ingress[0] (team)"},
		{name: "same priority: order open", yaml: anp("first", "5", all, `  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {}}]}
`) + anp("second", "5", all, `  ingress:
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}]}
`)},
		{name: "narrower subject denies", yaml: anp("first", "1", "{namespaces: {matchLabels: {team: a}}}", `  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {}}]}
`) + anp("second", "5", all, `  ingress:
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}]}
`)},
		{name: "egress network within the denied one", yaml: anp("a", "10", all, `  egress:
  - {name: private, action: Deny, to: [{networks: [10.0.0.0/8]}]}
  - {name: api, action: Allow, to: [{networks: [10.1.0.0/16]}], ports: [{portNumber: {protocol: TCP, port: 443}}]}
`), want: "adminnetworkpolicy/a egress[0] (private) Deny", allows: "adminnetworkpolicy/a egress[1] (api)"},
		{name: "egress network wider than the denied one", yaml: anp("a", "10", all, `  egress:
  - {name: private, action: Deny, to: [{networks: [10.1.0.0/16]}]}
  - {name: api, action: Allow, to: [{networks: [10.0.0.0/8]}]}
`)},
		{name: "pods are not networks", yaml: anp("a", "10", all, `  egress:
  - {name: pods, action: Deny, to: [{namespaces: {}}]}
  - {name: api, action: Allow, to: [{networks: [10.0.0.0/8]}]}
`)},
		{name: "admin deny above a baseline allow", yaml: anp("a", "10", all, `  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {}}]}
`) + banpAllowTeam, want: "adminnetworkpolicy/a ingress[0] (deny) Deny", allows: "baselineadminnetworkpolicy/default ingress[0] (team)"},
		{name: "admin pass hands on to the baseline", yaml: anp("a", "10", all, `  ingress:
  - {name: pass, action: Pass, from: [{namespaces: {}}]}
`) + banpAllowTeam},
		{name: "two API generations are not ordered", yaml: anp("a", "1", all, `  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {}}]}
`) + anp("b", "5", all, `  ingress:
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}]}
`), edit: func(m *model.Model) {
			cnp := *m.ClusterPolicies[1]
			cnp.Kind, cnp.Family = model.KindClusterNetworkPolicy, "cnp"
			m.ClusterPolicies[1] = &cnp
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := loadYAML(t, app+c.yaml)
			if c.edit != nil {
				c.edit(m)
			}
			got := shadowed(Audit(m, Options{Namespaces: []string{"app"}}))
			if c.want == "" {
				if len(got) != 0 {
					t.Fatalf("unexpected: %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Objects[0] != c.allows || got[0].Objects[1] != c.want || got[0].Namespace != "" || got[0].Severity != Low ||
				!strings.Contains(got[0].Message, "can never allow anything") {
				t.Fatalf("got %+v, want %q shadowed by %q", got, c.allows, c.want)
			}
		})
	}
}

// A cluster-scoped finding counts for the cluster's score, not for a
// namespace's, and adds no namespace row.
func TestShadowedRuleCountsForTheCluster(t *testing.T) {
	doc := Audit(loadYAML(t, app+anp("a", "10", "{namespaces: {}}", `  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {}}]}
  - {name: team, action: Allow, from: [{namespaces: {matchLabels: {team: a}}}]}
`)), Options{Namespaces: []string{"app"}})
	if len(doc.Namespaces) != 1 || doc.Namespaces[0].Namespace != "app" || doc.Namespaces[0].FindingsLow != doc.Cluster.FindingsLow-1 {
		t.Fatalf("namespaces %+v, cluster %+v", doc.Namespaces, doc.Cluster)
	}
}
