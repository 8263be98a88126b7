package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// The cluster-scoped tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// ClusterNetworkPolicy), as the API defines them, per side of a flow:
//
//	admin tier, by priority (lower first), rules in order, first match:
//	  Allow/Accept → allowed, Deny → denied, Pass → skip to NetworkPolicy
//	NetworkPolicy: a policy isolating the pod decides
//	baseline tier, same order: Allow → allowed, Deny → denied
//	otherwise allowed.
//
// Where the API leaves the order open (policies of one tier at the same
// priority, AdminNetworkPolicy against ClusterNetworkPolicy) or the model
// cannot tell whether a rule matches (a domain name, a pod without an
// address), the engine follows every possibility: a side is decided only
// when they all agree.

// TierName names the tier that decided a side in the verdict JSON.
type TierName string

// The tiers of a side's decision.
const (
	TierAdmin         TierName = "admin"
	TierNetworkPolicy TierName = "networkpolicy"
	TierBaseline      TierName = "baseline"
	// TierNone: nothing decides, so the side is allowed.
	TierNone TierName = "none"
)

// TierMatch names the cluster-scoped rule that matched first in a tier.
type TierMatch struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Priority is nil for a BaselineAdminNetworkPolicy, which has none.
	Priority *int32 `json:"priority,omitempty"`
	Rule     int    `json:"rule"`
	RuleName string `json:"ruleName,omitempty"`
	// Action as written: Allow, Accept, Deny or Pass (Deny for a rule
	// that fails closed).
	Action string `json:"action"`
}

// String is "deny by cluster-guardrails[2] (priority 10)".
func (m *TierMatch) String() string {
	s := fmt.Sprintf("%s by %s[%d]", strings.ToLower(m.Action), m.Name, m.Rule)
	if m.RuleName != "" {
		s += fmt.Sprintf(" %q", m.RuleName)
	}
	if m.Priority != nil {
		s += fmt.Sprintf(" (priority %d)", *m.Priority)
	}
	return s
}

// outcomes is a set of what a tier can do with a flow.
type outcomes uint8

const (
	outAllow outcomes = 1 << iota
	outDeny
	outPass
	// outNext: no rule matched, evaluation goes on.
	outNext
)

func actionOutcome(a model.Action) outcomes {
	switch a {
	case model.ActionAllow:
		return outAllow
	case model.ActionPass:
		return outPass
	}
	return outDeny
}

// tierResult is what one tier decides for one side.
type tierResult struct {
	set outcomes
	// hits are the rules that matched (or may have), first per outcome
	// and policy, in evaluation order; turned into TierMatches only for
	// what is reported.
	hits  [6]tierHit
	nhits int
	more  []tierHit
}

// tierHit is a rule that matched: the policy (index into Engine.cluster),
// the rule, and whether the model could not tell (maybe).
type tierHit struct {
	policy  int32
	rule    int16
	outcome outcomes
	maybe   bool
}

func (r *tierResult) add(h tierHit) {
	if r.nhits < len(r.hits) {
		r.hits[r.nhits] = h
		r.nhits++
		return
	}
	r.more = append(r.more, h)
}

func (r *tierResult) all() []tierHit {
	return append(r.hits[:r.nhits:r.nhits], r.more...)
}

// first is the first rule found with the outcome, as a TierMatch.
func (e *Engine) first(r *tierResult, o outcomes, f Flow, ingress bool) *TierMatch {
	for _, h := range r.all() {
		if h.outcome&o != 0 {
			return e.tierMatch(h, f, ingress)
		}
	}
	return nil
}

// tierMatch names a hit (shared, read-only: computed once per rule).
func (e *Engine) tierMatch(h tierHit, _ Flow, ingress bool) *TierMatch {
	return e.hitRule(h, ingress).match
}

type compiledCluster struct {
	p        *model.ClusterPolicy
	selected bitset
	ingress  []compiledClusterRule
	egress   []compiledClusterRule
	// ingressPods and egressPods: every rule of the direction matches
	// only pods, and these are all it can match (a fast "no match").
	ingressPods, egressPods bitset
}

