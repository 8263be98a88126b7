package posture

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// EntryPoints are the Services of the namespaces that outside traffic
// can reach (LoadBalancer, NodePort, externalIPs), port by port, with
// whether their backends' policies let it in.
func (a *Analyzer) EntryPoints(inScope map[string]bool) []EntryPoint {
	out := []EntryPoint{}
	for _, svc := range a.base.Services {
		kind := entryKind(svc)
		if (inScope != nil && !inScope[svc.Namespace]) || kind == "" {
			continue
		}
		for _, sp := range svc.Ports {
			out = append(out, a.entryPoint(svc, sp, kind))
		}
	}
	return out
}

// entryKind is how outside traffic reaches the Service ("" when it does
// not: a ClusterIP Service without externalIPs).
func entryKind(svc *model.Service) string {
	switch {
	case svc.Type == corev1.ServiceTypeLoadBalancer:
		return "LoadBalancer"
	case svc.Type == corev1.ServiceTypeNodePort:
		return "NodePort"
	case len(svc.ExternalIPs) > 0:
		return "externalIPs"
	}
	return ""
}

// entryPoint decides one Service port: every group of backends on its
// target port, from the source its backends see.
func (a *Analyzer) entryPoint(svc *model.Service, sp model.ServicePort, kind string) EntryPoint {
	ep := EntryPoint{Kind: "svc", Namespace: svc.Namespace, Name: svc.Name, Type: kind, Port: sp.Port, Backends: []Backend{}}
	source, why := a.outsideSource(svc)
	backends := a.backends(svc)
	switch {
	case len(svc.Selector) == 0:
		ep.Verdict, ep.Path = policy.Unspecified, "no selector: its endpoints are managed by hand and not read"
		return ep
	case len(backends) == 0:
		ep.Verdict, ep.Path = policy.Denied, "no pod matches its selector: nothing answers"
		return ep
	}
	for _, g := range backends {
		ep.Backends = append(ep.Backends, a.backend(g, sp, source, why))
	}
	ep.Verdict = combine(ep.Backends)
	ep.Path = fmt.Sprintf("%s → %s svc/%s:%d → %s: %s", sourceName(source, why), kind, svc.Name, sp.Port, backendNames(ep.Backends), ep.Verdict)
	return ep
}

// outsideSource is the address the backends see for a client outside:
// the client's own (externalTrafficPolicy Local, or within the
// LoadBalancer's source ranges), or, with the default Cluster policy, a
// node's after kube-proxy's SNAT — unknown when no node was read.
func (a *Analyzer) outsideSource(svc *model.Service) (netip.Addr, string) {
	client := a.internet
	if len(svc.LoadBalancerSourceRanges) > 0 {
		if p, err := netip.ParsePrefix(svc.LoadBalancerSourceRanges[0]); err == nil {
			client = p.Masked().Addr()
		}
	}
	if svc.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		return client, ""
	}
	for _, n := range a.base.Nodes {
		if len(n.Addresses) > 0 {
			return n.Addresses[0], "SNAT to node " + n.Name
		}
	}
	return netip.Addr{}, "externalTrafficPolicy Cluster: the backends see a node's address after SNAT, and no node's address was read"
}

func sourceName(source netip.Addr, why string) string {
	if why != "" && !source.IsValid() {
		return "outside"
	}
	if why != "" {
		return "outside (" + why + ")"
	}
	return "outside " + source.String()
}

// backends are the groups of the Service's pods.
func (a *Analyzer) backends(svc *model.Service) []policy.Group {
	sel := labels.SelectorFromSet(svc.Selector)
	var out []policy.Group
	for _, g := range a.groups {
		p := g.Pods[0]
		if p.Namespace == svc.Namespace && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, g)
		}
	}
	return out
}

// backend decides one group on the target port.
func (a *Analyzer) backend(g policy.Group, sp model.ServicePort, source netip.Addr, why string) Backend {
	pod := g.Pods[0]
	b := Backend{Workload: g.Name}
	port, ok := targetPort(sp, pod)
	if !ok {
		b.Verdict, b.By = policy.Denied, fmt.Sprintf("the pods declare no port %q", sp.TargetPort.StrVal)
		return b
	}
	b.Port = port
	if !source.IsValid() {
		b.Verdict, b.By = policy.Unspecified, why
		return b
	}
	res := a.engine.Evaluate(policy.Flow{From: policy.IPEndpoint(source), To: policy.PodEndpoint(pod), Port: port, Protocol: sp.Protocol}, false)
	b.Verdict = res.Ingress.Verdict
	switch res.Ingress.Verdict {
	case policy.Allowed:
		b.By = a.ways(res.Ingress, true)[0].by
	case policy.Unspecified:
		b.By = res.Ingress.Undecided
	}
	return b
}

// targetPort is the pod port a Service port sends to.
func targetPort(sp model.ServicePort, pod *model.Pod) (int32, bool) {
	switch {
	case sp.TargetPort.StrVal != "":
		return pod.NamedPort(sp.TargetPort.StrVal, sp.Protocol)
	case sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal, true
	}
	return sp.Port, true
}

// combine is open when any backend lets it in, denied when all deny,
// else unspecified.
func combine(bs []Backend) policy.Verdict {
	out := policy.Denied
	for _, b := range bs {
		switch b.Verdict {
		case policy.Allowed:
			return policy.Allowed
		case policy.Unspecified:
			out = policy.Unspecified
		}
	}
	return out
}

func backendNames(bs []Backend) string {
	s := ""
	for i, b := range bs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s:%d", b.Workload, b.Port)
	}
	return s
}
