package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// The EKS network policy agent decides its ClusterNetworkPolicy
// (networking.k8s.aws) unlike the upstream kind it mirrors: its controller
// resolves each policy into entries (address, action, ports) and the agent
// looks the peer's address up in a trie of them. From their source
// (amazon-network-policy-controller-k8s: clusternetworkpolicy_resolver.go,
// endpoints.go, manager.go; aws-network-policy-agent:
// fw_rule_processor.go, utils.go, tc.v4ingress.bpf.c):
//
//   - an ingress rule is resolved in the namespaces its first peer selects,
//     and into nothing when there are none; every peer of a rule resolves
//     into one entry per pod address or network, with the rule's ports;
//   - entries of one address, action and port list (range ends ignored)
//     are kept once, the first; entries of one address and action then
//     merge their ports, so one without ports (every port) loses to one
//     with some;
//   - on a pod, the entries of every address range holding the peer
//     count, one per port object (a rule without ports: one per priority
//     and action); the agent keeps 24, chosen in Go's map order;
//   - the lowest priority (baseline: +2000) wins, at one priority Deny,
//     then Accept, then Pass: rule order does not exist; admin decides at
//     priority 1000 or below;
//   - then NetworkPolicy: a pod some NetworkPolicy selects is allowed in a
//     direction none isolates (the agent's catch-all entry), before any
//     baseline; a pod none selects goes to the baseline, then to its
//     default: allowed, or denied in strict mode;
//   - a named port makes the controller fail on the policy where it
//     reaches it: whether the policy, or an earlier version of it, is in
//     force is unknown, so each of its rules may match any traffic of its
//     subjects.

// TierStrictMode is the tier of a side the EKS agent's strict mode decided.
const TierStrictMode TierName = "strict-mode"

// awsEntryLimit is MAX_PORT_PROTOCOL: entries per address beyond it are
// dropped in an order the agent does not define.
const awsEntryLimit = 24

// awsBaselineOffset is BASELINE_TIER_PRIORITY_OFFSET; admin entries are
// those of priority up to 1000 (ADMIN_TIER_PRIORITY_LIMIT).
const (
	awsBaselineOffset = 2000
	awsAdminLimit     = 1000
)

// The agent's action indices: the lower wins at one priority.
const (
	awsDeny = iota
	awsAccept
	awsPass
)

type awsLayer struct {
	policies []*awsPolicy
	// ingressOf[i], egressOf[i]: the policies selecting pod i that have
	// rules for the direction.
	ingressOf, egressOf [][]int32
	// mixed: upstream cluster-scoped policies are present too, which no
	// enforcer orders against the agent's.
	mixed bool
}

type awsPolicy struct {
	p        *model.ClusterPolicy
	priority int32 // with the baseline offset
	// ingress and egress are the resolved entries (domain names among
	// them: never in the agent's trie, maybe enforced elsewhere).
	ingress, egress []awsEntry
	// crashes: the controller fails on the policy (named port).
	crashes bool
	// peers are the rules compiled for their peers (signatures, hints).
	inRules, outRules []compiledClusterRule
}

// awsEntry is one resolved entry: a network, or a pod's address (pod >=
// 0; a pod without an address is matched as itself), the action and the
// ports (nil: every port).
type awsEntry struct {
	prefix netip.Prefix
	// key is the address as the controller writes it: a pod's bare IP,
	// a network as written (its keys tell entries apart).
	key    string
	pod    int32
	action int
	rule   int16
	ports  []model.ClusterPort
}

func awsAction(a model.Action) int {
	switch a {
	case model.ActionDeny:
		return awsDeny
	case model.ActionAllow:
		return awsAccept
	}
	return awsPass
}

