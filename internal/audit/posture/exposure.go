package posture

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Analyzer answers audit's questions over one model: the model with a
// representative of every region added, and one engine deciding them.
type Analyzer struct {
	base     *model.Model
	space    *space
	engine   *policy.Engine
	groups   []policy.Group
	policies map[string]*networkingv1.NetworkPolicy
	// addresses stand for the ranges outside the cluster that the
	// policies' ipBlocks and networks tell apart; internet is the one
	// that stands for the public internet.
	addresses []netip.Addr
	internet  netip.Addr
	// promises are the verdict of every region per workload, side and
	// port (the property test holds the engine to them).
	promises map[string]map[string]policy.Verdict
	// unpartitioned names the policy layers whose selectors the regions
	// do not split on yet: their exposure is unspecified, never guessed.
	unpartitioned string
	isBase        map[*model.Pod]bool
	// blocks tell pods with addresses apart from their region (addressed).
	blocks []block
	// sides are the sides worked out, by sideKey; selecting are, per pod
	// and direction (0 ingress, 1 egress), the NetworkPolicies that
	// select it; wayOf caches the description of each rule's peer.
	sides     map[string]decided
	selecting map[*model.Pod]*[2][]string
	wayOf     map[wayKey]way
}

// NewAnalyzer adds the regions of the namespaces' workloads to a copy of
// the model and compiles one engine over it. The model is not changed.
func NewAnalyzer(m *model.Model, namespaces []string) *Analyzer {
	a := &Analyzer{base: m, space: newSpace(m), policies: map[string]*networkingv1.NetworkPolicy{}, promises: map[string]map[string]policy.Verdict{},
		internet: netip.MustParseAddr("8.8.8.8")}
	for _, np := range m.Policies {
		a.policies[np.Namespace+"/"+np.Name] = np
	}
	for _, ns := range namespaces {
		a.space.regionsOf(ns)
	}
	a.engine = policy.New(a.space.seal())
	a.groups = a.engine.Groups(m.Pods)
	a.addresses = outsideAddresses(m, a.internet)
	a.unpartitioned = unpartitionedLayers(m)
	a.isBase = make(map[*model.Pod]bool, len(m.Pods))
	for _, p := range m.Pods {
		a.isBase[p] = true
	}
	a.blocks = policyBlocks(m)
	a.sides, a.wayOf = map[string]decided{}, map[wayKey]way{}
	a.selecting = selectingPolicies(a.engine, m)
	return a
}

// unpartitionedLayers names the layers whose selectors (Calico's
// selector language, Cilium's identities) the regions do not split on.
func unpartitionedLayers(m *model.Model) string {
	switch {
	case len(m.CalicoPolicies) > 0:
		return "Calico's policies"
	case m.Cilium != nil:
		return "Cilium's policies"
	case m.AWSPolicyMode != "":
		return "the EKS agent's ClusterNetworkPolicies"
	}
	return ""
}

// Engine is the engine over the model and the regions' representatives.
func (a *Analyzer) Engine() *policy.Engine { return a.engine }

// Groups are the existing pods' groups.
func (a *Analyzer) Groups() []policy.Group { return a.groups }

// Workload is a group's exposure in both directions.
func (a *Analyzer) Workload(g policy.Group) Workload { return a.Directions(g, true, true) }

// Directions is a group's exposure in the directions asked.
func (a *Analyzer) Directions(g policy.Group, ingress, egress bool) Workload {
	w := g.Pods[0]
	out := Workload{Namespace: w.Namespace, Name: g.Name, Ingress: []Port{}, Egress: []Port{}}
	for _, p := range g.Pods {
		out.Pods = append(out.Pods, p.Name)
	}
	r := a.space.regionsOf(w.Namespace)
	if ingress {
		for _, pt := range ingressPorts(w, a.base) {
			out.Ingress = append(out.Ingress, a.side(g, r, pt, true))
		}
	}
	if egress {
		for _, pt := range egressPorts(w.Namespace, a.base) {
			out.Egress = append(out.Egress, a.side(g, r, pt, false))
		}
	}
	return out
}

// Internet is the evidence of a way that lets the internet through (its
// representative address, 8.8.8.8, was allowed).
const Internet = "internet"

// portQuestion is one port a side is asked about.
type portQuestion struct {
	port  int32
	proto corev1.Protocol
	name  string
}

