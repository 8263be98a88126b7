package baseline

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/golden"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/kustomize"
)

func loadConfig(t *testing.T, file string) *config.Config {
	t.Helper()
	cfg, err := config.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func renderAll(t *testing.T, src *Source, ns string) []Object {
	t.Helper()
	objs, err := src.Render(ns)
	if err != nil {
		t.Fatalf("Render(%s): %v", ns, err)
	}
	return objs
}

func toYAML(t *testing.T, objs []Object) []byte {
	t.Helper()
	var docs []string
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	return []byte(strings.Join(docs, "---\n"))
}

func typed(t *testing.T, o Object) *networkingv1.NetworkPolicy {
	t.Helper()
	np := &networkingv1.NetworkPolicy{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, np, true); err != nil {
		t.Fatalf("%s is not a valid NetworkPolicy: %v", o.GetName(), err)
	}
	return np
}

func names(objs []Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	return out
}

// The embedded tree is what the generator writes for the sample app; if
// this fails, run `go run ./hack/gen-kustomize` (make generate).
func TestEmbeddedTreeMatchesGenerator(t *testing.T) {
	want, err := Tree(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	err = fs.WalkDir(kustomize.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		got[p], err = fs.ReadFile(kustomize.FS, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stringify(want), stringify(got)); diff != "" {
		t.Errorf("kustomize/ is stale; run make generate (-generated +embedded):\n%s", diff)
	}
}

func stringify(m map[string][]byte) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func TestSampleAppPoliciesInPhaseOrder(t *testing.T) {
	src, err := EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]string{
		"backend-dev":  {"deny-all", "allow-dns", "allow-from-frontend", "allow-from-ingress", "allow-from-monitoring"},
		"frontend-dev": {"deny-all", "allow-dns", "allow-to-backend", "allow-from-ingress", "allow-from-monitoring"},
	}
	for ns, want := range tests {
		objs := renderAll(t, src, ns)
		if got := names(objs); !cmp.Equal(got, want) {
			t.Errorf("%s: policies %v, want %v", ns, got, want)
		}
		for i, o := range objs {
			if o.GetNamespace() != ns {
				t.Errorf("%s/%s: namespace %q", ns, o.GetName(), o.GetNamespace())
			}
			if o.GetLabels()[ownership.ManagedByLabel] != ownership.ManagedByValue {
				t.Errorf("%s/%s: missing %s=%s", ns, o.GetName(), ownership.ManagedByLabel, ownership.ManagedByValue)
			}
			if _, ok := o.GetAnnotations()[ownership.PhaseAnnotation]; !ok {
				t.Errorf("%s/%s: missing %s", ns, o.GetName(), ownership.PhaseAnnotation)
			}
			if i > 0 && objs[i-1].Phase > o.Phase {
				t.Errorf("%s: %s (phase %d) after %s (phase %d)", ns, o.GetName(), o.Phase, objs[i-1].GetName(), objs[i-1].Phase)
			}
		}
	}
}

// The policies mean what the runbook and docs/design.md say, checked on the
// typed objects rather than on their text.
func TestSampleAppPolicySemantics(t *testing.T) {
	src, err := EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*networkingv1.NetworkPolicy{}
	for _, ns := range []string{"backend-dev", "frontend-dev"} {
		for _, o := range renderAll(t, src, ns) {
			byName[ns+"/"+o.GetName()] = typed(t, o)
		}
	}

	deny := byName["backend-dev/deny-all"]
	if len(deny.Spec.PodSelector.MatchLabels)+len(deny.Spec.PodSelector.MatchExpressions) != 0 ||
		!cmp.Equal(deny.Spec.PolicyTypes, []networkingv1.PolicyType{"Ingress", "Egress"}) || deny.Spec.Ingress != nil || deny.Spec.Egress != nil {
		t.Errorf("deny-all must select every pod, isolate both directions and allow nothing: %+v", deny.Spec)
	}

	dns := byName["frontend-dev/allow-dns"]
	if len(dns.Spec.Egress) != 1 || len(dns.Spec.Egress[0].To) != 1 {
		t.Fatalf("allow-dns: %+v", dns.Spec)
	}
	peer := dns.Spec.Egress[0].To[0]
	if peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "kube-system" || peer.PodSelector.MatchLabels["k8s-app"] != "kube-dns" {
		t.Errorf("allow-dns peer must be kube-system AND k8s-app=kube-dns in one peer: %+v", peer)
	}
	var dnsPorts []string
	for _, p := range dns.Spec.Egress[0].Ports {
		dnsPorts = append(dnsPorts, string(*p.Protocol)+"/"+p.Port.String())
	}
	if !cmp.Equal(dnsPorts, []string{"UDP/53", "TCP/53"}) {
		t.Errorf("allow-dns ports = %v, want UDP/53 and TCP/53", dnsPorts)
	}

	fromFrontend := byName["backend-dev/allow-from-frontend"]
	rule := fromFrontend.Spec.Ingress[0]
	if fromFrontend.Spec.PodSelector.MatchLabels["app"] != "backend" ||
		rule.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "frontend-dev" ||
		rule.Ports[0].Port.IntValue() != 3001 {
		t.Errorf("allow-from-frontend must admit namespace frontend-dev to app=backend on the pod port 3001 (never the Service port 80): %+v", fromFrontend.Spec)
	}

	toBackend := byName["frontend-dev/allow-to-backend"]
	egress := toBackend.Spec.Egress[0]
	if toBackend.Spec.PodSelector.MatchLabels["app"] != "frontend" ||
		egress.To[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "backend-dev" ||
		egress.To[0].PodSelector.MatchLabels["app"] != "backend" || egress.Ports[0].Port.IntValue() != 3001 ||
		!cmp.Equal(toBackend.Spec.PolicyTypes, []networkingv1.PolicyType{"Egress"}) {
		t.Errorf("allow-to-backend must let app=frontend reach app=backend in backend-dev on 3001: %+v", toBackend.Spec)
	}

	for ns, port := range map[string]int{"backend-dev": 3001, "frontend-dev": 3000} {
		ing := byName[ns+"/allow-from-ingress"]
		p := ing.Spec.Ingress[0].From
		if len(p) != 1 || p[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "ingress" ||
			p[0].PodSelector == nil || p[0].PodSelector.MatchLabels["app.kubernetes.io/name"] != "ingress-nginx" {
			t.Errorf("%s/allow-from-ingress must have namespace AND pod selector in ONE peer: %+v", ns, p)
		}
		if got := ing.Spec.Ingress[0].Ports[0].Port.IntValue(); got != port {
			t.Errorf("%s/allow-from-ingress port = %d, want %d", ns, got, port)
		}

		mon := byName[ns+"/allow-from-monitoring"]
		mp := mon.Spec.Ingress[0].Ports
		if len(mp) != 1 || mp[0].Port.String() != "metrics" || mon.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
			t.Errorf("%s/allow-from-monitoring must admit namespace monitoring on the named port metrics only: %+v", ns, mon.Spec)
		}
	}
}

// labels with includeSelectors: false must never reach a selector: the
// managed-by label in a podSelector would silently narrow the policy.
func TestManagedByLabelNeverInSelectors(t *testing.T) {
	src, err := ConfigSource(loadConfig(t, "../config/testdata/full.yaml"), "full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range src.Namespaces() {
		for _, o := range renderAll(t, src, ns) {
			spec, _ := yaml.Marshal(o.Object["spec"])
			if strings.Contains(string(spec), ownership.ManagedByLabel) {
				t.Errorf("%s/%s: %s appears in the spec:\n%s", ns, o.GetName(), ownership.ManagedByLabel, spec)
			}
		}
	}
}

func TestRenderGolden(t *testing.T) {
	embedded, err := EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	full, err := ConfigSource(loadConfig(t, "../config/testdata/full.yaml"), "full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	collisions, err := ConfigSource(loadConfig(t, "testdata/collisions.yaml"), "collisions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		src  *Source
	}{
		{"sample", embedded},
		{"full", full},
		{"collisions", collisions},
	}
	for _, c := range cases {
		for _, ns := range c.src.Namespaces() {
			t.Run(c.name+"/"+ns, func(t *testing.T) {
				objs := renderAll(t, c.src, ns)
				for _, o := range objs {
					typed(t, o)
				}
				golden.Assert(t, path.Join("render", c.name, ns+".yaml"), toYAML(t, objs))
			})
		}
	}
}

func TestFullConfigComponents(t *testing.T) {
	src, err := ConfigSource(loadConfig(t, "../config/testdata/full.yaml"), "full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]string{
		"frontend-dev": {"deny-all", "allow-dns", "allow-to-backend", "allow-from-ingress", "allow-from-monitoring"},
		"backend-dev": {"deny-all", "allow-dns", "allow-to-backend", "allow-from-frontend", "allow-from-worker", "allow-from-cron",
			"allow-from-ingress", "allow-from-monitoring", "allow-egress-external", "allow-egress-cloud-identity"},
		"batch": {"deny-all", "allow-dns", "allow-to-backend", "allow-egress-apiserver"},
	}
	for ns, want := range tests {
		if got := names(renderAll(t, src, ns)); !cmp.Equal(got, want) {
			t.Errorf("%s: %v, want %v", ns, got, want)
		}
	}
}

// init's folder, built by real krusty, yields exactly what render printed.
func TestInitFilesRoundTrip(t *testing.T) {
	for _, file := range []string{"", "../config/testdata/full.yaml"} {
		var src *Source
		var err error
		if file == "" {
			src, err = EmbeddedSource()
		} else {
			src, err = ConfigSource(loadConfig(t, file), file)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range src.Namespaces() {
			want := renderAll(t, src, ns)
			files, err := InitFiles(want)
			if err != nil {
				t.Fatal(err)
			}
			mem := filesys.MakeFsInMemory()
			for name, b := range files {
				if err := mem.WriteFile(path.Join("/tree", ns, name), b); err != nil {
					t.Fatal(err)
				}
			}
			res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, path.Join("/tree", ns))
			if err != nil {
				t.Fatalf("%s: kustomize build of init output: %v", ns, err)
			}
			got, err := res.AsYaml()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(toYAML(t, want)), string(got)); diff != "" {
				t.Errorf("%s (%s): init output builds to different objects (-render +kustomize):\n%s", ns, file, diff)
			}

			// kubectl kustomize sorts by kind and name (legacy order): the
			// same objects, which is why apply orders by phase instead.
			legacy := krusty.MakeDefaultOptions()
			legacy.Reorder = krusty.ReorderOptionLegacy
			res, err = krusty.MakeKustomizer(legacy).Run(mem, path.Join("/tree", ns))
			if err != nil {
				t.Fatal(err)
			}
			var sortedWant, sortedGot []string
			for _, o := range want {
				b, _ := yaml.Marshal(o.Object)
				sortedWant = append(sortedWant, string(b))
			}
			for _, r := range res.Resources() {
				b, _ := r.AsYAML()
				sortedGot = append(sortedGot, string(b))
			}
			if diff := cmp.Diff(sortedWant, sortedGot, sortStrings); diff != "" {
				t.Errorf("%s: kubectl kustomize's legacy order yields other objects:\n%s", ns, diff)
			}
		}
	}
}

func TestInitFileNamesFollowTheRunbook(t *testing.T) {
	src, err := EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"frontend-dev": {"00-deny-all.yaml", "allow-dns.yaml", "10-allow-to-backend.yaml", "15-allow-from-ingress.yaml", "20-allow-from-monitoring.yaml", "Kustomization"},
		"backend-dev":  {"00-deny-all.yaml", "allow-dns.yaml", "10-allow-from-frontend.yaml", "15-allow-from-ingress.yaml", "20-allow-from-monitoring.yaml", "Kustomization"},
	}
	for ns, names := range want {
		files, err := InitFiles(renderAll(t, src, ns))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for name := range files {
			got = append(got, name)
		}
		if diff := cmp.Diff(names, got, sortStrings); diff != "" {
			t.Errorf("%s files (-want +got):\n%s", ns, diff)
		}
	}
}

var sortStrings = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const userPolicy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: %s
spec:
  podSelector: {}
  policyTypes: [Ingress]
`

// A runbook-style tree without phase annotations is ordered by the known
// policy names, never by the file names.
func TestDirSourceOrdersByPhaseNotFileName(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"team/kustomization.yaml":       "namespace: team\nresources:\n- z-deny.yaml\n- a-monitoring.yaml\n- m-dns.yaml\n- custom.yaml\n",
		"team/z-deny.yaml":              strings.Replace(userPolicy, "%s", "deny-all", 1),
		"team/a-monitoring.yaml":        strings.Replace(userPolicy, "%s", "allow-from-monitoring", 1),
		"team/m-dns.yaml":               strings.Replace(userPolicy, "%s", "allow-dns", 1),
		"team/custom.yaml":              strings.Replace(userPolicy, "%s", "zz-custom", 1),
		"not-a-namespace/readme.txt":    "no kustomization here",
		"other/kustomization.yaml":      "resources: []\n",
		"other/ignored-without-ns.yaml": "x: y\n",
	})
	src, err := DirSource(input.NewReader(nil, 0), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Namespaces(); !cmp.Equal(got, []string{"other", "team"}) {
		t.Errorf("namespaces = %v", got)
	}
	objs := renderAll(t, src, "team")
	if got, want := names(objs), []string{"deny-all", "allow-dns", "allow-from-monitoring", "zz-custom"}; !cmp.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestDirSourceErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		ns    string
		want  string
	}{
		{"invalid kustomization", map[string]string{"team/kustomization.yaml": "resources:\n- missing.yaml\n"}, "team", "missing.yaml"},
		{"malformed YAML", map[string]string{"team/kustomization.yaml": "resources: [\n"}, "team", "kustomization.yaml"},
		{"object in another namespace", map[string]string{
			"team/kustomization.yaml": "resources:\n- p.yaml\n",
			"team/p.yaml":             strings.Replace(userPolicy, "name: %s", "name: p\n  namespace: elsewhere", 1),
		}, "team", `is in namespace "elsewhere", not "team"`},
		{"bad phase annotation", map[string]string{
			"team/kustomization.yaml": "resources:\n- p.yaml\n",
			"team/p.yaml":             strings.Replace(userPolicy, "name: %s", "name: p\n  annotations:\n    netbaseline.io/phase: first", 1),
		}, "team", `netbaseline.io/phase="first": must be two digits`},
		{"namespace without folder", map[string]string{"team/kustomization.yaml": "resources: []\n"}, "backend-dev", `no overlay for namespace "backend-dev"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := DirSource(input.NewReader(nil, 0), writeTree(t, tt.files), false)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Render(tt.ns)
			if err == nil {
				t.Fatal("Render succeeded")
			}
			if _, ok := err.(*InputError); !ok {
				t.Errorf("error is %T, want *InputError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}

	if _, err := DirSource(input.NewReader(nil, 0), filepath.Join(t.TempDir(), "nope"), false); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("missing --dir: err = %v", err)
	}
}

func TestPhaseOf(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        int
		wantErr     bool
	}{
		{"deny-all", nil, PhaseDenyAll, false},
		{"allow-dns", nil, PhaseDNS, false},
		{"allow-from-payments", nil, PhaseRelations, false},
		{"allow-to-db", nil, PhaseRelations, false},
		{"allow-from-ingress", nil, PhaseIngress, false},
		{"custom", nil, PhaseUnknown, false},
		{"custom", map[string]string{ownership.PhaseAnnotation: "07"}, 7, false},
		{"deny-all", map[string]string{ownership.PhaseAnnotation: "40"}, 40, false},
		{"custom", map[string]string{ownership.PhaseAnnotation: "7"}, 0, true},
		{"custom", map[string]string{ownership.PhaseAnnotation: "-1"}, 0, true},
	}
	for _, tt := range tests {
		got, err := phaseOf(tt.name, tt.annotations)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("PhaseOf(%s, %v) = %d, %v; want %d, err=%v", tt.name, tt.annotations, got, err, tt.want, tt.wantErr)
		}
	}
}