// podsOnly is the union of the rules' pod peers when every rule of the
// list can match nothing else, or nil.
func podsOnly(rules []compiledClusterRule, n int) bitset {
	union := newBitset(n)
	for i := range rules {
		r := &rules[i]
		if !r.onlyPods || r.denyAll {
			return nil
		}
		for w := range union {
			union[w] |= r.podPeers[w]
		}
	}
	return union
}

type compiledClusterRule struct {
	rule *model.ClusterRule
	// denyAll: a peer or port this version cannot read in a Deny or Pass
	// rule makes the rule deny all traffic (the API's "fail closed").
	denyAll bool
	peers   []compiledClusterPeer
	// podPeers is the union of the namespaces and pods peers; onlyPods:
	// the rule has no other kind of peer, so podPeers alone decides.
	podPeers bitset
	onlyPods bool
	// match names the rule in verdicts; text is its String.
	match *TierMatch
	text  string
}

type compiledClusterPeer struct {
	nothing  bool
	pods     bitset // namespaces and pods peers
	networks []netip.Prefix
	// holdsEveryPod: the networks cover every address of the cluster's
	// families (0.0.0.0/0 in an IPv4 cluster), so an address-less pod is
	// in them for sure.
	holdsEveryPod bool
	// mayHoldPods: some network is not a range pods never get (link-local,
	// loopback, multicast).
	mayHoldPods bool
	nodes       []netip.Addr // addresses of the matching nodes
	domains     bool
}

// tierIndex lists, per pod and direction, the cluster policies of a tier
// whose subject selects the pod and that have rules for the direction,
// in evaluation order (family, priority, name).
type tierIndex struct {
	ingress, egress [][]int32
}

func (e *Engine) compileClusterPolicies(m *matcher) {
	snapshot := e.model
	if len(snapshot.ClusterPolicies) == 0 {
		return
	}
	var ordered []*model.ClusterPolicy
	for _, p := range snapshot.ClusterPolicies {
		if p.Family != model.FamilyAWS { // the EKS agent's: aws.go
			ordered = append(ordered, p)
		}
	}
	if len(ordered) == 0 {
		return
	}
	sort.SliceStable(ordered, func(i, j int) bool {
		a, b := ordered[i], ordered[j]
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Name < b.Name
	})
	nodeSelectors := map[string][]netip.Addr{}
	for _, p := range ordered {
		if p.Family != ordered[0].Family {
			e.clusterFamilies = true
		}
		cp := &compiledCluster{p: p, selected: e.clusterSubject(m, p)}
		for i := range p.Ingress {
			cp.ingress = append(cp.ingress, e.compileClusterRule(m, p, i, &p.Ingress[i], nodeSelectors))
		}
		for i := range p.Egress {
			cp.egress = append(cp.egress, e.compileClusterRule(m, p, i, &p.Egress[i], nodeSelectors))
		}
		cp.ingressPods, cp.egressPods = podsOnly(cp.ingress, len(snapshot.Pods)), podsOnly(cp.egress, len(snapshot.Pods))
		for _, problem := range p.Problems {
			e.Problems = append(e.Problems, p.Ref()+": "+problem)
		}
		idx := int32(len(e.cluster))
		e.cluster = append(e.cluster, cp)
		index := &e.adminOf
		if p.Tier == model.TierBaseline {
			index = &e.baselineOf
		}
		if index.ingress == nil {
			index.ingress = make([][]int32, len(snapshot.Pods))
			index.egress = make([][]int32, len(snapshot.Pods))
		}
		for i, pod := range snapshot.Pods {
			// Host-network pods are never subjects.
			if !cp.selected.has(i) || pod.HostNetwork {
				continue
			}
			if len(cp.ingress) > 0 {
				index.ingress[i] = append(index.ingress[i], idx)
			}
			if len(cp.egress) > 0 {
				index.egress[i] = append(index.egress[i], idx)
			}
		}
	}
	// Pods with the same labels have the same lists: share one, which
	// also keeps the hot loop's memory small.
	for _, index := range []*tierIndex{&e.adminOf, &e.baselineOf} {
		internLists(index.ingress)
		internLists(index.egress)
	}
}