// tally collects one side's ways and counts on one port.
type tally struct {
	port    Port
	order   []string
	byKey   map[string]*Exposure
	seen    map[string]map[string]bool
	regions map[string]bool
}

func newTally(pt portQuestion) *tally {
	return &tally{port: Port{Port: pt.port, Protocol: string(pt.proto), PortName: pt.name, Peers: []Exposure{}}, byKey: map[string]*Exposure{},
		seen: map[string]map[string]bool{}, regions: map[string]bool{}}
}

// MaxEvidence bounds the evidence listed per way: a way open to the whole
// cluster would otherwise list every group for every port of every
// workload (EvidenceCount counts them all).
const MaxEvidence = 20

// add records a verdict under each way that let it through (or its
// reason, unspecified), with evidence when it is an existing peer.
func (t *tally) add(ways []way, verdict policy.Verdict, evidence string, future, outside bool) {
	for _, w := range ways {
		e, ok := t.byKey[w.key]
		if !ok {
			e = &Exposure{Verdict: verdict, Who: w.who, By: w.by, Evidence: []string{}}
			t.byKey[w.key] = e
			t.order = append(t.order, w.key)
		}
		e.Future = e.Future || future
		e.Outside = e.Outside || outside
		if evidence == "" || t.seen[w.key][evidence] {
			continue
		}
		if t.seen[w.key] == nil {
			t.seen[w.key] = map[string]bool{}
		}
		t.seen[w.key][evidence] = true
		e.EvidenceCount++
		if len(e.Evidence) < MaxEvidence {
			e.Evidence = append(e.Evidence, evidence)
		}
	}
}

// side is one workload's exposure on one port in one direction. Workloads
// whose side the same policies decide share it (sideKey), so it is worked
// out once for them all.
func (a *Analyzer) side(g policy.Group, r *regions, pt portQuestion, ingress bool) Port {
	key := a.sideKey(g.Pods[0], ingress, pt)
	cached, ok := a.sides[key]
	if !ok {
		cached = a.decideSide(g.Pods[0], r, pt, ingress)
		a.sides[key] = cached
	}
	a.promises[promiseKey(g.Name, ingress, pt)] = cached.promise
	return cached.port
}

// decided is one side's exposure and the verdict of each region.
type decided struct {
	port    Port
	promise map[string]policy.Verdict
}

// decideSide asks the engine about every region, every outside range and
// the existing groups of pods, for the side of w.
func (a *Analyzer) decideSide(w *model.Pod, r *regions, pt portQuestion, ingress bool) decided {
	t := newTally(pt)
	out := decided{promise: map[string]policy.Verdict{}}
	if why := a.undecidable(r); why != "" {
		t.port.Reach = "unspecified"
		t.port.Peers = append(t.port.Peers, Exposure{Verdict: policy.Unspecified, Who: "every peer", By: why, Evidence: []string{}})
		out.port = t.port
		return out
	}
	ways := map[string][]way{}
	for _, reg := range r.list {
		side := a.ask(policy.PodEndpoint(reg.rep), policy.PodEndpoint(w), pt, ingress)
		out.promise[reg.key] = side.Verdict
		ways[reg.key] = a.count(t, side, ingress, "", reg.future, false)
	}
	for _, addr := range a.addresses {
		side := a.ask(policy.IPEndpoint(addr), policy.PodEndpoint(w), pt, ingress)
		evidence := "" // the other addresses only stand for their ranges
		if addr == a.internet {
			evidence = Internet
			t.regions["internet"] = t.regions["internet"] || side.Verdict == policy.Allowed
		}
		a.count(t, side, ingress, evidence, false, true)
	}
	a.evidence(t, w, pt, ingress, r, out.promise, ways)
	t.finish()
	out.port = t.port
	return out
}

// evidence adds the existing groups each way lets through: a group's
// region says it, unless its addresses are in a range a policy names
// (then the engine is asked about the group itself).
func (a *Analyzer) evidence(t *tally, w *model.Pod, pt portQuestion, ingress bool, r *regions, promise map[string]policy.Verdict, ways map[string][]way) {
	for _, other := range a.groups {
		p := other.Pods[0]
		region := a.regionOf(r, p)
		verdict, ok := promise[region]
		if !ok || a.addressed(p) {
			side := a.ask(policy.PodEndpoint(p), policy.PodEndpoint(w), pt, ingress)
			if side.Verdict == policy.Allowed {
				t.add(a.ways(side, ingress), side.Verdict, other.Name, false, false)
			}
			continue
		}
		if verdict == policy.Allowed {
			t.add(ways[region], policy.Allowed, other.Name, false, false)
		}
	}
}

