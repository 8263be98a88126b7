package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/calico"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// TierCalico is the tier of a side Calico decided (its policies with the Kubernetes ones).
const TierCalico TierName = "calico"

// CalicoMatch says which policy and rule decided a side under Calico, or
// that the side was denied at the end of a tier.
type CalicoMatch struct {
	Tier string `json:"tier"`
	// Kind is NetworkPolicy (Calico's or, with API "networking.k8s.io",
	// Kubernetes'), GlobalNetworkPolicy.
	Kind      string `json:"kind"`
	API       string `json:"api"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Rule      int    `json:"rule"`
	// Action: Allow, Deny, or EndOfTier (denied: the tier's policies
	// apply and none decided), or Profile (every tier passed or none
	// applied: the namespace profile allows).
	Action string `json:"action"`
	// Passed lists the tiers a Pass rule handed the packet on from.
	Passed []string `json:"passed,omitempty"`
}

// String is "deny by GlobalNetworkPolicy default-app-policy[0] (tier default)".
func (m *CalicoMatch) String() string {
	passed := ""
	if len(m.Passed) > 0 {
		passed = "passed by tier " + strings.Join(m.Passed, ", ") + " → "
	}
	switch m.Action {
	case "EndOfTier":
		return fmt.Sprintf("%sdenied at the end of tier %s (its policies apply; no rule decided)", passed, m.Tier)
	case "Profile":
		return passed + "allowed by the namespace profile (no Calico policy decided)"
	}
	name := m.Name
	if m.Namespace != "" {
		name = m.Namespace + "/" + m.Name
	}
	kind := m.Kind
	if m.API != "networking.k8s.io" && kind == model.CalicoNetworkPolicy {
		kind = "Calico NetworkPolicy"
	}
	return fmt.Sprintf("%s%s by %s %s[%d] (tier %s)", passed, strings.ToLower(m.Action), kind, name, m.Rule, m.Tier)
}

// flowFacts are what every rule asks of the flow, worked out once.
type flowFacts struct {
	protocol int
	v4, v6   bool
}

func factsOf(f Flow) flowFacts {
	v4, v6 := flowFamilies(f)
	return flowFacts{protocol: flowProtocol(f.Protocol), v4: v4, v6: v6}
}

// walkState is where a side's evaluation is: the tier, the policy within
// its applicable list, the rule, and the tiers passed so far.
type walkState struct {
	flow    flowFacts
	layer   *calicoLayer
	subject int // the pod whose side this is
	refs    []felixRef
	at      int // index into refs
	rule    int
	passed  []string
	// maybes bounds how often the walk branches on a rule it cannot
	// decide (2^maybes walks).
	maybes int
	// applied: a policy of the current tier applied to the pod, so
	// leaving the tier undecided denies; assumed: the current policy is
	// taken to apply (one branch of an uncertain selection).
	applied, assumed bool
}

// walkResult is a side's outcome along one walk.
type walkResult struct {
	verdict   Verdict
	match     *CalicoMatch
	allowedBy []RuleRef // the Kubernetes rules, when one allowed
	undecided string
}

const maxCalicoBranches = 6

// calicoSide decides one side under Calico.
func (e *Engine) calicoSide(s *Side, f Flow, ingress bool) *Side {
	subject := f.From
	if ingress {
		subject = f.To
	}
	idx := e.indexOf(subject)
	refs, names := e.calico.policiesFor(e, idx, ingress)
	*s = Side{Isolated: len(refs) > 0, AllowedBy: []RuleRef{}, Tier: TierCalico, IsolatedBy: names}
	facts := factsOf(f)
	r := e.walk(walkState{flow: facts, layer: e.calico, subject: idx, refs: refs}, f, ingress)
	if flat := e.calico.flat; flat != nil && spansTiers(refs) {
		// Calico before v3.30 ignores tiers: every policy in one order.
		flatRefs, _ := flat.policiesFor(e, idx, ingress)
		if other := e.walk(walkState{flow: facts, layer: flat, subject: idx, refs: flatRefs}, f, ingress); other.verdict != r.verdict {
			r = walkResult{verdict: Unspecified, undecided: "Calico v3.30 and later order policies by tier, earlier versions ignore tiers, and the two orders disagree here"}
		}
	}
	s.Verdict, s.Calico, s.Undecided = r.verdict, r.match, r.undecided
	if r.allowedBy != nil {
		s.AllowedBy = r.allowedBy
	}
	return s
}

// spansTiers: the policies that apply come from more than one tier, so
// the tiered and the single-tier order may differ (within one tier, or
// with none, they are the same list in the same order, and a Pass ends
// at the profile either way).
func spansTiers(refs []felixRef) bool {
	for _, r := range refs {
		if r.tier != refs[0].tier {
			return true
		}
	}
	return false
}

// displayName is "kind/namespace/name" as users wrote it.
func (p *felixPolicy) displayName(e *Engine) string {
	if p.knp >= 0 {
		np := e.policies[p.knp].np
		return "NetworkPolicy/" + np.Namespace + "/" + np.Name
	}
	return p.calico.Ref()
}

// walk runs felix's chain from st: tiers in order, policies in order,
// rules in order.
func (e *Engine) walk(st walkState, f Flow, ingress bool) walkResult {
	for st.at < len(st.refs) {
		ref := st.refs[st.at]
		tier := st.layer.tiers[ref.tier]
		p := tier.policies[ref.policy]
		if st.rule == 0 && p.knp < 0 && !st.assumed && st.layer.uncertain(p, st.subject) {
			return e.branchPolicy(st, p, f, ingress)
		}
		st.assumed, st.applied = false, true
		if p.problem != "" {
			return walkResult{verdict: Unspecified, undecided: p.displayName(e) + ": " + p.problem}
		}
		if p.knp >= 0 {
			allowed, m := e.kubernetesAllows(p.knp, f, ingress)
			switch m {
			case matchYes:
				return walkResult{verdict: Allowed, allowedBy: allowed, match: e.calicoHit(tier, p, allowed[0].Rule, "Allow", st.passed)}
			case matchMaybe:
				return e.branchKubernetes(st, p, f, ingress)
			}
		} else if res, done := e.policyRules(&st, tier, p, f, ingress); done {
			return res
		} else if st.rule >= 0 {
			continue // a Pass or a Log moved st; go on from there
		}
		var denied *walkResult
		if st, denied = e.nextPolicy(st); denied != nil {
			return *denied
		}
	}
	return walkResult{verdict: Allowed, match: &CalicoMatch{Action: "Profile", Rule: -1, Passed: st.passed}}
}

// policyRules runs the current policy's rules from st.rule. done: the
// side is decided (or undecided); otherwise st.rule is -1 when the
// policy's rules are exhausted, or st moved on (a Pass).
func (e *Engine) policyRules(st *walkState, tier *felixTier, p *felixPolicy, f Flow, ingress bool) (walkResult, bool) {
	rules := p.outRules
	if ingress {
		rules = p.inRules
	}
	for st.rule < len(rules) {
		rule := &rules[st.rule]
		m, why := e.felixRuleMatch(rule, f, st.flow)
		switch m {
		case matchNo:
			st.rule++
			continue
		case matchMaybe:
			return e.branch(*st, rule, f, ingress, why), true
		}
		switch rule.action {
		case "Allow", "Deny":
			return walkResult{verdict: verdictOfAction(rule.action), match: e.calicoHit(tier, p, st.rule, rule.action, st.passed)}, true
		case "Pass":
			*st = e.nextTier(*st)
			return walkResult{}, false
		}
		st.rule++ // Log: log and go on
	}
	st.rule = -1
	return walkResult{}, false
}

func verdictOfAction(action string) Verdict {
	if action == "Allow" {
		return Allowed
	}
	return Denied
}

// branch follows both answers of a rule the engine cannot decide; the
// side is decided when both lead to the same verdict.
func (e *Engine) branch(st walkState, rule *felixRule, f Flow, ingress bool, why string) walkResult {
	if st.maybes >= maxCalicoBranches {
		return walkResult{verdict: Unspecified, undecided: why}
	}
	st.maybes++
	skip := st
	skip.rule++
	no := e.walk(skip, f, ingress)
	var yes walkResult
	switch rule.action {
	case "Allow", "Deny":
		yes = walkResult{verdict: verdictOfAction(rule.action)}
	case "Pass":
		yes = e.walk(e.nextTier(st), f, ingress)
	default:
		yes = no // a Log rule changes nothing
	}
	if yes.verdict == no.verdict && yes.verdict != Unspecified {
		return no
	}
	undecided := why
	if yes.undecided != "" {
		undecided = yes.undecided
	} else if no.undecided != "" {
		undecided = no.undecided
	}
	return walkResult{verdict: Unspecified, undecided: undecided}
}

// branchPolicy follows both answers of "does the policy apply to the
// pod?" when its selector reads labels nobody could read.
func (e *Engine) branchPolicy(st walkState, p *felixPolicy, f Flow, ingress bool) walkResult {
	why := p.displayName(e) + " selects by labels of the pod's namespace or ServiceAccount that could not be read"
	if st.maybes >= maxCalicoBranches {
		return walkResult{verdict: Unspecified, undecided: why}
	}
	st.maybes++
	yes := st
	yes.assumed = true
	applies := e.walk(yes, f, ingress)
	// Does not apply: on to the next policy, the tier applying only if
	// another of its policies did.
	var skipped walkResult
	if next, denied := e.nextPolicy(st); denied != nil {
		skipped = *denied
	} else {
		skipped = e.walk(next, f, ingress)
	}
	if applies.verdict == skipped.verdict && applies.verdict != Unspecified {
		return skipped
	}
	return walkResult{verdict: Unspecified, undecided: why}
}

// nextPolicy moves to the next applicable policy. Leaving a tier that
// some policy applied in, undecided, is its end-of-tier deny; one none
// applied in is passed over.
func (e *Engine) nextPolicy(st walkState) (walkState, *walkResult) {
	cur := st.refs[st.at].tier
	st.at++
	st.rule = 0
	if st.at < len(st.refs) && st.refs[st.at].tier == cur {
		return st, nil
	}
	if st.applied {
		return st, &walkResult{verdict: Denied, match: &CalicoMatch{Tier: st.layer.tiers[cur].name, Action: "EndOfTier", Rule: -1, Passed: st.passed}}
	}
	return st, nil
}

// nextTier moves past every policy of the current tier (a Pass).
func (e *Engine) nextTier(st walkState) walkState {
	cur := st.refs[st.at].tier
	st.passed = append(append([]string(nil), st.passed...), st.layer.tiers[cur].name)
	for st.at < len(st.refs) && st.refs[st.at].tier == cur {
		st.at++
	}
	st.rule, st.applied = 0, false
	return st
}

// calicoHit describes the rule that decided.
func (e *Engine) calicoHit(tier *felixTier, p *felixPolicy, rule int, action string, passed []string) *CalicoMatch {
	m := &CalicoMatch{Tier: tier.name, Rule: rule, Action: action, Passed: passed}
	if p.knp >= 0 {
		np := e.policies[p.knp].np
		m.Kind, m.API, m.Namespace, m.Name = "NetworkPolicy", "networking.k8s.io", np.Namespace, np.Name
		return m
	}
	m.Kind, m.API, m.Namespace, m.Name = p.calico.Kind, p.calico.Group, p.calico.Namespace, p.calico.Name
	return m
}

// kubernetesAllows is what a Kubernetes NetworkPolicy's rules allow of
// the flow (each one an Allow rule under Calico): matchMaybe when the
// peer's namespace labels could not be read and only rules that look at
// them could decide.
func (e *Engine) kubernetesAllows(pi int32, f Flow, ingress bool) ([]RuleRef, match) {
	allowed := e.kubernetesRules(pi, f, ingress)
	peerEnd := f.To
	if ingress {
		peerEnd = f.From
	}
	if peerEnd.Pod == nil || !e.nsLabelsUnknown[peerEnd.Pod.Namespace] || !e.labelsCouldAllow(f, []int32{pi}, ingress) {
		if len(allowed) > 0 {
			return allowed, matchYes
		}
		return nil, matchNo
	}
	if len(allowed) > 0 && e.kubernetesAllowsWithoutLabels(pi, f, ingress) {
		return allowed, matchYes
	}
	return allowed, matchMaybe
}

// kubernetesAllowsWithoutLabels: a rule allows the flow through a peer
// that does not look at namespace labels (or through no peer at all).
func (e *Engine) kubernetesAllowsWithoutLabels(pi int32, f Flow, ingress bool) bool {
	cp := e.policies[pi]
	rules, peerEnd := cp.egressRules, f.To
	if ingress {
		rules, peerEnd = cp.ingressRules, f.From
	}
	for ri := range rules {
		rule := &rules[ri]
		if len(rule.ports) > 0 && !anyPortMatches(rule.ports, f.To, f.Port, f.Protocol) {
			continue
		}
		if rule.allPeers {
			return true
		}
		for j := range rule.peers {
			if !needsLabels(rule.peers[j].raw.NamespaceSelector) && e.peerMatches(&rule.peers[j], peerEnd) {
				return true
			}
		}
	}
	return false
}

// branchKubernetes follows both answers of a Kubernetes policy whose
// rules look at namespace labels nobody could read.
func (e *Engine) branchKubernetes(st walkState, p *felixPolicy, f Flow, ingress bool) walkResult {
	why := fmt.Sprintf("%s selects peers by namespace labels that could not be read (%s)", p.displayName(e), model.RBACRefusal("list", "namespaces", ""))
	if st.maybes >= maxCalicoBranches {
		return walkResult{verdict: Unspecified, undecided: why}
	}
	st.maybes++
	var no walkResult
	if next, denied := e.nextPolicy(st); denied != nil {
		no = *denied
	} else {
		no = e.walk(next, f, ingress)
	}
	if no.verdict == Allowed {
		return no // allowed either way
	}
	return walkResult{verdict: Unspecified, undecided: why}
}

// kubernetesRules lists the rules of a Kubernetes policy that allow the
// flow, as the labels read say.
func (e *Engine) kubernetesRules(pi int32, f Flow, ingress bool) []RuleRef {
	cp := e.policies[pi]
	rules, peerEnd := cp.egressRules, f.To
	if ingress {
		rules, peerEnd = cp.ingressRules, f.From
	}
	var out []RuleRef
	for ri := range rules {
		rule := &rules[ri]
		if !rule.allPeers && !e.anyPeerMatches(rule, peerEnd) {
			continue
		}
		if len(rule.ports) > 0 && !anyPortMatches(rule.ports, f.To, f.Port, f.Protocol) {
			continue
		}
		out = append(out, RuleRef{Namespace: cp.np.Namespace, Name: cp.np.Name, Rule: ri})
	}
	return out
}

// felixRuleMatch: does the rule match the flow (for the side's
// direction: an ingress rule's source is the flow's source, its
// destination the pod; an egress rule's the other way round)?
func (e *Engine) felixRuleMatch(r *felixRule, f Flow, facts flowFacts) (match, string) {
	proto := facts.protocol
	if r.protocol >= 0 && r.protocol != proto || r.notProto >= 0 && r.notProto == proto {
		return matchNo, ""
	}
	version := matchYes
	if r.ipVersion != 0 {
		if version = flowHasVersion(f, r.ipVersion); version == matchNo {
			return matchNo, ""
		}
	}
	if families, hasNets := r.families, r.hasNets; hasNets {
		// felix renders a rule per IP family, without the nets of the
		// other; a list left empty that way drops the rule for that family
		// (rules/policy.go FilterRuleToIPVersion, filteredAll).
		v4, v6 := facts.v4, facts.v6
		if !(v4 && families&renderedV4 != 0 || v6 && families&renderedV6 != 0) {
			return matchNo, ""
		}
		if v4 && v6 && families != renderedV4|renderedV6 {
			version = matchMaybe
		}
	}
	src, why := e.entityMatch(&r.src, f.From, f, false)
	if src == matchNo {
		return matchNo, ""
	}
	dst, whyDst := e.entityMatch(&r.dst, f.To, f, true)
	if dst == matchNo {
		return matchNo, ""
	}
	if r.undecided != "" {
		return matchMaybe, r.undecided
	}
	if version == matchMaybe {
		return matchMaybe, "the rule's ipVersion, and the flow's addresses could be of either family"
	}
	if src == matchMaybe {
		return matchMaybe, why
	}
	if dst == matchMaybe {
		return matchMaybe, whyDst
	}
	return matchYes, ""
}

// Families a rule is rendered for.
const (
	renderedV4 = 1 << iota
	renderedV6
)

// renderedFor: the families for which none of the rule's net lists is
// emptied by dropping the other family's prefixes (hasNets false: the rule
// has no nets, and is rendered for both).
func (r *felixRule) renderedFor() (families int, hasNets bool) {
	lists := [][]netip.Prefix{r.src.nets, r.src.notNets, r.dst.nets, r.dst.notNets}
	families = renderedV4 | renderedV6
	for _, l := range lists {
		if len(l) == 0 {
			continue
		}
		hasNets = true
		has4 := slices.ContainsFunc(l, func(p netip.Prefix) bool { return p.Addr().Is4() })
		has6 := slices.ContainsFunc(l, func(p netip.Prefix) bool { return !p.Addr().Is4() })
		if !has4 {
			families &^= renderedV4
		}
		if !has6 {
			families &^= renderedV6
		}
	}
	return families, hasNets
}

// flowFamilies: the IP families the flow can be of.
func flowFamilies(f Flow) (v4, v6 bool) {
	v4, v6 = true, true
	for _, ep := range []Endpoint{f.From, f.To} {
		e4, e6 := endpointFamilies(ep)
		v4, v6 = v4 && e4, v6 && e6
	}
	return v4, v6
}

// flowHasVersion: the flow is of that IP version. An address decides;
// pods decide by the families of their addresses (a pod without one, read
// from a file, could be either).
func flowHasVersion(f Flow, version int) match {
	v4, v6 := flowFamilies(f)
	has, other := v4, v6
	if version == 6 {
		has, other = v6, v4
	}
	switch {
	case !has:
		return matchNo
	case other:
		return matchMaybe
	}
	return matchYes
}

// endpointFamilies: the IP families the endpoint can use.
func endpointFamilies(ep Endpoint) (v4, v6 bool) {
	if ep.Pod == nil {
		return ep.IP.Is4(), !ep.IP.Is4()
	}
	if len(ep.Pod.IPs) == 0 {
		return true, true
	}
	for _, a := range ep.Pod.IPs {
		v4, v6 = v4 || a.Is4(), v6 || !a.Is4()
	}
	return v4, v6
}

// entityMatch: the endpoint against a rule's source or destination.
func (e *Engine) entityMatch(en *felixEntity, ep Endpoint, f Flow, isDst bool) (match, string) {
	m := matchYes
	why := ""
	and := func(x match, reason string) {
		if x < m {
			m = x
			if x == matchMaybe {
				why = reason
			}
		}
	}
	if len(en.nets) > 0 {
		and(e.inNets(ep, en.nets, true))
	}
	if len(en.notNets) > 0 {
		x, reason := e.inNets(ep, en.notNets, false)
		and(negate(x), reason)
	}
	if en.selector != nil {
		and(e.selectorMatch(en.selector, ep))
	}
	if en.notSelector != nil {
		x, reason := e.selectorMatch(en.notSelector, ep)
		and(negate(x), reason)
	}
	if isDst && len(en.ports) > 0 {
		and(e.portsMatch(en.ports, f), "")
	}
	if isDst && len(en.notPorts) > 0 {
		and(negate(e.portsMatch(en.notPorts, f)), "")
	}
	return m, why
}

func negate(m match) match {
	switch m {
	case matchYes:
		return matchNo
	case matchNo:
		return matchYes
	}
	return matchMaybe
}

// inNets: the endpoint's address is in one of the prefixes. A pod with no
// address (a workload from a file) may be anywhere.
func (e *Engine) inNets(ep Endpoint, nets []netip.Prefix, _ bool) (match, string) {
	if ep.Pod == nil {
		for _, n := range nets {
			if n.Contains(ep.IP) {
				return matchYes, ""
			}
		}
		return matchNo, ""
	}
	if len(ep.Pod.IPs) == 0 {
		return matchMaybe, ep.Pod.Key() + " has no address in the input, and a rule matches on nets"
	}
	for _, a := range ep.Pod.IPs {
		for _, n := range nets {
			if n.Contains(a) {
				return matchYes, ""
			}
		}
	}
	return matchNo, ""
}

// selectorMatch: a selector matches pods by their labels (felix turns it
// into the set of their addresses); an address outside the cluster
// matches no selector.
func (e *Engine) selectorMatch(fs *felixSelector, ep Endpoint) (match, string) {
	if ep.Pod == nil {
		return matchNo, ""
	}
	i := e.indexOf(ep)
	if labels, unknown := e.calico.podLabels(i); unknown != 0 {
		matches, decided := fs.sel.Decided(labels, unknown.unread)
		switch {
		case !decided && unknown&fromNamespace != 0 && selectorReads(fs.sel, pcnsPrefix):
			return matchMaybe, fmt.Sprintf("the labels of namespace %s could not be read (%s)", ep.Pod.Namespace, model.RBACRefusal("list", "namespaces", ""))
		case !decided:
			return matchMaybe, fmt.Sprintf("the labels of ServiceAccount %s/%s could not be read (%s)", ep.Pod.Namespace, ep.Pod.ServiceAccount, model.RBACRefusal("list", "serviceaccounts", ""))
		case matches:
			return matchYes, ""
		}
		return matchNo, ""
	}
	if fs.matches(e.calico.felixEndpoints, i) {
		return matchYes, ""
	}
	return matchNo, ""
}

// selectorReads: the selector looks at an inherited label other than the
// namespace's name.
func selectorReads(sel *calico.Selector, prefix string) bool {
	for _, k := range sel.Keys() {
		if strings.HasPrefix(k, prefix) && k != prefix+calicoNameLabel {
			return true
		}
	}
	return false
}

// portsMatch: the destination port is one of the ports: a number, a
// range, or a named port the destination pod declares for the flow's
// protocol (felix resolves it on the pods the rule's selector matches).
func (e *Engine) portsMatch(ports []model.CalicoPort, f Flow) match {
	for _, p := range ports {
		if p.Name == "" {
			if f.Port >= int32(p.First) && f.Port <= int32(p.Last) {
				return matchYes
			}
			continue
		}
		if f.To.Pod == nil {
			continue
		}
		if n, ok := f.To.Pod.NamedPort(p.Name, f.Protocol); ok && n == f.Port {
			return matchYes
		}
	}
	return matchNo
}
