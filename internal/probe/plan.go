package probe

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Request is what to probe, resolved against the read model.
type Request struct {
	Sources []endpoint.Target
	Dests   []endpoint.Target
	// Ports for destinations without their own :PORT.
	Ports []policy.PortSpec
	// DNSNames are resolved from every source (over UDP and TCP).
	DNSNames []string
	// HTTPPath makes TCP checks HTTP GETs expecting HTTPStatus.
	HTTPPath   string
	HTTPStatus int
	AllPods    bool
	Timeout    time.Duration
	// ClusterDomain for Service names (cluster.local).
	ClusterDomain string
}

// Planned is one check with what the engine expects of it.
type Planned struct {
	Check
	From, FromGroup string
	To, ToGroup     string
	PortLabel       string
	Expected        policy.Verdict
	// NoEndpoints: the destination Service has no ready endpoint, so
	// nothing can answer whatever the policies say.
	NoEndpoints bool
}

// SourcePlan is everything one source pod checks, in one container.
type SourcePlan struct {
	Pod    *model.Pod
	Group  string
	Checks []Planned
}

// PlanError is a request the model cannot turn into checks; commands map
// it to invalid usage.
type PlanError struct{ Msg string }

func (e *PlanError) Error() string { return e.Msg }

// BuildPlans picks the source pods (Running and Ready, one per group
// unless AllPods) and the checks each makes, with expected verdicts.
func BuildPlans(e *policy.Engine, req Request) ([]SourcePlan, error) {
	if req.Timeout <= 0 {
		req.Timeout = 3 * time.Second
	}
	if req.ClusterDomain == "" {
		req.ClusterDomain = "cluster.local"
	}
	var plans []SourcePlan
	for _, src := range req.Sources {
		var running []*model.Pod
		for _, p := range src.Pods {
			if Probeable(p) {
				running = append(running, p)
			}
		}
		if len(running) == 0 {
			return nil, &PlanError{Msg: fmt.Sprintf("SOURCE %s has no Running and Ready pod (host-network pods are skipped: their traffic is the node's)", src.Endpoint.Raw)}
		}
		for _, g := range e.Groups(running) {
			members := g.Pods[:1]
			if req.AllPods {
				members = g.Pods
			}
			for _, pod := range members {
				plan := SourcePlan{Pod: pod, Group: g.Name}
				for _, dst := range req.Dests {
					checks, err := planDest(e, req, pod, dst)
					if err != nil {
						return nil, err
					}
					plan.Checks = append(plan.Checks, checks...)
				}
				plan.Checks = append(plan.Checks, planDNS(e, req, pod)...)
				for i := range plan.Checks {
					plan.Checks[i].ID = strconv.Itoa(i)
					plan.Checks[i].From, plan.Checks[i].FromGroup = pod.Key(), g.Name
					plan.Checks[i].TimeoutMS = req.Timeout.Milliseconds()
				}
				plans = append(plans, plan)
			}
		}
	}
	return plans, nil
}

func portsFor(req Request, dst endpoint.Target) []policy.PortSpec {
	if dst.Endpoint.HasPort() {
		return []policy.PortSpec{{Port: dst.Endpoint.Port, Protocol: dst.Endpoint.EffectiveProtocol()}}
	}
	return req.Ports
}