// regionOf is an existing pod's region among a namespace's (worked out
// once per namespace's regions).
func (a *Analyzer) regionOf(r *regions, p *model.Pod) string {
	if key, ok := r.members[p]; ok {
		return key
	}
	var labels map[string]string
	if ns := a.base.Namespace(p.Namespace); ns != nil {
		labels = ns.Labels
	}
	key := r.Key(p.Namespace, labels, p.Labels)
	r.members[p] = key
	return key
}

// addressed: the pod's own addresses may change its verdict from its
// region's (whose representative has none): it is host-networked, or an
// ipBlock or network tells its addresses apart from "no address".
func (a *Analyzer) addressed(p *model.Pod) bool {
	if p.HostNetwork {
		return true
	}
	for _, ip := range p.IPs {
		for _, b := range a.blocks {
			if b.contains(ip) != b.holdsAddressless {
				return true
			}
		}
	}
	return false
}

// block is an ipBlock (or a cluster-scoped network) and whether a pod
// without an address is in it for the engine (a /0 without except).
type block struct {
	cidr             netip.Prefix
	except           []netip.Prefix
	holdsAddressless bool
}

func (b block) contains(ip netip.Addr) bool {
	if !b.cidr.Contains(ip) {
		return false
	}
	return !slices.ContainsFunc(b.except, func(e netip.Prefix) bool { return e.Contains(ip) })
}

// policyBlocks are every ipBlock of the NetworkPolicies and every network
// of the cluster-scoped policies (a pod without an address is undecided
// against those: never like one with an address).
func policyBlocks(m *model.Model) []block {
	var out []block
	add := func(peers []networkingv1.NetworkPolicyPeer) {
		for _, p := range peers {
			if p.IPBlock == nil {
				continue
			}
			cidr, err := netip.ParsePrefix(p.IPBlock.CIDR)
			if err != nil {
				continue
			}
			b := block{cidr: cidr, holdsAddressless: cidr.Bits() == 0 && len(p.IPBlock.Except) == 0}
			for _, e := range p.IPBlock.Except {
				if ep, err := netip.ParsePrefix(e); err == nil {
					b.except = append(b.except, ep)
				}
			}
			out = append(out, b)
		}
	}
	for _, np := range m.Policies {
		for _, r := range np.Spec.Ingress {
			add(r.From)
		}
		for _, r := range np.Spec.Egress {
			add(r.To)
		}
	}
	if len(m.ClusterPolicies) > 0 {
		// Addressless pods against networks are undecided: every pod
		// with an address is asked about itself.
		out = append(out, block{cidr: netip.MustParsePrefix("0.0.0.0/0")}, block{cidr: netip.MustParsePrefix("::/0")})
	}
	return out
}

// undecidable says why the regions cannot stand for every peer.
func (a *Analyzer) undecidable(r *regions) string {
	switch {
	case a.unpartitioned != "":
		return "audit does not split peers on the selectors of " + a.unpartitioned + " yet"
	case r.tooMany > 0:
		return fmt.Sprintf("the selectors make %d regions, more than audit asks (%d)", r.tooMany, maxRegions)
	}
	return ""
}

// count adds one region's verdict to the tally, and returns the ways
// that let it through (none when it is denied).
func (a *Analyzer) count(t *tally, side *policy.Side, ingress bool, evidence string, future, outside bool) []way {
	t.port.Regions.Total++
	switch side.Verdict {
	case policy.Allowed:
		t.port.Regions.Allowed++
		ways := a.ways(side, ingress)
		t.add(ways, side.Verdict, evidence, future, outside)
		t.regions["future"] = t.regions["future"] || future
		return ways
	case policy.Denied:
		t.port.Regions.Denied++
		t.regions["podDenied"] = t.regions["podDenied"] || !outside
	default:
		t.port.Regions.Unspecified++
		t.add([]way{{key: "unspecified:" + side.Undecided, who: "peers the engine cannot decide", by: side.Undecided}}, policy.Unspecified, evidence, future, outside)
	}
	return nil
}

