package discovering

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// The use case without cobra, a Factory or a cluster: a model from
// manifests and an observer that reports what the pods' sockets showed.

const cluster = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: 198.18.0.10}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop, labels: {app: client}}
spec: {containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 198.18.0.11}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 198.18.0.2}
`

// sockets reports, per pod, the flows it saw (or an error).
type sockets struct {
	flows   map[string][]probe.ObservedFlow
	broken  bool
	watched [][2]string
}

func (s *sockets) ObserveAll(_ context.Context, pods [][2]string, _ int, _, _ time.Duration) []probe.PodObservation {
	s.watched = pods
	out := make([]probe.PodObservation, len(pods))
	for i, p := range pods {
		out[i] = probe.PodObservation{Namespace: p[0], Name: p[1]}
		if s.broken {
			out[i].Err = errors.New("ephemeral containers are disabled")
			continue
		}
		out[i].Observation = &probe.SocketObservation{Version: 1, Samples: 10, Flows: s.flows[p[0]+"/"+p[1]]}
	}
	return out
}

type result struct {
	stdout, stderr bytes.Buffer
	err            error
}

func run(t *testing.T, s *sockets, edit func(*Config), unreadable ...string) *result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(cluster), 0o644); err != nil {
		t.Fatal(err)
	}
	settings := config.Default()
	r := &result{}
	c := Config{
		Namespaces: []string{"shop"}, Window: time.Minute, Interval: time.Second, ExternalPrefix: 32, Parallel: 2, Image: "probe@sha256:0",
		Settings: settings, Base: &config.Config{TypeMeta: settings.TypeMeta, DNS: settings.DNS, IngressController: settings.IngressController, Monitoring: settings.Monitoring, NamespaceLabel: settings.NamespaceLabel},
		Output: "yaml", Out: &r.stdout, ErrOut: &r.stderr,
		Load: func(context.Context, []string) (*model.Model, error) {
			m, err := read.Load(input.NewReader(nil, 1<<20), []string{path}, "shop")
			for _, ns := range unreadable {
				m.MarkUnreadable("pods", ns)
			}
			return m, err
		},
		Nodes:     func(context.Context) ([]*model.Node, error) { return nil, nil },
		APIServer: func(context.Context) ([]netip.AddrPort, error) { return nil, nil },
		Observer:  s,
	}
	if edit != nil {
		edit(&c)
	}
	r.err = Run(context.Background(), c)
	return r
}

func clientToWeb() *sockets {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	return &sockets{flows: map[string][]probe.ObservedFlow{
		"shop/client": {{Direction: probe.Outbound, Protocol: "TCP", Remote: "198.18.0.10", Port: 8080, Connections: 3, FirstSeen: now, LastSeen: now}},
		"shop/web":    {{Direction: probe.Inbound, Protocol: "TCP", Remote: "198.18.0.11", Port: 8080, Connections: 3, FirstSeen: now, LastSeen: now}},
	}}
}

func TestObservedConnectionsBecomeTheConfig(t *testing.T) {
	s := clientToWeb()
	r := run(t, s, nil)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr.String())
	}
	if len(s.watched) != 2 {
		t.Errorf("observed %v, want shop's two pods", s.watched)
	}
	out := r.stdout.String()
	for _, want := range []string{"kind: Config", "name: shop", "port: 8080"} {
		if !strings.Contains(out, want) {
			t.Errorf("the Config lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(r.stderr.String(), "Observed 2 pod(s)") {
		t.Errorf("no summary on stderr:\n%s", r.stderr.String())
	}
}

func TestTheDocumentCarriesTheEvidence(t *testing.T) {
	r := run(t, clientToWeb(), func(c *Config) { c.Output = "json" })
	if r.err != nil || !strings.Contains(r.stdout.String(), `"kind": "Discovery"`) || !strings.Contains(r.stdout.String(), `"pod": "shop/client"`) {
		t.Fatalf("%v\n%s", r.err, r.stdout.String())
	}
}

func TestNothingToShowIsAFailureNotAnEmptyConfig(t *testing.T) {
	for name, tt := range map[string]struct {
		s          *sockets
		unreadable []string
		message    string
	}{
		"no pod could be observed": {&sockets{broken: true}, nil, "no pod could be observed"},
		"nothing observed":         {&sockets{}, nil, "nothing observed"},
		"pods unreadable":          {clientToWeb(), []string{"shop"}, `"list" on "pods" in namespace shop`},
	} {
		r := run(t, tt.s, nil, tt.unreadable...)
		if exit.StatusOf(r.err) != exit.Failed || !strings.Contains(r.err.Error(), tt.message) || r.stdout.Len() != 0 {
			t.Errorf("%s: want exit 1 (%q) and nothing on stdout, got %d: %v\n%s", name, tt.message, exit.StatusOf(r.err), r.err, r.stdout.String())
		}
	}
}

func TestAllNamespacesLeavesTheSystemOnesOut(t *testing.T) {
	s := clientToWeb()
	r := run(t, s, func(c *Config) { c.Namespaces, c.AllNamespaces = nil, true })
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, p := range s.watched {
		if p[0] == "kube-system" {
			t.Fatalf("-A observed %v", s.watched)
		}
	}
}
