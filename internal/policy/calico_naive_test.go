package policy_test

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/calico"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// A deliberately naive reference for Calico: for every flow it converts
// every policy again, the way Calico's update processors convert them for
// felix (libcalico-go/lib/backend/syncersv1/updateprocessors), orders them
// as felix's policy sorter does, and walks the endpoint's chain as felix's
// rule renderer writes it (felix/rules/endpoints.go, policy.go). It shares
// no code with the engine; the property test compares the two.

// Labels and names Calico gives endpoints and profiles
// (libcalico-go/lib/backend/k8s/conversion).
const (
	labelNamespace      = "projectcalico.org/namespace"
	labelOrchestrator   = "projectcalico.org/orchestrator"
	labelServiceAccount = "projectcalico.org/serviceaccount"
	profileNameLabel    = "projectcalico.org/name"
	namespacePrefix     = "pcns."
	serviceAccountPref  = "pcsa."
	k8sPolicyPrefix     = "knp.default."
	k8sPolicyOrder      = 1000.0
	defaultTierOrder    = 1e6
)

// tri is a match that may be open: the model does not say.
type tri int

const (
	no tri = iota
	yes
	open
)

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

func (t tri) and(u tri) tri {
	if t == no || u == no {
		return no
	}
	if t == open || u == open {
		return open
	}
	return yes
}

func (t tri) not() tri {
	switch t {
	case yes:
		return no
	case no:
		return yes
	}
	return open
}

// outcomes are the answers a side may give: both when the model leaves a
// match open and the two answers differ.
type outcomes struct{ allowed, denied bool }

var (
	sideAllows = outcomes{allowed: true}
	sideDenies = outcomes{denied: true}
	sideOpen   = outcomes{allowed: true, denied: true}
)

func (o outcomes) union(p outcomes) outcomes {
	return outcomes{o.allowed || p.allowed, o.denied || p.denied}
}

// naiveCalicoVerdict decides a flow under felix: allowed iff the source
// pod's egress chain and the destination pod's ingress chain both accept.
func naiveCalicoVerdict(m *model.Model, f policy.Flow) policy.Verdict {
	if f.From.Pod != nil && f.From.Pod == f.To.Pod && !f.Replicas {
		return policy.Allowed // felix never sees a pod's packets to itself
	}
	if len(m.OtherLayers) > 0 || hostNetworked(f.From) || hostNetworked(f.To) {
		return policy.Unspecified
	}
	ev := flowEvaluation{m: m, f: f, policies: felixPolicies(m), labels: map[*model.Pod]calico.LabelMap{}}
	mayAllow, mayDeny := ev.verdicts()
	if usesTiers(ev.policies) {
		// Which Calico runs is not in the model: v3.30 and later order
		// by tier, earlier versions (felix's PolicySorter has only the
		// default tier) ignore tiers. Every possibility counts.
		flat := ev
		flat.flat = true
		a, d := flat.verdicts()
		mayAllow, mayDeny = mayAllow || a, mayDeny || d
	}
	switch {
	case mayAllow && mayDeny:
		return policy.Unspecified
	case mayAllow:
		return policy.Allowed
	}
	return policy.Denied
}

func hostNetworked(e policy.Endpoint) bool { return e.Pod != nil && e.Pod.HostNetwork }

// verdicts: whether the flow may be allowed, may be denied.
func (ev *flowEvaluation) verdicts() (mayAllow, mayDeny bool) {
	egress, ingress := sideAllows, sideAllows
	if ev.f.From.Pod != nil {
		egress = ev.side(ev.f.From.Pod, "Egress")
	}
	if ev.f.To.Pod != nil {
		ingress = ev.side(ev.f.To.Pod, "Ingress")
	}
	return egress.allowed && ingress.allowed, egress.denied || ingress.denied
}

func usesTiers(policies []felixPolicy) bool {
	for _, p := range policies {
		if p.tier != "default" {
			return true
		}
	}
	return false
}

// felixPolicy is a policy as felix holds it after conversion.
type felixPolicy struct {
	key      string // felix's PolicyKey name: "<ns>/<stored name>" or "<stored name>"
	tier     string
	order    *float64
	selector string
	ingress  bool
	egress   bool
	inRules  []felixRule
	outRules []felixRule
	// failClosed: what the engine may not decide (refused by the API
	// server, or host-endpoint-only behaviour).
	failClosed bool
}

// felixRule is a rule after rules.go: entity selectors already combined
// with the namespace and service account clauses.
type felixRule struct {
	action                      string
	protocol, notProtocol       *model.CalicoProtocol
	ipVersion                   *int
	srcNets, notSrcNets         []string
	dstNets, notDstNets         []string
	srcSelector, notSrcSelector string
	dstSelector, notDstSelector string
	dstPorts, notDstPorts       []model.CalicoPort
	openMatch                   bool // HTTP, services, source ports, ICMP
}

// flowEvaluation is what one flow's evaluation reads: the policies
// converted for this flow and the endpoint labels built for it.
type flowEvaluation struct {
	m        *model.Model
	f        policy.Flow
	policies []felixPolicy
	labels   map[*model.Pod]calico.LabelMap
	// flat: every policy in the default tier (Calico before v3.30).
	flat bool
}