// ask decides the workload's side of the flow between peer and workload.
func (a *Analyzer) ask(peer, workload policy.Endpoint, pt portQuestion, ingress bool) *policy.Side {
	// A pod reaching itself is no exposure: asked about its own group, the
	// engine answers for another replica.
	f := policy.Flow{From: peer, To: workload, Port: pt.port, Protocol: pt.proto, Replicas: peer.Pod != nil && peer.Pod == workload.Pod}
	if !ingress {
		f.From, f.To = workload, peer
	}
	res := a.engine.Evaluate(f, false)
	if ingress {
		return res.Ingress
	}
	return res.Egress
}

// finish orders the ways and sums the reach up.
func (t *tally) finish() {
	for _, k := range t.order {
		t.port.Peers = append(t.port.Peers, *t.byKey[k])
	}
	pods := t.port.Regions
	switch {
	case pods.Unspecified > 0:
		t.port.Reach = "unspecified"
	case pods.Allowed == pods.Total && t.regions["internet"]:
		t.port.Reach = "anyone"
	case t.regions["internet"]:
		t.port.Reach = "internet"
	case pods.Allowed > 0 && !t.regions["podDenied"]:
		t.port.Reach = "cluster"
	case t.regions["future"]:
		t.port.Reach = "namespaces"
	case pods.Allowed > 0:
		t.port.Reach = "restricted"
	default:
		t.port.Reach = "none"
	}
}

// sideKey is what decides a workload's side on a port, as far as the
// regions can tell: its namespace, the NetworkPolicies that select it in
// that direction, what the cluster-scoped policies make of it, its
// declared ports (named ports resolve on the destination) and the port.
func (a *Analyzer) sideKey(w *model.Pod, ingress bool, pt portQuestion) string {
	dir := 1
	if ingress {
		dir = 0
	}
	var policies []string
	if sel := a.selecting[w]; sel != nil {
		policies = sel[dir]
	}
	declared := ""
	if ingress {
		declared = fmt.Sprint(w.Ports)
	}
	return fmt.Sprintf("%s|%t|%v|%s|%s|%d/%s", w.Namespace, w.HostNetwork, policies, a.engine.ClusterSignature(w), declared, pt.port, pt.proto)
}

// selectingPolicies indexes which NetworkPolicies select each pod, per
// direction.
func selectingPolicies(e *policy.Engine, m *model.Model) map[*model.Pod]*[2][]string {
	out := map[*model.Pod]*[2][]string{}
	for _, np := range m.Policies {
		in, eg := policy.PolicyTypes(np)
		for _, p := range e.Selected(np) {
			if out[p] == nil {
				out[p] = &[2][]string{}
			}
			if in {
				out[p][0] = append(out[p][0], np.Namespace+"/"+np.Name)
			}
			if eg {
				out[p][1] = append(out[p][1], np.Namespace+"/"+np.Name)
			}
		}
	}
	return out
}

func promiseKey(group string, ingress bool, pt portQuestion) string {
	return fmt.Sprintf("%s|%s|%d/%s", group, direction(ingress), pt.port, pt.proto)
}

// ingressPorts are the ports a pod declares, or, when it declares none,
// the port numbers its namespace's ingress rules name and one they do not.
func ingressPorts(p *model.Pod, m *model.Model) []portQuestion {
	var out []portQuestion
	for _, cp := range p.Ports {
		out = append(out, portQuestion{port: cp.Port, proto: cp.Protocol, name: cp.Name})
	}
	if len(out) > 0 {
		return out
	}
	return rulePorts(p.Namespace, m, true)
}

// egressPorts are the port numbers the egress rules of the namespace's
// policies and the cluster-scoped ones name, and one they do not, which
// stands for every other port.
func egressPorts(namespace string, m *model.Model) []portQuestion {
	return rulePorts(namespace, m, false)
}