func internLists(lists [][]int32) {
	seen := map[string][]int32{}
	for i, l := range lists {
		if len(l) == 0 {
			continue
		}
		key := fmt.Sprint(l)
		if shared, ok := seen[key]; ok {
			lists[i] = shared
			continue
		}
		seen[key] = l
	}
}

func (e *Engine) clusterSubject(m *matcher, p *model.ClusterPolicy) bitset {
	s := p.Subject
	switch {
	case s.Namespaces != nil:
		return e.selectPods(m, s.Namespaces, nil)
	case s.Pods != nil:
		return e.selectPods(m, &s.Pods.NamespaceSelector, &s.Pods.PodSelector)
	}
	return newBitset(len(e.model.Pods))
}

// selectPods is the pods of the namespaces nsSel matches whose labels match
// podSel (all when nil); an invalid selector selects none.
func (e *Engine) selectPods(m *matcher, nsSel, podSel *metav1.LabelSelector) bitset {
	ns, err := metav1.LabelSelectorAsSelector(nsSel)
	if err != nil {
		return newBitset(len(e.model.Pods))
	}
	var pods labels.Selector
	if podSel != nil {
		if pods, err = metav1.LabelSelectorAsSelector(podSel); err != nil {
			return newBitset(len(e.model.Pods))
		}
	}
	return m.podsMatching("", ns, pods)
}

func validSelector(sel *metav1.LabelSelector) bool {
	_, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil
}

func priorityOf(p *model.ClusterPolicy) *int32 {
	if p.Kind == model.KindBaselineAdminNetworkPolicy {
		return nil
	}
	pr := p.Priority
	return &pr
}

func (e *Engine) compileClusterRule(m *matcher, p *model.ClusterPolicy, index int, r *model.ClusterRule, nodeSelectors map[string][]netip.Addr) compiledClusterRule {
	cr := compiledClusterRule{rule: r}
	failClosed := false
	for _, port := range r.Ports {
		failClosed = failClosed || port.Unknown
	}
	for _, peer := range r.Peers {
		var cpeer compiledClusterPeer
		switch {
		case peer.Unknown:
			failClosed = true
			cpeer.nothing = true
		case peer.Namespaces != nil:
			if !validSelector(peer.Namespaces) {
				failClosed, cpeer.nothing = true, true
				e.Problems = append(e.Problems, fmt.Sprintf("%s: rule %q: namespaces selector is invalid", p.Ref(), r.Name))
				break
			}
			cpeer.pods = e.selectPods(m, peer.Namespaces, nil)
		case peer.Pods != nil:
			if !validSelector(&peer.Pods.NamespaceSelector) || !validSelector(&peer.Pods.PodSelector) {
				failClosed, cpeer.nothing = true, true
				e.Problems = append(e.Problems, fmt.Sprintf("%s: rule %q: pods selector is invalid", p.Ref(), r.Name))
				break
			}
			cpeer.pods = e.selectPods(m, &peer.Pods.NamespaceSelector, &peer.Pods.PodSelector)
		case peer.Nodes != nil:
			sel, err := metav1.LabelSelectorAsSelector(peer.Nodes)
			if err != nil {
				failClosed, cpeer.nothing = true, true
				break
			}
			key := sel.String()
			addrs, ok := nodeSelectors[key]
			if !ok {
				for _, n := range e.model.Nodes {
					if sel.Matches(labels.Set(n.Labels)) {
						addrs = append(addrs, n.Addresses...)
					}
				}
				nodeSelectors[key] = addrs
				for _, a := range addrs {
					e.ipBlocks = append(e.ipBlocks, &ipBlock{cidr: netip.PrefixFrom(a, a.BitLen())})
				}
			}
			cpeer.nodes = addrs
		case len(peer.Networks) > 0:
			for _, c := range peer.Networks {
				prefix, err := netip.ParsePrefix(strings.TrimSpace(c))
				if err != nil {
					continue // reported by the model's Problems
				}
				cpeer.networks = append(cpeer.networks, prefix.Masked())
				cpeer.mayHoldPods = cpeer.mayHoldPods || !NeverPodAddresses(prefix)
				e.ipBlocks = append(e.ipBlocks, &ipBlock{cidr: prefix.Masked()})
			}
			v4, v6 := e.addressFamilies()
			cpeer.holdsEveryPod = (!v4 || prefixesContainAll(cpeer.networks, true)) && (!v6 || prefixesContainAll(cpeer.networks, false))
		case len(peer.DomainNames) > 0:
			cpeer.domains = true
		default:
			cpeer.nothing = true
		}
		cr.peers = append(cr.peers, cpeer)
	}
	cr.denyAll = failClosed && r.Action != model.ActionAllow
	cr.match = &TierMatch{Kind: p.Kind, Name: p.Name, Rule: index, RuleName: r.Name, Action: r.ActionAsWritten, Priority: priorityOf(p)}
	if cr.denyAll {
		cr.match.Action = string(model.ActionDeny)
	}
	cr.text = cr.match.String()
	cr.podPeers = newBitset(len(e.model.Pods))
	cr.onlyPods = true
	for j := range cr.peers {
		p := &cr.peers[j]
		switch {
		case p.pods != nil:
			for w := range cr.podPeers {
				cr.podPeers[w] |= p.pods[w]
			}
		case !p.nothing:
			cr.onlyPods = false
		}
	}
	return cr
}

