package transition

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Cut is a connection allowed before and after a plan that an
// intermediate state denies.
type Cut struct {
	// Step is the index of the step after which the cut exists.
	Step int
	From string
	To   string
	Port int32
	// Protocol of the connection.
	Protocol corev1.Protocol
}

func (c Cut) String() string {
	return fmt.Sprintf("%s -> %s %d/%s", c.From, c.To, c.Port, c.Protocol)
}

// UnsafeError reports that a plan would cut connections; nothing should be written.
type UnsafeError struct {
	Namespace string
	Step      Step
	Cuts      []Cut
}

func (e *UnsafeError) Error() string {
	var rows []string
	for i, c := range e.Cuts {
		if i == 5 {
			rows = append(rows, fmt.Sprintf("and %d more", len(e.Cuts)-5))
			break
		}
		rows = append(rows, c.String())
	}
	return fmt.Sprintf("in namespace %s, the step %q would cut connections that are allowed both before and after: %s", e.Namespace, e.Step.String(), strings.Join(rows, ", "))
}

// externalTestAddr stands for "somewhere outside the cluster" when no
// ipBlock names a place.
var externalTestAddr = netip.MustParseAddr("198.51.100.10")

// Check evaluates every intermediate state of the plan with the engine: no
// connection to or from a pod of the namespace that is allowed before and
// after may be denied in between. It returns the first unsafe step.
func Check(in Input, p *Plan) error {
	cuts := Cuts(in, p)
	if len(cuts) == 0 {
		return nil
	}
	first := cuts[0].Step
	var atFirst []Cut
	for _, c := range cuts {
		if c.Step == first {
			atFirst = append(atFirst, c)
		}
	}
	return &UnsafeError{Namespace: p.Namespace, Step: p.Steps[first], Cuts: atFirst}
}

// Cuts lists every cut of every intermediate state (the last state is the
// target itself and cannot cut anything).
func Cuts(in Input, p *Plan) []Cut {
	if len(p.States) < 2 {
		return nil
	}
	w := newWorld(in, p)
	e0, e1 := w.engine(p.Before), w.engine(p.After)
	flows := w.flows(e0, e1)
	// Each step changes one policy, so only the flows of the pods it
	// selects (in its directions) can change verdict: re-evaluate those,
	// carry the rest over from the state before.
	allowed := make([]bool, len(flows))
	for i := range allowed {
		allowed[i] = true
	}
	var cuts []Cut
	prev := p.Before
	for i, st := range p.States[:len(p.States)-1] {
		ei := w.engine(st)
		in, out := w.affected(prev, st)
		for fi, f := range flows {
			if (f.flow.From.Pod != nil && out[f.flow.From.Pod]) || (f.flow.To.Pod != nil && in[f.flow.To.Pod]) {
				// Unspecified is no proof that it stays open: a cut.
				allowed[fi] = ei.Evaluate(f.flow, false).Verdict == policy.Allowed
			}
			if !allowed[fi] {
				cuts = append(cuts, Cut{Step: i, From: f.from, To: f.to, Port: f.flow.Port, Protocol: f.flow.Protocol})
			}
		}
		prev = st
	}
	return cuts
}

// layerClasses tells pods apart that the other layers' policies treat
// differently (policy.Engine.LayerSignature); without them, all alike.
func (w *world) layerClasses(pods []*model.Pod) func(*model.Pod) string {
	if w.layers.Empty() {
		return func(*model.Pod) string { return "" }
	}
	m := &model.Model{Namespaces: append([]*model.Namespace(nil), w.namespaces...), Pods: append([]*model.Pod(nil), pods...)}
	w.layers.addTo(m)
	m.Normalize()
	return policy.New(m).LayerSignature
}

// addTo puts the layers into a model of one state.
func (l *Layers) addTo(m *model.Model) {
	if l == nil {
		return
	}
	m.CalicoPolicies, m.CalicoTiers, m.ServiceAccounts = l.CalicoPolicies, l.CalicoTiers, l.ServiceAccounts
	m.ClusterPolicies, m.Nodes, m.AWSPolicyMode = l.ClusterPolicies, l.Nodes, l.AWSPolicyMode
	m.CiliumPolicies, m.Cilium = l.CiliumPolicies, l.Cilium
}

