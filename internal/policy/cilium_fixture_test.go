package policy_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy/ciliumref"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// ciliumManifests writes a fixture's cluster as the manifests a user
// would have: Namespaces, Pods (with their addresses), Services, the
// policies as written and the cilium-config ConfigMap.
func ciliumManifests(c ciliumref.Cluster) string {
	var docs []string
	add := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		docs = append(docs, string(b))
	}
	for _, ns := range c.Namespaces {
		add(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns.Name, "labels": ns.Labels}})
	}
	for _, p := range c.Pods {
		var ports []any
		for _, np := range p.Ports {
			ports = append(ports, map[string]any{"name": np.Name, "containerPort": np.Port, "protocol": strings.ToUpper(np.Protocol)})
		}
		spec := map[string]any{"containers": []any{map[string]any{"name": "c", "image": "x", "ports": ports}}}
		if p.ServiceAccount != "" {
			spec["serviceAccountName"] = p.ServiceAccount
		}
		add(map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": p.Name, "namespace": p.Namespace, "labels": p.Labels},
			"spec":     spec, "status": map[string]any{"podIP": p.IP}})
	}
	for _, s := range c.Services {
		var ports []any
		for _, sp := range s.Ports {
			port := map[string]any{"port": sp.Port, "protocol": strings.ToUpper(sp.Protocol)}
			if sp.TargetPort != 0 {
				port["targetPort"] = sp.TargetPort
			}
			ports = append(ports, port)
		}
		add(map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": s.Name, "namespace": s.Namespace},
			"spec": map[string]any{"selector": s.Selector, "ports": ports}})
	}
	for _, p := range c.Policies {
		add(p)
	}
	add(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cilium-config", "namespace": "kube-system"}, "data": c.Config})
	return strings.Join(docs, "\n---\n") + "\n"
}

// ciliumModel loads a fixture's cluster through the file reader.
func ciliumModel(t testing.TB, dir string, c ciliumref.Cluster) *model.Model {
	t.Helper()
	path := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(path, []byte(ciliumManifests(c)), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := read.LoadFiles([]string{path}, nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	if m.Cilium == nil {
		t.Fatal("Cilium not known to enforce after reading cilium-config")
	}
	if v := c.Config["cilium-version"]; v != "" {
		m.Cilium.Version = v // live: the cilium DaemonSet's image tag
	}
	return m
}

func ciliumEndpoint(m *model.Model, ep ciliumref.Endpoint) (policy.Endpoint, error) {
	switch {
	case ep.Pod != "":
		ns, name, _ := strings.Cut(ep.Pod, "/")
		p := m.Pod(ns, name)
		if p == nil {
			return policy.Endpoint{}, fmt.Errorf("no pod %s", ep.Pod)
		}
		return policy.PodEndpoint(p), nil
	case ep.IP != "":
		a, err := netip.ParseAddr(ep.IP)
		return policy.Endpoint{IP: a, Entity: "world"}, err
	default:
		return policy.Endpoint{Entity: ep.Entity}, nil
	}
}

// ciliumL7 reports whether a side says requests are filtered above L4.
func ciliumL7(r policy.Result) bool {
	for _, s := range []*policy.Side{r.Egress, r.Ingress} {
		if s != nil && s.Cilium != nil && s.Cilium.L7 {
			return true
		}
	}
	return false
}

// TestCiliumFixtures runs the engine over every ported Cilium test case
// and every reference case (testdata/cilium, FORMAT.md), through the file
// reader.
func TestCiliumFixtures(t *testing.T) {
	var files []string
	for _, dir := range []string{"ported", "ref"} {
		got, err := filepath.Glob(filepath.Join("testdata", "cilium", dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, got...)
	}
	cases, failed := 0, 0
	for _, file := range files {
		fx, err := ciliumref.LoadFixture(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		m := ciliumModel(t, t.TempDir(), fx.Cluster)
		e := policy.New(m)
		for i, c := range fx.Cases {
			cases++
			from, err1 := ciliumEndpoint(m, c.From)
			to, err2 := ciliumEndpoint(m, c.To)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s case %d: %v %v", file, i, err1, err2)
			}
			proto := corev1.Protocol(strings.ToUpper(c.Protocol))
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			r := e.Evaluate(policy.Flow{From: from, To: to, Port: c.Port, Protocol: proto}, true)
			l7ok := c.L7 == nil || *c.L7 == ciliumL7(r)
			if string(r.Verdict) != string(c.Expect) || !l7ok {
				failed++
				t.Errorf("%s case %d (%s → %s :%d/%s): got %s (l7 %v), want %s (l7 %v) — %s\n  egress: %s\n  ingress: %s\n  warnings: %v",
					filepath.Base(file), i, from, to, c.Port, proto, r.Verdict, ciliumL7(r), c.Expect, c.L7, c.Note, sideText(r.Egress), sideText(r.Ingress), m.Warnings)
			}
		}
	}
	t.Logf("%d fixture files, %d cases, %d failed", len(files), cases, failed)
}

func sideText(s *policy.Side) string {
	if s == nil {
		return "-"
	}
	out := string(s.Verdict)
	if s.Cilium != nil {
		out += " " + s.Cilium.String()
	}
	if s.Undecided != "" {
		out += " (" + s.Undecided + ")"
	}
	return out
}
