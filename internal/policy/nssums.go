package policy

import (
	"runtime"
	"slices"
	"sync"
)

// NamespaceSums is the namespace view of a matrix (what Namespaces gives
// when fed MatrixBetween) computed destination by destination with sets of
// sources instead of one flow at a time: for each destination and port,
// the sources its ingress admits and the sources whose egress reaches it
// are bitsets, their intersection the allowed ones, counted per source
// namespace. A cluster of 50,000 pods has a billion group-pair verdicts;
// this touches each destination's policies once per port.
//
// It applies when only NetworkPolicy decides and everything was read (no
// cluster-scoped tier, no other policy layer, no unreadable namespace or
// namespace labels);
// otherwise ok is false and the caller streams the matrix. Verdicts are
// those of Evaluate, examples the first pair of each verdict in the
// matrix's order.
func (e *Engine) NamespaceSums(sources, destinations []Group, ports []PortSpec) (flows []NamespaceFlow, ok bool) {
	if len(e.cluster) > 0 || e.clusterUnreadable || len(e.model.OtherLayers) > 0 || e.model.PoliciesPartial || len(e.nsLabelsUnknown) > 0 || e.calico != nil {
		return nil, false
	}
	// Destinations are cut into one contiguous run per core; each run is
	// summed apart and the sums are merged in order, so every example is
	// still the first of the matrix's order.
	workers := runtime.GOMAXPROCS(0)
	if len(sources)*len(destinations) < parallelMatrixPairs {
		workers = 1
	}
	workers = max(1, min(workers, len(destinations)))
	parts := make([]*Namespaces, workers)
	var wg sync.WaitGroup
	for w := range workers {
		run := destinations[w*len(destinations)/workers : (w+1)*len(destinations)/workers]
		wg.Go(func() {
			s, agg := newSums(e, sources), NewNamespaces()
			for _, dg := range run {
				dst := e.indexed(PodEndpoint(dg.Pods[0]))
				egressPolicies := s.egressPoliciesTo(dst)
				for _, rp := range matrixPorts(dg.Pods[0], ports) {
					s.column(dg, dst, rp, egressPolicies, agg)
				}
			}
			parts[w] = agg
		})
	}
	wg.Wait()
	for _, part := range parts[1:] {
		parts[0].merge(part)
	}
	return parts[0].Flows(), true
}

// sums holds what NamespaceSums reuses across destinations.
type sums struct {
	e       *Engine
	sources []Group
	words   int
	// reps are the sources' representative endpoints, indexed.
	reps []Endpoint
	// spans are the sources' namespaces: contiguous runs of indices.
	spans []nsSpan
	// notEgressIsolated: sources no policy isolates for egress.
	notEgressIsolated bitset
	hostNetwork       bitset
	// selected[pi]: the sources policy pi selects (egress policies only),
	// as the span of words it touches (a policy selects in its namespace).
	selected map[int32]wordSpan
	// peers: the sources each peer matches, computed on first use.
	peers map[*compiledPeer]bitset
	all   bitset
	// egressPolicies are the keys of selected, in order.
	egressPolicies []int32
	byName         map[string]int
	// scratch sets reused per column: allowed, denied, unspecified.
	in, out, unspec bitset
}

type nsSpan struct {
	ns         string
	start, end int
}

type wordSpan struct {
	first int
	words []uint64
}

func newSums(e *Engine, sources []Group) *sums {
	s := &sums{e: e, sources: sources, words: (len(sources) + 63) / 64, selected: map[int32]wordSpan{}, peers: map[*compiledPeer]bitset{}}
	s.notEgressIsolated, s.hostNetwork, s.all = newBitset(len(sources)), newBitset(len(sources)), newBitset(len(sources))
	s.in, s.out, s.unspec = newBitset(len(sources)), newBitset(len(sources)), newBitset(len(sources))
	s.byName = make(map[string]int, len(sources))
	bySource := map[int32][]int{}
	for i, g := range sources {
		rep := e.indexed(PodEndpoint(g.Pods[0]))
		s.reps = append(s.reps, rep)
		s.byName[g.Name] = i
		s.all.set(i)
		if g.Pods[0].HostNetwork {
			s.hostNetwork.set(i)
		}
		policies := e.egressOf[e.indexOf(rep)]
		if len(policies) == 0 {
			s.notEgressIsolated.set(i)
		}
		for _, pi := range policies {
			bySource[pi] = append(bySource[pi], i)
		}
		ns := g.Pods[0].Namespace
		if n := len(s.spans); n > 0 && s.spans[n-1].ns == ns && s.spans[n-1].end == i {
			s.spans[n-1].end = i + 1
		} else {
			s.spans = append(s.spans, nsSpan{ns: ns, start: i, end: i + 1})
		}
	}
	for pi, members := range bySource {
		first, last := members[0]/64, members[len(members)-1]/64
		span := wordSpan{first: first, words: make([]uint64, last-first+1)}
		for _, i := range members {
			span.words[i/64-first] |= 1 << (uint(i) % 64)
		}
		s.selected[pi] = span
		s.egressPolicies = append(s.egressPolicies, pi)
	}
	slices.Sort(s.egressPolicies)
	return s
}

