package discover

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func pod(ns, name, ip string, labels map[string]string, ports ...model.ContainerPort) *model.Pod {
	return &model.Pod{Namespace: ns, Name: name, Labels: labels, IPs: []netip.Addr{netip.MustParseAddr(ip)}, Ports: ports,
		Owner: &model.Owner{Kind: "deployment", Name: strings.SplitN(name, "-", 2)[0]}, Phase: corev1.PodRunning, Ready: true}
}

func port(name string, n int32) model.ContainerPort {
	return model.ContainerPort{Name: name, Port: n, Protocol: corev1.ProtocolTCP}
}

func service(ns, name, ip string, selector map[string]string, ports ...model.ServicePort) *model.Service {
	return &model.Service{Namespace: ns, Name: name, Selector: selector, Ports: ports, ClusterIPs: []netip.Addr{netip.MustParseAddr(ip)}}
}

func svcPort(port int32, target intstr.IntOrString, protocol corev1.Protocol) model.ServicePort {
	return model.ServicePort{Port: port, TargetPort: target, Protocol: protocol}
}

// The runbook's sample app, read as from a live cluster.
func sampleModel() *model.Model {
	frontend := pod("frontend-dev", "frontend-abc", "198.18.0.16", map[string]string{"app": "frontend", "pod-template-hash": "abc"}, port("http", 3000), port("metrics", 8080))
	backend := pod("backend-dev", "backend-def", "198.18.0.15", map[string]string{"app": "backend", "pod-template-hash": "def"}, port("http", 3001), port("metrics", 8080))
	backend2 := pod("backend-dev", "backend-ghi", "198.18.0.17", map[string]string{"app": "backend", "pod-template-hash": "def"}, port("http", 3001), port("metrics", 8080))
	ingress := pod("ingress", "ingress-nginx-controller-x", "198.18.0.30", map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}, port("http", 8000))
	prometheus := pod("monitoring", "prometheus-y", "198.18.0.40", map[string]string{"app.kubernetes.io/name": "prometheus"}, port("web", 9090))
	coredns := pod("kube-system", "coredns-z", "198.18.0.2", map[string]string{"k8s-app": "kube-dns"}, model.ContainerPort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, port("dns-tcp", 53))
	m := &model.Model{
		Namespaces: []*model.Namespace{{Name: "frontend-dev"}, {Name: "backend-dev"}, {Name: "ingress"}, {Name: "monitoring"}, {Name: "kube-system"}, {Name: "default"}},
		Pods:       []*model.Pod{frontend, backend, backend2, ingress, prometheus, coredns},
		Services: []*model.Service{
			service("backend-dev", "backend", "198.19.0.20", map[string]string{"app": "backend"}, svcPort(80, intstr.FromString("http"), corev1.ProtocolTCP), svcPort(8080, intstr.FromString("metrics"), corev1.ProtocolTCP)),
			service("frontend-dev", "frontend", "198.19.0.21", map[string]string{"app": "frontend"}, svcPort(80, intstr.FromString("http"), corev1.ProtocolTCP)),
			service("kube-system", "kube-dns", "198.19.0.10", map[string]string{"k8s-app": "kube-dns"}, svcPort(53, intstr.FromString("dns"), corev1.ProtocolUDP), svcPort(53, intstr.FromString("dns-tcp"), corev1.ProtocolTCP)),
			service("default", "kubernetes", "198.19.0.1", nil, svcPort(443, intstr.FromInt32(6443), corev1.ProtocolTCP)),
			service("default", "headless-nothing", "198.19.0.99", nil, svcPort(80, intstr.FromInt32(80), corev1.ProtocolTCP)),
		},
		Nodes: []*model.Node{{Name: "vm", Addresses: []netip.Addr{netip.MustParseAddr("198.18.0.1")}}},
	}
	for _, ns := range m.Namespaces {
		ns.Labels = map[string]string{config.MetadataNameLabel: ns.Name}
	}
	m.Normalize()
	return m
}

var apiServer = []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:6443")}

func flow(dir, protocol, remote string, p uint16, conns, attempts int) probe.ObservedFlow {
	return probe.ObservedFlow{Direction: dir, Protocol: protocol, Remote: remote, Port: p, Connections: conns, Attempts: attempts, FirstSeen: t0, LastSeen: t0.Add(time.Minute)}
}