// affected are the namespace's pods whose ingress or egress side may
// differ between two states: those selected by a policy that is in one
// state and not the other, or differs between them.
func (w *world) affected(a, b []*networkingv1.NetworkPolicy) (ingress, egress map[*model.Pod]bool) {
	ingress, egress = map[*model.Pod]bool{}, map[*model.Pod]bool{}
	byName := map[string]*networkingv1.NetworkPolicy{}
	for _, np := range a {
		byName[np.Name] = np
	}
	var changed []*networkingv1.NetworkPolicy
	seen := map[string]bool{}
	for _, np := range b {
		seen[np.Name] = true
		if old := byName[np.Name]; old != np {
			changed = append(changed, np)
			if old != nil {
				changed = append(changed, old)
			}
		}
	}
	for _, np := range a {
		if !seen[np.Name] {
			changed = append(changed, np)
		}
	}
	// Under the EKS agent's strict mode, whether any policy selects a pod
	// decides both its directions.
	bothWays := w.layers != nil && (w.layers.AWSPolicyMode == model.AWSModeStrict || w.layers.AWSPolicyMode == model.AWSModeUnknown)
	for _, np := range changed {
		ing, eg := policy.PolicyTypes(np)
		if bothWays {
			ing, eg = true, true
		}
		for _, pod := range w.pods[:w.own] {
			if selects(np, pod) {
				ingress[pod] = ingress[pod] || ing
				egress[pod] = egress[pod] || eg
			}
		}
	}
	return ingress, egress
}

// world is the cluster the check evaluates: the namespace's pods, peers
// (given or synthesised from the selectors) and outside addresses.
type world struct {
	namespace  string
	namespaces []*model.Namespace
	pods       []*model.Pod // the namespace's own, then peers
	own        int
	addrs      []netip.Addr
	ports      []portProto
	layers     *Layers
}

type portProto struct {
	port  int32
	proto corev1.Protocol
}

func newWorld(in Input, p *Plan) *world {
	w := &world{namespace: in.Namespace}
	nsByName := map[string]*model.Namespace{}
	addNS := func(name string, lbl map[string]string) {
		if _, ok := nsByName[name]; ok {
			return
		}
		ns := &model.Namespace{Name: name, Labels: copyMap(lbl)}
		nsByName[name] = ns
		w.namespaces = append(w.namespaces, ns)
	}
	for _, ns := range in.Namespaces {
		addNS(ns.Name, ns.Labels)
	}
	addNS(in.Namespace, nil)
	var peers []*model.Pod
	for _, peer := range realPods(in.Peers) {
		if peer.Namespace != in.Namespace {
			addNS(peer.Namespace, nil)
			peers = append(peers, peer)
		}
	}
	// Pods alike in every state get alike verdicts: two of each kind
	// stand for all (two, for the connections between replicas).
	all := allPolicies(p)
	labelsOf := map[string]map[string]string{}
	for _, ns := range w.namespaces {
		l := copyMap(ns.Labels)
		if l == nil {
			l = map[string]string{}
		}
		l[model.MetadataNameLabel] = ns.Name
		labelsOf[ns.Name] = l
	}
	w.layers = in.Layers
	layerClass := w.layerClasses(append(realPods(in.Pods), peers...))
	w.pods = representatives(realPods(in.Pods), all, labelsOf, layerClass)
	w.own = len(w.pods)
	w.pods = append(w.pods, representatives(peers, all, labelsOf, layerClass)...)
	seenAddr := map[netip.Addr]bool{externalTestAddr: true}
	w.addrs = []netip.Addr{externalTestAddr}
	for _, a := range w.layers.addresses() {
		if !seenAddr[a] {
			seenAddr[a] = true
			w.addrs = append(w.addrs, a)
		}
	}
	seenPort := map[portProto]bool{}
	addPort := func(pp portProto) {
		if !seenPort[pp] {
			seenPort[pp] = true
			w.ports = append(w.ports, pp)
		}
	}
	addPort(portProto{443, corev1.ProtocolTCP})
	addPort(portProto{53, corev1.ProtocolUDP})
	for _, pod := range w.pods {
		for _, cp := range pod.Ports {
			addPort(portProto{cp.Port, protoOr(cp.Protocol)})
		}
	}
	synth := 0
	for _, np := range all {
		for _, peers := range rulePeers(np) {
			for _, peer := range peers.peers {
				if peer.IPBlock != nil {
					for _, a := range blockAddrs(peer.IPBlock) {
						if !seenAddr[a] {
							seenAddr[a] = true
							w.addrs = append(w.addrs, a)
						}
					}
					continue
				}
				if peer.NamespaceSelector == nil {
					continue // this namespace: its own pods stand for it
				}
				nsLabels := selectorExample(peer.NamespaceSelector)
				name := nsLabels[model.MetadataNameLabel]
				if name == "" {
					synth++
					name = fmt.Sprintf("netbaseline-peer-%d", synth)
				}
				if name == in.Namespace {
					continue
				}
				addNS(name, nsLabels)
				podLabels := map[string]string{}
				if peer.PodSelector != nil {
					podLabels = selectorExample(peer.PodSelector)
				}
				synth++
				w.pods = append(w.pods, &model.Pod{Namespace: name, Name: fmt.Sprintf("peer-%d", synth), Labels: podLabels,
					IPs: []netip.Addr{netip.AddrFrom4([4]byte{198, 18, 255, byte(synth % 250)})}})
			}
			for _, port := range peers.ports {
				if port.Port != nil && port.Port.IntValue() > 0 {
					addPort(portProto{int32(port.Port.IntValue()), protoOr(protoOf(port.Protocol))})
				}
			}
		}
	}
	return w
}