// match is a three-valued answer: the model may not tell.
type match uint8

const (
	matchNo match = iota
	matchMaybe
	matchYes
)

// clusterRuleMatch reports whether a rule matches the flow.
func (e *Engine) clusterRuleMatch(cr *compiledClusterRule, peerEnd Endpoint, f Flow) match {
	if cr.denyAll {
		return matchYes
	}
	if cr.onlyPods && (peerEnd.Pod == nil || !cr.podPeers.has(e.indexOf(peerEnd))) {
		return matchNo
	}
	best := matchNo
	for j := range cr.peers {
		if m := e.clusterPeerMatch(&cr.peers[j], peerEnd); m > best {
			best = m
			if m == matchYes {
				break
			}
		}
	}
	if best == matchNo || cr.rule.Ports == nil {
		return best
	}
	for k := range cr.rule.Ports {
		if clusterPortMatches(&cr.rule.Ports[k], f) {
			return best
		}
	}
	return matchNo
}

func (e *Engine) clusterPeerMatch(p *compiledClusterPeer, ep Endpoint) match {
	switch {
	case p.nothing:
		return matchNo
	case p.pods != nil:
		if ep.Pod != nil && p.pods.has(e.indexOf(ep)) {
			return matchYes
		}
		return matchNo
	case p.networks != nil:
		if ep.Pod != nil {
			// Networks match pod addresses too; a pod read from a
			// template has none yet, so the answer is not known unless
			// the networks are ranges no pod is ever given.
			if len(ep.Pod.IPs) == 0 {
				switch {
				case p.holdsEveryPod:
					return matchYes
				case p.mayHoldPods:
					return matchMaybe
				}
				return matchNo
			}
			for _, a := range ep.Pod.IPs {
				if prefixesContain(p.networks, a) {
					return matchYes
				}
			}
			return matchNo
		}
		if prefixesContain(p.networks, ep.IP) {
			return matchYes
		}
		return matchNo
	case p.domains:
		// A domain name matches the addresses it resolves to, which the
		// model does not know; pods are not reached by these names.
		if ep.Pod == nil {
			return matchMaybe
		}
		return matchNo
	}
	// nodes
	if ep.Pod != nil {
		return matchNo
	}
	for _, a := range p.nodes {
		if a == ep.IP {
			return matchYes
		}
	}
	if e.model.CouldNotRead("nodes", "") {
		return matchMaybe
	}
	return matchNo
}