func sampleReports(m *model.Model) []PodReport {
	obs := func(flows ...probe.ObservedFlow) *probe.SocketObservation {
		return &probe.SocketObservation{Version: 1, Start: t0, End: t0.Add(2 * time.Minute), Samples: 480, Flows: flows}
	}
	return []PodReport{
		{Pod: m.Pod("frontend-dev", "frontend-abc"), Observation: obs(
			flow(probe.Outbound, "TCP", "198.19.0.20", 80, 5, 0),          // backend's Service: 80 -> http (3001)
			flow(probe.Inbound, "TCP", "198.18.0.30", 3000, 3, 0),         // the ingress controller
			flow(probe.Inbound, "TCP", "198.18.0.40", 8080, 2, 0),         // a scrape
			flow(probe.Inbound, "TCP", "198.18.0.1", 3000, 4, 0),          // the kubelet
			flow(probe.Outbound, "UDP", "198.19.0.10", 53, 9, 0),          // DNS
			flow(probe.Outbound, "TCP", "198.19.0.1", 443, 1, 0),          // the API server through its ClusterIP
			flow(probe.Outbound, "TCP", "198.51.100.10", 443, 0, 2),       // never answered
			flow(probe.Outbound, "TCP", "198.19.0.99", 80, 1, 0),          // a Service without pods
			flow(probe.Inbound, "TCP", "198.51.100.200", 3000, 1, 0),      // from outside the cluster
			flow(probe.Outbound, "TCP", "::ffff:198.18.0.15", 3001, 1, 0), // a backend pod directly, IPv4-mapped
		)},
		{Pod: m.Pod("backend-dev", "backend-def"), Observation: obs(
			flow(probe.Inbound, "TCP", "198.18.0.16", 3001, 4, 0), // the frontend (after kube-proxy)
			flow(probe.Inbound, "TCP", "198.18.0.30", 3001, 1, 0),
			flow(probe.Inbound, "TCP", "198.18.0.40", 8080, 2, 0),
			flow(probe.Outbound, "TCP", "198.51.100.10", 80, 2, 0),
			flow(probe.Outbound, "TCP", "198.51.100.77", 80, 1, 0),
			flow(probe.Outbound, "TCP", "198.18.0.1", 10250, 1, 0), // a node
		)},
		{Pod: m.Pod("backend-dev", "backend-ghi"), Err: "probe in backend-dev/backend-ghi: the pod is gone"},
	}
}

func TestResolve(t *testing.T) {
	r := NewResolver(sampleModel(), apiServer)
	for ap, want := range map[string]PeerKind{
		"198.18.0.16:3000": PeerPod, "[::ffff:198.18.0.16]:3000": PeerPod, "198.19.0.20:80": PeerService, "198.19.0.1:443": PeerAPIServer,
		"198.18.0.1:6443": PeerAPIServer, "198.18.0.1:10250": PeerNode, "198.51.100.10:80": PeerExternal,
	} {
		a := netip.MustParseAddrPort(ap)
		if got := r.Resolve(a.Addr(), a.Port()).Kind; got != want {
			t.Errorf("%s: %s, want %s", ap, got, want)
		}
	}
	// without the API server's endpoints its node address is the node's
	r = NewResolver(sampleModel(), nil)
	if p := r.Resolve(netip.MustParseAddr("198.18.0.1"), 6443); p.Kind != PeerNode || p.Node != "vm" {
		t.Errorf("node: %+v", p)
	}
	// a named targetPort resolved on each pod; a port the Service lacks maps to nothing
	svc := sampleModel().Services[0]
	targets := r.ServiceTargets(svc, 80, corev1.ProtocolTCP)
	if len(targets) != 2 || targets[0].Port != 3001 {
		t.Errorf("targets %+v", targets)
	}
	if got := r.ServiceTargets(svc, 81, corev1.ProtocolTCP); len(got) != 0 {
		t.Errorf("port 81: %+v", got)
	}
	if got := r.ServiceTargets(svc, 80, corev1.ProtocolUDP); len(got) != 0 {
		t.Errorf("UDP 80: %+v", got)
	}
}

