package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/audit/posture"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/golden"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output/kubeprint"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// loadShop reads testdata/shop-manifests.yaml, with some resources marked as not
// readable.
func loadShop(unreadable ...string) func(context.Context) (*model.Model, error) {
	return func(context.Context) (*model.Model, error) {
		m, err := read.Load(input.NewReader(nil, 1<<20), []string{"testdata/shop-manifests.yaml"}, "shop")
		for _, r := range unreadable {
			resource, ns, _ := strings.Cut(r, "/")
			m.MarkUnreadable(resource, ns)
		}
		return m, err
	}
}

// run audits the shop with the config's fields set by adjust.
func run(t *testing.T, adjust func(*Config)) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := Config{AllNamespaces: true, MinScore: -1, Output: "table", Load: loadShop(), PrintTable: kubeprint.Table, Out: &out, ErrOut: &errOut,
		IngressController: &posture.IngressController{Namespace: "ingress", PodLabels: map[string]string{"app.kubernetes.io/name": "ingress-nginx"}}}
	if adjust != nil {
		adjust(&c)
	}
	err := Run(context.Background(), c)
	return out.String(), err
}

func TestAuditOutputsGolden(t *testing.T) {
	for _, format := range []string{"table", "wide", "json", "yaml", "md", "junit", "sarif"} {
		t.Run(format, func(t *testing.T) {
			got, err := run(t, func(c *Config) { c.Output = format })
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, "golden/shop."+format, []byte(got))
		})
	}
}

// TestAuditDocumentIsVersioned: -o json is the AuditResult document of
// the project's apiVersion, with the web's exposure as the policies say it.
func TestAuditDocumentIsVersioned(t *testing.T) {
	got, err := run(t, func(c *Config) { c.Output = "json" })
	if err != nil {
		t.Fatal(err)
	}
	var doc posture.Document
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.APIVersion != "netbaseline.io/v1alpha1" || doc.Kind != "AuditResult" {
		t.Fatalf("apiVersion %q kind %q", doc.APIVersion, doc.Kind)
	}
	web := findWorkload(t, doc, "shop/deploy/web")
	if len(web.Ingress) != 1 || web.Ingress[0].Reach != "internet" {
		t.Fatalf("web's ingress: %+v", web.Ingress)
	}
	var whos []string
	for _, e := range web.Ingress[0].Peers {
		whos = append(whos, e.Who)
	}
	want := []string{"any pod in namespaces matching team=payments", "0.0.0.0/0 except 10.0.0.0/8"}
	if strings.Join(whos, "|") != strings.Join(want, "|") {
		t.Fatalf("who may reach web:8080: %q, want %q", whos, want)
	}
}

func findWorkload(t *testing.T, doc posture.Document, name string) posture.Workload {
	t.Helper()
	for _, w := range doc.Workloads {
		if w.Name == name {
			return w
		}
	}
	t.Fatalf("no workload %s in %+v", name, doc.Workloads)
	return posture.Workload{}
}

func TestAuditTemplates(t *testing.T) {
	got, err := run(t, func(c *Config) { c.Output = `jsonpath={.entryPoints[?(@.name=="web")].path}` })
	if err != nil {
		t.Fatal(err)
	}
	if want := "outside 8.8.8.8 → LoadBalancer svc/web:80 → shop/deploy/web:8080: allowed"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestAuditExpectations(t *testing.T) {
	cases := []struct {
		name   string
		adjust func(*Config)
		status int
		says   string
	}{
		{"no expectation", nil, exit.OK, ""},
		{"fail on high", func(c *Config) { c.FailOn = posture.High }, exit.Unmet, "finding(s) of severity high or above"},
		{"min score above the cluster's", func(c *Config) { c.MinScore = 50 }, exit.Unmet, "below --min-score 50"},
		{"min score met by one namespace", func(c *Config) { c.AllNamespaces, c.Namespaces, c.MinScore = false, []string{"shop"}, 30 }, exit.OK, ""},
		{"fail on high, only a namespace without", func(c *Config) {
			c.AllNamespaces, c.Namespaces, c.FailOn = false, []string{"empty"}, posture.Low
		}, exit.OK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.adjust)
			if got := exit.StatusOf(err); got != tc.status || (tc.says != "" && !strings.Contains(err.Error(), tc.says)) {
				t.Fatalf("status %d (%v), want %d saying %q", got, err, tc.status, tc.says)
			}
		})
	}
}

// TestAuditRefusesUnread: pods or policies that could not be read make
// the audit unknown (exit 1), never a namespace without exposure.
func TestAuditRefusesUnread(t *testing.T) {
	for _, r := range []string{"pods/shop", "networkpolicies/"} {
		out, err := run(t, func(c *Config) { c.Load = loadShop(r) })
		if exit.StatusOf(err) != exit.Failed || out != "" || !strings.Contains(err.Error(), "the audit is unknown") {
			t.Fatalf("%s unread: status %d (%v), printed %q", r, exit.StatusOf(err), err, out)
		}
	}
}

// TestAuditFocus: --to keeps the ingress side of its workloads only,
// --from the egress side.
func TestAuditFocus(t *testing.T) {
	web, err := endpoint.ParseIn("shop/deploy/web", endpoint.Destination, "shop")
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(t, func(c *Config) { c.Output, c.To = "json", []endpoint.Endpoint{web} })
	if err != nil {
		t.Fatal(err)
	}
	var doc posture.Document
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Workloads) != 1 || doc.Workloads[0].Name != "shop/deploy/web" || len(doc.Workloads[0].Ingress) == 0 || len(doc.Workloads[0].Egress) != 0 {
		t.Fatalf("--to shop/deploy/web: %+v", doc.Workloads)
	}
	missing, _ := endpoint.ParseIn("shop/deploy/nothing", endpoint.Destination, "shop")
	if _, err := run(t, func(c *Config) { c.To = []endpoint.Endpoint{missing} }); exit.StatusOf(err) != exit.Usage {
		t.Fatalf("--to a workload that does not exist: %v", err)
	}
}
