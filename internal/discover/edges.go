package discover

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// PodReport is one pod's observation, or why there is none.
type PodReport struct {
	Pod         *model.Pod
	Observation *probe.SocketObservation
	Err         string
}

// EdgeKind says what an observed call becomes in the Config.
type EdgeKind string

// The kinds of edge.
const (
	EdgeApp        EdgeKind = "app"        // a relation (talksTo)
	EdgeIngress    EdgeKind = "ingress"    // the ingress controller into an app
	EdgeMonitoring EdgeKind = "monitoring" // a scrape of the metrics port
	EdgeExternal   EdgeKind = "external"   // egress leaving the cluster (or to a node)
	EdgeAPIServer  EdgeKind = "apiserver"
)

// Evidence is what was seen of an edge.
type Evidence struct {
	// Connections that got through, the larger of the two ends' counts
	// when both were observed (each sees the same connections).
	Connections int `json:"connections"`
	// Attempts: outbound TCP connections seen only unanswered.
	Attempts   int       `json:"attempts,omitempty"`
	FirstSeen  time.Time `json:"firstSeen"`
	LastSeen   time.Time `json:"lastSeen"`
	ObservedBy []string  `json:"observedBy"`

	outbound, inbound, outAttempts int
}

// Edge is one observed call, as the Config will express it.
type Edge struct {
	Kind     EdgeKind        `json:"kind"`
	From     App             `json:"from"`
	To       *App            `json:"to,omitempty"`
	Remote   netip.Addr      `json:"remote,omitzero"` // external and API server edges
	Node     string          `json:"node,omitempty"`  // an external edge to a node's address
	Port     int32           `json:"port"`
	PortName string          `json:"portName,omitempty"`
	Protocol corev1.Protocol `json:"protocol"`
	Evidence

	// a pod of each end, for the engine's check of the policies in place
	fromPod, toPod *model.Pod
}

func (e *Edge) key() string {
	to := ""
	if e.To != nil {
		to = e.To.Key()
	}
	return fmt.Sprintf("%s|%s|%s|%s|%d/%s", e.Kind, e.From.Key(), to, e.Remote, e.Port, e.Protocol)
}

// Describe names the edge for people.
func (e *Edge) Describe() string {
	port := fmt.Sprintf("%d/%s", e.Port, e.Protocol)
	switch {
	case e.To != nil:
		return fmt.Sprintf("%s -> %s %s", e.From.Key(), e.To.Key(), port)
	case e.Node != "":
		return fmt.Sprintf("%s -> node %s (%s) %s", e.From.Key(), e.Node, e.Remote, port)
	case e.Kind == EdgeAPIServer:
		return fmt.Sprintf("%s -> the API server %s", e.From.Key(), port)
	}
	return fmt.Sprintf("%s -> %s %s", e.From.Key(), e.Remote, port)
}

// Notes are what the observations showed that the Config does not hold.
type Notes struct {
	// FromNodes counts inbound connections from node addresses (kubelet
	// health checks, host-network clients): NetworkPolicy implementations
	// treat them apart, the Config has no place for them.
	FromNodes int `json:"fromNodes,omitempty"`
	// InboundExternal are callers from outside the cluster (load
	// balancers in IP mode: ingressController.sourceCIDRs).
	InboundExternal []string `json:"inboundExternal,omitempty"`
	// Unmapped are Service calls no pod answers (no selector, no matching port).
	Unmapped []string `json:"unmapped,omitempty"`
	// DNS counts lookups to the cluster DNS (always allowed by the baseline).
	DNS int `json:"dns,omitempty"`
}