// side walks one pod's chain for one direction.
func (ev *flowEvaluation) side(pod *model.Pod, direction string) outcomes {
	var chain []chainEntry
	for _, fp := range ev.policies {
		if (direction == "Ingress" && !fp.ingress) || (direction == "Egress" && !fp.egress) {
			continue
		}
		applies := ev.selectorMatches(fp.selector, pod)
		if applies == no {
			continue
		}
		rules := fp.inRules
		if direction == "Egress" {
			rules = fp.outRules
		}
		if ev.flat {
			fp.tier = "default"
		}
		chain = append(chain, chainEntry{policy: fp, rules: rules, applies: applies})
	}
	sortChain(ev.m, chain)
	w := chainWalk{ev: ev, chain: chain}
	return w.fromPolicy(0, false)
}

type chainEntry struct {
	policy  felixPolicy
	rules   []felixRule
	applies tri
}

// sortChain orders tiers by order (nil last) then name, and policies in a
// tier as felix's PolKVLess does: order (nil last), then key name.
func sortChain(m *model.Model, chain []chainEntry) {
	sort.SliceStable(chain, func(i, j int) bool {
		a, b := chain[i].policy, chain[j].policy
		if a.tier != b.tier {
			return orderLess(tierOrder(m, a.tier), tierOrder(m, b.tier), a.tier, b.tier)
		}
		return orderLess(a.order, b.order, a.key, b.key)
	})
}

func orderLess(a, b *float64, nameA, nameB string) bool {
	switch {
	case a == nil && b == nil, a != nil && b != nil && *a == *b:
		return nameA < nameB
	case a == nil:
		return false
	case b == nil:
		return true
	}
	return *a < *b
}

func tierOrder(m *model.Model, tier string) *float64 {
	for _, t := range m.CalicoTiers {
		if t.Name == tier {
			return t.Order
		}
	}
	if tier == "default" {
		order := defaultTierOrder
		return &order
	}
	return nil
}

// chainWalk follows felix's endpoint chain: policies in order; Allow
// accepts, Deny drops, Pass skips the rest of the tier, Log goes on; a
// tier whose policies applied and none passed drops; after the tiers the
// namespace profile allows.
type chainWalk struct {
	ev    *flowEvaluation
	chain []chainEntry
}

func (w *chainWalk) fromPolicy(i int, tierApplied bool) outcomes {
	if i == len(w.chain) || (i > 0 && w.chain[i].policy.tier != w.chain[i-1].policy.tier) {
		if tierApplied {
			return sideDenies // end of tier
		}
		if i == len(w.chain) {
			return sideAllows // the namespace profile
		}
	}
	if w.chain[i].policy.failClosed {
		// Reached, it may do anything; behind a decision it cannot matter.
		return sideOpen
	}
	switch w.chain[i].applies {
	case yes:
		return w.fromRule(i, 0)
	case open:
		return w.fromRule(i, 0).union(w.fromPolicy(i+1, tierApplied))
	}
	return w.fromPolicy(i+1, tierApplied)
}

func (w *chainWalk) fromRule(i, r int) outcomes {
	if r == len(w.chain[i].rules) {
		return w.fromPolicy(i+1, true)
	}
	switch w.ev.ruleMatches(w.chain[i].rules[r]) {
	case yes:
		return w.act(i, r)
	case open:
		return w.act(i, r).union(w.fromRule(i, r+1))
	}
	return w.fromRule(i, r+1)
}

func (w *chainWalk) act(i, r int) outcomes {
	switch w.chain[i].rules[r].action {
	case "Allow":
		return sideAllows
	case "Deny":
		return sideDenies
	case "Log":
		return w.fromRule(i, r+1)
	}
	// Pass: on to the first policy of the next tier, with its own end.
	next := i + 1
	for next < len(w.chain) && w.chain[next].policy.tier == w.chain[i].policy.tier {
		next++
	}
	if next == len(w.chain) {
		return sideAllows
	}
	return w.fromPolicy(next, false)
}

// felixPolicies converts every enforced policy again, Calico's and the
// Kubernetes ones.
func felixPolicies(m *model.Model) []felixPolicy {
	var out []felixPolicy
	for _, p := range m.CalicoPolicies {
		if p.Staged() {
			continue // recorded, never enforced
		}
		out = append(out, memoConverted(p, func() felixPolicy { return convertCalicoPolicy(p) }))
	}
	for _, np := range m.Policies {
		out = append(out, memoConverted(np, func() felixPolicy { return convertCalicoPolicy(kubernetesAsCalico(np)) }))
	}
	return out
}

// convertedPolicies memoizes the conversion of one policy object, a
// function of that object alone (tests never change a policy in place;
// the shrinker copies): which pods it selects, the order and the walk are
// still worked out again for every flow.
var convertedPolicies = map[any]felixPolicy{}

func memoConverted(object any, convert func() felixPolicy) felixPolicy {
	if fp, ok := convertedPolicies[object]; ok {
		return fp
	}
	fp := convert()
	convertedPolicies[object] = fp
	return fp
}