// addressFamilies says which IP families the cluster uses, from every
// address in the model (pods, Services, nodes); with none at all (manifest
// files), IPv4, every distribution's default.
func (e *Engine) addressFamilies() (v4, v6 bool) {
	e.familiesOnce.Do(e.findFamilies)
	return e.families&1 != 0, e.families&2 != 0
}

func (e *Engine) findFamilies() {
	note := func(a netip.Addr) {
		if a.Unmap().Is4() {
			e.families |= 1
		} else {
			e.families |= 2
		}
	}
	for _, p := range e.model.Pods {
		for _, a := range p.IPs {
			note(a)
		}
	}
	for _, s := range e.model.Services {
		for _, a := range s.ClusterIPs {
			note(a)
		}
	}
	for _, n := range e.model.Nodes {
		for _, a := range n.Addresses {
			note(a)
		}
	}
	if e.families == 0 {
		e.families = 1
	}
}

// prefixesContainAll reports whether a prefix of length 0 of the family is
// among ps.
func prefixesContainAll(ps []netip.Prefix, v4 bool) bool {
	for _, p := range ps {
		if p.Bits() == 0 && p.Addr().Is4() == v4 {
			return true
		}
	}
	return false
}

// neverPods are ranges no pod address is ever taken from.
var neverPods = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/3"), // multicast, reserved, broadcast
	netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("ff00::/8"),
}

