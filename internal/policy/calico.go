package policy

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/calico"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Calico's own policies, decided as felix (v3.28, the test bed's) does:
// every policy that applies to a pod, Calico's and the Kubernetes
// NetworkPolicies (order 1000, named knp.default.<name>), is sorted by
// tier, then order (none: last), then the name felix stores; the first
// rule that matches decides: Allow or Deny, Pass (to the next tier), Log
// (goes on). A pod some policy of a tier applies to, whose packet no rule
// of that tier decided, is denied at the end of the tier; a packet that
// passes every tier reaches the namespace's profile, which allows it.
// Selectors are Calico's, converted as Calico converts them for felix
// (internal/calico), evaluated on the pod's labels and those it inherits
// from its namespace (pcns.*) and ServiceAccount (pcsa.*).

// calicoLayer is the compiled Calico evaluation. What each pod sees is
// computed per class on first use: a single question pays for the pods it
// asks about, a matrix for every class once.
type calicoLayer struct {
	tiers []*felixTier
	*felixEndpoints
	// policiesOf[c]: the policies that apply to the pods of class c, per
	// direction, in felix's order, and their names; filled on first use.
	policiesOf   []classPolicies
	policiesOnce []sync.Once
	// Staged are the staged policies: read, not enforced.
	staged []*model.CalicoPolicy
	// nets are every rule's nets and notNets: pods alike but for an
	// address inside one of them are not one group.
	nets []netip.Prefix
	// flat is the same policies in one tier, as Calico before v3.30
	// (which has no tiers) orders them; nil when every policy is in the
	// default tier. A side both orders do not agree on is unspecified.
	flat *calicoLayer
}

// classPolicies are the policies that apply to one class.
type classPolicies struct {
	ingress, egress           []felixRef
	ingressNames, egressNames []string
}

// felixEndpoints are the pods as felix's selectors see them. Classes
// group pods felix cannot tell apart by labels (the same namespace,
// ServiceAccount and labels): a selector is evaluated once per class.
type felixEndpoints struct {
	model *model.Model
	// classOf[i] is pod i's class; members[c] are the pods of class c.
	classOf []int32
	members [][]int
	// classesIn lists the classes of each namespace: a namespaced
	// policy's selector can only match its own namespace's pods.
	classesIn map[string][]int
	// unknown[c]: the inherited labels of class c nobody could read (its
	// namespace's, its ServiceAccount's).
	unknown []inherited
	// labels[c] are the labels of class c, built on first use.
	labels    []calico.LabelMap
	labelOnce []sync.Once
	accounts  map[string]*model.ServiceAccount
}

type felixRef struct{ tier, policy int32 }

// inherited is a set of label sources a pod inherits from.
type inherited uint8

const (
	fromNamespace inherited = 1 << iota
	fromServiceAccount
)

// unread: the key is a label of those sources nobody could read (their
// names, which Calico sets itself, are known, and so is a namespace's
// kubernetes.io/metadata.name, which the control plane sets to its name).
func (s inherited) unread(key string) bool {
	for _, prefix := range s.prefixes() {
		if strings.HasPrefix(key, prefix) && key != prefix+calicoNameLabel && key != pcnsPrefix+model.MetadataNameLabel {
			return true
		}
	}
	return false
}

// prefixes are the prefixes felix gives the labels of those sources.
func (s inherited) prefixes() []string {
	var out []string
	if s&fromNamespace != 0 {
		out = append(out, pcnsPrefix)
	}
	if s&fromServiceAccount != 0 {
		out = append(out, pcsaPrefix)
	}
	return out
}

type felixTier struct {
	name     string
	order    *float64
	policies []*felixPolicy
}