// compileAWS resolves the agent's policies as its controller does.
func (e *Engine) compileAWS(m *matcher) {
	var ps []*model.ClusterPolicy
	for _, p := range e.model.ClusterPolicies {
		if p.Family == model.FamilyAWS {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	n := len(e.model.Pods)
	l := &awsLayer{ingressOf: make([][]int32, n), egressOf: make([][]int32, n), mixed: len(e.cluster) > 0 || e.clusterUnreadableOther()}
	for _, p := range ps {
		ap := e.resolveAWS(m, p)
		idx := int32(len(l.policies))
		l.policies = append(l.policies, ap)
		selected := e.clusterSubject(m, p)
		for i, pod := range e.model.Pods {
			if !selected.has(i) || pod.HostNetwork {
				continue
			}
			if len(p.Ingress) > 0 {
				l.ingressOf[i] = append(l.ingressOf[i], idx)
			}
			if len(p.Egress) > 0 {
				l.egressOf[i] = append(l.egressOf[i], idx)
			}
		}
		for _, problem := range p.Problems {
			e.Problems = append(e.Problems, p.Ref()+": "+problem)
		}
	}
	e.aws = l
}

// clusterUnreadableOther: an upstream cluster-scoped resource exists but
// could not be read.
func (e *Engine) clusterUnreadableOther() bool {
	for _, r := range e.model.ClusterPoliciesUnreadable() {
		if r != model.AWSClusterPolicyResource {
			return true
		}
	}
	return false
}

func (e *Engine) resolveAWS(m *matcher, p *model.ClusterPolicy) *awsPolicy {
	ap := &awsPolicy{p: p, priority: p.Priority}
	if p.Tier == model.TierBaseline {
		ap.priority += awsBaselineOffset
	}
	nodes := map[string][]netip.Addr{}
	for i := range p.Ingress {
		ap.inRules = append(ap.inRules, e.compileClusterRule(m, p, i, &p.Ingress[i], nodes))
	}
	for i := range p.Egress {
		ap.outRules = append(ap.outRules, e.compileClusterRule(m, p, i, &p.Egress[i], nodes))
	}
	var in, out []awsEntry
	for i := range p.Ingress {
		r := &p.Ingress[i]
		gate := e.gateNamespaces(r.Gate)
		if len(gate) == 0 {
			continue // resolved in no namespace
		}
		if r.NamedPorts && e.anyAddressedPodIn(gate) {
			ap.crashes = true
		}
		if r.NamedPorts {
			continue // no pod to resolve the port on: the rule is skipped
		}
		in = append(in, e.ruleEntries(&ap.inRules[i], int16(i))...)
	}
	for i := range p.Egress {
		r := &p.Egress[i]
		cr := &ap.outRules[i]
		if r.NamedPorts && e.resolvesPeers(cr) {
			ap.crashes = true
			continue
		}
		// Otherwise only its domain names resolve, the name dropped from
		// their ports.
		out = append(out, e.ruleEntries(cr, int16(i))...)
	}
	ap.ingress, ap.egress = combineAWS(dedupeAWS(in)), combineAWS(dedupeAWS(out))
	return ap
}

// gateNamespaces are the namespaces a rule's gate selects (all, without
// a gate).
func (e *Engine) gateNamespaces(g *model.Gate) []string {
	var out []string
	sel := labels.Everything()
	if g != nil {
		if g.Namespaces == nil {
			return nil
		}
		s, err := metav1.LabelSelectorAsSelector(g.Namespaces)
		if err != nil {
			return nil
		}
		sel = s
	}
	for _, ns := range e.model.Namespaces {
		if sel.Matches(labels.Set(ns.Labels)) {
			out = append(out, ns.Name)
		}
	}
	return out
}

func (e *Engine) anyAddressedPodIn(namespaces []string) bool {
	for _, p := range e.model.Pods {
		if len(p.IPs) > 0 && slices.Contains(namespaces, p.Namespace) {
			return true
		}
	}
	return false
}

// resolvesPeers: the controller resolves an egress rule (and so reaches
// its ports) when a peer is a network or selects some namespace.
func (e *Engine) resolvesPeers(cr *compiledClusterRule) bool {
	for _, peer := range cr.rule.Peers {
		switch {
		case len(peer.Networks) > 0:
			return true
		case peer.Namespaces != nil:
			if len(e.gateNamespaces(&model.Gate{Namespaces: peer.Namespaces})) > 0 {
				return true
			}
		case peer.Pods != nil:
			sel := peer.Pods.NamespaceSelector
			if len(e.gateNamespaces(&model.Gate{Namespaces: &sel})) > 0 {
				return true
			}
		}
	}
	return false
}

// ruleEntries are the entries of one rule's peers, in peer and pod order.
func (e *Engine) ruleEntries(cr *compiledClusterRule, rule int16) []awsEntry {
	var out []awsEntry
	add := func(prefix netip.Prefix, key string, pod int32) {
		out = append(out, awsEntry{prefix: prefix, key: key, pod: pod, action: awsAction(cr.rule.Action), rule: rule, ports: cr.rule.Ports})
	}
	for j := range cr.peers {
		peer := &cr.peers[j]
		switch {
		case peer.pods != nil:
			peer.pods.each(func(i int) {
				pod := e.model.Pods[i]
				if pod.HostNetwork {
					return
				}
				if len(pod.IPs) == 0 {
					add(netip.Prefix{}, fmt.Sprintf("pod:%d", i), int32(i))
				}
				for _, a := range pod.IPs {
					add(netip.PrefixFrom(a, a.BitLen()), a.String(), int32(i))
				}
			})
		case peer.networks != nil:
			for _, c := range cr.rule.Peers[j].Networks {
				if n, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil {
					add(n.Masked(), c, -1)
				}
			}
		case peer.domains && cr.rule.Action != model.ActionDeny:
			// One entry per name, merged like the others; the agent
			// never puts them in its trie.
			for _, name := range cr.rule.Peers[j].DomainNames {
				add(netip.Prefix{}, "domain:"+name, -1)
			}
		}
	}
	return out
}

// awsTarget names an entry's address for the controller's keys.
func (en *awsEntry) target() string { return en.key }

// portsKey is the resolver's portsToString: protocol and start only.
func portsKey(ports []model.ClusterPort) string {
	if len(ports) == 0 {
		return "all"
	}
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("%s:%d", p.Protocol, p.Port))
	}
	return strings.Join(parts, ",")
}

