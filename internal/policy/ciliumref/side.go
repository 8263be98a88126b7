package ciliumref

// One side of a connection: the egress of the source pod or the ingress of
// the destination pod.
//
// Sources:
//   - Documentation/security/policy/intro.rst @25972d8e: enable-policy
//     default (default deny in a direction once a rule selecting the
//     endpoint has that section), always (default deny even if no rule
//     selects), never (everything allowed); rules add up (whitelist union).
//   - pkg/policy/api/rule.go EnableDefaultDeny: "If multiple policies apply
//     to an endpoint, that endpoint's default deny will be enabled if any
//     policy requests it."; a rule with default deny disabled adds no deny
//     (the repository adds a wildcard allow when no selecting rule enables
//     default deny, repository_test "wildcard must be added").
//   - Documentation/security/policy/deny.rst @94b67c85: "Deny policies take
//     precedence over allow policies, regardless of whether they are a Cilium
//     Network Policy, a Clusterwide Cilium Network Policy or even a
//     Kubernetes Network Policy"; a deny policy alone puts the pod into
//     default deny (last column of the table).
//   - layer3.rst note and pkg/policy/mapstate.go determineAllowLocalhostIngress
//     + pkg/option AlwaysAllowLocalhost: traffic from the local host to its
//     pods is allowed unless allow-localhost=policy. (Whether an ingressDeny
//     can still drop it has changed across versions: answered unspecified.)

import (
	"fmt"
	"strings"
)

type sideResult struct {
	verdict Verdict
	l7      bool
	reason  string
}

// ruleMatch accumulates the matching of one direction's rules.
type ruleMatch struct {
	selecting   []string
	defaultDeny []string
	deny        tri
	denyBy      string
	allow       tri
	yesBy       []string
	maybeBy     []string
	allL7       bool
}

// evalSide decides one direction for the pod `subject`, with `peer` at the
// other end.
func (ctx *evalCtx) evalSide(subject, peer *endpointInfo, dir direction, conn connection) sideResult {
	label := fmt.Sprintf("%s of %s", dir, subject.desc)
	m := ctx.matchRules(subject, peer, dir, conn)
	if dir == dirIngress && peer.entity == "host" && ctx.allowLocal {
		if m.deny != no {
			return sideResult{verdict: Unspecified, reason: label + ": local host is always allowed (allow-localhost) but " + m.denyBy + " denies it"}
		}
		return sideResult{verdict: Allowed, reason: label + ": local host is always allowed (allow-localhost default)"}
	}
	if m.deny == yes {
		return sideResult{verdict: Denied, reason: label + ": denied by " + m.denyBy}
	}
	enforced := ctx.mode == "always" || len(m.defaultDeny) > 0
	allow := yes
	if enforced {
		allow = m.allow
	}
	switch {
	case allow == no:
		return sideResult{verdict: Denied, reason: label + ": default deny (" + enforcedBy(ctx.mode, m.defaultDeny) + "), no rule allows it"}
	case m.deny == maybe:
		return sideResult{verdict: Unspecified, reason: label + ": may be denied by " + m.denyBy}
	case allow == maybe:
		return sideResult{verdict: Unspecified, reason: label + ": may be allowed by " + strings.Join(m.maybeBy, ", ")}
	}
	if !enforced {
		return sideResult{verdict: Allowed, reason: label + ": not in default deny (" + selectedBy(m.selecting) + ")"}
	}
	return sideResult{verdict: Allowed, l7: m.allL7, reason: label + ": allowed by " + strings.Join(m.yesBy, ", ")}
}

func enforcedBy(mode string, rules []string) string {
	if len(rules) == 0 {
		return "enable-policy=" + mode
	}
	return "selected by " + strings.Join(rules, ", ")
}

func selectedBy(rules []string) string {
	if len(rules) == 0 {
		return "no rule selects it"
	}
	return "selecting rules do not enable default deny: " + strings.Join(rules, ", ")
}

// matchRules loops over every rule selecting the subject in this direction.
func (ctx *evalCtx) matchRules(subject, peer *endpointInfo, dir direction, conn connection) ruleMatch {
	m := ruleMatch{allL7: true}
	reqs := ctx.collectRequirements(subject, dir)
	for _, r := range ctx.rules {
		if !r.subject.matches(subject.labelSets[0]) {
			continue
		}
		if len(r.allows[dir])+len(r.denies[dir]) == 0 {
			continue // the rule has no section in this direction
		}
		m.selecting = append(m.selecting, r.origin)
		if r.defaultDeny[dir] {
			m.defaultDeny = append(m.defaultDeny, r.origin)
		}
		for _, e := range r.denies[dir] {
			t, _ := ctx.matchEntry(e, peer, conn, reqs[1])
			if t > m.deny {
				m.deny, m.denyBy = t, e.desc
			}
		}
		for _, e := range r.allows[dir] {
			ctx.addAllow(&m, e, peer, conn, reqs[0])
		}
	}
	if m.allow != yes {
		m.allL7 = false
	}
	return m
}

// addAllow folds one allow entry into the match.
func (ctx *evalCtx) addAllow(m *ruleMatch, e entry, peer *endpointInfo, conn connection, reqs []selector) {
	t, l7 := ctx.matchEntry(e, peer, conn, reqs)
	switch t {
	case yes:
		m.yesBy = append(m.yesBy, e.desc)
		if !l7 {
			m.allL7 = false
		}
	case maybe:
		m.maybeBy = append(m.maybeBy, e.desc)
	}
	m.allow = or(m.allow, t)
}

// matchEntry: peers AND L4. An entry without peers and without L4 selects
// nothing; an entry without peers but with L4 selects every peer. reqs are
// the requirements folded into fromEndpoints/toEndpoints (requires.go).
func (ctx *evalCtx) matchEntry(e entry, peer *endpointInfo, conn connection, reqs []selector) (tri, bool) {
	l3 := ctx.matchPeers(e, peer, reqs)
	if l3 == no {
		return no, false
	}
	l4, l7 := e.matchL4(conn)
	t := and(l3, l4)
	if t == yes && e.authMaybe {
		t = maybe
	}
	return t, l7 && t == yes
}

// matchPeers ORs the entry's peers for each label set the endpoint may have
// (so that e.g. world's three selectors together match either world label
// set), then combines the label sets: yes if every set matches, no if none.
func (ctx *evalCtx) matchPeers(e entry, ep *endpointInfo, reqs []selector) tri {
	lo, hi := yes, no
	for _, lbls := range ep.labelSets {
		t := triOf(e.wildcard)
		for _, p := range e.peers {
			if p.endpoints && !meetsRequirements(reqs, lbls) {
				continue
			}
			t = or(t, ctx.matchPeerOn(p, ep, lbls))
		}
		lo, hi = min(lo, t), max(hi, t)
	}
	switch {
	case lo == yes:
		return yes
	case hi == no:
		return no
	}
	return maybe
}