func planDest(e *policy.Engine, req Request, src *model.Pod, dst endpoint.Target) ([]Planned, error) {
	ports := portsFor(req, dst)
	if len(ports) == 0 {
		return nil, &PlanError{Msg: fmt.Sprintf("DEST %s has no port: give it as %s:PORT or with --port (probe makes real connections, so it needs one)", dst.Endpoint.Raw, dst.Endpoint.Raw)}
	}
	var out []Planned
	for _, ps := range ports {
		proto := ps.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		if proto == corev1.ProtocolSCTP {
			return nil, &PlanError{Msg: fmt.Sprintf("DEST %s: SCTP cannot be probed (the agent speaks TCP, UDP, HTTP and DNS)", dst.Endpoint.Raw)}
		}
		switch {
		case dst.Service != nil:
			checks, err := planService(e, req, src, dst, ps.Port, proto)
			if err != nil {
				return nil, err
			}
			out = append(out, checks...)
		case len(dst.Pods) > 0:
			found := false
			for _, g := range e.Groups(dst.Pods) {
				members := g.Pods[:1]
				if req.AllPods {
					members = g.Pods
				}
				for _, pod := range members {
					port, ok := resolvePort(pod, ps.Port, proto)
					if !ok || len(pod.IPs) == 0 {
						continue
					}
					found = true
					c := baseCheck(req, pod.IPs[0].String(), port, proto)
					r := e.Evaluate(policy.Flow{From: policy.PodEndpoint(src), To: policy.PodEndpoint(pod), Port: port, Protocol: proto}, false)
					out = append(out, Planned{Check: c, To: pod.Key(), ToGroup: g.Name, PortLabel: portLabel(ps.Port, port, proto), Expected: r.Verdict})
				}
			}
			if !found {
				return nil, &PlanError{Msg: fmt.Sprintf("no running pod of %s declares port %s/%s", dst.Endpoint.Raw, ps.Port, proto)}
			}
		case dst.Endpoint.Kind == endpoint.IP || dst.Endpoint.Kind == endpoint.CIDR:
			port, err := strconv.Atoi(ps.Port)
			if err != nil {
				return nil, &PlanError{Msg: fmt.Sprintf("DEST %s: a port name can only be resolved on pods", dst.Endpoint.Raw)}
			}
			addr := dst.Addr
			if dst.Endpoint.Kind == endpoint.CIDR {
				addr = firstHost(dst.Prefix)
			}
			c := baseCheck(req, addr.String(), int32(port), proto)
			r := e.Evaluate(policy.Flow{From: policy.PodEndpoint(src), To: policy.IPEndpoint(addr), Port: int32(port), Protocol: proto}, false)
			out = append(out, Planned{Check: c, To: addr.String(), PortLabel: portLabel(ps.Port, int32(port), proto), Expected: r.Verdict})
		case dst.Endpoint.Kind == endpoint.DNSName:
			port, err := strconv.Atoi(ps.Port)
			if err != nil {
				return nil, &PlanError{Msg: fmt.Sprintf("DEST %s: give a port number", dst.Endpoint.Raw)}
			}
			c := baseCheck(req, dst.Endpoint.Host, int32(port), proto)
			out = append(out, Planned{Check: c, To: dst.Endpoint.Host, PortLabel: portLabel(ps.Port, int32(port), proto), Expected: policy.Unspecified})
		default:
			return nil, &PlanError{Msg: fmt.Sprintf("DEST %s cannot be probed", dst.Endpoint.Raw)}
		}
	}
	return out, nil
}

// planService checks a Service through its DNS name and its ClusterIP;
// the expectation is the engine's verdict on its pods' targetPort.
func planService(e *policy.Engine, req Request, src *model.Pod, dst endpoint.Target, port string, proto corev1.Protocol) ([]Planned, error) {
	svc := dst.Service
	var sp *model.ServicePort
	for i := range svc.Ports {
		p := &svc.Ports[i]
		if p.Protocol == proto && (p.Name == port || strconv.Itoa(int(p.Port)) == port) {
			sp = p
		}
	}
	if sp == nil {
		return nil, &PlanError{Msg: fmt.Sprintf("service %s has no port %s/%s (for a Service, PORT is the Service port)", svc.Key(), port, proto)}
	}
	expected, ready := serviceExpectation(e, src, svc, *sp)
	label := fmt.Sprintf("svc %d/%s", sp.Port, proto)
	name := fmt.Sprintf("%s.%s.svc.%s", svc.Name, svc.Namespace, req.ClusterDomain)
	out := []Planned{{Check: baseCheck(req, name, sp.Port, proto), To: "svc/" + svc.Name + " (" + svc.Namespace + ", DNS)", PortLabel: label, Expected: expected, NoEndpoints: !ready}}
	if len(svc.ClusterIPs) > 0 && svc.ClusterIPs[0].IsValid() {
		out = append(out, Planned{Check: baseCheck(req, svc.ClusterIPs[0].String(), sp.Port, proto), To: "svc/" + svc.Name + " (" + svc.Namespace + ", " + svc.ClusterIPs[0].String() + ")", PortLabel: label, Expected: expected, NoEndpoints: !ready})
	}
	return out, nil
}

