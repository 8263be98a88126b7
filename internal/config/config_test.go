package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"
)

func TestDefaultIsValidAndDescribesTheSampleApp(t *testing.T) {
	cfg := Default()
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("Default() is invalid: %v", errs)
	}
	if got, want := cfg.NamespaceNames(), []string{"frontend-dev", "backend-dev"}; !cmp.Equal(got, want) {
		t.Errorf("namespaces = %v, want %v", got, want)
	}
	backend := cfg.FindNamespace("backend-dev").FindApp("backend")
	if backend == nil || backend.Ports[0].Port != 3001 || backend.Ports[0].Name != "http" || backend.Labels["app"] != "backend" {
		t.Errorf("backend app = %+v, want app=backend on 3001 named http", backend)
	}
	frontend := cfg.FindNamespace("frontend-dev").FindApp("frontend")
	if frontend == nil || frontend.Ports[0].Port != 3000 || len(frontend.TalksTo) != 1 || frontend.TalksTo[0].Namespace != "backend-dev" {
		t.Errorf("frontend app = %+v, want app=frontend on 3000 calling backend-dev/backend", frontend)
	}
	if cfg.NamespaceLabel != MetadataNameLabel {
		t.Errorf("namespaceLabel = %q, want %q (cannot be forged)", cfg.NamespaceLabel, MetadataNameLabel)
	}
	if cfg.IngressController.Namespace != "ingress" || cfg.IngressController.PodLabels["app.kubernetes.io/name"] != "ingress-nginx" {
		t.Errorf("ingress controller = %+v", cfg.IngressController)
	}
	if cfg.Monitoring.Namespace != "monitoring" || cfg.Monitoring.PortName != "metrics" {
		t.Errorf("monitoring = %+v", cfg.Monitoring)
	}
	if cfg.DNS.Namespace != "kube-system" || cfg.DNS.PodLabels["k8s-app"] != "kube-dns" {
		t.Errorf("dns = %+v", cfg.DNS)
	}
}

func TestSetDefaultsIsIdempotent(t *testing.T) {
	a := Default()
	b := Default()
	b.SetDefaults()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("second SetDefaults changed the config (-first +second):\n%s", diff)
	}
}

func TestParseFullExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("full.yaml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if cfg.NamespaceLabel != "name" {
		t.Errorf("namespaceLabel = %q", cfg.NamespaceLabel)
	}
	backendNS := cfg.FindNamespace("backend-dev")
	if got := backendNS.FindApp("backend").Labels; !cmp.Equal(got, map[string]string{"app": "backend"}) {
		t.Errorf("backend labels defaulted to %v, want app=backend", got)
	}
	worker := backendNS.FindApp("worker")
	if worker.TalksTo[0].Namespace != "backend-dev" {
		t.Errorf("relation namespace defaulted to %q, want the caller's namespace", worker.TalksTo[0].Namespace)
	}
	if p := worker.TalksTo[0].Ports[0].Protocol; p != "TCP" {
		t.Errorf("relation port protocol defaulted to %q, want TCP", p)
	}
	if cfg.FindNamespace("batch").MonitoringEnabled() {
		t.Error("batch has monitoring: false but MonitoringEnabled() is true")
	}
	if !backendNS.MonitoringEnabled() {
		t.Error("monitoring must default to on")
	}
	if got := backendNS.EgressExternal.To[0].Ports[1]; got.Port != 8000 || got.EndPort != 8100 || got.Protocol != "TCP" {
		t.Errorf("port range = %+v", got)
	}
}