// A user tree is read from disk only: an alias bomb is refused before
// kustomize expands it, and remote resources need allowRemote.
func TestDirSourcePreflight(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\ni: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"alias bomb", map[string]string{"team/kustomization.yaml": "resources: [p.yaml]\n", "team/p.yaml": bomb}, "aliases expand the document"},
		{"alias bomb in a base", map[string]string{"team/kustomization.yaml": "resources: [../base]\n", "base/kustomization.yaml": "resources: [p.yaml]\n", "base/p.yaml": bomb}, "aliases expand the document"},
		{"URL", map[string]string{"team/kustomization.yaml": "resources:\n- https://example.com/allow-all.yaml\n"}, `resources entry "https://example.com/allow-all.yaml" fetches from the network`},
		{"git repository", map[string]string{"team/kustomization.yaml": "resources:\n- github.com/example/policies//base?ref=v1\n"}, "pass --allow-remote"},
		{"git host path", map[string]string{"team/Kustomization": "components:\n- gitlab.com/example/policies\n"}, `components entry "gitlab.com/example/policies"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := DirSource(input.NewReader(nil, 0), writeTree(t, tt.files), false)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Render("team")
			var in *InputError
			if !errors.As(err, &in) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render = %v, want an InputError with %q", err, tt.want)
			}
		})
	}
}
