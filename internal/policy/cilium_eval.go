package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// TierCilium is the tier of a side Cilium's policy repository decided.
const TierCilium TierName = "cilium"

// CiliumMatch names the rule entry that decided a side (or one of those
// that allowed it).
type CiliumMatch struct {
	// Kind is CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or
	// NetworkPolicy (a Kubernetes one, part of the same repository).
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Rule is the rule's index in specs (0 for spec, or a
	// NetworkPolicy); Section ingress, ingressDeny, egress or egressDeny;
	// Entry the entry's index in that section.
	Rule    int    `json:"rule"`
	Section string `json:"section"`
	Entry   int    `json:"entry"`
	// Peer is the peer field that matched ("fromEndpoints[0]",
	// "toEntities[world]", "toCIDRSet[1]", "every peer").
	Peer string `json:"peer"`
	// Port is the toPorts entry that matched (nil: every port).
	Port   *int   `json:"port,omitempty"`
	Action string `json:"action"` // allow or deny
	// L7: the entry's port carries L7 rules (http, kafka, dns, …).
	L7 bool `json:"l7,omitempty"`
}

// String is "allow by CiliumNetworkPolicy web/allow-api spec[0] ingress[1] fromEndpoints[0]".
func (m *CiliumMatch) String() string {
	where := m.Name
	if m.Namespace != "" {
		where = m.Namespace + "/" + m.Name
	}
	s := fmt.Sprintf("%s by %s %s rule %d %s[%d] %s", m.Action, m.Kind, where, m.Rule, m.Section, m.Entry, m.Peer)
	if m.Port != nil {
		s += fmt.Sprintf(" toPorts[%d]", *m.Port)
	}
	if m.L7 {
		s += " (L7 rules)"
	}
	return s
}

// CiliumSide is how Cilium decided a side.
type CiliumSide struct {
	// Enforcement is enable-policy (default, always, never); Enforced
	// whether this endpoint is default-deny in this direction.
	Enforcement string `json:"enforcement"`
	Enforced    bool   `json:"enforced"`
	// Decision: deny (a deny entry matched), allow (an allow entry),
	// default-deny (selected, nothing allowed), not-enforced, localhost
	// (the node's own traffic to its pods, allow-localhost).
	Decision string `json:"decision"`
	// Matches are the deny entry that decided, or every allow entry
	// that matched.
	Matches []CiliumMatch `json:"matches,omitempty"`
	// one holds the first match in the side's own allocation (matrices
	// evaluate millions of sides).
	one [1]CiliumMatch
	// SelectedBy are the policies whose rules select the pod in this
	// direction.
	SelectedBy []string `json:"selectedBy,omitempty"`
	// L7: allowed at L4, and the requests are filtered by the L7 rules of
	// L7Policies: the connection opens, a request may be refused.
	L7         bool     `json:"l7,omitempty"`
	L7Policies []string `json:"l7Policies,omitempty"`
}

// String words the decision for tables.
func (c *CiliumSide) String() string {
	switch c.Decision {
	case "deny":
		return "cilium: " + c.Matches[0].String()
	case "allow":
		s := "cilium: " + c.Matches[0].String()
		if c.L7 {
			s += "; allowed at L4, requests filtered by L7 rules of " + strings.Join(c.L7Policies, ", ")
		}
		return s
	case "default-deny":
		return "cilium: denied by default (selected by " + strings.Join(c.SelectedBy, ", ") + "; no rule allows)"
	case "localhost":
		return "cilium: the node's own traffic to its pods is allowed (allow-localhost)"
	case "never":
		return "cilium: enable-policy=never, nothing is enforced"
	}
	return "cilium: no rule makes this endpoint default-deny in this direction"
}

// ciliumSides are a flow's two sides and their Cilium reasons, in one
// allocation.
type ciliumSides struct {
	sides  [2]Side
	cilium [2]CiliumSide
}

// ciliumEnd is the other end of a side.
type ciliumEnd struct {
	class  int32 // -1 when not a pod
	pod    *model.Pod
	ip     netip.Addr
	entity string
	labels map[string]string
}

