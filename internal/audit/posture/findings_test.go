package posture

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// app is namespace "app" (labelled name=app) with one pod app=web that
// declares http/8080, isolated both ways by deny-all; cases add policies.
const app = `
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {name: app}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: app, labels: {app: web}}
spec:
  containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 10.1.0.5}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
`

func policyYAML(name, spec string) string {
	return "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name + ", namespace: app}\nspec:\n" + spec
}

func loadYAML(t *testing.T, text string) *model.Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := read.Load(input.NewReader(nil, 1<<20), []string{path}, "app")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFindings(t *testing.T) {
	cases := []struct {
		name     string
		extra    string
		want     []string // IDs expected
		severity Severity // of the first expected
	}{
		{"isolated both ways, labelled: nothing", "", nil, ""},
		{"no policy at all", "", []string{IDNoIngressIsolation, IDNoEgressIsolation, IDMetadataEgress}, High},
		{"rule without peers (ingress)", policyYAML("open", "  podSelector: {}\n  ingress: [{}]\n"), []string{IDRuleWithoutPeers, IDOpenToInternet}, High},
		{"rule without peers (egress)", policyYAML("out", "  podSelector: {}\n  egress: [{ports: [{port: 443}]}]\n"), []string{IDRuleWithoutPeers}, Medium},
		{"ipBlock of every address", policyYAML("world", "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n"), []string{IDEveryAddress, IDOpenToInternet}, High},
		{"any namespace", policyYAML("anyns", "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n"), []string{IDAnyNamespace}, Medium},
		{"metadata reachable", policyYAML("meta", "  podSelector: {}\n  egress: [{to: [{ipBlock: {cidr: 169.254.0.0/16}}]}]\n"), []string{IDMetadataEgress}, High},
		{"DNS to anything", policyYAML("dns", "  podSelector: {}\n  egress: [{ports: [{port: 53, protocol: UDP}]}]\n"), []string{IDDNSToAnything}, Medium},
		{"selects no pod", policyYAML("ghost", "  podSelector: {matchLabels: {app: gone}}\n  policyTypes: [Ingress]\n"), []string{IDSelectsNoPod}, Low},
		{"named port nobody declares", policyYAML("named", "  podSelector: {matchLabels: {app: web}}\n  ingress: [{ports: [{port: metrics}], from: [{podSelector: {}}]}]\n"), []string{IDUndeclaredPort}, Low},
		{"namespace without name label", "", []string{IDMissingNameLabel}, Low},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := app + tc.extra
			switch tc.name {
			case "no policy at all":
				text = strings.Split(app, "---\napiVersion: networking.k8s.io/v1")[0]
			case "namespace without name label":
				text = strings.Replace(app, "labels: {name: app}", "labels: {}", 1)
			}
			doc := Audit(loadYAML(t, text), Options{Namespaces: []string{"app"}})
			var got []string
			for _, f := range doc.Findings {
				got = append(got, f.ID)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("findings %v, want %v: %+v", got, want, doc.Findings)
			}
			for _, f := range doc.Findings {
				if f.ID == tc.want[0] && f.Severity != tc.severity {
					t.Errorf("%s severity %s, want %s", f.ID, f.Severity, tc.severity)
				}
				if f.Why == "" || f.Fix == "" || len(f.Objects) == 0 {
					t.Errorf("%s says no why, fix or object: %+v", f.ID, f)
				}
			}
		})
	}
}

// TestUnreadPodsNeverSelectNothing: a namespace whose pods could not be
// read never gets "the policy selects no pod".
func TestUnreadPodsNeverSelectNothing(t *testing.T) {
	m := loadYAML(t, app+policyYAML("ghost", "  podSelector: {matchLabels: {app: gone}}\n  policyTypes: [Ingress]\n"))
	m.MarkUnreadable("pods", "app")
	for _, f := range Audit(m, Options{Namespaces: []string{"app"}}).Findings {
		if f.ID == IDSelectsNoPod {
			t.Fatalf("%+v from pods that were not read", f)
		}
	}
}

// TestScoreFormula holds the documented formula on the app namespace:
// isolated both ways, its one port closed to the cluster, no finding.
func TestScoreFormula(t *testing.T) {
	doc := Audit(loadYAML(t, app), Options{Namespaces: []string{"app"}})
	if doc.Cluster.Score != 100 || doc.Namespaces[0].Score.Score != 100 {
		t.Fatalf("isolated and labelled: %+v", doc.Cluster)
	}
	open := Audit(loadYAML(t, strings.Split(app, "---\napiVersion: networking.k8s.io/v1")[0]), Options{Namespaces: []string{"app"}})
	// 40·0 + 30·0 + 30·0 (its port open to anyone) − 10·2 high − 3·1 medium → 0.
	if s := open.Cluster; s.Score != 0 || s.IngressIsolated != 0 || s.FindingsHigh != 2 || s.FindingsMedium != 1 || s.OpenPortsToWorld != 1 {
		t.Fatalf("open namespace: %+v", s)
	}
	t1 := tallyScore{pods: 4, ingressKnown: 4, ingressIso: 2, egressKnown: 4, egressIso: 1, ports: 2, closedPorts: 1, medium: 1, low: 2}
	// 40·0.5 + 30·0.25 + 30·0.5 = 42.5 → 43 (half away from zero) − 3 − 2 = 38.
	if got := t1.score().Score; got != 38 {
		t.Fatalf("formula: %d, want 38", got)
	}
}

// TestNeverGuessed: regions past the bound, and layers whose selectors
// the regions do not split on, make the exposure unspecified, with why.
func TestNeverGuessed(t *testing.T) {
	var values []string
	for i := range 40 {
		values = append(values, fmt.Sprintf("v%d", i))
	}
	list := "[" + strings.Join(values, ", ") + "]"
	wide := policyYAML("wide", "  podSelector: {}\n  ingress: [{from: [{podSelector: {matchExpressions: [{key: a, operator: In, values: "+list+"}, {key: b, operator: In, values: "+list+"}, {key: c, operator: In, values: "+list+"}]}}]}]\n")
	cilium := loadYAML(t, app)
	cilium.AssumeCilium("test", "")
	for name, m := range map[string]*model.Model{"too many regions": loadYAML(t, app+wide), "cilium": cilium} {
		doc := Audit(m, Options{Namespaces: []string{"app"}})
		p := doc.Workloads[0].Ingress[0]
		if p.Reach != "unspecified" || len(p.Peers) != 1 || p.Peers[0].Verdict != policy.Unspecified || p.Peers[0].By == "" {
			t.Errorf("%s: %+v", name, p)
		}
	}
}