// egressPoliciesTo lists the egress policies with a rule whose peers reach
// dst (on some port): only their rules need a look per port.
func (s *sums) egressPoliciesTo(dst Endpoint) []int32 {
	var out []int32
	for _, pi := range s.egressPolicies {
		for ri := range s.e.policies[pi].egressRules {
			r := &s.e.policies[pi].egressRules[ri]
			if r.allPeers || s.e.anyPeerMatches(r, dst) {
				out = append(out, pi)
				break
			}
		}
	}
	return out
}

// peerSources is the set of sources a peer matches.
func (s *sums) peerSources(p *compiledPeer) bitset {
	if b, ok := s.peers[p]; ok {
		return b
	}
	b := newBitset(len(s.sources))
	for i, rep := range s.reps {
		if s.e.peerMatches(p, rep) {
			b.set(i)
		}
	}
	s.peers[p] = b
	return b
}

// column sums one destination and port over every source.
func (s *sums) column(dg Group, dst Endpoint, rp resolvedPort, egressPolicies []int32, agg *Namespaces) {
	e := s.e
	// Ingress: the sources the destination admits.
	clear(s.in)
	ingress := e.ingressOf[e.indexOf(dst)]
	if len(ingress) == 0 {
		copy(s.in, s.all)
	}
	for _, pi := range ingress {
		for ri := range e.policies[pi].ingressRules {
			r := &e.policies[pi].ingressRules[ri]
			if len(r.ports) > 0 && !anyPortMatches(r.ports, dst, rp.port, rp.proto) {
				continue
			}
			if r.allPeers {
				copy(s.in, s.all)
				continue
			}
			for j := range r.peers {
				orInto(s.in, s.peerSources(&r.peers[j]))
			}
		}
	}
	// Egress: the sources that may reach it.
	copy(s.out, s.notEgressIsolated)
	for _, pi := range egressPolicies {
		for ri := range e.policies[pi].egressRules {
			r := &e.policies[pi].egressRules[ri]
			if (!r.allPeers && !e.anyPeerMatches(r, dst)) || (len(r.ports) > 0 && !anyPortMatches(r.ports, dst, rp.port, rp.proto)) {
				continue
			}
			span := s.selected[pi]
			for k, w := range span.words {
				s.out[span.first+k] |= w
			}
			break
		}
	}
	for w := range s.in {
		s.in[w] &= s.out[w] // now: allowed
	}
	// The exceptions Evaluate makes: a pod reaches itself, and a
	// host-network end is unspecified.
	unspec := s.hostNetwork
	if dg.Pods[0].HostNetwork {
		unspec = s.all
	}
	for w := range s.in {
		u := unspec[w]
		s.in[w] &^= u                       // allowed
		s.out[w] = s.all[w] &^ u &^ s.in[w] // denied
		s.unspec[w] = u
	}
	if self := s.selfIndex(dg); self >= 0 {
		s.in.set(self)
		s.out.clear(self)
		s.unspec.clear(self)
	}
	toNS := dg.Pods[0].Namespace
	for _, sp := range s.spans {
		counts := [3]int{s.in.countRange(sp.start, sp.end), s.out.countRange(sp.start, sp.end), s.unspec.countRange(sp.start, sp.end)}
		agg.addCounts(sp.ns, toNS, rp.port, rp.proto, counts, func(v Verdict) string {
			set := map[Verdict]bitset{Allowed: s.in, Denied: s.out, Unspecified: s.unspec}[v]
			return s.sources[set.firstInRange(sp.start, sp.end)].Name + " -> " + dg.Name
		})
	}
}

// selfIndex is the source that is the destination's own single pod (it
// always reaches itself), or -1.
func (s *sums) selfIndex(dg Group) int {
	i, ok := s.byName[dg.Name]
	if !ok {
		return -1
	}
	g := s.sources[i]
	if len(g.Pods) == 1 && g.Pods[0] == dg.Pods[0] && !standsForReplicas(g.Pods[0], dg.Pods[0]) {
		return i
	}
	return -1
}

func orInto(dst, src bitset) {
	for i, w := range src {
		dst[i] |= w
	}
}