func TestAppOf(t *testing.T) {
	for _, c := range []struct {
		labels map[string]string
		owner  *model.Owner
		want   App
	}{
		{map[string]string{"app.kubernetes.io/name": "Web_Shop", "app": "x"}, nil, App{"ns", "web-shop", map[string]string{"app.kubernetes.io/name": "Web_Shop"}}},
		{map[string]string{"app": "api", "version": "v2"}, nil, App{"ns", "api", map[string]string{"app": "api"}}},
		{map[string]string{"tier": "db", "pod-template-hash": "123", "version": "canary"}, &model.Owner{Kind: "deployment", Name: "orders-db"},
			App{"ns", "orders-db", map[string]string{"tier": "db", "version": "canary"}}},
	} {
		got := AppOf(&model.Pod{Namespace: "ns", Name: "p-1", Labels: c.labels, Owner: c.owner})
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%v: %s", c.labels, diff)
		}
	}
}

func TestEdgesAndConfig(t *testing.T) {
	m := sampleModel()
	settings := config.Default()
	edges, notes := Edges(sampleReports(m), NewResolver(m, apiServer), settings)
	var got []string
	for _, e := range edges {
		got = append(got, fmt.Sprintf("%s %s %d/%d", e.Kind, e.Describe(), e.Connections, e.Attempts))
	}
	want := []string{
		"apiserver frontend-dev/frontend -> the API server 443/TCP 1/0",
		"app frontend-dev/frontend -> backend-dev/backend 3001/TCP 6/0", // 5 through the Service + 1 direct; the backend saw 4
		"external backend-dev/backend -> node vm (198.18.0.1) 10250/TCP 1/0",
		"external backend-dev/backend -> 198.51.100.10 80/TCP 2/0",
		"external backend-dev/backend -> 198.51.100.77 80/TCP 1/0",
		"external frontend-dev/frontend -> 198.51.100.10 443/TCP 0/2",
		"ingress ingress/ingress-nginx -> backend-dev/backend 3001/TCP 1/0",
		"ingress ingress/ingress-nginx -> frontend-dev/frontend 3000/TCP 3/0",
		"monitoring monitoring/prometheus -> backend-dev/backend 8080/TCP 2/0",
		"monitoring monitoring/prometheus -> frontend-dev/frontend 8080/TCP 2/0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
	wantNotes := Notes{FromNodes: 4, InboundExternal: []string{"198.51.100.200 -> frontend-dev/frontend-abc 3000/TCP"},
		Unmapped: []string{"frontend-dev/frontend-abc -> svc/default/headless-nothing 80/TCP"}, DNS: 9}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}

	base := &config.Config{DNS: settings.DNS, IngressController: settings.IngressController, Monitoring: settings.Monitoring, NamespaceLabel: settings.NamespaceLabel}
	var observed []*model.Pod
	for _, r := range sampleReports(m) {
		if r.Observation != nil {
			observed = append(observed, r.Pod)
		}
	}
	res := Build(base, edges, observed, apiServer, Options{Namespaces: []string{"frontend-dev", "backend-dev"}, ExternalPrefix: 24})
	cfg := res.Config
	on := true
	wantNS := []config.Namespace{
		{Name: "backend-dev", Monitoring: &on, Apps: []config.App{{Name: "backend", Labels: map[string]string{"app": "backend"}, Ingress: true,
			Ports: []config.AppPort{{Name: "http", Port: 3001, Protocol: "TCP"}}}},
			EgressExternal: &config.ExternalEgress{App: "backend", To: []config.CIDRRule{
				{CIDR: "198.18.0.1/32", Ports: []config.Port{{Port: 10250, Protocol: "TCP"}}},
				{CIDR: "198.51.100.0/24", Ports: []config.Port{{Port: 80, Protocol: "TCP"}}},
			}}},
		{Name: "frontend-dev", Monitoring: &on, APIServer: true, Apps: []config.App{{Name: "frontend", Labels: map[string]string{"app": "frontend"}, Ingress: true,
			Ports:   []config.AppPort{{Name: "http", Port: 3000, Protocol: "TCP"}},
			TalksTo: []config.Relation{{Namespace: "backend-dev", App: "backend", Ports: []config.Port{{Port: 3001, Protocol: "TCP"}}}}}}},
	}
	if diff := cmp.Diff(wantNS, cfg.Namespaces); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]config.CIDRRule{{CIDR: "198.18.0.1/32", Ports: []config.Port{{Port: 6443, Protocol: "TCP"}}}}, cfg.APIServer.To); diff != "" {
		t.Errorf("apiServer.to: %s", diff)
	}
	if c := res.Comments[keyRelation("frontend-dev", "frontend", "backend-dev", "backend")]; !strings.Contains(c, "6 connection(s), 10:00:00–10:01:00") || !strings.Contains(c, "backend-dev/backend-def") {
		t.Errorf("relation evidence: %q", c)
	}

	// Written, read back and validated like any Config file.
	var buf bytes.Buffer
	if err := WriteConfig(&buf, res, Header([]string{"frontend-dev", "backend-dev"}, 2, "2m0s")); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	parsed, err := ParseBack(buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if errs := parsed.Validate(); len(errs) > 0 {
		t.Fatalf("%v\n%s", errs, text)
	}
	if diff := cmp.Diff(wantNS, parsed.Namespaces); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	for _, want := range []string{"apiVersion: netbaseline.io/v1alpha1\nkind: Config\n", "# seen: 3001/TCP, 6 connection(s)", "# seen: to 198.51.100.77",
		"# seen: to 198.18.0.1 (node vm)", "# Discovered by kubectl netbaseline discover from 2 pod(s)", "  - name: backend-dev\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"doctor:", "probe:", "cloudIdentity:", "198.51.100.10/32", "443"} {
		if unwanted == "443" {
			if strings.Contains(text, "port: 443") {
				t.Errorf("the unanswered call is in the Config:\n%s", text)
			}
			continue
		}
		if strings.Contains(text, unwanted) {
			t.Errorf("%q in\n%s", unwanted, text)
		}
	}

	// Coverage: the policies in place allow everything; the baseline
	// denies what was never seen and nothing that was.
	rendered := renderForTest(t, parsed, []string{"frontend-dev", "backend-dev"})
	after := policy.After(m, rendered, nil)
	cov := CoverageOf(m, after, edges, map[string]bool{"frontend-dev": true, "backend-dev": true})
	if len(cov.CutObserved) != 0 {
		t.Errorf("observed flows cut: %+v", cov.CutObserved)
	}
	if !hasChange(cov.NeverObserved, "backend-dev/backend-def", "frontend-dev/frontend-abc", 3000) {
		t.Errorf("backend -> frontend 3000 is not reported as never observed: %+v", cov.NeverObserved)
	}
	// the calls between the observed namespaces come first
	outsideSeen := false
	for _, c := range cov.NeverObserved {
		in := inside(c, map[string]bool{"frontend-dev": true, "backend-dev": true})
		if in && outsideSeen {
			t.Errorf("%s -> %s listed after a call from another namespace", c.From, c.To)
		}
		outsideSeen = outsideSeen || !in
	}
	if !outsideSeen {
		t.Errorf("the test model has no caller outside the observed namespaces: %+v", cov.NeverObserved)
	}
	if hasChange(cov.NeverObserved, "frontend-dev/frontend-abc", "backend-dev/backend-def", 3001) {
		t.Error("an observed flow is reported as never observed")
	}
	if diff := cmp.Diff([]string{"frontend-dev/frontend -> 198.51.100.10 443/TCP"}, cov.Unanswered); diff != "" {
		t.Errorf("unanswered: %s", diff)
	}
	if len(cov.DeniedNow) != 0 {
		t.Errorf("denied now with no policy: %+v", cov.DeniedNow)
	}

	// With the baseline in place, what was observed is still allowed and
	// the engine says so (DeniedNow is empty); a deny-all in place shows up.
	cov = CoverageOf(after, after, edges, map[string]bool{"backend-dev": true})
	if len(cov.DeniedNow) != 0 {
		t.Errorf("the discovered baseline denies observed flows: %+v", cov.DeniedNow)
	}
	denyAll := policy.After(m, map[string][]*networkingv1.NetworkPolicy{"backend-dev": {denyAllPolicy("backend-dev")}}, nil)
	cov = CoverageOf(denyAll, denyAll, edges, map[string]bool{"backend-dev": true})
	if len(cov.DeniedNow) == 0 || !strings.Contains(cov.DeniedNow[0].Edge, "backend-dev/backend") || cov.DeniedNow[0].By[0] != "deny-all" {
		t.Errorf("denied now: %+v", cov.DeniedNow)
	}
}