// NeverPodAddresses reports whether the range lies inside one that pods
// never get addresses from (link-local, loopback, multicast, reserved).
func NeverPodAddresses(p netip.Prefix) bool {
	for _, n := range neverPods {
		if n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

func prefixesContain(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clusterPortMatches: a named port is resolved on the destination pod,
// whatever protocol it declares.
func clusterPortMatches(p *model.ClusterPort, f Flow) bool {
	switch {
	case p.Unknown:
		return false
	case p.Name != "":
		if f.To.Pod == nil {
			return false
		}
		for _, cp := range f.To.Pod.Ports {
			if cp.Name == p.Name && cp.Protocol == f.Protocol && cp.Port == f.Port {
				return true
			}
		}
		return false
	case p.Protocol != f.Protocol:
		return false
	case p.Port == 0:
		return true
	}
	return f.Port >= p.Port && f.Port <= p.EndPort
}

// evaluateTier runs one tier for one side of a flow.
func (e *Engine) evaluateTier(index *tierIndex, f Flow, pod *model.Pod, ingress bool) tierResult {
	if index.ingress == nil {
		return tierResult{set: outNext}
	}
	byPod, peerEnd, subject := index.egress, f.To, f.From
	if ingress {
		byPod, peerEnd, subject = index.ingress, f.From, f.To
	}
	policies := byPod[e.indexOf(subject)]
	if len(policies) == 0 {
		return tierResult{set: outNext}
	}
	var res tierResult
	combined := outNext // families: unordered against each other
	family := ""
	familySet := outNext // within a family: priority groups in order
	groupPriority := int32(-1)
	groupSet := outNext // within a priority group: unordered
	groupDecided := false
	closeGroup := func() {
		if familySet&outNext != 0 {
			familySet = familySet&^outNext | groupSet
		}
	}
	closeFamily := func() {
		closeGroup()
		combined = combined&^outNext | familySet&^outNext | (combined & familySet & outNext)
	}
	for n, pi := range policies {
		cp := e.cluster[pi]
		if n == 0 || cp.p.Family != family {
			if n > 0 {
				closeFamily()
			}
			family, familySet = cp.p.Family, outNext
			groupPriority, groupSet, groupDecided = cp.p.Priority, outNext, false
		} else if cp.p.Priority != groupPriority {
			closeGroup()
			groupPriority, groupSet, groupDecided = cp.p.Priority, outNext, false
		}
		if familySet&outNext == 0 {
			if !e.clusterFamilies {
				break // decided, and no other family to weigh against
			}
			continue // an earlier priority decided this family
		}
		set := e.policyOutcomes(pi, cp, f, peerEnd, ingress, &res)
		if !groupDecided {
			groupSet, groupDecided = set, true
		} else {
			groupSet = groupSet&^outNext | set&^outNext | (groupSet & set & outNext)
		}
	}
	closeFamily()
	res.set = combined
	return res
}

// policyOutcomes walks one policy's rules in order: the first that
// matches decides; a rule that may match adds its action and goes on.
func (e *Engine) policyOutcomes(pi int32, cp *compiledCluster, f Flow, peerEnd Endpoint, ingress bool, res *tierResult) outcomes {
	rules, only := cp.egress, cp.egressPods
	if ingress {
		rules, only = cp.ingress, cp.ingressPods
	}
	if only != nil && (peerEnd.Pod == nil || !only.has(e.indexOf(peerEnd))) {
		return outNext
	}
	var set outcomes
	for ri := range rules {
		cr := &rules[ri]
		m := e.clusterRuleMatch(cr, peerEnd, f)
		if m == matchNo {
			continue
		}
		o := actionOutcome(cr.rule.Action)
		if cr.denyAll {
			o = outDeny
		}
		if set&o == 0 || m == matchMaybe {
			res.add(tierHit{policy: pi, rule: int16(ri), outcome: o, maybe: m == matchMaybe})
		}
		set |= o
		if m == matchYes {
			return set
		}
	}
	return set | outNext
}

// decideSide combines the tiers for one side: the NetworkPolicy tier
// (Isolated, AllowedBy) and the admin tier are already evaluated.
func (e *Engine) decideSide(s *Side, f Flow, pod *model.Pod, ingress bool, adminResult *tierResult) {
	npVerdict := Allowed
	if s.Isolated && len(s.AllowedBy) == 0 {
		npVerdict = Denied
	}
	ep := f.From
	if ingress {
		ep = f.To
	}
	if e.aws != nil {
		e.awsDecide(s, f, ep, ingress, npVerdict)
		return
	}
	def := e.strictDefault(ep)
	if len(e.cluster) == 0 {
		s.Verdict, s.Tier = npVerdict, TierNetworkPolicy
		if !s.Isolated {
			e.applyDefault(s, def)
		}
		return
	}
	admin := *adminResult
	var possible outcomes // of Allowed/Denied, as outAllow/outDeny
	possible |= admin.set & (outAllow | outDeny)
	throughAdmin := admin.set&(outPass|outNext) != 0
	var baseline tierResult
	if throughAdmin {
		switch {
		case s.Isolated:
			if npVerdict == Allowed {
				possible |= outAllow
			} else {
				possible |= outDeny
			}
		default:
			baseline = e.evaluateTier(&e.baselineOf, f, pod, ingress)
			possible |= baseline.set & (outAllow | outDeny)
			if baseline.set&(outPass|outNext) != 0 {
				possible |= def
			}
		}
	}
	switch possible {
	case outAllow:
		s.Verdict = Allowed
	case outDeny:
		s.Verdict = Denied
	default:
		s.Verdict = Unspecified
	}
	// Which tier decided, and by which rule. Pass and "no match" lead to
	// the same place, so only allow and deny set a tier apart.
	switch {
	case admin.set&(outAllow|outDeny) == 0:
		if admin.set == outPass {
			s.Admin = e.first(&admin, outPass, f, ingress)
		}
	case admin.set == outAllow || admin.set == outDeny:
		s.Tier, s.Admin = TierAdmin, e.first(&admin, admin.set, f, ingress)
		return
	default:
		s.Tier = TierAdmin
		s.Admin = e.first(&admin, verdictOutcome(s.Verdict), f, ingress)
		if s.Verdict == Unspecified {
			s.Undecided = e.describeAmbiguity("admin", &admin, f, ingress)
		}
		return
	}
	switch {
	case s.Isolated:
		s.Tier = TierNetworkPolicy
	case baseline.set&(outAllow|outDeny) == 0:
		e.applyDefault(s, def)
		if baseline.set == outPass {
			s.Baseline = e.first(&baseline, outPass, f, ingress)
		}
	case baseline.set == outAllow || baseline.set == outDeny:
		s.Tier, s.Baseline = TierBaseline, e.first(&baseline, baseline.set, f, ingress)
	default:
		s.Tier = TierBaseline
		s.Baseline = e.first(&baseline, verdictOutcome(s.Verdict), f, ingress)
		if s.Verdict == Unspecified {
			s.Undecided = e.describeAmbiguity("baseline", &baseline, f, ingress)
		}
	}
}

func verdictOutcome(v Verdict) outcomes {
	switch v {
	case Allowed:
		return outAllow
	case Denied:
		return outDeny
	}
	return 0
}

// describeAmbiguity says why a tier has no single answer.
func (e *Engine) describeAmbiguity(tier string, r *tierResult, f Flow, ingress bool) string {
	var b strings.Builder
	b.WriteString("the ")
	b.WriteString(tier)
	b.WriteString(" tier may ")
	b.WriteString(possibleWords(r.set))
	b.WriteString(": ")
	peerEnd := f.To
	if ingress {
		peerEnd = f.From
	}
	hits := r.all()
	for i, h := range hits {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.hitRule(h, ingress).text)
	}
	if r.set&outNext != 0 {
		b.WriteString("; no match")
	}
	sep := "; unknown "
	for _, h := range hits {
		if h.maybe {
			cr := e.hitRule(h, ingress)
			b.WriteString(sep)
			sep = ", "
			fmt.Fprintf(&b, "whether %s[%d] matches: %s", e.cluster[h.policy].p.Name, h.rule, e.whyUnknown(cr, peerEnd))
		}
	}
	return b.String()
}

func (e *Engine) hitRule(h tierHit, ingress bool) *compiledClusterRule {
	cp := e.cluster[h.policy]
	if ingress {
		return &cp.ingress[h.rule]
	}
	return &cp.egress[h.rule]
}

// whyUnknown names what the model cannot tell about a rule's peers.
func (e *Engine) whyUnknown(cr *compiledClusterRule, ep Endpoint) string {
	for j := range cr.peers {
		p := &cr.peers[j]
		if e.clusterPeerMatch(p, ep) != matchMaybe {
			continue
		}
		switch {
		case p.domains:
			return "it names domains, and which addresses they resolve to is not known"
		case p.networks != nil:
			return ep.String() + " has no address in the input"
		default:
			return "the nodes could not be read"
		}
	}
	return "unknown"
}

// possibleWords: "allow or deny"; computed once per set.
var possibleWordsOf = func() [16]string {
	var out [16]string
	for set := range out {
		var words []string
		for _, w := range []struct {
			o    outcomes
			word string
		}{{outAllow, "allow"}, {outDeny, "deny"}, {outPass, "pass"}, {outNext, "not decide"}} {
			if outcomes(set)&w.o != 0 {
				words = append(words, w.word)
			}
		}
		out[set] = strings.Join(words, " or ")
	}
	return out
}()

func possibleWords(set outcomes) string { return possibleWordsOf[set&15] }

// DescribeClusterPorts reads a cluster-scoped rule's ports for people:
// "all ports", "53/UDP", "8000-8100/TCP", "all UDP", "named port metrics".
func DescribeClusterPorts(ports []model.ClusterPort) string {
	if ports == nil {
		return "all ports"
	}
	var out []string
	for _, p := range ports {
		switch {
		case p.Unknown:
			out = append(out, "unknown")
		case p.Name != "":
			out = append(out, "named port "+p.Name)
		case p.Port == 0:
			out = append(out, "all "+string(p.Protocol))
		case p.EndPort != p.Port:
			out = append(out, fmt.Sprintf("%d-%d/%s", p.Port, p.EndPort, p.Protocol))
		default:
			out = append(out, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
	}
	return strings.Join(out, ", ")
}