// addresses are one address in each network of the cluster-scoped
// policies: outside the cluster, they may be decided apart.
func (l *Layers) addresses() []netip.Addr {
	if l == nil {
		return nil
	}
	var out []netip.Addr
	for _, p := range l.ClusterPolicies {
		for _, r := range p.Egress {
			for _, peer := range r.Peers {
				for _, c := range peer.Networks {
					out = append(out, blockAddrs(&networkingv1.IPBlock{CIDR: c})...)
				}
			}
		}
	}
	for _, n := range l.Nodes {
		out = append(out, n.Addresses...)
	}
	return out
}

// allPolicies are every policy any state of the plan holds.
func allPolicies(p *Plan) []*networkingv1.NetworkPolicy {
	var all []*networkingv1.NetworkPolicy
	all = append(all, p.Before...)
	all = append(all, p.After...)
	for _, st := range p.States {
		all = append(all, st...)
	}
	return all
}

// representatives keeps at most two pods per class: pods that every
// selector, ipBlock and port of every state's policies treats alike get
// alike verdicts in every state (two, for the connections between them).
func representatives(pods []*model.Pod, policies []*networkingv1.NetworkPolicy, nsLabels map[string]map[string]string, layerClass func(*model.Pod) string) []*model.Pod {
	unique := map[*networkingv1.NetworkPolicy]bool{}
	var distinct []*networkingv1.NetworkPolicy
	for _, np := range policies {
		if !unique[np] {
			unique[np] = true
			distinct = append(distinct, np)
		}
	}
	count := map[string]int{}
	var out []*model.Pod
	for _, pod := range pods {
		key := classKey(pod, distinct, nsLabels) + "|" + layerClass(pod)
		if count[key] < 2 {
			count[key]++
			out = append(out, pod)
		}
	}
	return out
}