// Edges turns the observations into edges: each remote address resolved,
// Service calls mapped to the pods and ports behind them, both ends of
// one connection merged into one edge.
func Edges(reports []PodReport, r *Resolver, settings *config.Config) ([]*Edge, Notes) {
	b := &edgeBuilder{r: r, cfg: settings, edges: map[string]*Edge{}}
	for _, rep := range reports {
		if rep.Observation == nil {
			continue
		}
		for _, f := range rep.Observation.Flows {
			b.add(rep.Pod, f)
		}
	}
	out := make([]*Edge, 0, len(b.edges))
	for _, e := range b.edges {
		e.Connections = max(e.outbound, e.inbound)
		e.Attempts = e.outAttempts
		if e.Connections > 0 {
			e.Attempts = 0 // answered in the end
		}
		sort.Strings(e.ObservedBy)
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	sort.Strings(b.notes.InboundExternal)
	sort.Strings(b.notes.Unmapped)
	b.notes.InboundExternal = slices.Compact(b.notes.InboundExternal)
	b.notes.Unmapped = slices.Compact(b.notes.Unmapped)
	return out, b.notes
}

type edgeBuilder struct {
	r     *Resolver
	cfg   *config.Config
	edges map[string]*Edge
	notes Notes
}

func (b *edgeBuilder) add(pod *model.Pod, f probe.ObservedFlow) {
	remote, err := netip.ParseAddr(f.Remote)
	if err != nil {
		return
	}
	protocol := corev1.Protocol(f.Protocol)
	port := int32(f.Port)
	peer := b.r.Resolve(remote, f.Port)
	if f.Direction == probe.Inbound {
		switch peer.Kind {
		case PeerPod:
			b.podToPod(peer.Pod, pod, port, protocol, f, false)
		case PeerNode, PeerAPIServer:
			b.notes.FromNodes += f.Connections
		case PeerExternal:
			b.notes.InboundExternal = append(b.notes.InboundExternal, fmt.Sprintf("%s -> %s %d/%s", remote, pod.Key(), port, protocol))
		}
		return
	}
	switch peer.Kind {
	case PeerPod:
		b.podToPod(pod, peer.Pod, port, protocol, f, true)
	case PeerService:
		if b.isDNS(peer.Service, nil, port) {
			b.notes.DNS += f.Connections
			return
		}
		targets := b.r.ServiceTargets(peer.Service, port, protocol)
		if len(targets) == 0 {
			b.notes.Unmapped = append(b.notes.Unmapped, fmt.Sprintf("%s -> svc/%s %d/%s", pod.Key(), peer.Service.Key(), port, protocol))
			return
		}
		seen := map[string]bool{}
		for _, t := range targets {
			k := AppOf(t.Pod).Key() + fmt.Sprint(t.Port)
			if seen[k] {
				continue // one edge per app and port, not per replica
			}
			seen[k] = true
			b.podToPod(pod, t.Pod, t.Port, protocol, f, true)
		}
	case PeerAPIServer:
		e := b.edge(&Edge{Kind: EdgeAPIServer, From: AppOf(pod), Remote: remote, Port: port, Protocol: protocol, fromPod: pod})
		e.observe(pod, f, true)
	case PeerNode, PeerExternal:
		e := b.edge(&Edge{Kind: EdgeExternal, From: AppOf(pod), Remote: remote, Node: peer.Node, Port: port, Protocol: protocol, fromPod: pod})
		e.observe(pod, f, true)
	}
}

// podToPod records src calling dst on its pod port; observer is the pod
// whose socket table showed it.
func (b *edgeBuilder) podToPod(src, dst *model.Pod, port int32, protocol corev1.Protocol, f probe.ObservedFlow, outbound bool) {
	observer := dst
	if outbound {
		observer = src
	}
	if b.isDNS(nil, dst, port) {
		b.notes.DNS += f.Connections
		return
	}
	to := AppOf(dst)
	e := &Edge{Kind: EdgeApp, From: AppOf(src), To: &to, Port: port, PortName: portName(dst, port, protocol), Protocol: protocol, fromPod: src, toPod: dst}
	switch {
	case matches(src, b.cfg.IngressController.Namespace, b.cfg.IngressController.PodLabels):
		e.Kind = EdgeIngress
	case src.Namespace == b.cfg.Monitoring.Namespace && e.PortName == b.cfg.Monitoring.PortName &&
		(len(b.cfg.Monitoring.PodLabels) == 0 || matches(src, src.Namespace, b.cfg.Monitoring.PodLabels)):
		e.Kind = EdgeMonitoring
	}
	b.edge(e).observe(observer, f, outbound)
}

// isDNS: the cluster DNS's Service or pods on port 53.
func (b *edgeBuilder) isDNS(svc *model.Service, pod *model.Pod, port int32) bool {
	if port != 53 {
		return false
	}
	if pod != nil {
		return matches(pod, b.cfg.DNS.Namespace, b.cfg.DNS.PodLabels)
	}
	for _, t := range b.r.ServiceTargets(svc, 53, corev1.ProtocolUDP) {
		if matches(t.Pod, b.cfg.DNS.Namespace, b.cfg.DNS.PodLabels) {
			return true
		}
	}
	for _, t := range b.r.ServiceTargets(svc, 53, corev1.ProtocolTCP) {
		if matches(t.Pod, b.cfg.DNS.Namespace, b.cfg.DNS.PodLabels) {
			return true
		}
	}
	return false
}

func (b *edgeBuilder) edge(e *Edge) *Edge {
	k := e.key()
	if have := b.edges[k]; have != nil {
		return have
	}
	b.edges[k] = e
	return e
}

func (e *Edge) observe(observer *model.Pod, f probe.ObservedFlow, outbound bool) {
	if outbound {
		e.outbound += f.Connections
		e.outAttempts += f.Attempts
	} else {
		e.inbound += f.Connections
	}
	if e.FirstSeen.IsZero() || f.FirstSeen.Before(e.FirstSeen) {
		e.FirstSeen = f.FirstSeen
	}
	if f.LastSeen.After(e.LastSeen) {
		e.LastSeen = f.LastSeen
	}
	key := observer.Key()
	for _, o := range e.ObservedBy {
		if o == key {
			return
		}
	}
	if len(e.ObservedBy) < 3 {
		e.ObservedBy = append(e.ObservedBy, key)
	}
}