// convertCalicoPolicy is networkpolicyprocessor.go and
// globalnetworkpolicyprocessor.go, after the API server's defaulting for
// the API group (clientv3: defaultPolicyTypesField, "default." names).
func convertCalicoPolicy(p *model.CalicoPolicy) felixPolicy {
	tier := p.Tier
	if tier == "" {
		tier = "default"
	}
	stored := p.Name
	types := p.Types
	if p.Group == model.CalicoAPIGroup {
		if !strings.HasPrefix(p.Name, "knp.") {
			stored = tier + "." + p.Name
		}
		types = defaultedTypes(p)
	}
	fp := felixPolicy{
		key: stored, tier: tier, order: p.Order,
		failClosed: len(p.Problems) > 0 || p.DoNotTrack || p.PreDNAT,
	}
	if p.Global() {
		fp.selector = globalPolicySelector(p)
	} else {
		fp.key = p.Namespace + "/" + stored
		fp.selector = namespacedPolicySelector(p)
	}
	fp.ingress, fp.egress = len(types) == 0, len(types) == 0 // felix: no types, both directions
	for _, t := range types {
		fp.ingress = fp.ingress || strings.EqualFold(t, "Ingress")
		fp.egress = fp.egress || strings.EqualFold(t, "Egress")
	}
	for _, r := range p.Ingress {
		fp.inRules = append(fp.inRules, convertRule(r, p.Namespace))
	}
	for _, r := range p.Egress {
		fp.outRules = append(fp.outRules, convertRule(r, p.Namespace))
	}
	return fp
}

func defaultedTypes(p *model.CalicoPolicy) []string {
	switch {
	case len(p.Types) > 0:
		return p.Types
	case len(p.Egress) == 0:
		return []string{"Ingress"}
	case len(p.Ingress) == 0:
		return []string{"Egress"}
	}
	return []string{"Ingress", "Egress"}
}

func namespacedPolicySelector(p *model.CalicoPolicy) string {
	nsSelector := fmt.Sprintf("%s == '%s'", labelNamespace, p.Namespace)
	selector := nsSelector
	if p.Selector != "" {
		selector = fmt.Sprintf("(%s) && %s", p.Selector, nsSelector)
	}
	return prefixAndAppend(selector, p.ServiceAccountSelector, serviceAccountPref)
}

func globalPolicySelector(p *model.CalicoPolicy) string {
	selector := p.Selector
	if p.NamespaceSelector != "" {
		selector = prefixAndAppend(selector, p.NamespaceSelector, namespacePrefix)
		selector = strings.ReplaceAll(selector, "all()", "has("+labelNamespace+")")
	}
	if p.ServiceAccountSelector != "" {
		selector = prefixAndAppend(selector, p.ServiceAccountSelector, serviceAccountPref)
		selector = strings.ReplaceAll(selector, "all()", "has("+labelServiceAccount+")")
	}
	return selector
}

// prefixAndAppend is selectors.go's: the new selector with its keys
// prefixed, in canonical form, and-ed on.
func prefixAndAppend(current, added, prefix string) string {
	if added == "" {
		return current
	}
	prefixed := withPrefix(added, prefix)
	switch {
	case prefixed == "":
		return current
	case current == "":
		return prefixed
	}
	return fmt.Sprintf("(%s) && %s", current, prefixed)
}

func withPrefix(selector, prefix string) string {
	key := prefix + "\x00" + selector
	if out, ok := prefixedSelectors[key]; ok {
		return out
	}
	out := ""
	if s, err := parseSelector(selector); err == nil {
		out = s.WithPrefix(prefix).String()
	}
	prefixedSelectors[key] = out
	return out
}

// prefixedSelectors memoizes withPrefix, a function of its strings alone.
var prefixedSelectors = map[string]string{}

// parsedSelectors memoizes the parser only (selectors are immutable), so
// that re-reading every policy for every flow stays affordable.
var parsedSelectors = map[string]*calico.Selector{}

func parseSelector(selector string) (*calico.Selector, error) {
	if s, ok := parsedSelectors[selector]; ok {
		return s, nil
	}
	s, err := calico.ParseSelector(selector)
	if err == nil {
		parsedSelectors[selector] = s
	}
	return s, err
}

// convertRule is rules.go's RuleAPIV2ToBackend.
func convertRule(r model.CalicoRule, namespace string) felixRule {
	return felixRule{
		action: r.Action, protocol: r.Protocol, notProtocol: r.NotProtocol, ipVersion: r.IPVersion,
		srcNets: r.Source.Nets, notSrcNets: r.Source.NotNets,
		dstNets: r.Destination.Nets, notDstNets: r.Destination.NotNets,
		srcSelector: entitySelector(r.Source, namespace), notSrcSelector: r.Source.NotSelector,
		dstSelector: entitySelector(r.Destination, namespace), notDstSelector: r.Destination.NotSelector,
		dstPorts: r.Destination.Ports, notDstPorts: r.Destination.NotPorts,
		openMatch: r.HTTP || r.ICMP || r.NotICMP || r.Source.Services != nil || r.Destination.Services != nil ||
			len(r.Source.Ports) > 0 || len(r.Source.NotPorts) > 0,
	}
}

