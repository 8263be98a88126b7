package policy

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Explanation is one verdict in explain's frozen JSON shape (docs/design.md).
type Explanation struct {
	From          string          `json:"from"`
	To            string          `json:"to"`
	FromGroup     string          `json:"fromGroup,omitempty"`
	ToGroup       string          `json:"toGroup,omitempty"`
	Port          int32           `json:"port"`
	PortName      string          `json:"portName,omitempty"`
	Protocol      corev1.Protocol `json:"protocol"`
	RequestedPort string          `json:"requestedPort,omitempty"`
	Allowed       *bool           `json:"allowed"`
	Verdict       Verdict         `json:"verdict"`
	Egress        *Side           `json:"egress"`
	Ingress       *Side           `json:"ingress"`
	Hints         []Hint          `json:"hints"`
}

// PortSpec is a requested port: a number or a name, and a protocol.
type PortSpec struct {
	Port     string
	Protocol corev1.Protocol
}

func (p PortSpec) String() string {
	return p.Port + "/" + string(p.Protocol)
}

// Group is a set of pods that get the same verdicts (docs/design.md's grouping
// key, split where an ipBlock tells members apart).
type Group struct {
	Name string
	Pods []*model.Pod
}

// Groups partitions pods, keeping first-seen order.
func (e *Engine) Groups(pods []*model.Pod) []Group {
	index := map[string]int{}
	var groups []Group
	names := map[string]int{}
	for _, p := range pods {
		key := p.GroupKey() + "|" + e.ipBlockSignature(p) + e.ciliumSignature(p)
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, Group{Name: p.GroupName()})
			names[p.GroupName()]++
		}
		groups[i].Pods = append(groups[i].Pods, p)
	}
	// A workload split into several groups names each by its first pod.
	for i := range groups {
		if names[groups[i].Name] > 1 {
			groups[i].Name += "(" + groups[i].Pods[0].Name + ")"
		}
	}
	return groups
}

// ipBlockSignature marks which of the policies' ipBlocks contain the
// pod's IPs, one byte per block.
func (e *Engine) ipBlockSignature(p *model.Pod) string {
	var nets []netip.Prefix
	if e.calico != nil {
		nets = e.calico.nets
	}
	if len(p.IPs) == 0 || len(e.ipBlocks)+len(nets) == 0 {
		return ""
	}
	sig := make([]byte, 0, len(e.ipBlocks)+len(nets))
	for _, block := range e.ipBlocks {
		sig = append(sig, bit(slices.ContainsFunc(p.IPs, block.contains)))
	}
	// Calico's nets and notNets tell pods apart the same way.
	for _, n := range nets {
		sig = append(sig, bit(slices.ContainsFunc(p.IPs, n.Contains)))
	}
	return string(sig)
}

func bit(b bool) byte {
	if b {
		return '1'
	}
	return '0'
}

// Query is one explain question.
type Query struct {
	From, To endpoint.Target
	// Ports requested; empty means every port the destination declares.
	Ports []PortSpec
	// AllPods evaluates every pod instead of one per group.
	AllPods bool
}

// QueryError is a question the model cannot answer as asked (a port name
// nobody declares, an unknown Service port); commands map it to usage.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

// Explain answers a query with one explanation per source, destination
// and port.
func (e *Engine) Explain(q Query) ([]Explanation, error) {
	sources := e.representatives(q.From, q.AllPods)
	dests := e.representatives(q.To, q.AllPods)
	var out []Explanation
	for _, dst := range dests {
		ports, err := e.portsFor(q, dst)
		if err != nil {
			return nil, err
		}
		for _, rp := range ports {
			for _, src := range sources {
				if src.ep.Pod != nil && src.ep.Pod == dst.ep.Pod && src.peer != nil {
					src = side{ep: PodEndpoint(src.peer), name: src.peer.Key(), group: src.group}
				}
				out = append(out, e.explainOne(src, dst, rp, q.To.Endpoint.Kind == endpoint.DNSName))
			}
		}
	}
	if len(out) == 0 && len(q.Ports) > 0 && q.To.InCluster() {
		return nil, &QueryError{Msg: fmt.Sprintf("no pod of %s declares port %s", q.To.Endpoint.Raw, portList(q.Ports))}
	}
	return out, nil
}

// side is an endpoint chosen for evaluation, with its display names.
type side struct {
	ep    Endpoint
	name  string
	group string
	// peer is another member of the group, the source to use when a
	// group is asked about itself (a pod talking to itself proves nothing).
	peer *model.Pod
}

