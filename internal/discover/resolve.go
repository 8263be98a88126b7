// Package discover turns what the pods' own socket tables showed (the
// probe agent's observations) into a Config: which app calls which on
// which port, the ingress controller's and monitoring's calls, external
// egress. Pure logic on the read model; the command gathers the inputs.
package discover

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// PeerKind says what a remote address is.
type PeerKind string

// What a remote address can be.
const (
	PeerPod       PeerKind = "pod"
	PeerService   PeerKind = "service"
	PeerAPIServer PeerKind = "apiserver"
	PeerNode      PeerKind = "node"
	PeerExternal  PeerKind = "external"
)

// Peer is a resolved remote address.
type Peer struct {
	Kind    PeerKind
	Pod     *model.Pod
	Service *model.Service
	Node    string
	IP      netip.Addr
}

// Resolver maps addresses to what they are in the read model: pod IPs to
// pods, ClusterIPs (what a client's socket shows, before kube-proxy's
// translation) to Services, node addresses to nodes, the API server's
// endpoints to the API server; everything else is external.
type Resolver struct {
	model    *model.Model
	pods     map[netip.Addr]*model.Pod
	services map[netip.Addr]*model.Service
	nodes    map[netip.Addr]string
	// apiServer: its endpoints (address and port) and its ClusterIPs
	apiServer   map[netip.AddrPort]bool
	apiServerIP map[netip.Addr]bool
}

// NewResolver indexes the model; apiServer are the endpoints of the
// default/kubernetes Service.
func NewResolver(m *model.Model, apiServer []netip.AddrPort) *Resolver {
	r := &Resolver{model: m, pods: map[netip.Addr]*model.Pod{}, services: map[netip.Addr]*model.Service{},
		nodes: map[netip.Addr]string{}, apiServer: map[netip.AddrPort]bool{}, apiServerIP: map[netip.Addr]bool{}}
	for _, p := range m.Pods {
		if p.HostNetwork || p.FromTemplate {
			continue // a host-network pod's address is its node's
		}
		for _, ip := range p.IPs {
			r.pods[ip.Unmap()] = p
		}
	}
	for _, s := range m.Services {
		for _, ip := range s.ClusterIPs {
			r.services[ip.Unmap()] = s
			if s.Namespace == "default" && s.Name == "kubernetes" {
				r.apiServerIP[ip.Unmap()] = true
			}
		}
	}
	for _, n := range m.Nodes {
		for _, ip := range n.Addresses {
			r.nodes[ip.Unmap()] = n.Name
		}
	}
	for _, ep := range apiServer {
		r.apiServer[netip.AddrPortFrom(ep.Addr().Unmap(), ep.Port())] = true
	}
	return r
}

// Resolve says what ip is, called on port (the API server often shares
// its address with a node, on its own port).
func (r *Resolver) Resolve(ip netip.Addr, port uint16) Peer {
	ip = ip.Unmap()
	switch {
	case r.apiServerIP[ip] || r.apiServer[netip.AddrPortFrom(ip, port)]:
		return Peer{Kind: PeerAPIServer, IP: ip, Service: r.services[ip]}
	case r.pods[ip] != nil:
		return Peer{Kind: PeerPod, Pod: r.pods[ip], IP: ip}
	case r.services[ip] != nil:
		return Peer{Kind: PeerService, Service: r.services[ip], IP: ip}
	case r.nodes[ip] != "":
		return Peer{Kind: PeerNode, Node: r.nodes[ip], IP: ip}
	}
	return Peer{Kind: PeerExternal, IP: ip}
}

// Target is a pod behind a Service port, with the pod port it maps to.
type Target struct {
	Pod  *model.Pod
	Port int32
}

// ServiceTargets are the pods the Service sends port/protocol to, each
// with its pod port (a named targetPort resolved on each pod, as
// kube-proxy does).
func (r *Resolver) ServiceTargets(svc *model.Service, port int32, protocol corev1.Protocol) []Target {
	if len(svc.Selector) == 0 {
		return nil
	}
	var sp *model.ServicePort
	for i := range svc.Ports {
		p := &svc.Ports[i]
		if p.Port == port && protocolOf(p.Protocol) == protocol {
			sp = p
		}
	}
	if sp == nil {
		return nil
	}
	selector := labels.SelectorFromSet(svc.Selector)
	var out []Target
	for _, p := range r.model.Pods {
		if p.Namespace != svc.Namespace || p.HostNetwork || p.FromTemplate || !selector.Matches(labels.Set(p.Labels)) {
			continue
		}
		target := int32(sp.TargetPort.IntValue())
		if sp.TargetPort.Type == 1 { // a name
			n, ok := p.NamedPort(sp.TargetPort.StrVal, protocol)
			if !ok {
				continue // kube-proxy sends this pod nothing on that port
			}
			target = n
		}
		if target == 0 {
			target = sp.Port
		}
		out = append(out, Target{Pod: p, Port: target})
	}
	return out
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// App is an app as the Config names it: pods of one namespace selected by
// labels.
type App struct {
	Namespace string
	Name      string
	Labels    map[string]string
}

// Key is "namespace/name".
func (a App) Key() string { return a.Namespace + "/" + a.Name }

// ignoredLabels vary between replicas of one workload.
var ignoredLabels = map[string]bool{
	"pod-template-hash": true, "controller-revision-hash": true, "statefulset.kubernetes.io/pod-name": true,
	"apps.kubernetes.io/pod-index": true, "batch.kubernetes.io/controller-uid": true, "controller-uid": true,
	"batch.kubernetes.io/job-name": true, "job-name": true,
}

// AppOf names a pod's app: app.kubernetes.io/name, else app, else its
// workload (selected by the labels its replicas share).
func AppOf(p *model.Pod) App {
	for _, key := range []string{"app.kubernetes.io/name", "app"} {
		if v := p.Labels[key]; v != "" {
			return App{Namespace: p.Namespace, Name: dnsLabel(v), Labels: map[string]string{key: v}}
		}
	}
	name := p.Name
	if p.Owner != nil {
		name = p.Owner.Name
	}
	sel := map[string]string{}
	for k, v := range p.Labels {
		if !ignoredLabels[k] {
			sel[k] = v
		}
	}
	return App{Namespace: p.Namespace, Name: dnsLabel(name), Labels: sel}
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsLabel makes a Config app name of any label value.
func dnsLabel(s string) string {
	s = strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	if s == "" {
		return "app"
	}
	return s
}

// portName is the name the pod gives port/protocol ("" when none).
func portName(p *model.Pod, port int32, protocol corev1.Protocol) string {
	for _, cp := range p.Ports {
		if cp.Port == port && protocolOf(cp.Protocol) == protocol {
			return cp.Name
		}
	}
	return ""
}

func matches(p *model.Pod, namespace string, podLabels map[string]string) bool {
	if p.Namespace != namespace {
		return false
	}
	return labels.SelectorFromSet(podLabels).Matches(labels.Set(p.Labels))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