// entitySelector is rules.go's getEndpointSelector: the service account
// and endpoint selectors, limited to the namespace clause as soon as any
// selector field is used (the notSelector stays apart, unlimited).
func entitySelector(e model.CalicoEntity, namespace string) string {
	nsSelector := ""
	if e.NamespaceSelector != "" {
		nsSelector = withPrefix(e.NamespaceSelector, namespacePrefix)
		nsSelector = strings.ReplaceAll(nsSelector, "all()", "has("+labelNamespace+")")
		nsSelector = strings.ReplaceAll(nsSelector, "global()", "!has("+labelNamespace+")")
	} else if namespace != "" {
		nsSelector = fmt.Sprintf("%s == '%s'", labelNamespace, namespace)
	}
	var parts []string
	if e.ServiceAccounts != nil {
		if sa := serviceAccountSelector(e.ServiceAccounts); sa != "" {
			parts = append(parts, sa)
		}
	}
	if e.Selector != "" {
		parts = append(parts, e.Selector)
	}
	selector := ""
	switch len(parts) {
	case 1:
		selector = parts[0]
	case 2:
		selector = "(" + strings.Join(parts, ") && (") + ")"
	}
	if nsSelector != "" && (selector != "" || e.NotSelector != "" || e.NamespaceSelector != "") {
		if selector != "" {
			return fmt.Sprintf("(%s) && (%s)", nsSelector, selector)
		}
		return nsSelector
	}
	return selector
}

// serviceAccountSelector is rules.go's parseServiceAccounts.
func serviceAccountSelector(sa *model.CalicoServiceAccounts) string {
	selector := ""
	if sa.Selector != "" {
		selector = withPrefix(sa.Selector, serviceAccountPref)
	}
	if len(sa.Names) == 0 {
		return selector
	}
	names, err := parseSelector(fmt.Sprintf("%s in { '%s' }", labelServiceAccount, strings.Join(sa.Names, "', '")))
	if err != nil {
		return ""
	}
	if selector != "" {
		return fmt.Sprintf("(%s) && (%s)", selector, names.String())
	}
	return names.String()
}

// kubernetesAsCalico is conversion.go's K8sNetworkPolicyToCalico: the
// policy "knp.default.<name>" at order 1000 with one Allow rule per
// protocol and peer. policyTypes are first defaulted as the Kubernetes
// API server does when it stores the policy.
func kubernetesAsCalico(np *networkingv1.NetworkPolicy) *model.CalicoPolicy {
	order := k8sPolicyOrder
	p := &model.CalicoPolicy{
		Kind: model.CalicoNetworkPolicy, Group: model.CalicoCRDGroup,
		Namespace: np.Namespace, Name: k8sPolicyPrefix + np.Name, Order: &order,
		Selector: k8sSelector(&np.Spec.PodSelector, true),
	}
	ingress, egress := false, false
	for _, t := range np.Spec.PolicyTypes {
		ingress = ingress || t == networkingv1.PolicyTypeIngress
		egress = egress || t == networkingv1.PolicyTypeEgress
	}
	if len(np.Spec.PolicyTypes) == 0 {
		ingress, egress = true, len(np.Spec.Egress) > 0
	}
	if ingress || !egress {
		p.Types = append(p.Types, "Ingress")
	}
	if egress {
		p.Types = append(p.Types, "Egress")
	}
	for _, r := range np.Spec.Ingress {
		p.Ingress = append(p.Ingress, k8sRules(r.From, r.Ports, true)...)
	}
	for _, r := range np.Spec.Egress {
		p.Egress = append(p.Egress, k8sRules(r.To, r.Ports, false)...)
	}
	return p
}

func k8sSelector(s *metav1.LabelSelector, pods bool) string {
	var terms []string
	if pods {
		terms = append(terms, labelOrchestrator+" == 'k8s'")
	}
	if s == nil {
		return strings.Join(terms, " && ")
	}
	if !pods && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		return "all()"
	}
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		terms = append(terms, fmt.Sprintf("%s == '%s'", k, s.MatchLabels[k]))
	}
	for _, e := range s.MatchExpressions {
		values := strings.Join(e.Values, "', '")
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			terms = append(terms, fmt.Sprintf("%s in { '%s' }", e.Key, values))
		case metav1.LabelSelectorOpNotIn:
			terms = append(terms, fmt.Sprintf("%s not in { '%s' }", e.Key, values))
		case metav1.LabelSelectorOpExists:
			terms = append(terms, fmt.Sprintf("has(%s)", e.Key))
		case metav1.LabelSelectorOpDoesNotExist:
			terms = append(terms, fmt.Sprintf("! has(%s)", e.Key))
		}
	}
	return strings.Join(terms, " && ")
}

// k8sRules writes one rule per (protocol, peer); a rule without ports
// matches every protocol.
func k8sRules(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, ingress bool) []model.CalicoRule {
	byProtocol := k8sPortsByProtocol(ports)
	protocols := make([]string, 0, len(byProtocol))
	for proto := range byProtocol {
		protocols = append(protocols, proto)
	}
	sort.Strings(protocols)
	peerList := make([]*networkingv1.NetworkPolicyPeer, 0, len(peers))
	for i := range peers {
		peerList = append(peerList, &peers[i])
	}
	if len(peerList) == 0 {
		peerList = []*networkingv1.NetworkPolicyPeer{nil}
	}
	var rules []model.CalicoRule
	for _, proto := range protocols {
		for _, peer := range peerList {
			rule := model.CalicoRule{Action: "Allow"}
			if proto != "" {
				rule.Protocol = &model.CalicoProtocol{Name: proto}
			}
			entity := k8sPeer(peer)
			if ingress {
				rule.Source = entity
				rule.Destination.Ports = byProtocol[proto]
			} else {
				entity.Ports = byProtocol[proto]
				rule.Destination = entity
			}
			rules = append(rules, rule)
		}
	}
	return rules
}