func TestParseRejects(t *testing.T) {
	header := "apiVersion: netbaseline.io/v1alpha1\nkind: Config\n"
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, each a field path and its problem
	}{
		{"empty document", "", []string{"not a Config document"}},
		{"wrong kind", "apiVersion: netbaseline.io/v1alpha1\nkind: Settings\n", []string{`kind: Unsupported value: "Settings"`}},
		{"wrong apiVersion", "apiVersion: v1\nkind: Config\n", []string{`apiVersion: Unsupported value: "v1"`}},
		{"unknown field", header + "namespacesz: []\n", []string{`namespacesz: unknown field`}},
		{"unknown nested field, with its path", header + "namespaces:\n- name: a\n  apps:\n  - name: web\n    Ingress: true\n    talksto: []\n", []string{"2 problems", `namespaces[0].apps[0].Ingress: unknown field (did you mean "ingress"?)`, `namespaces[0].apps[0].talksto: unknown field (did you mean "talksTo"?)`}},
		{"two documents", header + "---\n" + header, []string{"more than one YAML document"}},
		{"wrong type", header + "namespaces: {name: a}\n", []string{"namespaces: expected"}},
		{"not YAML", header + "dns: [\n", []string{"invalid config"}},
		{"bad namespace label key", header + "namespaceLabel: 'not a key!'\n", []string{"namespaceLabel: Invalid value"}},
		{"bad namespace name", header + "namespaces:\n- name: Backend_Dev\n", []string{"namespaces[0].name: Invalid value: \"Backend_Dev\""}},
		{"duplicate namespace", header + "namespaces:\n- name: a\n- name: a\n", []string{"namespaces[1].name: Duplicate value"}},
		{"explicitly no namespaces", header + "namespaces: []\n", []string{"namespaces: Required value"}},
		{"port out of range", header + "namespaces:\n- name: a\n  apps:\n  - name: web\n    ports:\n    - port: 70000\n", []string{"namespaces[0].apps[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535"}},
		{"bad protocol", header + "namespaces:\n- name: a\n  apps:\n  - name: web\n    ports:\n    - port: 80\n      protocol: ICMP\n", []string{"namespaces[0].apps[0].ports[0].protocol: Unsupported value: \"ICMP\""}},
		{"bad port name", header + "namespaces:\n- name: a\n  apps:\n  - name: web\n    ports:\n    - name: this-name-is-far-too-long\n      port: 80\n", []string{"namespaces[0].apps[0].ports[0].name: Invalid value"}},
		{"relation to unknown app", header + "namespaces:\n- name: a\n  apps:\n  - name: web\n    talksTo:\n    - app: db\n", []string{"namespaces[0].apps[0].talksTo[0].app: Not found: \"a/db\""}},
		{"relation to unknown namespace", header + "namespaces:\n- name: a\n  apps:\n  - name: web\n    talksTo:\n    - namespace: b\n      app: db\n", []string{"namespaces[0].apps[0].talksTo[0].namespace: Not found: \"b\""}},
		{"relation without ports", header + "namespaces:\n- name: a\n  apps:\n  - name: web\n    talksTo:\n    - app: db\n  - name: db\n", []string{"namespaces[0].apps[0].talksTo[0].ports: Required value"}},
		{"endPort below port", header + "namespaces:\n- name: a\n  egressExternal:\n    to:\n    - cidr: 203.0.113.0/24\n      ports:\n      - port: 9000\n        endPort: 8000\n", []string{"namespaces[0].egressExternal.to[0].ports[0].endPort: Invalid value: 8000: must be greater than or equal to port (9000)"}},
		{"bad CIDR", header + "namespaces:\n- name: a\n  egressExternal:\n    to:\n    - cidr: 203.0.113.0/33\n", []string{"namespaces[0].egressExternal.to[0].cidr: Invalid value"}},
		{"host bits in CIDR", header + "namespaces:\n- name: a\n  egressExternal:\n    to:\n    - cidr: 203.0.113.7/24\n", []string{"did you mean 203.0.113.0/24?"}},
		{"except outside CIDR", header + "namespaces:\n- name: a\n  egressExternal:\n    to:\n    - cidr: 203.0.113.0/24\n      except: [198.51.100.0/25]\n", []string{"namespaces[0].egressExternal.to[0].except[0]: Invalid value: \"198.51.100.0/25\": must lie inside 203.0.113.0/24"}},
		{"external egress without destinations", header + "namespaces:\n- name: a\n  egressExternal:\n    to: []\n", []string{"namespaces[0].egressExternal.to: Required value"}},
		{"external egress for unknown app", header + "namespaces:\n- name: a\n  egressExternal:\n    app: nope\n    to:\n    - cidr: 203.0.113.0/24\n", []string{"namespaces[0].egressExternal.app: Not found"}},
		{"apiServer switched on without addresses", header + "namespaces:\n- name: a\n  apiServer: true\n", []string{"namespaces[0].apiServer: Invalid value: true"}},
		{"bad node-local DNS address", header + "dns:\n  nodeLocalAddress: nodelocal\n", []string{"dns.nodeLocalAddress: Invalid value"}},
		{"bad label value", header + "ingressController:\n  podLabels:\n    app: 'has space'\n", []string{"ingressController.podLabels[app]: Invalid value"}},
		{"bad kyverno action", header + "doctor:\n  kyverno:\n    clusterPolicies:\n    - name: p\n      action: Block\n", []string{"doctor.kyverno.clusterPolicies[0].action: Unsupported value: \"Block\""}},
		{"several problems at once", header + "namespaces:\n- name: A\n  apps:\n  - name: web\n    ports:\n    - port: 0\n", []string{"2 problems", "namespaces[0].name", "namespaces[0].apps[0].ports[0].port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse accepted an invalid config")
			}
			if _, ok := err.(*InvalidError); !ok {
				t.Errorf("error is %T, want *InvalidError", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: netbaseline.io/v1alpha1\nkind: Config\nnamespaceLabel: name\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Setenv(EnvConfig, "")
	cfg, explicit, err := Resolve(input.NewReader(nil, 0), "")
	if err != nil || explicit || cfg.NamespaceLabel != MetadataNameLabel {
		t.Errorf("no flag, no env: explicit=%v err=%v label=%q; want the defaults", explicit, err, cfg.NamespaceLabel)
	}

	t.Setenv(EnvConfig, file)
	cfg, explicit, err = Resolve(input.NewReader(nil, 0), "")
	if err != nil || !explicit || cfg.NamespaceLabel != "name" {
		t.Errorf("env: explicit=%v err=%v; want the env file", explicit, err)
	}
	if got := cfg.NamespaceNames(); !cmp.Equal(got, []string{"frontend-dev", "backend-dev"}) {
		t.Errorf("namespaces omitted: got %v, want the sample namespaces", got)
	}

	_, _, err = Resolve(input.NewReader(nil, 0), filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "missing.yaml: file does not exist") {
		t.Errorf("missing file: err = %v", err)
	}
}

// The documented examples must stay valid Configs: the complete one in
// docs/configuration.md and the minimal one in the README.
func TestDocumentedExamplesAreValid(t *testing.T) {
	yamlBlock := func(file, after string) string {
		t.Helper()
		doc, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		_, section, ok := strings.Cut(string(doc), after)
		if !ok {
			t.Fatalf("%s has no %q", file, after)
		}
		_, block, ok := strings.Cut(section, "```yaml\n")
		if !ok {
			t.Fatalf("%s: no yaml block after %q", file, after)
		}
		block, _, _ = strings.Cut(block, "```")
		return block
	}
	minimal, err := Parse("README.md", []byte(yamlBlock("README.md", "## A minimal Config")))
	if err != nil {
		t.Fatalf("README example: %v", err)
	}
	if got := minimal.NamespaceNames(); !cmp.Equal(got, []string{"shop", "payments"}) {
		t.Errorf("README example namespaces = %v", got)
	}
	cfg, err := Parse("docs/configuration.md", []byte(yamlBlock("docs/configuration.md", "# Configuration")))
	if err != nil {
		t.Fatalf("docs/configuration.md example: %v", err)
	}
	if got := cfg.FindNamespace("backend-dev").EgressExternal.To[0].Ports; len(got) != 3 || got[2].Protocol != "UDP" || got[2].Port != 0 {
		t.Errorf("docs/configuration.md example ports = %+v", got)
	}
}

// YAML 1.2, as the manifest loader reads it: on, yes, no and y stay
// strings, so a label value yes never turns into "true".
func TestParseIsYAML12(t *testing.T) {
	cfg, err := Parse("test.yaml", []byte(`apiVersion: netbaseline.io/v1alpha1
kind: Config
ingressController:
  namespace: on
  podLabels: {canary: yes, app: y}
namespaces:
- name: "no"
  apps:
  - name: web
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IngressController.Namespace != "on" || cfg.IngressController.PodLabels["canary"] != "yes" || cfg.IngressController.PodLabels["app"] != "y" {
		t.Errorf("ingressController = %+v", cfg.IngressController)
	}
	if got := cfg.NamespaceNames(); !cmp.Equal(got, []string{"no"}) {
		t.Errorf("namespaces = %v", got)
	}
}
