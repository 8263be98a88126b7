package read

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a/ns.yaml", `apiVersion: v1
kind: Namespace
metadata:
  name: y
  labels:
    on: yes
    version: "1.0"
---
# an empty document and a comment-only one are fine
---
apiVersion: v1
kind: Namespace
metadata: {name: on}
`)
	writeFile(t, dir, "b/list.json", `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "y", "labels": {"app": "x"},
   "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5f4b", "uid": "1", "controller": true}]},
   "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"name": "http", "containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]}]},
   "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}], "conditions": [{"type": "Ready", "status": "True"}]}}
]}`)
	writeFile(t, dir, "b/workloads.yml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      hostNetwork: true
      containers: [{name: c, image: i, ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: y}
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {job: nightly}}
        spec: {containers: [{name: c, image: i}], restartPolicy: Never}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: y}
spec:
  selector: {app: web}
  clusterIP: 198.19.0.20
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {}}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: c, namespace: y}
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: calico, namespace: y}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
`)
	m, err := LoadFiles([]string{dir}, nil, "team")
	if err != nil {
		t.Fatal(err)
	}
	// YAML 1.2: y and on are strings, not booleans.
	if ns := m.Namespace("y"); ns == nil || ns.Labels["on"] != "yes" || ns.Labels[model.MetadataNameLabel] != "y" {
		t.Errorf("namespace y = %+v", ns)
	}
	if m.Namespace("on") == nil {
		t.Error("namespace on missing")
	}
	// A namespace referenced but not declared gets its automatic label.
	if ns := m.Namespace("team"); ns == nil || !cmp.Equal(ns.Labels, map[string]string{model.MetadataNameLabel: "team"}) {
		t.Errorf("namespace team = %+v", ns)
	}
	p := m.Pod("y", "p")
	if p == nil || len(p.IPs) != 2 || !p.Ready || p.Owner.Kind != "replicaset" || p.Controller.Name != "web-5f4b" {
		t.Errorf("pod p = %+v", p)
	}
	if n, ok := p.NamedPort("http", "TCP"); !ok || n != 80 {
		t.Errorf("named port http = %d %v", n, ok)
	}
	if got := p.Ports[1].Protocol; got != "UDP" {
		t.Errorf("protocol = %q", got)
	}
	web := m.Pod("team", "web")
	if web == nil || !web.FromTemplate || !web.HostNetwork || web.Owner.Kind != "deployment" || len(web.IPs) != 0 {
		t.Errorf("deployment pod = %+v", web)
	}
	if cj := m.Pod("y", "nightly"); cj == nil || cj.Owner.Kind != "cronjob" || cj.Labels["job"] != "nightly" {
		t.Errorf("cronjob pod = %+v", cj)
	}
	if svc := m.Service("y", "web"); svc == nil || svc.Ports[0].TargetPort.StrVal != "http" || svc.Ports[0].Protocol != "TCP" || svc.ClusterIPs[0].String() != "198.19.0.20" {
		t.Errorf("service = %+v", svc)
	}
	if len(m.Policies) != 1 || m.Policies[0].Namespace != "team" {
		t.Errorf("policies = %+v", m.Policies)
	}
	if len(m.OtherLayers) != 0 {
		t.Errorf("other layers = %v", m.OtherLayers)
	}
	// Cilium's policy is read (and refused by the agent: it has no rule).
	if len(m.CiliumPolicies) != 1 || m.CiliumPolicies[0].Ref() != "CiliumNetworkPolicy/y/c" || len(m.CiliumPolicies[0].Problems) == 0 || m.Cilium == nil {
		t.Errorf("cilium policies = %+v", m.CiliumPolicies)
	}
	// Calico's own NetworkPolicy is read, not an unknown layer.
	if len(m.CalicoPolicies) != 1 || m.CalicoPolicies[0].Ref() != "NetworkPolicy/y/calico" || m.CalicoPolicies[0].Group != model.CalicoCRDGroup {
		t.Errorf("calico policies = %+v", m.CalicoPolicies)
	}
}

func TestLoadFilesErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"bad.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: [\n", "bad.yaml: not valid YAML"},
		{"nokind.yaml", "apiVersion: v1\n---\napiVersion: v1\nmetadata: {}\n", "nokind.yaml:1: missing kind"},
		{"second.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: 5}\nspec: {containers: 3}\n", "second.yaml:5: Pod"},
		{"scalar.yaml", "just text\n", "must be a Kubernetes object"},
	}
	for _, tt := range tests {
		p := writeFile(t, dir, tt.name, tt.content)
		_, err := LoadFiles([]string{p}, nil, "")
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want FileError containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := LoadFiles([]string{filepath.Join(dir, "missing")}, nil, ""); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	m, err := LoadFiles([]string{"-"}, strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: stdin}\n"), "")
	if err != nil || m.Namespace("stdin") == nil {
		t.Errorf("stdin: %v %+v", err, m)
	}
}

// Two documents of the same object: the later one is used, with a warning
// naming both places (kubectl apply -f would apply them in turn).
func TestLoadFilesLaterDuplicateWins(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec: {podSelector: {}, ingress: [{}]}\n")
	b := write("b.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n")
	m, err := LoadFiles([]string{a, b}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Policies) != 1 || len(m.Policies[0].Spec.Ingress) != 0 {
		t.Errorf("policies = %+v, want only the later deny", m.Policies)
	}
	if w := strings.Join(m.Warnings, "\n"); !strings.Contains(w, b+":1: NetworkPolicy x/p is defined again (first at "+a+":1); the later one is used") {
		t.Errorf("warnings = %q", w)
	}
}