// dedupeAWS is the resolver's mergeClusterEndpointInfo: the first entry
// per address, action and port list (range ends ignored).
func dedupeAWS(in []awsEntry) []awsEntry {
	seen := map[string]bool{}
	var out []awsEntry
	for _, en := range in {
		key := fmt.Sprintf("%s|%d|%s", en.target(), en.action, portsKey(en.ports))
		if !seen[key] {
			seen[key] = true
			out = append(out, en)
		}
	}
	return out
}

// combineAWS is the manager's combineClusterRulesEndpoints: the entries of
// one address and action merge their ports (deduplicated, range ends
// counted); one without ports adds none. An entry alone keeps its list.
func combineAWS(in []awsEntry) []awsEntry {
	index := map[string]int{}
	var out []awsEntry
	for _, en := range in {
		key := fmt.Sprintf("%s|%d", en.target(), en.action)
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			en.ports = slices.Clone(en.ports)
			out = append(out, en)
			continue
		}
		// deduplicatePorts runs over the joined list, the first entry's
		// own repeats included.
		var joined []model.ClusterPort
		for _, p := range append(slices.Clone(out[i].ports), en.ports...) {
			if !slices.Contains(joined, p) {
				joined = append(joined, p)
			}
		}
		out[i].ports = joined
	}
	return out
}

// awsCandidate is one entry the agent may find for the flow: its value
// (priority*10+action), whether it matches the flow's port, whether the
// model cannot tell that it applies (maybe), and where it comes from.
type awsCandidate struct {
	value   int32
	matches bool
	maybe   bool
	policy  int32
	rule    int16
	// why the model cannot tell, for a maybe; atoms are the unknowns it
	// depends on (a domain name, a network against a pod without an
	// address): it is there when any of them holds, and candidates that
	// share one are there together.
	why   string
	atoms []string
	// key names its entry in the agent's trie ("" for a domain name).
	key string
}