func hasChange(changes []policy.FlowChange, from, to string, port int32) bool {
	for _, c := range changes {
		if c.From == from && c.To == to && c.Port == port {
			return true
		}
	}
	return false
}

// --merge: what the file holds stays, what was observed is added.
func TestBuildMergesIntoAnExistingConfig(t *testing.T) {
	m := sampleModel()
	existing := `apiVersion: netbaseline.io/v1alpha1
kind: Config
namespaces:
- name: frontend-dev
  monitoring: true
  apps:
  - name: frontend
    labels: {app: frontend}
    ports: [{name: http, port: 3000}]
    talksTo:
    - {namespace: payments, app: api, ports: [{port: 8443}]}
  egressExternal:
    to: [{cidr: 10.0.0.0/8}]
- name: payments
  apps:
  - name: api
    labels: {app.kubernetes.io/name: payments-api}
    ports: [{port: 8443}]
`
	base, err := config.Parse("existing.yaml", []byte(existing))
	if err != nil {
		t.Fatal(err)
	}
	edges, _ := Edges(sampleReports(m), NewResolver(m, apiServer), base)
	res := Build(base, edges, []*model.Pod{m.Pod("frontend-dev", "frontend-abc")}, apiServer, Options{Namespaces: []string{"frontend-dev"}, ExternalPrefix: 32})
	var buf bytes.Buffer
	if err := WriteConfig(&buf, res, nil); err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseBack(buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	fe := parsed.FindNamespace("frontend-dev")
	app := fe.FindApp("frontend")
	if len(app.TalksTo) != 2 || app.TalksTo[0].Namespace != "backend-dev" || app.TalksTo[1].Namespace != "payments" {
		t.Errorf("relations: %+v", app.TalksTo)
	}
	if fe.EgressExternal == nil || len(fe.EgressExternal.To) != 1 || fe.EgressExternal.To[0].CIDR != "10.0.0.0/8" {
		t.Errorf("external egress of the file: %+v", fe.EgressExternal)
	}
	if parsed.FindNamespace("payments") == nil || parsed.FindNamespace("backend-dev") == nil {
		t.Errorf("namespaces: %v", parsed.Namespaces)
	}
	if !app.Ingress || len(app.Ports) != 1 {
		t.Errorf("the observed ingress is not merged into the existing app: %+v", app)
	}
	// the destination namespace was not observed: said so
	if !strings.Contains(buf.String(), "# not observed: only the calls between it and the observed namespaces are known") {
		t.Errorf("no note on the unobserved namespace:\n%s", buf.String())
	}
}

func TestGroupPrefix(t *testing.T) {
	for _, c := range []struct {
		ip   string
		bits int
		want string
	}{
		{"198.51.100.77", 32, "198.51.100.77/32"}, {"198.51.100.77", 24, "198.51.100.0/24"}, {"198.51.100.77", 0, "0.0.0.0/0"},
		{"2001:db8::1", 32, "2001:db8::1/128"}, {"2001:db8::1", 24, "2001:db8::/64"},
	} {
		if got := groupPrefix(netip.MustParseAddr(c.ip), c.bits); got != c.want {
			t.Errorf("%s/%d: %s, want %s", c.ip, c.bits, got, c.want)
		}
	}
}

func renderForTest(t *testing.T, cfg *config.Config, namespaces []string) map[string][]*networkingv1.NetworkPolicy {
	t.Helper()
	src, err := baseline.ConfigSource(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := src.RenderAll(namespaces)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*networkingv1.NetworkPolicy{}
	for ns, objs := range rendered {
		for _, o := range objs {
			np := &networkingv1.NetworkPolicy{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, np); err != nil {
				t.Fatal(err)
			}
			out[ns] = append(out[ns], np)
		}
	}
	return out
}

func denyAllPolicy(ns string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}
}