func classKey(pod *model.Pod, policies []*networkingv1.NetworkPolicy, nsLabels map[string]map[string]string) string {
	var b strings.Builder
	b.WriteString(pod.Namespace)
	b.WriteByte('|')
	for _, cp := range pod.Ports {
		fmt.Fprintf(&b, "%s:%d/%s,", cp.Name, cp.Port, cp.Protocol)
	}
	b.WriteByte('|')
	bit := func(v bool) {
		if v {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	for _, np := range policies {
		bit((np.Namespace == "" || np.Namespace == pod.Namespace) && selects(np, pod))
		for _, rule := range rulePeers(np) {
			for i := range rule.peers {
				bit(peerMatches(np.Namespace, &rule.peers[i], pod, nsLabels))
			}
		}
	}
	return b.String()
}

func peerMatches(policyNS string, peer *networkingv1.NetworkPolicyPeer, pod *model.Pod, nsLabels map[string]map[string]string) bool {
	if peer.IPBlock != nil {
		prefix, err := netip.ParsePrefix(peer.IPBlock.CIDR)
		if err != nil {
			return false
		}
		for _, ip := range pod.IPs {
			if prefix.Contains(ip) && !excepted(peer.IPBlock.Except, ip) {
				return true
			}
		}
		return false
	}
	if peer.NamespaceSelector == nil {
		if policyNS != "" && pod.Namespace != policyNS {
			return false
		}
	} else {
		sel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		nl := nsLabels[pod.Namespace]
		if nl == nil {
			nl = map[string]string{model.MetadataNameLabel: pod.Namespace}
		}
		if err != nil || !sel.Matches(labels.Set(nl)) {
			return false
		}
	}
	if peer.PodSelector == nil {
		return true
	}
	sel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
	return err == nil && sel.Matches(labels.Set(pod.Labels))
}

func excepted(except []string, ip netip.Addr) bool {
	for _, e := range except {
		if p, err := netip.ParsePrefix(e); err == nil && p.Contains(ip) {
			return true
		}
	}
	return false
}

func (w *world) engine(policies []*networkingv1.NetworkPolicy) *policy.Engine {
	// Normalize sorts and extends the model's slices: give it copies.
	m := &model.Model{Namespaces: append([]*model.Namespace(nil), w.namespaces...), Pods: append([]*model.Pod(nil), w.pods...)}
	w.layers.addTo(m)
	for _, np := range policies {
		c := np
		if c.Namespace == "" {
			c = np.DeepCopy()
			c.Namespace = w.namespace
		}
		m.Policies = append(m.Policies, c)
	}
	m.Normalize()
	return policy.New(m)
}

type checkedFlow struct {
	flow     policy.Flow
	from, to string
}

// flows are the connections allowed both before and after that touch a
// pod of the namespace.
func (w *world) flows(e0, e1 *policy.Engine) []checkedFlow {
	var out []checkedFlow
	own := w.pods[:w.own]
	consider := func(f policy.Flow, from, to string) {
		if e0.Evaluate(f, false).Verdict == policy.Allowed && e1.Evaluate(f, false).Verdict == policy.Allowed {
			out = append(out, checkedFlow{flow: f, from: from, to: to})
		}
	}
	for _, src := range own {
		for _, dst := range w.pods {
			if src == dst {
				continue
			}
			for _, pp := range declared(dst) {
				consider(policy.Flow{From: policy.PodEndpoint(src), To: policy.PodEndpoint(dst), Port: pp.port, Protocol: pp.proto}, src.Key(), dst.Key())
			}
		}
		for _, a := range w.addrs {
			for _, pp := range w.ports {
				consider(policy.Flow{From: policy.PodEndpoint(src), To: policy.IPEndpoint(a), Port: pp.port, Protocol: pp.proto}, src.Key(), a.String())
			}
		}
	}
	for _, dst := range own {
		for _, src := range w.pods[w.own:] {
			for _, pp := range declared(dst) {
				consider(policy.Flow{From: policy.PodEndpoint(src), To: policy.PodEndpoint(dst), Port: pp.port, Protocol: pp.proto}, src.Key(), dst.Key())
			}
		}
		for _, a := range w.addrs {
			for _, pp := range w.ports {
				consider(policy.Flow{From: policy.IPEndpoint(a), To: policy.PodEndpoint(dst), Port: pp.port, Protocol: pp.proto}, a.String(), dst.Key())
			}
		}
	}
	return out
}

// declared are the ports a pod serves: the connections to it that exist
// (as the engine's flow changes count them).
func declared(p *model.Pod) []portProto {
	out := make([]portProto, 0, len(p.Ports))
	for _, cp := range p.Ports {
		out = append(out, portProto{cp.Port, protoOr(cp.Protocol)})
	}
	return out
}

type peersAndPorts struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

func rulePeers(np *networkingv1.NetworkPolicy) []peersAndPorts {
	var out []peersAndPorts
	for _, r := range np.Spec.Ingress {
		out = append(out, peersAndPorts{r.From, r.Ports})
	}
	for _, r := range np.Spec.Egress {
		out = append(out, peersAndPorts{r.To, r.Ports})
	}
	return out
}

// selectorExample is a label set the selector matches (the first value of
// each In, a placeholder for Exists).
func selectorExample(s *metav1.LabelSelector) map[string]string {
	out := copyMap(s.MatchLabels)
	if out == nil {
		out = map[string]string{}
	}
	for _, r := range s.MatchExpressions {
		switch r.Operator {
		case metav1.LabelSelectorOpIn:
			if len(r.Values) > 0 {
				out[r.Key] = r.Values[0]
			}
		case metav1.LabelSelectorOpExists:
			out[r.Key] = "x"
		case metav1.LabelSelectorOpNotIn:
			if _, ok := out[r.Key]; !ok {
				out[r.Key] = "netbaseline-other"
			}
		}
	}
	return out
}

// blockAddrs are an address inside the block (not excepted) and one in
// each except.
func blockAddrs(b *networkingv1.IPBlock) []netip.Addr {
	prefix, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return nil
	}
	var out []netip.Addr
	var excepts []netip.Prefix
	for _, e := range b.Except {
		if ep, err := netip.ParsePrefix(e); err == nil {
			excepts = append(excepts, ep.Masked())
			out = append(out, ep.Masked().Addr())
		}
	}
	a := prefix.Masked().Addr()
	for i := 0; i < 64 && prefix.Contains(a); i++ {
		inExcept := false
		for _, e := range excepts {
			if e.Contains(a) {
				inExcept = true
			}
		}
		if !inExcept {
			out = append(out, a)
			break
		}
		a = a.Next()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

func protoOr(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func protoOf(p *corev1.Protocol) corev1.Protocol {
	if p == nil {
		return corev1.ProtocolTCP
	}
	return *p
}