// The reasons a candidate may or may not be there.
const (
	whyDomain  = "it names domains, which the agent's address trie never holds but something else may enforce (EKS Auto Mode filters DNS), for addresses the input does not tie to names"
	whyAddress = "the peer has no address in the input, and a network of the rule may hold it"
)

// awsLookup collects what the agent may hold for the peer on the
// subject's side, one candidate per entry of its trie (key: catch-alls of
// one priority and action are one entry; port entries are never merged,
// as the agent keys them by the protocol's pointer), and the domain names
// (never in its trie).
func (e *Engine) awsLookup(subject int, peer Endpoint, f Flow, ingress bool) []awsCandidate {
	lists := e.aws.egressOf
	if ingress {
		lists = e.aws.ingressOf
	}
	var cands []awsCandidate
	for _, pi := range lists[subject] {
		ap := e.aws.policies[pi]
		if ap.crashes {
			cands = append(cands, ap.crashCandidates(pi, ingress)...)
			continue
		}
		list := ap.egress
		if ingress {
			list = ap.ingress
		}
		for k := range list {
			en := &list[k]
			value := ap.priority*10 + int32(en.action)
			if strings.HasPrefix(en.key, "domain:") {
				if !ingress && peer.Pod == nil {
					cands = append(cands, domainCandidate(en, value, pi, f))
				}
				continue
			}
			m := e.awsHolds(en, peer)
			if m == matchNo {
				continue
			}
			c := awsCandidate{value: value, maybe: m == matchMaybe, policy: pi, rule: en.rule, why: whyAddress, atoms: []string{"net:" + en.prefix.String()}}
			if en.ports == nil {
				c.matches, c.key = true, fmt.Sprintf("all:%d", value)
				cands = append(cands, c)
				continue
			}
			for pk, p := range en.ports {
				c.matches, c.key = awsPortMatches(p, f), fmt.Sprintf("port:%d:%d:%d", pi, k, pk)
				cands = append(cands, c)
			}
		}
	}
	return cands
}

// entries counts the trie entries of a candidate list.
func entries(cands []awsCandidate) int {
	keys := map[string]bool{}
	for _, c := range cands {
		if c.key != "" {
			keys[c.key] = true
		}
	}
	return len(keys)
}

// crashCandidates: each rule of a policy the controller fails on may
// match any of its subjects' traffic in that direction.
func (ap *awsPolicy) crashCandidates(pi int32, ingress bool) []awsCandidate {
	rules := ap.p.Egress
	if ingress {
		rules = ap.p.Ingress
	}
	out := make([]awsCandidate, 0, len(rules))
	for i := range rules {
		out = append(out, awsCandidate{value: ap.priority*10 + int32(awsAction(rules[i].Action)), matches: true, maybe: true, policy: pi, rule: int16(i),
			why:   "the agent may hold " + ap.p.Ref() + " in an earlier version, or not at all, as its controller fails on it: " + ap.p.Unresolvable,
			atoms: []string{fmt.Sprintf("crash:%d:%d:%t", pi, i, ingress)}, key: fmt.Sprintf("crash:%d:%d", pi, i)})
	}
	return out
}

// awsHolds: whether the entry's range holds the peer.
func (e *Engine) awsHolds(en *awsEntry, peer Endpoint) match {
	if en.pod >= 0 && (!en.prefix.IsValid() || peer.Pod != nil && len(peer.Pod.IPs) == 0) {
		// A pod's own entry: another pod's address never holds a pod
		// without one.
		if peer.Pod != nil && e.indexOf(peer) == int(en.pod) {
			return matchYes
		}
		return matchNo
	}
	if peer.Pod == nil {
		if en.prefix.Contains(peer.IP) {
			return matchYes
		}
		return matchNo
	}
	if peer.Pod.HostNetwork {
		return matchNo
	}
	if len(peer.Pod.IPs) == 0 {
		switch {
		case en.prefix.Bits() == 0 && en.prefix.Addr().Is4():
			return matchYes // 0.0.0.0/0: in an IPv4 cluster, every pod
		case NeverPodAddresses(en.prefix):
			return matchNo
		}
		return matchMaybe
	}
	for _, a := range peer.Pod.IPs {
		if en.prefix.Contains(a) {
			return matchYes
		}
	}
	return matchNo
}