// felixPolicy is one policy as felix holds it.
type felixPolicy struct {
	calico *model.CalicoPolicy // nil for a Kubernetes NetworkPolicy
	knp    int32               // its index in Engine.policies, else -1
	// key is felix's name: "<namespace>/<stored name>" or "<stored name>".
	key             string
	order           *float64
	ingress, egress bool
	inRules         []felixRule
	outRules        []felixRule
	// sel selects the pods it applies to (nil: none, or a problem);
	// namespace, for a namespaced policy, bounds them.
	sel       *calico.Selector
	namespace string
	// selected are the pods it applies to: a Kubernetes NetworkPolicy's
	// from its compilation, a Calico policy's on first use (selectedSet).
	selected     bitset
	selectedOnce sync.Once
	// problem: Calico would refuse the policy or cannot use it as
	// written; any flow it applies to is unspecified.
	problem string
}

// felixRule is one rule after Calico's conversion.
type felixRule struct {
	action    string
	protocol  int // -1: any
	notProto  int // -1: none
	ipVersion int // 0: any
	src, dst  felixEntity
	// undecided names a match the engine does not decide (an HTTP match,
	// a Service, source ports): where everything else matches, the rule
	// may or may not.
	undecided string
	// families felix renders the rule for (renderedFor), when hasNets.
	families int
	hasNets  bool
}

type felixEntity struct {
	selector, notSelector *felixSelector
	nets, notNets         []netip.Prefix
	ports, notPorts       []model.CalicoPort
}

// felixSelector is a rule's selector. The first questions evaluate it on
// the class asked about; from then on it holds the classes it matches
// (safe for concurrent use): a matrix asks it for every pair.
type felixSelector struct {
	sel   *calico.Selector
	asked atomic.Int32
	once  sync.Once
	built atomic.Bool
	set   bitset // of classes
}

// selectorDirectAnswers is how many questions a selector answers one
// class at a time before it evaluates every class once.
const selectorDirectAnswers = 64

func newFelixSelector(s string) (*felixSelector, error) {
	sel, err := calico.ParseSelector(s)
	if err != nil {
		return nil, err
	}
	return &felixSelector{sel: sel}, nil
}

// matches reports whether pod i matches, by the labels felix sees.
func (f *felixSelector) matches(eps *felixEndpoints, i int) bool {
	c := int(eps.classOf[i])
	if !f.built.Load() {
		if f.asked.Add(1) <= selectorDirectAnswers {
			return f.sel.Matches(eps.labelsOf(c))
		}
		f.once.Do(func() {
			f.set = newBitset(len(eps.members))
			for c := range eps.members {
				if f.sel.Matches(eps.labelsOf(c)) {
					f.set.set(c)
				}
			}
			f.built.Store(true)
		})
	}
	return f.set.has(c)
}

// Names Calico gives what it converts.
const (
	calicoDefaultTier    = "default"
	knpPrefix            = "knp.default."
	calicoNamespaceLabel = "projectcalico.org/namespace"
	calicoOrchLabel      = "projectcalico.org/orchestrator"
	calicoSALabel        = "projectcalico.org/serviceaccount"
	calicoNameLabel      = "projectcalico.org/name"
	pcnsPrefix           = "pcns."
	pcsaPrefix           = "pcsa."
	// defaultTierOrder: the default tier comes after every tier with an
	// order up to it (Calico's DefaultTierOrder).
	defaultTierOrder = 1_000_000
	knpOrder         = 1000
)