// k8sPortsByProtocol groups the ports by protocol (TCP when unset); nil
// ports for a protocol mean all of them, and "" every protocol.
func k8sPortsByProtocol(ports []networkingv1.NetworkPolicyPort) map[string][]model.CalicoPort {
	out := map[string][]model.CalicoPort{}
	if len(ports) == 0 {
		return map[string][]model.CalicoPort{"": nil}
	}
	for _, p := range ports {
		proto := string(corev1.ProtocolTCP)
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if p.Port == nil {
			out[proto] = nil
			continue
		}
		if existing, ok := out[proto]; ok && existing == nil {
			continue // already every port
		}
		out[proto] = append(out[proto], k8sPort(p))
	}
	return out
}

func k8sPort(p networkingv1.NetworkPolicyPort) model.CalicoPort {
	if p.Port.StrVal != "" {
		return model.CalicoPort{Name: p.Port.StrVal}
	}
	last := p.Port.IntVal
	if p.EndPort != nil {
		last = *p.EndPort
	}
	return model.CalicoPort{First: uint16(p.Port.IntVal), Last: uint16(last)}
}

func k8sPeer(peer *networkingv1.NetworkPolicyPeer) model.CalicoEntity {
	if peer == nil {
		return model.CalicoEntity{}
	}
	if peer.IPBlock != nil {
		return model.CalicoEntity{Nets: []string{peer.IPBlock.CIDR}, NotNets: peer.IPBlock.Except}
	}
	return model.CalicoEntity{
		Selector:          k8sSelector(peer.PodSelector, true),
		NamespaceSelector: k8sSelector(peer.NamespaceSelector, false),
	}
}

// ruleMatches is the iptables rule felix renders, read as a predicate on
// the flow, after FilterRuleToIPVersion for IPv4.
func (ev *flowEvaluation) ruleMatches(r felixRule) tri {
	f := ev.f
	if r.ipVersion != nil && *r.ipVersion != 4 {
		return no
	}
	if r.protocol != nil && !protocolIs(*r.protocol, f.Protocol) {
		return no
	}
	if r.notProtocol != nil && protocolIs(*r.notProtocol, f.Protocol) {
		return no
	}
	match := yes
	for _, nets := range []struct {
		list    []string
		ep      policy.Endpoint
		negated bool
	}{{r.srcNets, f.From, false}, {r.notSrcNets, f.From, true}, {r.dstNets, f.To, false}, {r.notDstNets, f.To, true}} {
		match = match.and(netsMatch(nets.list, nets.ep, nets.negated))
	}
	match = match.and(ev.endpointSelectorMatches(r.srcSelector, f.From))
	match = match.and(ev.endpointSelectorMatches(r.notSrcSelector, f.From).not().or(r.notSrcSelector == ""))
	match = match.and(ev.endpointSelectorMatches(r.dstSelector, f.To))
	match = match.and(ev.endpointSelectorMatches(r.notDstSelector, f.To).not().or(r.notDstSelector == ""))
	if len(r.dstPorts) > 0 {
		match = match.and(triOf(portsMatch(r, r.dstPorts, f)))
	}
	if len(r.notDstPorts) > 0 {
		match = match.and(triOf(!portsMatch(r, r.notDstPorts, f)))
	}
	if r.openMatch {
		match = match.and(open)
	}
	return match
}

// or makes an unused condition true.
func (t tri) or(unused bool) tri {
	if unused {
		return yes
	}
	return t
}

// protocolIs compares a rule's protocol with the flow's.
func protocolIs(p model.CalicoProtocol, flow corev1.Protocol) bool {
	if p.Name != "" {
		return strings.EqualFold(p.Name, string(flow))
	}
	numbers := map[corev1.Protocol]uint8{corev1.ProtocolTCP: 6, corev1.ProtocolUDP: 17, corev1.ProtocolSCTP: 132}
	return numbers[flow] == p.Number
}

// netsMatch: felix keeps the IPv4 nets of a list; a list with none drops
// the whole rule for IPv4 (FilterRuleToIPVersion).
func netsMatch(nets []string, ep policy.Endpoint, negated bool) tri {
	if len(nets) == 0 {
		return yes
	}
	var v4 []netip.Prefix
	for _, n := range nets {
		if strings.Contains(n, ":") {
			continue
		}
		if prefix, ok := parseNet(n); ok {
			v4 = append(v4, prefix)
		}
	}
	if len(v4) == 0 {
		return no
	}
	in := false
	for _, a := range endpointAddrs(ep) {
		for _, prefix := range v4 {
			in = in || prefix.Contains(a)
		}
	}
	return triOf(in != negated)
}