// rulePorts collects the numbered ports of one direction's rules, and a
// port none of them covers ("other").
func rulePorts(namespace string, m *model.Model, ingress bool) []portQuestion {
	seen := map[portQuestion]bool{}
	var ranges [][2]int32
	add := func(port, end int32, proto corev1.Protocol) {
		if port == 0 {
			return
		}
		if end < port {
			end = port
		}
		ranges = append(ranges, [2]int32{port, end})
		seen[portQuestion{port: port, proto: proto}] = true
	}
	forEachPolicyPort(namespace, m, ingress, add)
	out := make([]portQuestion, 0, len(seen)+1)
	for q := range seen {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].port != out[j].port {
			return out[i].port < out[j].port
		}
		return out[i].proto < out[j].proto
	})
	return append(out, portQuestion{port: uncoveredPort(ranges), proto: corev1.ProtocolTCP, name: "other"})
}

// forEachPolicyPort calls add for every numbered port of one direction's
// rules of the namespace's NetworkPolicies and the cluster-scoped ones.
func forEachPolicyPort(namespace string, m *model.Model, ingress bool, add func(port, end int32, proto corev1.Protocol)) {
	for _, np := range m.Policies {
		if np.Namespace != namespace {
			continue
		}
		for _, ports := range policyPorts(np, ingress) {
			for _, p := range ports {
				if p.Port == nil || p.Port.Type != 0 {
					continue
				}
				end := int32(0)
				if p.EndPort != nil {
					end = *p.EndPort
				}
				add(p.Port.IntVal, end, protocolOf(p.Protocol))
			}
		}
	}
	for _, cp := range m.ClusterPolicies {
		rules := cp.Egress
		if ingress {
			rules = cp.Ingress
		}
		for _, r := range rules {
			for _, p := range r.Ports {
				add(p.Port, p.EndPort, p.Protocol)
			}
		}
	}
}

func policyPorts(np *networkingv1.NetworkPolicy, ingress bool) [][]networkingv1.NetworkPolicyPort {
	var out [][]networkingv1.NetworkPolicyPort
	if ingress {
		for _, r := range np.Spec.Ingress {
			out = append(out, r.Ports)
		}
		return out
	}
	for _, r := range np.Spec.Egress {
		out = append(out, r.Ports)
	}
	return out
}

func protocolOf(p *corev1.Protocol) corev1.Protocol {
	if p == nil || *p == "" {
		return corev1.ProtocolTCP
	}
	return *p
}

// uncoveredPort is a port no range holds, from the top down (ports rules
// rarely name).
func uncoveredPort(ranges [][2]int32) int32 {
	for p := int32(65535); p > 0; p-- {
		if !slices.ContainsFunc(ranges, func(r [2]int32) bool { return p >= r[0] && p <= r[1] }) {
			return p
		}
	}
	return 0
}

// outsideAddresses stand for every range outside the cluster that the
// policies' ipBlocks (and the cluster-scoped networks) tell apart: each
// block's first address, the one before it and the one after its end,
// and the internet.
func outsideAddresses(m *model.Model, internet netip.Addr) []netip.Addr {
	set := map[netip.Addr]bool{internet: true}
	for _, p := range policyPrefixes(m) {
		first := p.Masked().Addr()
		set[first] = true
		if prev := first.Prev(); prev.IsValid() {
			set[prev] = true
		}
		if next := lastAddr(p).Next(); next.IsValid() {
			set[next] = true
		}
	}
	out := make([]netip.Addr, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y netip.Addr) int { return x.Compare(y) })
	return out
}

// policyPrefixes are every CIDR and except of every ipBlock and network.
func policyPrefixes(m *model.Model) []netip.Prefix {
	var texts []string
	for _, np := range m.Policies {
		for _, r := range np.Spec.Ingress {
			texts = appendBlocks(texts, r.From)
		}
		for _, r := range np.Spec.Egress {
			texts = appendBlocks(texts, r.To)
		}
	}
	for _, cp := range m.ClusterPolicies {
		for _, r := range append(slices.Clone(cp.Ingress), cp.Egress...) {
			for _, p := range r.Peers {
				texts = append(texts, p.Networks...)
			}
		}
	}
	var out []netip.Prefix
	for _, t := range texts {
		if p, err := netip.ParsePrefix(t); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func appendBlocks(texts []string, peers []networkingv1.NetworkPolicyPeer) []string {
	for _, p := range peers {
		if p.IPBlock != nil {
			texts = append(append(texts, p.IPBlock.CIDR), p.IPBlock.Except...)
		}
	}
	return texts
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
