// Package policy is the NetworkPolicy engine: pure functions over the read
// model that decide whether a connection is allowed, denied or cannot be
// decided from NetworkPolicy alone, and say why.
package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Engine answers questions about one read model. Build it once with New;
// it precomputes which pods every policy selects, so a question never
// rescans all policies; the pods a peer matches are computed on first use.
type Engine struct {
	model    *model.Model
	podIndex map[*model.Pod]int
	ns       map[string]*model.Namespace
	policies []*compiledPolicy
	// ingressOf[i] and egressOf[i] list the policies that select pod i
	// and isolate it for that direction.
	ingressOf [][]int32
	egressOf  [][]int32
	// ingressNames and egressNames are the same policies' names, shared
	// read-only by every Side that reports them.
	ingressNames [][]string
	egressNames  [][]string
	// ipBlocks are every ipBlock peer of every policy, and the networks
	// and node addresses of the cluster-scoped ones: what tells pod
	// addresses apart.
	ipBlocks []*ipBlock
	// cluster are the cluster-scoped policies; adminOf and baselineOf
	// index them per pod and direction, in evaluation order.
	cluster    []*compiledCluster
	adminOf    tierIndex
	baselineOf tierIndex
	// clusterFamilies: both API generations are present, so neither
	// decides alone.
	clusterFamilies bool
	// families: the IP families of the cluster's addresses (bit 1 IPv4,
	// 2 IPv6), computed on first use (questions may run concurrently).
	families     uint8
	familiesOnce sync.Once
	// aws decides the EKS agent's ClusterNetworkPolicies (aws.go); nil
	// without them.
	aws *awsLayer
	// clusterUnreadable: a tier exists that could not be read.
	clusterUnreadable bool
	// nsLabelsUnknown: namespaces whose labels could not be read, when a
	// selector needs them (nslabels.go).
	nsLabelsUnknown    map[string]bool
	clusterNeedsLabels bool
	// calico decides sides when the model has Calico policies (calico.go).
	calico *calicoLayer
	// cilium decides sides when Cilium enforces (cilium.go).
	cilium *ciliumLayer
	// staged is the engine with Calico's staged policies promoted, for
	// the StagedWouldChange hint (built once, on first use).
	stagedOnce sync.Once
	staged     *Engine
	// Problems are policies or selectors the engine could not use as
	// written (an invalid selector, a peer with no selector); they match
	// nothing, as the API server would have refused them.
	Problems []string
}

type compiledPolicy struct {
	np              *networkingv1.NetworkPolicy
	ingress, egress bool
	selected        bitset
	selectedCount   int
	ingressRules    []compiledRule
	egressRules     []compiledRule
}

type compiledRule struct {
	// allPeers: the rule lists no peers, so it matches every source or
	// destination, inside the cluster or not.
	allPeers bool
	peers    []compiledPeer
	ports    []networkingv1.NetworkPolicyPort
}

type compiledPeer struct {
	raw networkingv1.NetworkPolicyPeer
	// pods matched by the selectors (nil for an ipBlock peer), computed
	// on first use: one question touches the peers of a few policies.
	pods    *peerPods
	ipBlock *ipBlock
	// nsSelector and podSelector are nil when absent (for hints).
	nsSelector, podSelector labels.Selector
	invalid                 string
}

type ipBlock struct {
	cidr   netip.Prefix
	except []netip.Prefix
	// holdsEveryPod: the block is every address of one of the cluster's
	// families, with no except (0.0.0.0/0 in an IPv4 cluster), so a pod
	// read from a template, which has no address yet, is in it for sure.
	holdsEveryPod bool
}

func (b *ipBlock) contains(a netip.Addr) bool {
	if !b.cidr.Contains(a) {
		return false
	}
	for _, e := range b.except {
		if e.Contains(a) {
			return false
		}
	}
	return true
}

// New compiles the model's policies. The model must be normalized
// (model.Model.Normalize) so that every namespace carries its name label.
func New(snapshot *model.Model) *Engine {
	e := &Engine{
		model:     snapshot,
		podIndex:  make(map[*model.Pod]int, len(snapshot.Pods)),
		ns:        make(map[string]*model.Namespace, len(snapshot.Namespaces)),
		ingressOf: make([][]int32, len(snapshot.Pods)),
		egressOf:  make([][]int32, len(snapshot.Pods)),
	}
	for i, p := range snapshot.Pods {
		e.podIndex[p] = i
	}
	for _, ns := range snapshot.Namespaces {
		e.ns[ns.Name] = ns
	}
	m := newMatcher(snapshot)
	for _, np := range snapshot.Policies {
		cp := e.compile(m, np)
		idx := int32(len(e.policies))
		e.policies = append(e.policies, cp)
		cp.selected.each(func(i int) {
			if cp.ingress {
				e.ingressOf[i] = append(e.ingressOf[i], idx)
			}
			if cp.egress {
				e.egressOf[i] = append(e.egressOf[i], idx)
			}
		})
	}
	e.compileClusterPolicies(m)
	e.compileAWS(m)
	e.clusterUnreadable = len(snapshot.ClusterPoliciesUnreadable()) > 0
	e.nsLabelsUnknown = namespaceLabelsUnknown(snapshot)
	e.compileCalico(m)
	e.compileCilium(snapshot)
	for _, cp := range snapshot.ClusterPolicies {
		e.clusterNeedsLabels = e.clusterNeedsLabels || clusterPolicyNeedsLabels(cp)
	}
	e.ingressNames = policyNames(e.policies, e.ingressOf)
	e.egressNames = policyNames(e.policies, e.egressOf)
	return e
}