// serviceExpectation: allowed when the engine allows the source to every
// ready backing pod, denied when to none, unspecified when mixed.
func serviceExpectation(e *policy.Engine, src *model.Pod, svc *model.Service, sp model.ServicePort) (policy.Verdict, bool) {
	sel := labels.SelectorFromSet(svc.Selector)
	var verdicts []policy.Verdict
	for _, p := range e.Model().PodsIn(svc.Namespace) {
		if len(svc.Selector) == 0 || !sel.Matches(labels.Set(p.Labels)) || !p.Ready || p.Phase != corev1.PodRunning {
			continue
		}
		target, ok := policy.ResolveTargetPort(p, sp)
		if !ok {
			continue
		}
		verdicts = append(verdicts, e.Evaluate(policy.Flow{From: policy.PodEndpoint(src), To: policy.PodEndpoint(p), Port: target, Protocol: sp.Protocol}, false).Verdict)
	}
	if len(verdicts) == 0 {
		return policy.Unspecified, false
	}
	for _, v := range verdicts[1:] {
		if v != verdicts[0] {
			return policy.Unspecified, true
		}
	}
	return verdicts[0], true
}

// planDNS resolves each --dns name over UDP and TCP through the pod's
// resolver; the expectation is egress to the cluster DNS pods on 53.
func planDNS(e *policy.Engine, req Request, src *model.Pod) []Planned {
	var out []Planned
	for _, name := range req.DNSNames {
		for _, proto := range []corev1.Protocol{corev1.ProtocolUDP, corev1.ProtocolTCP} {
			expected := dnsExpectation(e, src, proto)
			c := Check{Kind: KindDNS, Name: name, Transport: strings.ToLower(string(proto))}
			out = append(out, Planned{Check: c, To: "dns " + name, PortLabel: "53/" + string(proto), Expected: expected})
		}
	}
	return out
}

func dnsExpectation(e *policy.Engine, src *model.Pod, proto corev1.Protocol) policy.Verdict {
	svc := e.Model().Service("kube-system", "kube-dns")
	if svc == nil {
		return policy.Unspecified
	}
	for _, sp := range svc.Ports {
		if sp.Protocol == proto {
			v, _ := serviceExpectation(e, src, svc, sp)
			return v
		}
	}
	return policy.Unspecified
}

func baseCheck(req Request, host string, port int32, proto corev1.Protocol) Check {
	switch {
	case proto == corev1.ProtocolUDP:
		return Check{Kind: KindUDP, Target: host, Port: port}
	case req.HTTPPath != "":
		return Check{Kind: KindHTTP, Target: host, Port: port, Path: req.HTTPPath, ExpectStatus: req.HTTPStatus}
	}
	return Check{Kind: KindTCP, Target: host, Port: port}
}

func resolvePort(pod *model.Pod, port string, proto corev1.Protocol) (int32, bool) {
	if n, err := strconv.Atoi(port); err == nil {
		return int32(n), true
	}
	return pod.NamedPort(port, proto)
}

func portLabel(requested string, port int32, proto corev1.Protocol) string {
	if requested != "" && requested != strconv.Itoa(int(port)) {
		return fmt.Sprintf("%s (%d/%s)", requested, port, proto)
	}
	return fmt.Sprintf("%d/%s", port, proto)
}

func firstHost(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if p.Bits() < a.BitLen()-1 {
		return a.Next()
	}
	return a
}

// Merge joins plans of the same source pod (questions asked one by one)
// into one plan per pod, checks renumbered in order, so that each pod runs
// one agent for all of them. origin[i] tells, for the i-th check of the
// merged plans in order, which input plan it came from.
func Merge(plans []SourcePlan) (merged []SourcePlan, origin []int) {
	index := map[string]int{}
	var from [][]int
	for i, p := range plans {
		k, ok := index[p.Pod.Key()]
		if !ok {
			k = len(merged)
			index[p.Pod.Key()] = k
			merged = append(merged, SourcePlan{Pod: p.Pod, Group: p.Group})
			from = append(from, nil)
		}
		for _, c := range p.Checks {
			c.ID = strconv.Itoa(len(merged[k].Checks))
			merged[k].Checks = append(merged[k].Checks, c)
			from[k] = append(from[k], i)
		}
	}
	for _, f := range from {
		origin = append(origin, f...)
	}
	return merged, origin
}

// AgentPlan is what the agent of one source runs: its checks, within a
// deadline that leaves the last check its timeout.
func AgentPlan(plan SourcePlan, checkTimeout time.Duration) Plan {
	p := Plan{DeadlineMS: (checkTimeout + 2*time.Second).Milliseconds()}
	for _, pc := range plan.Checks {
		p.Checks = append(p.Checks, pc.Check)
	}
	return p
}