func (l *ciliumLayer) end(e *Engine, ep Endpoint) ciliumEnd {
	if ep.Pod != nil {
		c := l.classOf[e.indexOf(ep)]
		return ciliumEnd{class: c, pod: ep.Pod, labels: l.classes[c].labels}
	}
	if c, ok := l.classOfIP[ep.IP]; ok && ep.Entity == "" || ok && ep.Entity == "world" {
		// A pod's address is the pod: its identity, never world's.
		return ciliumEnd{class: c, pod: l.podOfIP[ep.IP], labels: l.classes[c].labels}
	}
	entity := ep.Entity
	if entity == "" {
		entity = "world"
	}
	return ciliumEnd{class: -1, ip: ep.IP, entity: entity, labels: map[string]string{ciliumReserved + entity: ""}}
}

// rulesFor lists the rules that select the class in the direction
// (computed once per class).
func (l *ciliumLayer) rulesFor(c int32, ingress bool) []int32 {
	return l.dirOf(c, ingress).rules
}

// dirOf is what the rules selecting the class do in the direction.
func (l *ciliumLayer) dirOf(c int32, ingress bool) *ciliumDir {
	cl := l.classes[c]
	cl.once.Do(func() {
		for i, r := range l.rules {
			if r.host || !r.subject.matches(cl.labels) {
				continue
			}
			for dir := range 2 {
				if !r.has[dir] {
					continue
				}
				d := &cl.dirs[dir]
				d.rules = append(d.rules, int32(i))
				d.selectedBy = appendUnique(d.selectedBy, r.ref())
				if r.kind == "NetworkPolicy" {
					d.npNames = appendUnique(d.npNames, r.name)
				}
				d.enforced = d.enforced || r.defaultDeny[dir]
				d.deny = d.deny || len(r.sections[ciliumIngressDeny+2*dir]) > 0
				for _, pe := range r.sections[ciliumIngress+2*dir] {
					for _, cp := range pe.ports {
						d.l7 = d.l7 || cp.l7
					}
				}
				d.requires = append(d.requires, r.requires[dir]...)
			}
		}
	})
	if ingress {
		return &cl.dirs[0]
	}
	return &cl.dirs[1]
}

// selMatches answers a selector for an end, per class for pods.
func (l *ciliumLayer) selMatches(s *ciliumSel, end *ciliumEnd) bool {
	if end.class < 0 {
		return s.matches(end.labels)
	}
	s.once.Do(func() {
		s.classes = make([]bool, len(l.classes))
		for i, c := range l.classes {
			s.classes[i] = s.matches(c.labels)
		}
	})
	return s.classes[end.class]
}

type tri uint8

const (
	no tri = iota
	yes
	maybe
)

// peerMatch answers whether the entry's L3 part selects the end, with the
// field that did.
func (l *ciliumLayer) peerMatch(r *ciliumRule, pe *ciliumPeer, end *ciliumEnd, ingress bool, requires []*ciliumSel) (tri, string) {
	if !pe.l3 {
		if pe.l4 {
			return yes, "every peer (toPorts only)"
		}
		return no, ""
	}
	result, field := no, ""
	for i, s := range pe.sels {
		switch t := l.selTri(s, end); {
		case t == no || (len(requires) > 0 && !l.meetsRequires(requires, end)):
		case t == yes:
			return yes, pe.selNames[i]
		default:
			result, field = maybe, pe.selNames[i]+" (the world identity's label depends on the cluster's IP families)"
		}
	}
	for i, ent := range pe.entities {
		if ciliumEntityMatches(ent, end) {
			return yes, pe.entNames[i]
		}
		if ent == "kube-apiserver" && end.class < 0 && (end.entity == "host" || end.entity == "remote-node") {
			// The API server may run on this node or another one: the
			// kube-apiserver identity is then that node's.
			result, field = maybe, entitiesField(ingress)+"[kube-apiserver] (a node may host the API server)"
		}
	}
	for i, b := range pe.cidrs {
		switch t := l.cidrMatches(&b, end); t {
		case yes:
			return yes, pe.cidrNames[i]
		case maybe:
			result, field = maybe, pe.cidrNames[i]
		}
	}
	if t, f := l.servicesMatch(r, pe, end); t == yes {
		return yes, f
	} else if t == maybe {
		result, field = maybe, f
	}
	switch {
	case end.class < 0 && end.entity == "world" && (pe.fqdn || pe.groups || pe.cidrGroups):
		return maybe, "toFQDNs/groups/CIDR groups (addresses the model does not know)"
	case end.class < 0 && pe.fqdn && (end.entity == "host" || end.entity == "remote-node" || end.entity == "kube-apiserver"):
		return maybe, "toFQDNs (a name may resolve to a node's address)"
	case pe.nodes && (end.entity == "host" || end.entity == "remote-node"):
		return maybe, "nodes (node labels the model does not know)"
	}
	return result, field
}