// policyNames maps per-pod policy indices to names, interning equal lists.
func policyNames(policies []*compiledPolicy, of [][]int32) [][]string {
	out := make([][]string, len(of))
	interned := map[string][]string{}
	empty := []string{}
	for i, idx := range of {
		if len(idx) == 0 {
			out[i] = empty
			continue
		}
		key := policyListKey(idx)
		names, ok := interned[key]
		if !ok {
			names = make([]string, len(idx))
			for k, pi := range idx {
				names[k] = policies[pi].np.Name
			}
			interned[key] = names
		}
		out[i] = names
	}
	return out
}

func policyListKey(idx []int32) string {
	b := make([]byte, 0, 4*len(idx))
	for _, i := range idx {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
	}
	return string(b)
}

// Model returns the model the engine was built on.
func (e *Engine) Model() *model.Model { return e.model }

// PolicyTypes infers the directions a policy isolates: its policyTypes,
// or, when absent, Ingress plus Egress iff it has egress rules.
func PolicyTypes(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

func (e *Engine) compile(m *matcher, np *networkingv1.NetworkPolicy) *compiledPolicy {
	cp := &compiledPolicy{np: np}
	cp.ingress, cp.egress = PolicyTypes(np)
	name := np.Namespace + "/" + np.Name
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		e.Problems = append(e.Problems, fmt.Sprintf("%s: podSelector: %v; the policy selects no pod", name, err))
		cp.selected = newBitset(len(e.model.Pods))
	} else {
		cp.selected = m.podsMatching(np.Namespace, nil, sel)
	}
	cp.selectedCount = cp.selected.count()
	for i, r := range np.Spec.Ingress {
		cp.ingressRules = append(cp.ingressRules, e.compileRule(m, fmt.Sprintf("%s: ingress[%d]", name, i), np.Namespace, r.From, r.Ports))
	}
	for i, r := range np.Spec.Egress {
		cp.egressRules = append(cp.egressRules, e.compileRule(m, fmt.Sprintf("%s: egress[%d]", name, i), np.Namespace, r.To, r.Ports))
	}
	return cp
}

func (e *Engine) compileRule(m *matcher, where, policyNS string, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) compiledRule {
	rule := compiledRule{allPeers: len(peers) == 0, ports: ports}
	for j, peer := range peers {
		cpeer := compiledPeer{raw: peer}
		at := fmt.Sprintf("%s.peers[%d]", where, j)
		switch {
		case peer.IPBlock != nil:
			block, err := parseIPBlock(peer.IPBlock)
			if err != nil {
				cpeer.invalid = err.Error()
			} else {
				cpeer.ipBlock = block
				block.holdsEveryPod = e.holdsEveryAddress(block)
			}
			if peer.PodSelector != nil || peer.NamespaceSelector != nil {
				e.Problems = append(e.Problems, at+": ipBlock cannot be combined with selectors (the API server rejects it); only the ipBlock was used")
			}
		case peer.PodSelector == nil && peer.NamespaceSelector == nil:
			cpeer.invalid = "the peer sets no selector and no ipBlock"
		default:
			var err error
			if peer.NamespaceSelector != nil {
				if cpeer.nsSelector, err = metav1.LabelSelectorAsSelector(peer.NamespaceSelector); err != nil {
					cpeer.invalid = "namespaceSelector: " + err.Error()
				}
			}
			if peer.PodSelector != nil && cpeer.invalid == "" {
				if cpeer.podSelector, err = metav1.LabelSelectorAsSelector(peer.PodSelector); err != nil {
					cpeer.invalid = "podSelector: " + err.Error()
				}
			}
			if cpeer.invalid == "" {
				cpeer.pods = &peerPods{matcher: m, policyNS: policyNS, nsSel: cpeer.nsSelector, podSel: cpeer.podSelector}
			}
		}
		if cpeer.ipBlock != nil && cpeer.invalid == "" {
			e.ipBlocks = append(e.ipBlocks, cpeer.ipBlock)
		}
		if cpeer.invalid != "" {
			e.Problems = append(e.Problems, at+": "+cpeer.invalid+"; it matches nothing")
			cpeer.pods = nil
			cpeer.ipBlock = nil
		}
		rule.peers = append(rule.peers, cpeer)
	}
	return rule
}

