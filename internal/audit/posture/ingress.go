package posture

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// IngressController is where the Ingresses' controller runs (the
// Config's ingressController: the runbook's ingress-nginx by default).
type IngressController struct {
	Namespace string
	PodLabels map[string]string
}

// ingressEntryPoints are the Ingresses of the namespaces, backend by
// backend: outside → the controller's pods (through the Services that
// expose them) → the backend Service's pods, each hop decided.
func (a *Analyzer) ingressEntryPoints(inScope map[string]bool, ctrl *IngressController, services []EntryPoint) []EntryPoint {
	var out []EntryPoint
	for _, ns := range sortedKeys(inScope) {
		if a.base.CouldNotRead("ingresses", ns) {
			out = append(out, EntryPoint{Kind: "Ingress", Namespace: ns, Name: "*", Type: "Ingress", Backends: []Backend{},
				Verdict: policy.Unspecified, Path: "the namespace's Ingresses could not be read: their paths are unknown"})
		}
	}
	for _, in := range a.base.Ingresses {
		if !inScope[in.Namespace] {
			continue
		}
		for _, b := range in.Backends {
			out = append(out, a.ingressEntryPoint(in, b, ctrl, services))
		}
	}
	return out
}

// ingressEntryPoint decides one backend of an Ingress.
func (a *Analyzer) ingressEntryPoint(in *model.Ingress, b model.IngressBackend, ctrl *IngressController, services []EntryPoint) EntryPoint {
	ep := EntryPoint{Kind: "Ingress", Namespace: in.Namespace, Name: in.Name, Type: "Ingress", Port: b.Port, Backends: []Backend{}}
	if in.Class != "" {
		ep.Type = "Ingress (" + in.Class + ")"
	}
	svc := a.base.Service(in.Namespace, b.Service)
	sp, ok := servicePort(svc, b)
	controllers := a.controllerGroups(ctrl)
	switch {
	case !ok:
		ep.Verdict, ep.Path = policy.Denied, fmt.Sprintf("no Service %s/%s with port %s: nothing answers", in.Namespace, b.Service, portText(b))
		return ep
	case len(controllers) == 0:
		ep.Verdict, ep.Path = policy.Unspecified, "the ingress controller's pods ("+describeController(ctrl)+") are not among the pods read"
		return ep
	}
	ep.Port = sp.Port
	first, why := a.controllerReach(controllers, services)
	for _, g := range a.backends(svc) {
		ep.Backends = append(ep.Backends, a.throughController(controllers, g, sp))
	}
	second := combine(ep.Backends)
	ep.Verdict = both(first, second)
	ep.Path = fmt.Sprintf("outside → %s (%s) → Ingress %s%s → %s → %s: %s", ctrlNames(controllers), why, in.Name, route(b), svc.Name, backendNames(ep.Backends), ep.Verdict)
	return ep
}

func servicePort(svc *model.Service, b model.IngressBackend) (model.ServicePort, bool) {
	if svc == nil {
		return model.ServicePort{}, false
	}
	for _, sp := range svc.Ports {
		if (b.PortName != "" && sp.Name == b.PortName) || (b.PortName == "" && sp.Port == b.Port) {
			return sp, true
		}
	}
	return model.ServicePort{}, false
}

func portText(b model.IngressBackend) string {
	if b.PortName != "" {
		return b.PortName
	}
	return fmt.Sprint(b.Port)
}

func route(b model.IngressBackend) string {
	if b.Host == "" && b.Path == "" {
		return " (default backend)"
	}
	return " " + b.Host + b.Path
}

func describeController(c *IngressController) string {
	if c == nil {
		return "no ingress controller configured"
	}
	return c.Namespace + " " + labels.Set(c.PodLabels).String()
}

// controllerGroups are the groups of the controller's pods.
func (a *Analyzer) controllerGroups(c *IngressController) []policy.Group {
	if c == nil {
		return nil
	}
	sel := labels.SelectorFromSet(c.PodLabels)
	var out []policy.Group
	for _, g := range a.groups {
		p := g.Pods[0]
		if p.Namespace == c.Namespace && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, g)
		}
	}
	return out
}

// controllerReach is the first hop: whether the Services that expose the
// controller's pods (their entry points) let outside traffic in.
// Controllers exposed otherwise (host ports, host network) are not
// judged: unspecified.
func (a *Analyzer) controllerReach(controllers []policy.Group, services []EntryPoint) (policy.Verdict, string) {
	names := map[string]bool{}
	for _, g := range controllers {
		names[g.Name] = true
	}
	verdict, via := policy.Verdict(""), []string{}
	for _, ep := range services {
		for _, b := range ep.Backends {
			if names[b.Workload] {
				verdict = orVerdict(verdict, b.Verdict)
				via = append(via, fmt.Sprintf("%s svc/%s:%d", ep.Type, ep.Name, ep.Port))
			}
		}
	}
	if verdict == "" {
		return policy.Unspecified, "no LoadBalancer, NodePort or externalIPs Service exposes it"
	}
	return verdict, "via " + strings.Join(via, ", ")
}

// throughController is the second hop to one group of backends: the
// whole flow from the controller's pods (allowed when any controller
// group gets through).
func (a *Analyzer) throughController(controllers []policy.Group, g policy.Group, sp model.ServicePort) Backend {
	b := Backend{Workload: g.Name}
	port, ok := targetPort(sp, g.Pods[0])
	if !ok {
		b.Verdict, b.By = policy.Denied, fmt.Sprintf("the pods declare no port %q", sp.TargetPort.StrVal)
		return b
	}
	b.Port = port
	for _, c := range controllers {
		res := a.engine.Evaluate(policy.Flow{From: policy.PodEndpoint(c.Pods[0]), To: policy.PodEndpoint(g.Pods[0]), Port: port, Protocol: sp.Protocol}, false)
		b.Verdict = orVerdict(b.Verdict, res.Verdict)
	}
	return b
}

// orVerdict: allowed if either is, else unspecified if either is, else
// denied ("" is nothing yet).
func orVerdict(x, y policy.Verdict) policy.Verdict {
	switch {
	case x == policy.Allowed || y == policy.Allowed:
		return policy.Allowed
	case x == policy.Unspecified || y == policy.Unspecified:
		return policy.Unspecified
	}
	return policy.Denied
}

// both is a path of two hops: denied if either is, allowed if both are.
func both(x, y policy.Verdict) policy.Verdict {
	switch {
	case x == policy.Denied || y == policy.Denied:
		return policy.Denied
	case x == policy.Allowed && y == policy.Allowed:
		return policy.Allowed
	}
	return policy.Unspecified
}

func ctrlNames(gs []policy.Group) string {
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.Name
	}
	return strings.Join(names, ", ")
}