// A typo in a kind or a field is warned about, never dropped silently.
func TestLoadFilesWarnsAboutTypos(t *testing.T) {
	m, err := LoadFiles([]string{"-"}, strings.NewReader(`apiVersion: networking.k8s.io/v1
kind: Networkpolicy
metadata: {name: a, namespace: x}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b, namespace: x}
spec:
  podSelector: {}
  ingres: [{}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: x}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(m.Warnings, "\n")
	for _, want := range []string{`stdin:1: unknown kind "Networkpolicy" (did you mean NetworkPolicy?), ignored`, "stdin:6: NetworkPolicy x/b: spec.ingres: unknown field, ignored"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if strings.Contains(w, "ConfigMap") {
		t.Errorf("a kind the loader does not read is not a typo: %s", w)
	}
}

// Policies the API server would refuse are errors naming the file, the
// object and the field.
func TestLoadFilesRefusesInvalidPolicies(t *testing.T) {
	for _, tt := range []struct{ spec, want string }{
		{"podSelector: {}\negress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]", "spec.egress[0].to[0].ipBlock.except[0]: Invalid value: \"10.1.0.0/24\": must be a strict subset of `cidr`"},
		{"podSelector: {}\ningress: [{ports: [{port: 9000, endPort: 8000}]}]", "spec.ingress[0].ports[0].endPort: Invalid value: 8000: must be greater than or equal to `port`"},
		{"podSelector: {}\ningress: [{ports: [{port: http, endPort: 8000}]}]", "spec.ingress[0].ports[0].endPort: Invalid value: 8000: may not be specified when port is non-numeric"},
		{"podSelector: {}\ningress: [{ports: [{port: 0}]}]", "spec.ingress[0].ports[0].port: Invalid value: 0"},
		{"podSelector: {}\ningress: [{ports: [{port: 80, protocol: tcp}]}]", `spec.ingress[0].ports[0].protocol: Unsupported value: "tcp"`},
		{"podSelector: {}\npolicyTypes: [Ingress, Outgoing]", `spec.policyTypes[1]: Unsupported value: "Outgoing"`},
		{"podSelector: {}\ningress: [{from: [{}]}]", "spec.ingress[0].from[0]: Required value: must specify a peer"},
		{"podSelector: {matchExpressions: [{key: app, operator: Equals, values: [a]}]}", "spec.podSelector.matchExpressions[0].operator"},
	} {
		doc := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  " + strings.ReplaceAll(tt.spec, "\n", "\n  ") + "\n"
		_, err := LoadFiles([]string{"-"}, strings.NewReader(doc), "")
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "stdin:1: NetworkPolicy x/p would be refused by the API server") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n  error %v\n  want %q", tt.spec, err, tt.want)
		}
	}
}

// Every way a manifest reaches the loader (the block parser, yaml.v3 for
// one document, the full parser for a file) refuses a duplicate key,
// naming both lines, as kubectl apply's strict validation does: silently
// the last one would win.
func TestLoadFilesRefusesDuplicateKeys(t *testing.T) {
	ns := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
	for _, tt := range []struct{ name, doc, want string }{
		{"block", ns + "  name: b\n", `stdin:5: key "name" is defined again (first at line 4)`},
		{"second document", ns + "---\n" + ns + "  labels: {x: &x y}\n  labels: {}\n", `stdin:11: key "labels" is defined again (first at line 10)`},
		{"flow", "{apiVersion: v1, kind: Namespace, metadata: {name: a, name: b}}\n", `stdin:1: key "name" is defined again`},
		{"JSON", `{"apiVersion": "v1", "kind": "Namespace", "kind": "Pod", "metadata": {"name": "a"}}`, `stdin:1: key "kind" is defined again`},
		{"with carriage returns", strings.ReplaceAll(ns+"  name: b\n", "\n", "\r\n"), `stdin:5: key "name" is defined again (first at line 4)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFiles([]string{"-"}, strings.NewReader(tt.doc), "")
			var fe *FileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// A manifest saved as UTF-16 with its byte-order mark (Windows editors,
// PowerShell's >) reads as the same objects; without the mark it is
// refused, never read as nothing.
func TestLoadFilesReadsUTF16(t *testing.T) {
	text := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tëam\n"
	units := utf16.Encode([]rune("\uFEFF" + text))
	le := make([]byte, 0, 2*len(units))
	for _, u := range units {
		le = append(le, byte(u), byte(u>>8))
	}
	m, err := LoadFiles([]string{"-"}, bytes.NewReader(le), "")
	if err != nil || len(m.Namespaces) != 1 || m.Namespaces[0].Name != "tëam" {
		t.Fatalf("UTF-16 with its mark: %v, %+v", err, m)
	}
	_, err = LoadFiles([]string{"-"}, bytes.NewReader(le[2:]), "")
	if err == nil || !strings.Contains(err.Error(), "UTF-16 without a byte-order mark") {
		t.Fatalf("UTF-16 without its mark: %v", err)
	}
}

// An alias bomb is refused by the loader's decoder, within its budget,
// before it expands: explain -f refuses what --config and --dir refuse.
func TestLoadFilesRefusesAliasBombs(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	_, err := LoadFiles([]string{"-"}, strings.NewReader(b.String()), "")
	if err == nil || !strings.Contains(err.Error(), "aliases expand the document") {
		t.Fatalf("alias bomb: %v", err)
	}
}

// Peers' files: typed Lists whose items carry no kind (as the API server
// returns them) are read as kubectl reads them; a file in a -f directory
// that is no manifest at all is skipped with a warning naming it, one
// named on the command line is refused.
func TestPeersFilesAreReadAsKubectlReadsThem(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("pods.json", `{"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"podIP": "198.18.0.10"}}]}`)
	write("namespaces.yaml", "apiVersion: v1\nkind: NamespaceList\nitems:\n- metadata: {name: shop, labels: {team: a}}\n")
	pkg := write("package.json", `{"name": "frontend", "version": "1.0.0"}`)
	write("values.yaml", "replicaCount: 2\nimage: {tag: v1}\n")
	m, err := Load(input.NewReader(nil, 1<<20), []string{dir}, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pods) != 1 || m.Pods[0].Name != "web" || len(m.Namespaces) != 1 || m.Namespaces[0].Labels["team"] != "a" {
		t.Fatalf("typed lists not read: pods %v, namespaces %v", m.Pods, m.Namespaces)
	}
	skipped := strings.Join(m.Warnings, "\n")
	if !strings.Contains(skipped, "package.json") || !strings.Contains(skipped, "values.yaml") || !strings.Contains(skipped, "skipped, not a Kubernetes manifest") {
		t.Fatalf("the skipped files are not named: %v", m.Warnings)
	}
	if _, err := Load(input.NewReader(nil, 1<<20), []string{pkg}, "default"); err == nil || !strings.Contains(err.Error(), "not a Kubernetes object") {
		t.Fatalf("a non-manifest named on the command line must be refused: %v", err)
	}
	// A manifest that goes wrong halfway is broken, not passed over.
	write("half.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: half, namespace: shop}\n---\njust: data\n")
	if _, err := Load(input.NewReader(nil, 1<<20), []string{dir}, "default"); err == nil || !strings.Contains(err.Error(), "half.yaml:5") || !strings.Contains(err.Error(), "after a Kubernetes object") {
		t.Fatalf("want half.yaml refused at its second document, got %v", err)
	}
}