func entitiesField(ingress bool) string {
	if ingress {
		return "fromEntities"
	}
	return "toEntities"
}

// selTri answers a selector for an end. An outside address is the world
// identity: reserved:world in a single-stack cluster, reserved:world-ipv4
// or world-ipv6 in a dual-stack one (pkg/identity/reserved.go); where the
// two labelings answer differently, the answer depends on the cluster's
// families, which the model does not know.
func (l *ciliumLayer) selTri(s *ciliumSel, end *ciliumEnd) tri {
	match := l.selMatches(s, end)
	if end.class >= 0 || end.entity != "world" {
		if match {
			return yes
		}
		return no
	}
	family := "world-ipv4"
	if end.ip.IsValid() && !end.ip.Unmap().Is4() {
		family = "world-ipv6"
	}
	other := s.matches(map[string]string{ciliumReserved + family: ""})
	switch {
	case match && other:
		return yes
	case !match && !other:
		return no
	}
	return maybe
}

func (l *ciliumLayer) meetsRequires(requires []*ciliumSel, end *ciliumEnd) bool {
	for _, s := range requires {
		if !l.selMatches(s, end) {
			return false
		}
	}
	return true
}

// ciliumEntityMatches maps an entity to the ends it selects
// (pkg/policy/api/entity.go EntitySelectorMapping): cluster is every pod
// and every reserved identity of the cluster (not world).
func ciliumEntityMatches(ent string, end *ciliumEnd) bool {
	switch ent {
	case "all":
		return true
	case "cluster":
		return end.class >= 0 || (end.entity != "world" && end.entity != "")
	case "world", "world-ipv4", "world-ipv6":
		if end.class >= 0 || end.entity != "world" {
			return false
		}
		switch {
		case !end.ip.IsValid() || ent == "world":
			return true
		case ent == "world-ipv4":
			return end.ip.Unmap().Is4()
		default:
			return !end.ip.Unmap().Is4()
		}
	case "none":
		return false
	}
	return end.class < 0 && end.entity == ent
}

// cidrMatches: CIDR selectors never select pods (Documentation/security/
// policy/layer3.rst: "CIDR rules do not apply to traffic where both sides
// of the connection are either managed by Cilium or use an IP belonging
// to a node in the cluster"), nor nodes unless policy-cidr-match-mode
// includes nodes.
func (l *ciliumLayer) cidrMatches(b *ipBlock, end *ciliumEnd) tri {
	switch {
	case end.class >= 0:
		return no
	case end.entity == "world" && end.ip.IsValid():
		if b.contains(end.ip) {
			return yes
		}
		return no
	case end.entity == "world":
		// An outside address the question does not name: the world
		// identity carries the /0 CIDR labels; a narrower range holds
		// some outside addresses and not others.
		if b.cidr.Bits() == 0 && len(b.except) == 0 {
			return yes
		}
		return maybe
	case l.cidrNodes && (end.entity == "remote-node" || end.entity == "host"):
		return maybe // the nodes' addresses are not in the question
	}
	return no
}