// compileCalico builds the layer when the model has Calico policies.
func (e *Engine) compileCalico(pods *matcher) {
	m := e.model
	if len(m.CalicoPolicies) == 0 {
		return
	}
	l := &calicoLayer{felixEndpoints: newFelixEndpoints(m, pods)}
	e.calico = l
	tiers := map[string]*felixTier{}
	tier := func(name string) *felixTier {
		if name == "" {
			name = calicoDefaultTier
		}
		if t, ok := tiers[name]; ok {
			return t
		}
		t := &felixTier{name: name, order: tierOrder(m, name)}
		tiers[name] = t
		return t
	}
	for _, p := range m.CalicoPolicies {
		if p.Staged() {
			l.staged = append(l.staged, p)
			continue
		}
		t := tier(p.Tier)
		t.policies = append(t.policies, compileFelixPolicy(p, t.name))
	}
	for i, cp := range e.policies {
		t := tier(calicoDefaultTier)
		t.policies = append(t.policies, e.felixKubernetes(int32(i), cp))
	}
	for _, t := range tiers {
		slices.SortStableFunc(t.policies, felixPolicyOrder)
		l.tiers = append(l.tiers, t)
	}
	l.collectNets()
	slices.SortFunc(l.tiers, func(a, b *felixTier) int {
		if c := cmpOrder(a.order, b.order); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	l.lazyPolicies()
	if len(l.tiers) > 1 {
		switch tiers, known := m.CalicoTiersEnforced(); {
		case !known:
			l.flat = l.flattened() // both orders, decided where they agree
		case !tiers:
			e.calico = l.flattened() // before v3.30: one tier
		}
	}
}

// flattened is the layer with every policy in one tier, by order then
// stored name (felix v3.28's PolicySorter has the default tier only).
func (l *calicoLayer) flattened() *calicoLayer {
	one := &felixTier{name: calicoDefaultTier}
	for _, t := range l.tiers {
		one.policies = append(one.policies, t.policies...)
	}
	slices.SortStableFunc(one.policies, felixPolicyOrder)
	flat := &calicoLayer{tiers: []*felixTier{one}, felixEndpoints: l.felixEndpoints, staged: l.staged, nets: l.nets}
	flat.lazyPolicies()
	return flat
}

func (l *calicoLayer) lazyPolicies() {
	l.policiesOf = make([]classPolicies, len(l.members))
	l.policiesOnce = make([]sync.Once, len(l.members))
}

// policiesFor are the policies that apply to pod i for the direction, in
// felix's order, and their names.
func (l *calicoLayer) policiesFor(e *Engine, i int, ingress bool) ([]felixRef, []string) {
	c := int(l.classOf[i])
	l.policiesOnce[c].Do(func() { l.policiesOf[c] = l.classPoliciesOf(e, c) })
	if ingress {
		return l.policiesOf[c].ingress, l.policiesOf[c].ingressNames
	}
	return l.policiesOf[c].egress, l.policiesOf[c].egressNames
}

func (l *calicoLayer) classPoliciesOf(e *Engine, c int) classPolicies {
	out := classPolicies{ingress: []felixRef{}, egress: []felixRef{}, ingressNames: []string{}, egressNames: []string{}}
	for ti, t := range l.tiers {
		for pi, p := range t.policies {
			if !l.selects(p, c) {
				continue
			}
			ref := felixRef{tier: int32(ti), policy: int32(pi)}
			if p.ingress {
				out.ingress = append(out.ingress, ref)
				out.ingressNames = append(out.ingressNames, p.displayName(e))
			}
			if p.egress {
				out.egress = append(out.egress, ref)
				out.egressNames = append(out.egressNames, p.displayName(e))
			}
		}
	}
	return out
}

func (l *calicoLayer) collectNets() {
	for _, t := range l.tiers {
		for _, p := range t.policies {
			for _, rules := range [][]felixRule{p.inRules, p.outRules} {
				for _, r := range rules {
					for _, en := range []*felixEntity{&r.src, &r.dst} {
						l.nets = append(l.nets, en.nets...)
						l.nets = append(l.nets, en.notNets...)
					}
				}
			}
		}
	}
}

// tierOrder is a tier's order: from its Tier object, the default tier's
// fixed one, or unknown (nil: last).
func tierOrder(m *model.Model, name string) *float64 {
	for _, t := range m.CalicoTiers {
		if t.Name == name && t.Order != nil {
			return t.Order
		}
	}
	if name == calicoDefaultTier {
		o := float64(defaultTierOrder)
		return &o
	}
	return nil
}

// cmpOrder sorts by order, nil last (felix's PolKVLess).
func cmpOrder(a, b *float64) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return cmp.Compare(*a, *b)
}

func felixPolicyOrder(a, b *felixPolicy) int {
	if c := cmpOrder(a.order, b.order); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// newFelixEndpoints groups the pods in felix's classes: the matcher's
// (namespace and labels), split by ServiceAccount.
func newFelixEndpoints(m *model.Model, pods *matcher) *felixEndpoints {
	eps := &felixEndpoints{model: m, classOf: make([]int32, len(m.Pods)), classesIn: map[string][]int{},
		accounts: map[string]*model.ServiceAccount{}}
	for _, sa := range m.ServiceAccounts {
		eps.accounts[sa.Namespace+"/"+sa.Name] = sa
	}
	unknownNS := map[string]bool{}
	for _, ns := range m.NamespaceLabelsUnknown() {
		unknownNS[ns] = true
	}
	accountsUnknown := m.CouldNotRead("serviceaccounts", "")
	for _, class := range pods.classes {
		byAccount := map[string]int{}
		for _, i := range class.pods {
			account := m.Pods[i].ServiceAccount
			c, ok := byAccount[account]
			if !ok {
				c = len(eps.members)
				byAccount[account] = c
				eps.members = append(eps.members, nil)
				eps.classesIn[class.namespace] = append(eps.classesIn[class.namespace], c)
				eps.unknown = append(eps.unknown, unreadSources(unknownNS[class.namespace], accountsUnknown))
			}
			eps.members[c] = append(eps.members[c], i)
			eps.classOf[i] = int32(c)
		}
	}
	eps.labels = make([]calico.LabelMap, len(eps.members))
	eps.labelOnce = make([]sync.Once, len(eps.members))
	return eps
}

func unreadSources(namespace, account bool) inherited {
	var s inherited
	if namespace {
		s |= fromNamespace
	}
	if account {
		s |= fromServiceAccount
	}
	return s
}

// labelsOf are the labels felix evaluates selectors on for class c: the
// pods' own, the ones Calico adds (namespace, orchestrator, service
// account), and those inherited from the namespace's and ServiceAccount's
// profiles; their own win.
func (eps *felixEndpoints) labelsOf(c int) calico.LabelMap {
	eps.labelOnce[c].Do(func() { eps.labels[c] = eps.buildLabels(eps.model.Pods[eps.members[c][0]]) })
	return eps.labels[c]
}

func (eps *felixEndpoints) buildLabels(p *model.Pod) calico.LabelMap {
	labels := calico.LabelMap{}
	if ns := eps.model.Namespace(p.Namespace); ns != nil {
		for k, v := range ns.Labels {
			labels[pcnsPrefix+k] = v
		}
	}
	labels[pcnsPrefix+calicoNameLabel] = p.Namespace
	if sa := eps.accounts[p.Namespace+"/"+p.ServiceAccount]; sa != nil {
		for k, v := range sa.Labels {
			labels[pcsaPrefix+k] = v
		}
	}
	labels[pcsaPrefix+calicoNameLabel] = p.ServiceAccount
	for k, v := range p.Labels {
		labels[k] = v
	}
	labels[calicoNamespaceLabel] = p.Namespace
	labels[calicoOrchLabel] = "k8s"
	labels[calicoSALabel] = p.ServiceAccount
	return labels
}

// podLabels are pod i's labels as felix sees them, and those of its
// sources nobody could read.
func (eps *felixEndpoints) podLabels(i int) (calico.LabelMap, inherited) {
	c := int(eps.classOf[i])
	return eps.labelsOf(c), eps.unknown[c]
}

// selects: the policy applies to the pods of class c (where labels it
// reads could not be read, both answers are possible: it is taken as
// applying, and the walk follows both; see uncertain).
func (eps *felixEndpoints) selects(p *felixPolicy, c int) bool {
	if p.knp >= 0 {
		return p.selected.has(eps.members[c][0])
	}
	if !eps.inScope(p, c) {
		return false
	}
	if unknown := eps.unknown[c]; unknown != 0 {
		matches, decided := p.sel.Decided(eps.labelsOf(c), unknown.unread)
		return matches || !decided
	}
	return p.sel.Matches(eps.labelsOf(c))
}

// inScope: the policy's selector can match class c at all.
func (eps *felixEndpoints) inScope(p *felixPolicy, c int) bool {
	if p.sel == nil {
		return false
	}
	return p.namespace == "" || p.namespace == eps.model.Pods[eps.members[c][0]].Namespace
}

// uncertain: whether the Calico policy applies to pod i depends on labels
// nobody could read.
func (eps *felixEndpoints) uncertain(p *felixPolicy, i int) bool {
	c := int(eps.classOf[i])
	unknown := eps.unknown[c]
	if p.knp >= 0 || unknown == 0 || !eps.inScope(p, c) {
		return false
	}
	_, decided := p.sel.Decided(eps.labelsOf(c), unknown.unread)
	return !decided
}

// selectedSet are the pods the policy applies to.
func (eps *felixEndpoints) selectedSet(p *felixPolicy) bitset {
	if p.knp >= 0 {
		return p.selected
	}
	p.selectedOnce.Do(func() {
		p.selected = newBitset(len(eps.classOf))
		for c, members := range eps.members {
			if eps.selects(p, c) {
				for _, i := range members {
					p.selected.set(i)
				}
			}
		}
	})
	return p.selected
}

// selectsAny: the policy applies to some pod.
func (eps *felixEndpoints) selectsAny(p *felixPolicy) bool {
	if p.knp >= 0 {
		return p.selected.count() > 0
	}
	classes := eps.classesIn[p.namespace]
	if p.namespace == "" {
		classes = nil
		for c := range eps.members {
			classes = append(classes, c)
		}
	}
	for _, c := range classes {
		if eps.selects(p, c) {
			return true
		}
	}
	return false
}

// felixKubernetes places a Kubernetes NetworkPolicy as Calico does: in
// the default tier at order 1000, its rules Allow rules.
func (e *Engine) felixKubernetes(i int32, cp *compiledPolicy) *felixPolicy {
	o := float64(knpOrder)
	return &felixPolicy{knp: i, key: cp.np.Namespace + "/" + knpPrefix + cp.np.Name, order: &o,
		ingress: cp.ingress, egress: cp.egress, selected: cp.selected}
}

// storedName is the name felix sorts by: Calico's API server stores a
// policy as "<tier>.<name>"; a CRD written directly keeps its name.
func storedName(p *model.CalicoPolicy, tier string) string {
	if p.Group == model.CalicoCRDGroup || strings.HasPrefix(p.Name, "knp.") || strings.HasPrefix(p.Name, "ossg.") {
		return p.Name
	}
	return tier + "." + p.Name
}

// policyTypes: the API server fills empty types from the rules
// (defaultPolicyTypesField); felix reads empty types as both.
func policyTypes(p *model.CalicoPolicy) (ingress, egress bool) {
	types := p.Types
	if len(types) == 0 && p.Group == model.CalicoAPIGroup {
		switch {
		case len(p.Egress) == 0:
			types = []string{"Ingress"}
		case len(p.Ingress) == 0:
			types = []string{"Egress"}
		default:
			types = []string{"Ingress", "Egress"}
		}
	}
	if len(types) == 0 {
		return true, true
	}
	return slices.Contains(types, "Ingress"), slices.Contains(types, "Egress")
}

// compileFelixPolicy converts one Calico policy as Calico's update
// processors do, and selects the pods it applies to.
func compileFelixPolicy(p *model.CalicoPolicy, tier string) *felixPolicy {
	fp := &felixPolicy{calico: p, knp: -1, order: p.Order, key: storedName(p, tier)}
	if !p.Global() {
		fp.key = p.Namespace + "/" + fp.key
	}
	fp.ingress, fp.egress = policyTypes(p)
	if len(p.Problems) > 0 {
		fp.problem = strings.Join(p.Problems, "; ")
	}
	if p.DoNotTrack || p.PreDNAT {
		fp.problem = "doNotTrack and preDNAT policies govern host endpoints, which are out of scope"
	}
	sel, err := policySelector(p)
	if err != nil {
		fp.problem = err.Error()
	}
	var rulesErr error
	fp.inRules, rulesErr = convertRules(p.Ingress, p.Namespace, p.Global())
	if rulesErr == nil {
		fp.outRules, rulesErr = convertRules(p.Egress, p.Namespace, p.Global())
	}
	if rulesErr != nil && fp.problem == "" {
		fp.problem = rulesErr.Error()
	}
	if sel != nil {
		fp.sel = sel
		if !p.Global() {
			fp.namespace = p.Namespace
		}
	}
	return fp
}

// policySelector is the policy's selector as felix evaluates it: for a
// namespaced policy "(selector) && projectcalico.org/namespace == 'ns'";
// a GlobalNetworkPolicy's namespaceSelector on pcns.* labels; the
// serviceAccountSelector on pcsa.* labels.
func policySelector(p *model.CalicoPolicy) (*calico.Selector, error) {
	selector := p.Selector
	if !p.Global() {
		nsClause := fmt.Sprintf("%s == '%s'", calicoNamespaceLabel, p.Namespace)
		if selector == "" {
			selector = nsClause
		} else {
			selector = fmt.Sprintf("(%s) && %s", selector, nsClause)
		}
	} else if p.NamespaceSelector != "" {
		var err error
		if selector, err = appendPrefixed(selector, p.NamespaceSelector, pcnsPrefix); err != nil {
			return nil, fmt.Errorf("namespaceSelector: %w", err)
		}
		selector = strings.ReplaceAll(selector, "all()", "has("+calicoNamespaceLabel+")")
	}
	if p.ServiceAccountSelector != "" {
		var err error
		if selector, err = appendPrefixed(selector, p.ServiceAccountSelector, pcsaPrefix); err != nil {
			return nil, fmt.Errorf("serviceAccountSelector: %w", err)
		}
		if p.Global() {
			selector = strings.ReplaceAll(selector, "all()", "has("+calicoSALabel+")")
		}
	}
	return calico.ParseSelector(selector)
}

// appendPrefixed is Calico's prefixAndAppendSelector: "(current) && prefixed".
func appendPrefixed(current, added, prefix string) (string, error) {
	sel, err := calico.ParseSelector(added)
	if err != nil {
		return "", err
	}
	prefixed := sel.WithPrefix(prefix).String()
	if current == "" {
		return prefixed, nil
	}
	return fmt.Sprintf("(%s) && %s", current, prefixed), nil
}

// entitySelector is Calico's GetEntityRuleSelector for a rule's source or
// destination: the selector and the service accounts, limited to the
// policy's namespace (or the namespaceSelector's) as soon as any selector
// field is used.
func entitySelector(e *model.CalicoEntity, ns string) (string, error) {
	nsSelector := ""
	if e.NamespaceSelector != "" {
		sel, err := calico.ParseSelector(e.NamespaceSelector)
		if err != nil {
			return "", fmt.Errorf("namespaceSelector: %w", err)
		}
		nsSelector = sel.WithPrefix(pcnsPrefix).String()
		nsSelector = strings.ReplaceAll(nsSelector, "all()", "has("+calicoNamespaceLabel+")")
		nsSelector = strings.ReplaceAll(nsSelector, "global()", "!has("+calicoNamespaceLabel+")")
	} else if ns != "" {
		nsSelector = fmt.Sprintf("%s == '%s'", calicoNamespaceLabel, ns)
	}
	var parts []string
	if e.ServiceAccounts != nil {
		sa, err := serviceAccountSelector(e.ServiceAccounts)
		if err != nil {
			return "", err
		}
		if sa != "" {
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
			return fmt.Sprintf("(%s) && (%s)", nsSelector, selector), nil
		}
		return nsSelector, nil
	}
	return selector, nil
}

// serviceAccountSelector is Calico's parseServiceAccounts.
func serviceAccountSelector(sam *model.CalicoServiceAccounts) (string, error) {
	updated := ""
	if sam.Selector != "" {
		sel, err := calico.ParseSelector(sam.Selector)
		if err != nil {
			return "", fmt.Errorf("serviceAccounts.selector: %w", err)
		}
		updated = sel.WithPrefix(pcsaPrefix).String()
	}
	if len(sam.Names) == 0 {
		return updated, nil
	}
	names, err := calico.ParseSelector(fmt.Sprintf("%s in { '%s' }", calicoSALabel, strings.Join(sam.Names, "', '")))
	if err != nil {
		return "", fmt.Errorf("serviceAccounts.names: %w", err)
	}
	if updated != "" {
		return fmt.Sprintf("(%s) && (%s)", updated, names.String()), nil
	}
	return names.String(), nil
}

// convertRules converts a direction's rules.
func convertRules(rules []model.CalicoRule, ns string, global bool) ([]felixRule, error) {
	if global {
		ns = ""
	}
	out := make([]felixRule, 0, len(rules))
	for i := range rules {
		r, err := convertRule(&rules[i], ns)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func convertRule(r *model.CalicoRule, ns string) (felixRule, error) {
	fr := felixRule{action: r.Action, protocol: protocolNumber(r.Protocol), notProto: protocolNumber(r.NotProtocol)}
	if fr.notProto < 0 && r.NotProtocol != nil {
		return fr, fmt.Errorf("notProtocol %q is not a protocol", r.NotProtocol.Name)
	}
	if fr.protocol < 0 && r.Protocol != nil {
		return fr, fmt.Errorf("protocol %q is not a protocol", r.Protocol.Name)
	}
	if r.IPVersion != nil {
		fr.ipVersion = *r.IPVersion
	}
	var err error
	if fr.src, err = convertEntity(&r.Source, ns); err != nil {
		return fr, fmt.Errorf("source: %w", err)
	}
	if fr.dst, err = convertEntity(&r.Destination, ns); err != nil {
		return fr, fmt.Errorf("destination: %w", err)
	}
	fr.families, fr.hasNets = fr.renderedFor()
	switch {
	case r.HTTP:
		fr.undecided = "an HTTP match, enforced only where Calico's application layer policy runs"
	case r.Destination.Services != nil || r.Source.Services != nil:
		fr.undecided = "a services match"
	case len(r.Source.Ports) > 0 || len(r.Source.NotPorts) > 0:
		fr.undecided = "source ports (a client's port is not known in advance)"
	}
	return fr, nil
}

func convertEntity(e *model.CalicoEntity, ns string) (felixEntity, error) {
	var fe felixEntity
	selector, err := entitySelector(e, ns)
	if err != nil {
		return fe, err
	}
	if selector != "" {
		if fe.selector, err = newFelixSelector(selector); err != nil {
			return fe, err
		}
	}
	if e.NotSelector != "" {
		if fe.notSelector, err = newFelixSelector(e.NotSelector); err != nil {
			return fe, fmt.Errorf("notSelector: %w", err)
		}
	}
	if fe.nets, err = prefixes(e.Nets); err != nil {
		return fe, err
	}
	if fe.notNets, err = prefixes(e.NotNets); err != nil {
		return fe, err
	}
	fe.ports, fe.notPorts = e.Ports, e.NotPorts
	return fe, nil
}

func prefixes(nets []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(nets))
	for _, n := range nets {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			a, aerr := netip.ParseAddr(n)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR", n)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// protocolNumber: -1 for none (nil) or an unknown name.
func protocolNumber(p *model.CalicoProtocol) int {
	if p == nil {
		return -1
	}
	if p.Name == "" {
		return int(p.Number)
	}
	switch strings.ToUpper(p.Name) {
	case "TCP":
		return 6
	case "UDP":
		return 17
	case "ICMP":
		return 1
	case "ICMPV6":
		return 58
	case "SCTP":
		return 132
	case "UDPLITE":
		return 136
	}
	return -1
}

func flowProtocol(p corev1.Protocol) int {
	switch p {
	case corev1.ProtocolUDP:
		return 17
	case corev1.ProtocolSCTP:
		return 132
	}
	return 6
}

// CalicoSignature tells pods apart that Calico's policies treat
// differently: which policies select the pod, which rule selectors match
// it, which nets hold its addresses ("" without Calico policies). Pods
// with equal signatures (and equal Kubernetes classes) get equal Calico
// verdicts, so one can stand for all in a proof.
func (e *Engine) CalicoSignature(p *model.Pod) string {
	return e.calicoSignature(p)
}

// LayerSignature tells pods apart that any layer besides NetworkPolicy
// treats differently: Calico's policies (CalicoSignature), the
// cluster-scoped ones (ClusterSignature) and Cilium's (its identity).
func (e *Engine) LayerSignature(p *model.Pod) string {
	return e.calicoSignature(p) + "|" + e.ClusterSignature(p) + e.ciliumSignature(p)
}

func (e *Engine) calicoSignature(p *model.Pod) string {
	if e.calico == nil {
		return ""
	}
	i, ok := e.podIndex[p]
	if !ok {
		return ""
	}
	var b strings.Builder
	b.WriteString(p.ServiceAccount)
	b.WriteByte('|')
	for _, t := range e.calico.tiers {
		for _, fp := range t.policies {
			b.WriteByte(bit(e.calico.selectedSet(fp).has(i)))
			for _, rules := range [][]felixRule{fp.inRules, fp.outRules} {
				for ri := range rules {
					e.calico.entityBits(&b, &rules[ri].src, i)
					e.calico.entityBits(&b, &rules[ri].dst, i)
				}
			}
		}
	}
	for _, n := range e.calico.nets {
		b.WriteByte(bit(slices.ContainsFunc(p.IPs, n.Contains)))
	}
	return b.String()
}

func (l *calicoLayer) entityBits(b *strings.Builder, en *felixEntity, i int) {
	if en.selector != nil {
		b.WriteByte(bit(en.selector.matches(l.felixEndpoints, i)))
	}
	if en.notSelector != nil {
		b.WriteByte(bit(en.notSelector.matches(l.felixEndpoints, i)))
	}
}

// CalicoEvaluationOrder lists the model's enforced Calico policies in the
// order felix evaluates them (tier, then order, then stored name), with
// each one's tier; the Kubernetes NetworkPolicies (order 1000 in the
// default tier) are not in the list.
func CalicoEvaluationOrder(m *model.Model) []*model.CalicoPolicy {
	var out []*model.CalicoPolicy
	for _, p := range m.CalicoPolicies {
		if !p.Staged() {
			out = append(out, p)
		}
	}
	tiers, known := m.CalicoTiersEnforced()
	byTier := tiers || !known
	tierOf := func(p *model.CalicoPolicy) string { return cmp.Or(p.Tier, calicoDefaultTier) }
	slices.SortStableFunc(out, func(a, b *model.CalicoPolicy) int {
		if byTier && tierOf(a) != tierOf(b) {
			if c := cmpOrder(tierOrder(m, tierOf(a)), tierOrder(m, tierOf(b))); c != 0 {
				return c
			}
			return strings.Compare(tierOf(a), tierOf(b))
		}
		if c := cmpOrder(a.Order, b.Order); c != 0 {
			return c
		}
		return strings.Compare(felixKey(a), felixKey(b))
	})
	return out
}

// felixKey is the name felix sorts a policy by.
func felixKey(p *model.CalicoPolicy) string {
	key := storedName(p, cmp.Or(p.Tier, calicoDefaultTier))
	if !p.Global() {
		key = p.Namespace + "/" + key
	}
	return key
}