func (e *Engine) representatives(t endpoint.Target, all bool) []side {
	switch {
	case len(t.Pods) > 0:
		var out []side
		for _, g := range e.Groups(t.Pods) {
			members := g.Pods[:1]
			if all {
				members = g.Pods
			}
			for i, p := range members {
				s := side{ep: PodEndpoint(p), name: p.Key(), group: g.Name}
				if len(g.Pods) > 1 {
					s.peer = g.Pods[(i+1)%len(g.Pods)]
				}
				out = append(out, s)
			}
		}
		return out
	case t.Endpoint.Kind == endpoint.IP:
		return []side{{ep: IPEndpoint(t.Addr), name: t.Addr.String()}}
	case t.Endpoint.Kind == endpoint.CIDR:
		reps := e.cidrRepresentatives(t.Prefix)
		if len(reps) == 1 {
			// No ipBlock tells the range apart: one answer for all of it.
			return []side{{ep: IPEndpoint(reps[0]), name: t.Prefix.String()}}
		}
		var out []side
		for i, a := range reps {
			end := lastAddr(t.Prefix)
			if i+1 < len(reps) {
				end = reps[i+1].Prev()
			}
			out = append(out, side{ep: IPEndpoint(a), name: rangeName(a, end)})
		}
		return out
	}
	return []side{{name: t.Endpoint.Raw}} // a DNS name: no address to evaluate
}