// holdsEveryAddress: the block is /0 of a family the cluster uses, with
// no except.
func (e *Engine) holdsEveryAddress(b *ipBlock) bool {
	if b.cidr.Bits() != 0 || len(b.except) > 0 {
		return false
	}
	v4, v6 := e.addressFamilies()
	if b.cidr.Addr().Is4() {
		return v4
	}
	return v6
}

func parseIPBlock(b *networkingv1.IPBlock) (*ipBlock, error) {
	cidr, err := netip.ParsePrefix(strings.TrimSpace(b.CIDR))
	if err != nil {
		return nil, fmt.Errorf("ipBlock.cidr %q: not a CIDR", b.CIDR)
	}
	block := &ipBlock{cidr: cidr.Masked()}
	for _, ex := range b.Except {
		p, err := netip.ParsePrefix(strings.TrimSpace(ex))
		if err != nil {
			return nil, fmt.Errorf("ipBlock.except %q: not a CIDR", ex)
		}
		block.except = append(block.except, p.Masked())
	}
	return block, nil
}

// peerPods is the set of pods a peer's selectors match, computed once,
// when first asked (safe for concurrent use).
type peerPods struct {
	once          sync.Once
	matcher       *matcher
	policyNS      string
	nsSel, podSel labels.Selector
	set           bitset
}

func (p *peerPods) pods() bitset {
	p.once.Do(func() {
		p.set = p.matcher.podsMatching(p.policyNS, p.nsSel, p.podSel)
		p.matcher = nil
	})
	return p.set
}

// matcher evaluates selectors once per distinct (namespace, labels) class
// of pods rather than once per pod: replicas share their labels.
type matcher struct {
	model   *model.Model
	classes []podClass
	// byNamespace lists class indices per namespace.
	byNamespace map[string][]int
	// mu guards cache: peers are resolved lazily, maybe concurrently.
	mu    sync.Mutex
	cache map[string]bitset
}

type podClass struct {
	namespace string
	labels    labels.Set
	pods      []int
}

func newMatcher(snapshot *model.Model) *matcher {
	m := &matcher{model: snapshot, byNamespace: map[string][]int{}, cache: map[string]bitset{}}
	index := map[string]int{}
	var key []byte
	for i, p := range snapshot.Pods {
		key = classKey(key[:0], p)
		c, ok := index[string(key)]
		if !ok {
			c = len(m.classes)
			index[string(key)] = c
			m.classes = append(m.classes, podClass{namespace: p.Namespace, labels: labels.Set(p.Labels)})
			m.byNamespace[p.Namespace] = append(m.byNamespace[p.Namespace], c)
		}
		m.classes[c].pods = append(m.classes[c].pods, i)
	}
	return m
}

// classKey appends the namespace and the sorted labels of p to key, each
// string length-prefixed so that no two classes share a key.
func classKey(key []byte, p *model.Pod) []byte {
	key = appendString(key, p.Namespace)
	names := make([]string, 0, len(p.Labels))
	for k := range p.Labels {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		key = appendString(appendString(key, k), p.Labels[k])
	}
	return key
}

func appendString(b []byte, s string) []byte {
	b = append(strconv.AppendInt(b, int64(len(s)), 10), ':')
	return append(b, s...)
}

// podsMatching returns the pods in namespaces matched by nsSel (or in
// policyNS when nsSel is nil) whose labels match podSel (all when nil).
func (m *matcher) podsMatching(policyNS string, nsSel, podSel labels.Selector) bitset {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := "ns=" + policyNS
	if nsSel != nil {
		key = "nsSel=" + nsSel.String()
	}
	key += "\x00"
	if podSel != nil {
		key += podSel.String()
	}
	if b, ok := m.cache[key]; ok {
		return b
	}
	b := newBitset(len(m.model.Pods))
	for _, ns := range m.model.Namespaces {
		if nsSel == nil && ns.Name != policyNS {
			continue
		}
		if nsSel != nil && !nsSel.Matches(labels.Set(ns.Labels)) {
			continue
		}
		for _, c := range m.byNamespace[ns.Name] {
			class := &m.classes[c]
			if podSel != nil && !podSel.Matches(class.labels) {
				continue
			}
			for _, i := range class.pods {
				b.set(i)
			}
		}
	}
	m.cache[key] = b
	return b
}