// awsPortMatches is the eBPF program's test: the protocol, then the start
// port, or the range up to its end.
func awsPortMatches(p model.ClusterPort, f Flow) bool {
	if p.Protocol != f.Protocol {
		return false
	}
	return p.Port == 0 || f.Port == p.Port || p.EndPort > p.Port && f.Port >= p.Port && f.Port <= p.EndPort
}

// awsChoice is one possible winner of a tier: its value, or none (-1).
type awsChoice struct {
	value int32
	cand  *awsCandidate
}

// tierChoices are the winners a tier may have: the lowest matching value
// among what the agent keeps, with the number of entries it must drop for
// each (drop: how many it may drop; 0 when it keeps all). None is -1.
// Entries are the candidates' keys (one catch-all stands for all of its
// value); domain names are not in the trie and never dropped.
func tierChoices(cands []awsCandidate, inTier func(int32) bool, drop int) (choices []awsChoice, cost []int) {
	var droppable []*awsCandidate
	var kept *awsCandidate // the lowest undroppable match
	seen := map[string]bool{}
	for i := range cands {
		c := &cands[i]
		if !c.matches || !inTier(c.value) {
			continue
		}
		switch {
		case c.key == "":
			if kept == nil || c.value < kept.value {
				kept = c
			}
		case !seen[c.key]:
			seen[c.key] = true
			droppable = append(droppable, c)
		}
	}
	sort.SliceStable(droppable, func(i, j int) bool { return droppable[i].value < droppable[j].value })
	for j := 0; j <= len(droppable) && j <= drop; j++ {
		var next *awsCandidate
		if j < len(droppable) {
			next = droppable[j]
		}
		if kept != nil && (next == nil || kept.value <= next.value) {
			return append(choices, awsChoice{value: kept.value, cand: kept}), append(cost, j)
		}
		if next == nil {
			return append(choices, awsChoice{value: -1}), append(cost, j)
		}
		if j > 0 && next.value == droppable[j-1].value {
			continue // the same winner as with one fewer dropped
		}
		choices, cost = append(choices, awsChoice{value: next.value, cand: next}), append(cost, j)
	}
	return choices, cost
}

// domainCandidate: a domain entry may hold an outside address.
func domainCandidate(en *awsEntry, value, pi int32, f Flow) awsCandidate {
	c := awsCandidate{value: value, matches: en.ports == nil, maybe: true, policy: pi, rule: en.rule, why: whyDomain, atoms: []string{en.key}}
	for _, p := range en.ports {
		c.matches = c.matches || awsPortMatches(p, f)
	}
	return c
}

// maxAtoms bounds the unknowns followed one by one; beyond, the side is
// unspecified.
const maxAtoms = 10