// cidrRepresentatives picks one address of every part of the prefix that
// the policies' ipBlocks treat differently.
func (e *Engine) cidrRepresentatives(p netip.Prefix) []netip.Addr {
	points := map[netip.Addr]bool{p.Addr(): true}
	addBoundary := func(q netip.Prefix) {
		for _, a := range []netip.Addr{q.Masked().Addr(), lastAddr(q).Next()} {
			if a.IsValid() && p.Contains(a) {
				points[a] = true
			}
		}
	}
	for _, b := range e.ipBlocks {
		addBoundary(b.cidr)
		for _, ex := range b.except {
			addBoundary(ex)
		}
	}
	out := make([]netip.Addr, 0, len(points))
	for a := range points {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// rangeName names the addresses from first to last: a CIDR when they are
// one, else first-last.
func rangeName(first, last netip.Addr) string {
	for bits := 0; bits <= first.BitLen(); bits++ {
		if p := netip.PrefixFrom(first, bits); p.Masked().Addr() == first && lastAddr(p) == last {
			return p.String()
		}
	}
	return first.String() + "-" + last.String()
}

func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - uint(i%8))
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// resolvedPort is a concrete port for one destination pod.
type resolvedPort struct {
	port      int32
	proto     corev1.Protocol
	name      string
	requested string
	hint      *Hint
}

func (e *Engine) portsFor(q Query, dst side) ([]resolvedPort, error) {
	pod := dst.ep.Pod
	svc := q.To.Service
	if len(q.Ports) == 0 {
		switch {
		case svc != nil:
			var out []resolvedPort
			for _, sp := range svc.Ports {
				if rp, ok := servicePort(svc, sp, pod); ok {
					out = append(out, rp)
				}
			}
			return out, nil
		case pod != nil:
			var out []resolvedPort
			for _, cp := range pod.Ports {
				out = append(out, resolvedPort{port: cp.Port, proto: cp.Protocol, name: cp.Name})
			}
			return out, nil
		}
		return nil, &QueryError{Msg: fmt.Sprintf("%s declares no ports: give one as %s:PORT or with --port", q.To.Endpoint.Raw, q.To.Endpoint.Raw)}
	}
	var out []resolvedPort
	for _, ps := range q.Ports {
		proto := ps.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		number, numErr := strconv.Atoi(ps.Port)
		switch {
		case svc != nil:
			found := false
			for _, sp := range svc.Ports {
				if sp.Protocol == proto && (numErr == nil && sp.Port == int32(number) || sp.Name == ps.Port) {
					found = true
					if rp, ok := servicePort(svc, sp, pod); ok {
						out = append(out, rp)
					}
				}
			}
			if !found {
				return nil, &QueryError{Msg: fmt.Sprintf("service %s has no port %s; its ports: %s (for a Service, PORT is the Service port)", svc.Key(), ps, servicePortList(svc))}
			}
		case numErr == nil:
			out = append(out, resolvedPort{port: int32(number), proto: proto})
		case pod != nil:
			if n, ok := pod.NamedPort(ps.Port, proto); ok {
				out = append(out, resolvedPort{port: n, proto: proto, name: ps.Port})
			}
		default:
			return nil, &QueryError{Msg: fmt.Sprintf("port name %q can only be resolved on pods, not on %s", ps.Port, q.To.Endpoint.Raw)}
		}
	}
	return out, nil
}

func servicePort(svc *model.Service, sp model.ServicePort, pod *model.Pod) (resolvedPort, bool) {
	target, ok := ResolveTargetPort(pod, sp)
	if !ok {
		return resolvedPort{}, false
	}
	rp := resolvedPort{
		port:      target,
		proto:     sp.Protocol,
		requested: fmt.Sprintf("svc/%s:%d", svc.Name, sp.Port),
	}
	if sp.TargetPort.StrVal != "" {
		rp.name = sp.TargetPort.StrVal
	}
	rp.hint = &Hint{Code: HintServicePortUsed, Message: fmt.Sprintf("svc/%s port %d/%s is targetPort %s, which is %d on %s: NetworkPolicy sees the pod port", svc.Name, sp.Port, sp.Protocol, sp.TargetPort.String(), target, pod.Key())}
	return rp, true
}

func servicePortList(svc *model.Service) string {
	var out []string
	for _, sp := range svc.Ports {
		s := fmt.Sprintf("%d/%s", sp.Port, sp.Protocol)
		if sp.Name != "" {
			s = sp.Name + " " + s
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func portList(ps []PortSpec) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return strings.Join(out, ", ")
}

func (e *Engine) explainOne(src, dst side, rp resolvedPort, dnsName bool) Explanation {
	x := Explanation{
		From: src.name, To: dst.name, FromGroup: src.group, ToGroup: dst.group,
		Port: rp.port, PortName: rp.name, Protocol: rp.proto, RequestedPort: rp.requested,
		Hints: []Hint{},
	}
	if dnsName || (src.ep.Pod == nil && !src.ep.IP.IsValid()) {
		x.Verdict = Unspecified
		x.Hints = append(x.Hints, Hint{Code: "NotAnIP", Message: fmt.Sprintf("unknown: %s is not an IP; NetworkPolicy sees addresses, and a name can resolve to any", dst.name)})
		return x
	}
	r := e.Evaluate(Flow{From: src.ep, To: dst.ep, Port: rp.port, Protocol: rp.proto, Replicas: standsForReplicas(src.ep.Pod, dst.ep.Pod)}, true)
	x.Verdict, x.Egress, x.Ingress = r.Verdict, r.Egress, r.Ingress
	if r.Verdict != Unspecified {
		allowed := r.Verdict == Allowed
		x.Allowed = &allowed
	}
	if rp.hint != nil {
		x.Hints = append(x.Hints, *rp.hint)
	}
	x.Hints = append(x.Hints, r.Hints...)
	return x
}

// Matrix evaluates every group of the pods against every group on each
// port the destination group declares (or the given ports), without hints.
func (e *Engine) Matrix(pods []*model.Pod, ports []PortSpec) []Explanation {
	return e.MatrixOf(e.Groups(pods), ports)
}

// MatrixOf is Matrix over given groups.
func (e *Engine) MatrixOf(groups []Group, ports []PortSpec) []Explanation {
	var out []Explanation
	_ = e.MatrixEachOf(groups, ports, func(x Explanation) error {
		out = append(out, x)
		return nil
	})
	return out
}

// MatrixEach is Matrix as a stream: each verdict goes to yield as soon as
// it is decided, so memory stays that of the model whatever the number of
// verdicts; an error from yield stops it.
func (e *Engine) MatrixEach(pods []*model.Pod, ports []PortSpec, yield func(Explanation) error) error {
	return e.MatrixEachOf(e.Groups(pods), ports, yield)
}

// PodGroups makes every pod its own group, for a matrix per pod.
func (e *Engine) PodGroups(pods []*model.Pod) []Group {
	out := make([]Group, len(pods))
	for i, p := range pods {
		out[i] = Group{Name: p.Key(), Pods: []*model.Pod{p}}
	}
	return out
}

// MatrixEachOf is MatrixEach over given groups (Groups or PodGroups).
func (e *Engine) MatrixEachOf(groups []Group, ports []PortSpec, yield func(Explanation) error) error {
	return e.MatrixBetween(groups, groups, ports, yield)
}

// MatrixBetween streams the verdicts of every source group against every
// destination group: a matrix focused on some rows or columns. The order
// is fixed: destination by destination, port by port, then every source.
func (e *Engine) MatrixBetween(sources, destinations []Group, ports []PortSpec, yield func(Explanation) error) error {
	return e.matrix(sources, destinations, ports, reasons, yield)
}

// MatrixVerdicts is MatrixBetween for those who need only the verdicts
// (sums per namespace, a grid): each side names only the first rule found
// to allow it, so evaluation stops there.
func (e *Engine) MatrixVerdicts(sources, destinations []Group, ports []PortSpec, yield func(Explanation) error) error {
	return e.matrix(sources, destinations, ports, verdictOnly, yield)
}

// MatrixWithHints is MatrixBetween with each verdict's hints (near misses,
// empty selections), as a single question has them: slower, for matrices
// small enough to read cell by cell.
func (e *Engine) MatrixWithHints(sources, destinations []Group, ports []PortSpec, yield func(Explanation) error) error {
	return e.matrix(sources, destinations, ports, explained, yield)
}

func (e *Engine) matrix(sources, destinations []Group, ports []PortSpec, d detail, yield func(Explanation) error) error {
	keys := make([]string, len(sources))
	for i, g := range sources {
		keys[i] = g.Pods[0].Key()
	}
	column := func(dg Group, emit func(Explanation) error) error {
		dst := dg.Pods[0]
		dstKey := dst.Key()
		for _, rp := range matrixPorts(dst, ports) {
			for si, sg := range sources {
				src, srcKey := sg.Pods[0], keys[si]
				if src == dst && len(sg.Pods) > 1 {
					src, srcKey = sg.Pods[1], sg.Pods[1].Key()
				}
				r := e.evaluate(Flow{From: PodEndpoint(src), To: PodEndpoint(dst), Port: rp.port, Protocol: rp.proto, Replicas: standsForReplicas(src, dst)}, d)
				x := Explanation{From: srcKey, To: dstKey, FromGroup: sg.Name, ToGroup: dg.Name,
					Port: rp.port, PortName: rp.name, Protocol: rp.proto, Verdict: r.Verdict, Egress: r.Egress, Ingress: r.Ingress, Hints: []Hint{}}
				if d == explained && r.Hints != nil {
					x.Hints = r.Hints
				}
				if r.Verdict != Unspecified {
					allowed := r.Verdict == Allowed
					x.Allowed = &allowed
				}
				if err := emit(x); err != nil {
					return err
				}
			}
		}
		return nil
	}
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || len(destinations) < 2 || len(sources)*len(destinations) < parallelMatrixPairs {
		for _, dg := range destinations {
			if err := column(dg, yield); err != nil {
				return err
			}
		}
		return nil
	}
	return inOrder(len(destinations), workers, func(d int) []Explanation {
		var xs []Explanation
		_ = column(destinations[d], func(x Explanation) error { xs = append(xs, x); return nil })
		return xs
	}, yield)
}

// parallelMatrixPairs: below this many group pairs a matrix is evaluated
// on one goroutine (starting workers would cost more than it saves).
var parallelMatrixPairs = 4096

// inOrder computes the n columns on workers goroutines and yields their
// verdicts in column order, so output is the same as one goroutine's. At
// most a few columns per worker wait in memory; an error from yield stops
// the workers.
func inOrder(n, workers int, compute func(int) []Explanation, yield func(Explanation) error) error {
	type result = chan []Explanation
	pending := make(chan result, 2*workers)
	jobs := make(chan struct {
		d   int
		out result
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(pending)
		defer close(jobs)
		for d := range n {
			out := make(result, 1)
			select {
			case pending <- out:
			case <-stop:
				return
			}
			select {
			case jobs <- struct {
				d   int
				out result
			}{d, out}:
			case <-stop:
				return
			}
		}
	})
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				j.out <- compute(j.d)
			}
		})
	}
	var err error
	for out := range pending {
		xs := <-out
		for _, x := range xs {
			if err = yield(x); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	close(stop)
	for range pending { // let the producer see stop or finish
	}
	wg.Wait()
	return err
}

// matrixPorts are the ports a matrix evaluates on a destination: those it
// declares, or the ones asked (named ones resolved on it, skipped where it
// has no such name).
func matrixPorts(dst *model.Pod, ports []PortSpec) []resolvedPort {
	var rps []resolvedPort
	if len(ports) == 0 {
		for _, cp := range dst.Ports {
			rps = append(rps, resolvedPort{port: cp.Port, proto: cp.Protocol, name: cp.Name})
		}
	}
	for _, ps := range ports {
		proto := ps.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		if n, err := strconv.Atoi(ps.Port); err == nil {
			rps = append(rps, resolvedPort{port: int32(n), proto: proto})
		} else if n, ok := dst.NamedPort(ps.Port, proto); ok {
			rps = append(rps, resolvedPort{port: n, proto: proto, name: ps.Port})
		}
	}
	return rps
}

// standsForReplicas: a pod template read from files talking to itself
// means two replicas of the workload talking to each other.
func standsForReplicas(src, dst *model.Pod) bool {
	return src != nil && src == dst && src.FromTemplate
}

// DescribePorts reads a rule's ports for people: "all ports", "all UDP",
// "3001/TCP", "metrics/TCP", "8000-8100/TCP".
func DescribePorts(ports []networkingv1.NetworkPolicyPort) string {
	if len(ports) == 0 {
		return "all ports"
	}
	var out []string
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		switch {
		case p.Port == nil:
			out = append(out, "all "+string(proto))
		case p.EndPort != nil:
			out = append(out, fmt.Sprintf("%s-%d/%s", p.Port.String(), *p.EndPort, proto))
		default:
			out = append(out, p.Port.String()+"/"+string(proto))
		}
	}
	return strings.Join(out, ", ")
}