// servicesMatch resolves toServices to the Service's pods
// (pkg/policy/k8s/service.go: a Service with a selector becomes
// toEndpoints of that selector in its namespace; one without becomes its
// endpoints' addresses, which the model does not hold).
func (l *ciliumLayer) servicesMatch(r *ciliumRule, pe *ciliumPeer, end *ciliumEnd) (tri, string) {
	result, field := no, ""
	for i, svc := range pe.services {
		f := pe.svcNames[i]
		if svc.K8sService == nil {
			if svc.K8sServiceSelector != nil {
				result, field = maybe, f // Services' own labels are not in the model
			}
			continue
		}
		ns := svc.K8sService.Namespace
		if ns == "" {
			ns = r.namespace
		}
		for _, s := range l.services {
			if s.Name != svc.K8sService.ServiceName || (ns != "" && s.Namespace != ns) {
				continue
			}
			if len(s.Selector) == 0 {
				if end.class < 0 && end.entity == "world" {
					result, field = maybe, f
				}
				continue
			}
			if end.pod != nil && end.pod.Namespace == s.Namespace && labelsMatch(s.Selector, end.pod.Labels) {
				return yes, f
			}
		}
	}
	return result, field
}

func labelsMatch(sel, labels map[string]string) bool {
	for k, v := range sel {
		if w, ok := labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// portMatch answers whether the entry's L4 part matches, which toPorts
// entry did (one without L7 rules first), whether a matching port carries
// L7 rules, and whether one without L7 rules matches it too (then no
// request is filtered: an L4-only allow of the same port merges an empty
// L7 rule, pkg/policy/l4.go mergePortProto; one of every port or a range
// is checked by the proxy beside the port's own).
func portMatch(pe *ciliumPeer, dst *model.Pod, port int32, proto corev1.Protocol) (ok bool, entry *int, l7, exact bool) {
	if !pe.l4 {
		return true, nil, false, true // every port: no request filtered
	}
	p := string(proto)
	if p == "ICMP" {
		for _, r := range pe.icmps {
			for _, f := range r.Fields {
				t := strings.Trim(string(f.Type), `"`)
				if (f.Family == "" || f.Family == "IPv4") && (t == "8" || t == "EchoRequest") {
					return true, nil, false, false
				}
			}
		}
		return false, nil, false, false
	}
	found, entryL7 := false, false
	for i := range pe.ports {
		cp := &pe.ports[i]
		if cp.protocol != p && (cp.protocol != "ANY" || (p != "TCP" && p != "UDP" && p != "SCTP")) {
			continue
		}
		var hit bool
		switch {
		case cp.name != "":
			if dst != nil {
				n, found := dst.NamedPort(cp.name, proto)
				hit = found && n == port
			}
		case cp.port == 0:
			hit = true
		case cp.end > cp.port:
			hit = port >= cp.port && port <= cp.end
		default:
			hit = port == cp.port
		}
		if !hit {
			continue
		}
		if !found || (entryL7 && !cp.l7) {
			entry, entryL7 = intPtr(cp.entry), cp.l7
		}
		found = true
		// The proxy also checks the rules of other ports that hold this
		// one (a wildcard or a range: cilium/proxy network_policy.cc
		// PortPolicy::for_range), so any entry without L7 rules that
		// matches leaves the requests unfiltered.
		if cp.l7 {
			l7 = true
		} else {
			exact = true
		}
	}
	return found, entry, l7, exact
}

// ciliumVersionAtLeast reports whether a known version is at least
// major.minor (ok false when unknown).
func ciliumVersionAtLeast(v string, major, minor int) (atLeast, ok bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false, false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false, false
	}
	return ma > major || (ma == major && mi >= minor), true
}

// ciliumDecision is a side's outcome while it is worked out.
type ciliumDecision struct {
	verdict   Verdict
	undecided string
	c         CiliumSide
	m         ciliumEntry
}

// ciliumSide decides one side as Cilium's repository does: deny entries
// first (they win over any allow), then, if a rule makes the endpoint
// default-deny in the direction (or enable-policy=always), the allow
// entries of every rule selecting it, Kubernetes NetworkPolicies included.
func (e *Engine) ciliumSide(s *Side, f Flow, pod *model.Pod, ingress bool, all bool) *Side {
	l := e.cilium
	*s = Side{Tier: TierCilium, AllowedBy: []RuleRef{}, IsolatedBy: []string{}}
	if l.unsupported != "" {
		s.Verdict, s.Undecided = Unspecified, l.unsupported
		return s
	}
	if pod != nil && len(l.stale) > 0 {
		if why := l.staleFor(pod.Namespace); why != "" {
			s.Verdict, s.Undecided = Unspecified, why
			return s
		}
	}
	self, peer := f.From, f.To
	if ingress {
		self, peer = f.To, f.From
	}
	var d ciliumDecision
	l.decide(&d, e, self, peer, f, ingress, l.enablePolicy, all)
	if l.modeUnknown {
		for _, mode := range []string{"default", "always", "never"} {
			var other ciliumDecision
			if l.decide(&other, e, self, peer, f, ingress, mode, all); other.verdict != d.verdict {
				d.verdict, d.undecided = Unspecified, "Cilium's enable-policy mode decides it and the cilium-config ConfigMap could not be read"
				break
			}
		}
	}
	s.Verdict, s.Undecided = d.verdict, d.undecided
	var c *CiliumSide
	switch {
	case f.cilium == nil:
		c = &CiliumSide{}
	case ingress:
		c = &f.cilium[1]
	default:
		c = &f.cilium[0]
	}
	*c = d.c
	if d.m.n > 0 {
		c.one[0] = d.m.first
		c.Matches = append(c.one[:1:1], d.m.rest...)
	}
	s.Cilium = c
	s.Isolated = c.Enforced
	npAllows := 0
	for i := range c.Matches {
		if c.Matches[i].Kind == "NetworkPolicy" && c.Matches[i].Action == "allow" {
			npAllows++
		}
	}
	if npAllows > 0 {
		s.AllowedBy = make([]RuleRef, 0, npAllows)
		for _, m := range c.Matches {
			if m.Kind == "NetworkPolicy" && m.Action == "allow" {
				s.AllowedBy = append(s.AllowedBy, RuleRef{Namespace: m.Namespace, Name: m.Name, Rule: m.Entry, Port: m.Port})
			}
		}
	}
	if names := l.dirOf(l.classOf[e.indexOf(self)], ingress).npNames; names != nil {
		s.IsolatedBy = names
	}
	return s
}

func (l *ciliumLayer) decide(d *ciliumDecision, e *Engine, self, peerEP Endpoint, f Flow, ingress bool, mode string, all bool) {
	d.c.Enforcement = mode
	if mode == "never" {
		d.verdict, d.c.Decision = Allowed, "never"
		return
	}
	dir := l.dirOf(l.classOf[e.indexOf(self)], ingress)
	requires := dir.requires
	d.c.SelectedBy, d.c.Enforced = dir.selectedBy, dir.enforced
	// Matrices stop at the first allow unless an L7 rule may still change
	// the answer's l7.
	stop := !all && !dir.l7
	if l.release119 != nil {
		// Before 1.19 (requires folded in) and from 1.19 (the policies
		// that use them refused): decided only where both agree.
		later := *d
		l.release119.decide(&later, e, self, peerEP, f, ingress, mode, all)
		l.decideWith(d, e, dir, requires, peerEP, f, ingress, stop)
		if d.verdict != later.verdict {
			d.verdict, d.undecided = Unspecified, "a policy uses fromRequires/toRequires, which Cilium releases before 1.19 enforce and from 1.19 refuse, and the answer depends on it; the running version is unknown"
		}
		return
	}
	l.decideWith(d, e, dir, requires, peerEP, f, ingress, stop)
}

func (l *ciliumLayer) decideWith(d *ciliumDecision, e *Engine, cd *ciliumDir, requires []*ciliumSel, peerEP Endpoint, f Flow, ingress bool, stop bool) {
	dir := 1
	if ingress {
		dir = 0
	}
	rules := cd.rules
	if d.c.Enforcement == "always" {
		d.c.Enforced = true
	}
	end := l.end(e, peerEP)
	dst := f.To.Pod
	var denied ciliumEntry
	deny, allow := &denied, &d.m
	for _, ri := range rules {
		if !cd.deny {
			break
		}
		l.scan(l.rules[ri], ciliumIngressDeny+2*dir, &end, dst, f, ingress, requires, deny, true)
		if deny.yes {
			break
		}
	}
	localhost := ingress && end.entity == "host" && end.class < 0 && l.allowLocalhost
	switch {
	case deny.yes && localhost:
		// The node's own traffic against a deny: releases that insert
		// the allow-localhost entry deny-preferred let the deny win
		// (pkg/policy/mapstate.go determineAllowLocalhostIngress,
		// denyPreferredInsert), those that insert it at the top
		// precedence (Priority(0).ToPassPrecedence()) let it pass.
		d.verdict, d.undecided = Unspecified, "Cilium: a deny entry matches the node's own traffic, which allow-localhost lets through in some releases and not in others"
		return
	case deny.yes:
		deny.rest, deny.n = nil, 1
		d.verdict, d.c.Decision, d.m = Denied, "deny", denied
		return
	case localhost:
		d.verdict, d.c.Decision = Allowed, "localhost"
	case !d.c.Enforced:
		d.verdict, d.c.Decision = Allowed, "not-enforced"
	default:
		for _, ri := range rules {
			l.scan(l.rules[ri], ciliumIngress+2*dir, &end, dst, f, ingress, requires, allow, stop)
			if allow.yes && stop {
				break
			}
		}
		switch {
		case allow.yes:
			d.verdict, d.c.Decision = Allowed, "allow"
			d.c.L7 = allow.l7 && !allow.plainExact
			if d.c.L7 {
				d.c.L7Policies = allow.l7Policies
			}
		case allow.maybe != "":
			d.verdict, d.undecided = Unspecified, "Cilium: "+allow.maybe+" may allow it"
		default:
			d.verdict, d.c.Decision = Denied, "default-deny"
		}
	}
	if deny.maybe != "" && d.verdict == Allowed {
		d.verdict, d.undecided = Unspecified, "Cilium: "+deny.maybe+" may deny it"
	}
}

// ciliumEntry collects the entries of one kind (allow or deny) that
// matched a flow.
type ciliumEntry struct {
	yes bool
	// first, then rest, are the entries that matched (n in all).
	first          CiliumMatch
	rest           []CiliumMatch
	n              int
	maybe          string
	l7, plainExact bool
	l7Policies     []string
}

// scan matches a section's entries of one rule against the flow.
func (l *ciliumLayer) scan(r *ciliumRule, section int, end *ciliumEnd, dst *model.Pod, f Flow, ingress bool, requires []*ciliumSel, out *ciliumEntry, stop bool) {
	action := "allow"
	if section == ciliumIngressDeny || section == ciliumEgressDeny {
		action = "deny"
	}
	for i := range r.sections[section] {
		pe := &r.sections[section][i]
		ok, entry, l7, exact := portMatch(pe, dst, f.Port, f.Protocol)
		if !ok {
			continue
		}
		t, field := l.peerMatch(r, pe, end, ingress, requires)
		switch t {
		case yes:
			out.yes = true
			m := CiliumMatch{Kind: r.kind, Namespace: r.namespace, Name: r.name, Rule: r.index,
				Section: ciliumSectionNames[section], Entry: pe.index, Peer: field, Port: entry, Action: action, L7: l7 && !exact}
			if out.n == 0 {
				out.first = m
			} else {
				out.rest = append(out.rest, m)
			}
			out.n++
			if l7 {
				out.l7 = true
				out.l7Policies = appendUnique(out.l7Policies, r.ref())
			}
			out.plainExact = out.plainExact || exact
			if stop {
				return
			}
		case maybe:
			if out.maybe == "" {
				out.maybe = fmt.Sprintf("%s rule %d %s[%d] %s", r.ref(), r.index, ciliumSectionNames[section], pe.index, field)
			}
		}
	}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// ciliumSignature tells pods apart that Cilium's selectors may treat
// differently: their security identity (labels, namespace labels,
// ServiceAccount); "" when Cilium does not enforce. Pods of one identity
// (and one GroupKey: named ports) get equal verdicts.
func (e *Engine) ciliumSignature(p *model.Pod) string {
	if e.cilium == nil {
		return ""
	}
	i, ok := e.podIndex[p]
	if !ok {
		return ""
	}
	return "|cilium:" + strconv.Itoa(int(e.cilium.classOf[i]))
}