// relevant drops the maybes that cannot change the side: when no set of
// them brings the address over the agent's limit, those that do not match
// the flow, and, when a sure admin-tier Deny or Accept wins whatever the
// maybes, those no lower than it.
func relevant(cands []awsCandidate) []awsCandidate {
	if entries(cands) > awsEntryLimit {
		return cands
	}
	best := int32(-1)
	for _, c := range cands {
		if !c.maybe && c.matches && isAdminValue(c.value) && (best < 0 || c.value < best) {
			best = c.value
		}
	}
	if best >= 0 && best%10 == awsPass {
		best = -1 // a Pass hands on: what comes after still counts
	}
	for _, c := range cands {
		if c.maybe && c.matches && best >= 0 && c.value < best {
			best = -1 // a maybe may win before it: everything still counts
		}
	}
	out := cands[:0:0]
	for _, c := range cands {
		if c.maybe && (!c.matches || best >= 0 && c.value >= best) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// scenarios are the candidate lists the agent may hold: for every set of
// unknowns that hold, the sure candidates and the maybes they bring.
func scenarios(cands []awsCandidate) ([][]awsCandidate, bool) {
	var atoms []string
	for _, c := range cands {
		if c.maybe && (c.matches || c.key != "") {
			for _, a := range c.atoms {
				if !slices.Contains(atoms, a) {
					atoms = append(atoms, a)
				}
			}
		}
	}
	if len(atoms) > maxAtoms {
		return nil, false
	}
	var out [][]awsCandidate
	for mask := 0; mask < 1<<len(atoms); mask++ {
		var list []awsCandidate
		for _, c := range cands {
			if c.maybe {
				if !c.matches && c.key == "" {
					continue // whether there or not, it decides nothing
				}
				holds := false
				for _, a := range c.atoms {
					holds = holds || mask&(1<<slices.Index(atoms, a)) != 0
				}
				if !holds {
					continue
				}
			}
			list = append(list, c)
		}
		out = append(out, list)
	}
	return out, true
}

func isAdminValue(v int32) bool    { return v/10 <= awsAdminLimit }
func isBaselineValue(v int32) bool { return v/10 > awsAdminLimit }

// awsDecide decides a side of a pod the agent's policies may select.
func (e *Engine) awsDecide(s *Side, f Flow, ep Endpoint, ingress bool, npVerdict Verdict) {
	if e.aws.mixed {
		s.Verdict, s.Tier = Unspecified, TierAdmin
		s.Undecided = "the EKS agent's ClusterNetworkPolicies and policy.networking.k8s.io's cluster-scoped policies are both present, and no enforcer orders them against each other"
		return
	}
	peer := f.From
	if !ingress {
		peer = f.To
	}
	cands := relevant(e.awsLookup(e.indexOf(ep), peer, f, ingress))
	all, ok := scenarios(cands)
	if !ok {
		s.Verdict, s.Tier = Unspecified, TierAdmin
		s.Undecided = e.awsWhyUnknown(cands)
		return
	}
	var possible outcomes
	var first *decision
	dropped := 0
	for _, list := range all {
		drop := max(0, entries(list)-awsEntryLimit)
		dropped = max(dropped, drop)
		first = e.awsOutcomes(s, list, ep, drop, npVerdict, &possible, first)
	}
	e.awsReport(s, first, possible, dropped, ingress, cands)
}

// awsOutcomes adds the verdicts one candidate list allows to possible,
// and returns the first way found.
func (e *Engine) awsOutcomes(s *Side, cands []awsCandidate, ep Endpoint, drop int, npVerdict Verdict, possible *outcomes, first *decision) *decision {
	admins, adminCost := tierChoices(cands, func(int32) bool { return true }, drop)
	baselines, baseCost := tierChoices(cands, isBaselineValue, drop)
	idx := e.indexOf(ep)
	selected := len(e.ingressOf[idx]) > 0 || len(e.egressOf[idx]) > 0
	def := e.strictDefault(ep)
	for ai, a := range admins {
		if a.value >= 0 && isAdminValue(a.value) && a.value%10 != awsPass {
			first = first.or(&decision{verdict: awsVerdict(a.value), tier: TierAdmin, admin: a.cand})
			*possible |= verdictOutcome(awsVerdict(a.value))
			continue
		}
		var passed *awsCandidate
		if a.value >= 0 && isAdminValue(a.value) {
			passed = a.cand
		}
		if selected {
			v := npVerdict
			if !s.Isolated {
				v = Allowed // the agent's catch-all entry for that direction
			}
			first = first.or(&decision{verdict: v, tier: TierNetworkPolicy, admin: passed})
			*possible |= verdictOutcome(v)
			continue
		}
		bases, costs := baselines, baseCost
		if passed == nil {
			// Nothing of the admin range kept: the lowest kept entry is
			// the baseline's winner too.
			bases, costs = []awsChoice{a}, []int{0}
		}
		for bi, b := range bases {
			if passed != nil && adminCost[ai]+costs[bi] > drop {
				continue
			}
			if b.value >= 0 && b.value%10 != awsPass {
				first = first.or(&decision{verdict: awsVerdict(b.value), tier: TierBaseline, admin: passed, baseline: b.cand})
				*possible |= verdictOutcome(awsVerdict(b.value))
				continue
			}
			v, tier := Allowed, TierNone
			switch def {
			case outDeny:
				v, tier = Denied, TierStrictMode
			case outAllow | outDeny:
				v, tier = Unspecified, TierStrictMode
				*possible |= outAllow | outDeny
			}
			first = first.or(&decision{verdict: v, tier: tier, admin: passed, baseline: b.cand})
			*possible |= verdictOutcome(v)
		}
	}
	return first
}

func awsVerdict(value int32) Verdict {
	if value%10 == awsDeny {
		return Denied
	}
	return Allowed
}

// decision is one way a side may be decided; the first found is reported.
type decision struct {
	verdict         Verdict
	tier            TierName
	admin, baseline *awsCandidate
}

func (d *decision) or(next *decision) *decision {
	if d != nil {
		return d
	}
	return next
}

// awsReport sets the side from the possible outcomes and the first way.
func (e *Engine) awsReport(s *Side, first *decision, possible outcomes, drop int, ingress bool, cands []awsCandidate) {
	s.Admin, s.Baseline = e.awsMatch(first.admin, ingress), e.awsMatch(first.baseline, ingress)
	s.Tier = first.tier
	switch possible {
	case outAllow:
		s.Verdict = Allowed
	case outDeny:
		s.Verdict = Denied
	default:
		s.Verdict = Unspecified
		switch {
		case drop > 0:
			s.Undecided = fmt.Sprintf("the EKS agent's ClusterNetworkPolicies give the peer's address %d port entries on this pod; the agent keeps %d of them, chosen in an undefined order", drop+awsEntryLimit, awsEntryLimit)
		case first.tier == TierStrictMode && first.verdict == Unspecified:
			s.Undecided = strictReason(e.model.AWSPolicyMode)
		default:
			s.Undecided = e.awsWhyUnknown(cands)
		}
	}
}

// awsWhyUnknown names the first candidate the model cannot tell about.
func (e *Engine) awsWhyUnknown(cands []awsCandidate) string {
	for i := range cands {
		if c := &cands[i]; c.maybe && c.matches {
			m := e.aws.policies[c.policy].p
			return fmt.Sprintf("whether %s[%d] matches is unknown: %s", m.Ref(), c.rule, c.why)
		}
	}
	return "the EKS agent's ClusterNetworkPolicies leave it open"
}

// awsMatch names a candidate's rule for explain.
func (e *Engine) awsMatch(c *awsCandidate, ingress bool) *TierMatch {
	if c == nil {
		return nil
	}
	ap := e.aws.policies[c.policy]
	rules := ap.p.Egress
	if ingress {
		rules = ap.p.Ingress
	}
	r := rules[c.rule]
	pr := ap.p.Priority
	return &TierMatch{Kind: ap.p.Kind, Name: ap.p.Name, Priority: &pr, Rule: int(c.rule), RuleName: r.Name, Action: r.ActionAsWritten}
}

// strictDefault is what a side gets from the EKS agent when no tier
// decides it: in strict mode a pod that no NetworkPolicy selects (either
// direction) keeps the DEFAULT_DENY state.
func (e *Engine) strictDefault(ep Endpoint) outcomes {
	mode := e.model.AWSPolicyMode
	if mode != model.AWSModeStrict && mode != model.AWSModeUnknown {
		return outAllow
	}
	if ep.Pod == nil || ep.Pod.HostNetwork {
		return outAllow
	}
	idx := e.indexOf(ep)
	if len(e.ingressOf[idx]) > 0 || len(e.egressOf[idx]) > 0 {
		return outAllow
	}
	if mode == model.AWSModeStrict {
		return outDeny
	}
	return outAllow | outDeny
}

// strictReason explains a side the strict mode decided or left open.
func strictReason(mode string) string {
	if mode == model.AWSModeStrict {
		return "the EKS network policy agent runs in strict mode and no NetworkPolicy selects the pod"
	}
	return fmt.Sprintf("the EKS network policy agent's enforcing mode could not be read; in %s mode a pod no NetworkPolicy selects is denied", model.AWSModeStrict)
}

// applyDefault decides a side no tier decides: allowed, unless the EKS
// agent's strict mode holds the pod (strictDefault).
func (e *Engine) applyDefault(s *Side, def outcomes) {
	switch def {
	case outAllow:
		s.Verdict, s.Tier = Allowed, TierNone
	case outDeny:
		s.Verdict, s.Tier = Denied, TierStrictMode
	default:
		s.Verdict, s.Tier = Unspecified, TierStrictMode
		s.Undecided = strictReason(e.model.AWSPolicyMode)
	}
}

// ClusterSignature tells pods apart that the cluster-scoped policies
// treat differently: which select the pod, which rule peers match it
// ("" with none). Pods with equal signatures get equal verdicts from them.
func (e *Engine) ClusterSignature(p *model.Pod) string {
	i, ok := e.podIndex[p]
	if !ok || (len(e.cluster) == 0 && e.aws == nil) {
		return ""
	}
	var b strings.Builder
	b.WriteByte(bit(p.HostNetwork))
	ep := e.indexed(PodEndpoint(p))
	peerBits := func(rules []compiledClusterRule) {
		for ri := range rules {
			for j := range rules[ri].peers {
				b.WriteByte(byte('0' + e.clusterPeerMatch(&rules[ri].peers[j], ep)))
			}
		}
	}
	for _, cp := range e.cluster {
		b.WriteByte(bit(cp.selected.has(i)))
		peerBits(cp.ingress)
		peerBits(cp.egress)
	}
	if e.aws != nil {
		for pi, ap := range e.aws.policies {
			b.WriteByte(bit(slices.Contains(e.aws.ingressOf[i], int32(pi)) || slices.Contains(e.aws.egressOf[i], int32(pi))))
			peerBits(ap.inRules)
			peerBits(ap.outRules)
		}
	}
	return b.String()
}

// awsHints explain what the EKS agent does unlike the upstream kind: a
// side its strict mode decided, and a winning rule that another rule of
// the same priority would have beaten upstream (rule order does not count
// for the agent).
func (e *Engine) awsHints(h *hintSet, f Flow, s *Side, pod *model.Pod, ingress bool) {
	if s.Tier == TierStrictMode && s.Verdict == Denied {
		h.add(HintEKSStrictMode, "the EKS network policy agent runs in strict mode and no NetworkPolicy selects %s: it is denied both ways unless a ClusterNetworkPolicy accepts; select it with a NetworkPolicy that allows what it needs", pod.Key())
	}
	if e.aws == nil {
		return
	}
	win := s.Admin
	if s.Tier == TierBaseline {
		win = s.Baseline
	}
	if win == nil || win.Kind != model.KindAWSClusterNetworkPolicy || (s.Tier != TierAdmin && s.Tier != TierBaseline) {
		return
	}
	peer := f.From
	if !ingress {
		peer = f.To
	}
	cands := e.awsLookup(e.indexOf(PodEndpoint(pod)), e.indexed(peer), f, ingress)
	for i := range cands {
		c := &cands[i]
		m := e.awsMatch(c, ingress)
		if !c.matches || c.maybe || *m.Priority != *win.Priority || m.Action == win.Action {
			continue
		}
		h.add(HintEKSRuleOrder, "%s also matches; the EKS network policy agent weighs every rule of one priority together (Deny, then Accept, then Pass), whatever their order, so %s wins: give the %s rule a lower priority in a policy of its own",
			ruleText(m), ruleText(win), strings.ToLower(m.Action))
		return
	}
}

// ruleText is "tenant-guard[0] \"from-web\" (Accept)".
func ruleText(m *TierMatch) string {
	s := fmt.Sprintf("%s[%d]", m.Name, m.Rule)
	if m.RuleName != "" {
		s += fmt.Sprintf(" %q", m.RuleName)
	}
	return s + " (" + m.Action + ")"
}