func parseNet(n string) (netip.Prefix, bool) {
	if prefix, err := netip.ParsePrefix(n); err == nil {
		return prefix.Masked(), true
	}
	if a, err := netip.ParseAddr(n); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

func endpointAddrs(ep policy.Endpoint) []netip.Addr {
	if ep.Pod != nil {
		return ep.Pod.IPs
	}
	return []netip.Addr{ep.IP}
}

// endpointSelectorMatches: felix matches selectors through IP sets of
// known endpoints, so an address outside the cluster matches none.
func (ev *flowEvaluation) endpointSelectorMatches(selector string, ep policy.Endpoint) tri {
	if selector == "" {
		return yes
	}
	if ep.Pod == nil {
		return no
	}
	return ev.selectorMatches(selector, ep.Pod)
}

// portsMatch: any numeric range holds the port, or a named port of the
// destination pod does (felix's named-port IP sets, for the rule's
// protocol, TCP when it has none).
func portsMatch(r felixRule, ports []model.CalicoPort, f policy.Flow) bool {
	namedProtocol := corev1.ProtocolTCP
	if r.protocol != nil {
		for _, proto := range []corev1.Protocol{corev1.ProtocolUDP, corev1.ProtocolSCTP} {
			if protocolIs(*r.protocol, proto) {
				namedProtocol = proto
			}
		}
	}
	for _, p := range ports {
		if p.Name == "" {
			if f.Port >= int32(p.First) && f.Port <= int32(p.Last) {
				return true
			}
			continue
		}
		if f.To.Pod == nil || f.Protocol != namedProtocol {
			continue
		}
		if n, ok := f.To.Pod.NamedPort(p.Name, namedProtocol); ok && n == f.Port {
			return true
		}
	}
	return false
}

// selectorMatches parses a felix selector and evaluates it on the pod's
// endpoint labels; open when it reads a namespace label the model could
// not read.
func (ev *flowEvaluation) selectorMatches(selector string, pod *model.Pod) tri {
	s, err := parseSelector(selector)
	if err != nil {
		return open
	}
	labels, ok := ev.labels[pod]
	if !ok {
		labels = endpointLabels(ev.m, pod)
		ev.labels[pod] = labels
	}
	if namespaceLabelsUnknown(ev.m, pod.Namespace) {
		return everyAssignment(s, labels)
	}
	return triOf(s.Matches(labels))
}

// everyAssignment evaluates the selector for every value the unread
// namespace labels it reads could have: absent, each value the selector
// names, or another one (a selector compares only with the values it
// names, so these are all the cases). Open when the answers differ.
func everyAssignment(s *calico.Selector, known map[string]string) tri {
	var unread []string
	for _, k := range s.Keys() {
		// The namespace's name, in both labels the control plane and
		// Calico set from it, is known.
		if strings.HasPrefix(k, namespacePrefix) && k != namespacePrefix+profileNameLabel && k != namespacePrefix+model.MetadataNameLabel {
			unread = append(unread, k)
		}
	}
	if len(unread) == 0 {
		return triOf(s.Matches(calico.LabelMap(known)))
	}
	domain := append([]string{"\x00absent", "\x00other"}, quotedValues(s.String())...)
	seen := map[bool]bool{}
	assignment := make([]int, len(unread))
	for {
		labels := calico.LabelMap{}
		for k, v := range known {
			labels[k] = v
		}
		for i, k := range unread {
			delete(labels, k)
			if v := domain[assignment[i]]; v != "\x00absent" {
				labels[k] = v
			}
		}
		seen[s.Matches(labels)] = true
		if len(seen) == 2 {
			return open
		}
		if !nextAssignment(assignment, len(domain)) {
			break
		}
	}
	return triOf(seen[true])
}

// nextAssignment counts through every combination of values.
func nextAssignment(a []int, base int) bool {
	for i := range a {
		a[i]++
		if a[i] < base {
			return true
		}
		a[i] = 0
	}
	return false
}

// quotedValues are the string literals of a canonical selector.
func quotedValues(s string) []string {
	var out []string
	for _, m := range quotedValue.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

var quotedValue = regexp.MustCompile(`"([^"]*)"|'([^']*)'`)

func namespaceLabelsUnknown(m *model.Model, namespace string) bool {
	for _, ns := range m.NamespaceLabelsUnknown() {
		if ns == "" || ns == namespace {
			return true
		}
	}
	return false
}

// endpointLabels are the workload endpoint's labels with what it inherits
// from its profiles (kns.<ns>, ksa.<ns>.<sa>); its own labels win.
func endpointLabels(m *model.Model, pod *model.Pod) calico.LabelMap {
	labels := calico.LabelMap{}
	if ns := m.Namespace(pod.Namespace); ns != nil {
		for k, v := range ns.Labels {
			labels[namespacePrefix+k] = v
		}
	}
	labels[namespacePrefix+profileNameLabel] = pod.Namespace
	sa := pod.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	for _, account := range m.ServiceAccounts {
		if account.Namespace == pod.Namespace && account.Name == sa {
			for k, v := range account.Labels {
				labels[serviceAccountPref+k] = v
			}
		}
	}
	labels[serviceAccountPref+profileNameLabel] = sa
	for k, v := range pod.Labels {
		labels[k] = v
	}
	labels[labelNamespace] = pod.Namespace
	labels[labelOrchestrator] = "k8s"
	if len(sa) < 63 {
		labels[labelServiceAccount] = sa
	}
	return labels
}

// calicoPorts are the ports the property test asks about: declared named
// port numbers, range edges and one nobody declares.
var (
	calicoFlowPorts     = []int32{53, 80, 8080, 12345}
	calicoFlowProtocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP}
	calicoExternalAddrs = []netip.Addr{netip.MustParseAddr("10.0.1.200"), netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("192.0.2.1")}
)

// The engine agrees with the naive reference on every flow of many random
// clusters holding Calico policies of both groups, namespaced and global,
// alongside Kubernetes NetworkPolicies.
func TestEngineAgreesWithNaiveReferenceOnCalico(t *testing.T) {
	models := 2000
	if testing.Short() {
		models = 300
	}
	const casesShown = 3
	flows, disagreements, disagreeingModels, verdicts := 0, 0, 0, map[policy.Verdict]int{}
	for seed := 0; seed < models; seed++ {
		m := calicoPropertyModel(uint64(seed))
		clear(convertedPolicies) // one model's policies at a time
		e := policy.New(m)
		before := disagreements
		eachCalicoFlow(m, func(f policy.Flow) {
			flows++
			want := naiveCalicoVerdict(m, f)
			verdicts[want]++
			if got := e.Evaluate(f, false); got.Verdict != want {
				disagreements++
				if before == disagreements-1 && disagreeingModels < casesShown {
					t.Errorf("seed %d: engine and reference disagree\n%s", seed, describeDisagreement(shrinkCalicoCase(m, f), f))
				}
			}
		})
		if disagreements > before {
			disagreeingModels++
		}
	}
	t.Logf("%d flows over %d random clusters: %d disagree (in %d clusters); reference verdicts %v", flows, models, disagreements, disagreeingModels, verdicts)
	if verdicts[policy.Allowed] == 0 || verdicts[policy.Denied] == 0 || verdicts[policy.Unspecified] == 0 {
		t.Fatalf("the random clusters do not reach every verdict: %v", verdicts)
	}
}

// calicoPropertyModel is a small random cluster with Calico policies; one
// in eight has a namespace whose labels could not be read.
func calicoPropertyModel(seed uint64) *model.Model {
	m := synth.Model(synth.Options{Seed: seed, Namespaces: 2 + int(seed%2), Workloads: 2, MaxReplicas: 2, Policies: int(seed % 3), HostNetworkEvery: 13, Calico: 1 + int(seed%6)})
	if seed%8 == 3 {
		ns := m.Namespaces[int(seed/8)%len(m.Namespaces)]
		ns.Labels = map[string]string{model.MetadataNameLabel: ns.Name}
		m.MarkUnreadable("namespaces", ns.Name)
	}
	return m
}

func eachCalicoFlow(m *model.Model, visit func(policy.Flow)) {
	var endpoints []policy.Endpoint
	for _, p := range m.Pods {
		endpoints = append(endpoints, policy.PodEndpoint(p))
	}
	for _, a := range calicoExternalAddrs {
		endpoints = append(endpoints, policy.IPEndpoint(a))
	}
	for _, from := range endpoints {
		for _, to := range endpoints {
			if from.Pod == nil && to.Pod == nil {
				continue
			}
			for _, port := range calicoFlowPorts {
				for _, proto := range calicoFlowProtocols {
					visit(policy.Flow{From: from, To: to, Port: port, Protocol: proto})
				}
			}
		}
	}
}

func disagrees(m *model.Model, f policy.Flow) bool {
	return policy.New(m).Evaluate(f, true).Verdict != naiveCalicoVerdict(m, f)
}

// shrinkCalicoCase drops policies and rules one at a time while the two
// still disagree on the flow, so that the case printed is minimal.
func shrinkCalicoCase(m *model.Model, f policy.Flow) *model.Model {
	cur := *m
	for changed := true; changed; {
		changed = false
		for _, candidate := range smallerCalicoModels(&cur) {
			if disagrees(candidate, f) {
				cur, changed = *candidate, true
				break
			}
		}
	}
	return &cur
}

// smallerCalicoModels are the model without one policy, or with one rule
// of a Calico policy left out.
func smallerCalicoModels(m *model.Model) []*model.Model {
	var out []*model.Model
	for i := range m.Policies {
		c := *m
		c.Policies = append(append([]*networkingv1.NetworkPolicy(nil), m.Policies[:i]...), m.Policies[i+1:]...)
		out = append(out, &c)
	}
	for i, p := range m.CalicoPolicies {
		c := *m
		c.CalicoPolicies = append(append([]*model.CalicoPolicy(nil), m.CalicoPolicies[:i]...), m.CalicoPolicies[i+1:]...)
		out = append(out, &c)
		for _, dir := range []string{"Ingress", "Egress"} {
			rules := p.Ingress
			if dir == "Egress" {
				rules = p.Egress
			}
			for r := range rules {
				q := *p
				fewer := append(append([]model.CalicoRule(nil), rules[:r]...), rules[r+1:]...)
				if dir == "Egress" {
					q.Egress = fewer
				} else {
					q.Ingress = fewer
				}
				c := *m
				c.CalicoPolicies = append([]*model.CalicoPolicy(nil), m.CalicoPolicies...)
				c.CalicoPolicies[i] = &q
				out = append(out, &c)
			}
		}
	}
	return out
}

// describeDisagreement prints the case: the flow, both verdicts, the
// engine's reasons, then the cluster as YAML.
func describeDisagreement(m *model.Model, f policy.Flow) string {
	got := policy.New(m).Evaluate(f, true)
	var b strings.Builder
	fmt.Fprintf(&b, "flow %s -> %s %d/%s: engine %s, reference %s\n", f.From, f.To, f.Port, f.Protocol, got.Verdict, naiveCalicoVerdict(m, f))
	for name, s := range map[string]*policy.Side{"egress": got.Egress, "ingress": got.Ingress} {
		if s != nil {
			fmt.Fprintf(&b, "engine %s: %s calico=%v undecided=%q\n", name, s.Verdict, s.Calico, s.Undecided)
		}
	}
	for _, ns := range m.Namespaces {
		fmt.Fprintf(&b, "namespace %s %v\n", ns.Name, ns.Labels)
	}
	fmt.Fprintf(&b, "namespace labels unknown: %v\n", m.NamespaceLabelsUnknown())
	for _, p := range m.Pods {
		fmt.Fprintf(&b, "pod %s labels=%v ips=%v ports=%v sa=%s host=%v\n", p.Key(), p.Labels, p.IPs, p.Ports, p.ServiceAccount, p.HostNetwork)
	}
	for _, sa := range m.ServiceAccounts {
		fmt.Fprintf(&b, "serviceaccount %s/%s %v\n", sa.Namespace, sa.Name, sa.Labels)
	}
	for _, tier := range m.CalicoTiers {
		fmt.Fprintf(&b, "tier %s order=%v\n", tier.Name, orderString(tier.Order))
	}
	for _, p := range m.CalicoPolicies {
		y, _ := yaml.Marshal(p)
		fmt.Fprintf(&b, "--- %s (order %s)\n%s", p.Ref(), orderString(p.Order), y)
	}
	for _, np := range m.Policies {
		y, _ := yaml.Marshal(np)
		fmt.Fprintf(&b, "--- NetworkPolicy %s/%s\n%s", np.Namespace, np.Name, y)
	}
	return b.String()
}

func orderString(o *float64) string {
	if o == nil {
		return "nil"
	}
	return fmt.Sprint(*o)
}

// The disagreements the property test found, reduced to two pods: the
// verdict felix gives (or, for labels nobody could read, the only honest
// one), which the reference gives and the engine must.
func TestEngineOnCalicoFindings(t *testing.T) {
	cases := []struct {
		name string
		// edit turns the base model (a GlobalNetworkPolicy "g", ingress
		// only, selecting every pod) into the case.
		edit func(m *model.Model)
		want policy.Verdict
	}{{
		// felix/rules/policy.go FilterRuleToIPVersion: a notNets list
		// with no IPv4 net drops the whole rule from the IPv4 chain, so
		// nothing allows and the tier's end denies.
		name: "notNets of IPv6 only drop the rule for IPv4",
		edit: func(m *model.Model) {
			m.CalicoPolicies[0].Ingress = []model.CalicoRule{{Action: "Allow", Source: model.CalicoEntity{NotNets: []string{"fd00::/8"}}}}
		},
		want: policy.Denied,
	}, {
		// The destination's namespace labels are unknown: whether
		// pcns.env == 'staging' selects it (and the policy, without an
		// allowing rule, denies) is unknown.
		name: "a policy selector on a namespace label nobody could read",
		edit: func(m *model.Model) {
			m.CalicoPolicies[0].Selector = "pcns.env == 'staging'"
			m.MarkUnreadable("namespaces", "b")
		},
		want: policy.Unspecified,
	}, {
		name: "a GlobalNetworkPolicy namespaceSelector on a namespace nobody could read",
		edit: func(m *model.Model) {
			m.CalicoPolicies[0].NamespaceSelector = "env == 'staging'"
			m.MarkUnreadable("namespaces", "b")
		},
		want: policy.Unspecified,
	}}
	for _, c := range cases {
		m, f := twoPodCalicoModel()
		c.edit(m)
		if ref := naiveCalicoVerdict(m, f); ref != c.want {
			t.Errorf("%s: reference %s, want %s", c.name, ref, c.want)
		}
		if got := policy.New(m).Evaluate(f, true); got.Verdict != c.want {
			t.Errorf("%s: engine %s (ingress %v %q), want %s", c.name, got.Verdict, got.Ingress.Calico, got.Ingress.Undecided, c.want)
		}
	}
}

// twoPodCalicoModel: pod a/p (namespace env=prod) talks to pod b/q; one
// GlobalNetworkPolicy "g" applies to every pod's ingress, with no rules.
func twoPodCalicoModel() (*model.Model, policy.Flow) {
	from := &model.Pod{Namespace: "a", Name: "p", Labels: map[string]string{"app": "x"}, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, ServiceAccount: "default"}
	to := &model.Pod{Namespace: "b", Name: "q", Labels: map[string]string{"app": "y"}, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}, ServiceAccount: "default"}
	m := &model.Model{
		Pods:           []*model.Pod{from, to},
		Namespaces:     []*model.Namespace{{Name: "a", Labels: map[string]string{"env": "prod"}}, {Name: "b"}},
		CalicoPolicies: []*model.CalicoPolicy{{Kind: model.CalicoGlobalNetworkPolicy, Name: "g", Group: model.CalicoCRDGroup, Selector: "all()", Types: []string{"Ingress"}}},
	}
	m.Normalize()
	return m, policy.Flow{From: policy.PodEndpoint(from), To: policy.PodEndpoint(to), Port: 80, Protocol: corev1.ProtocolTCP}
}
