package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Cilium's policy repository at layers 3 and 4 (docs/design.md,
// "Cilium"): every CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and
// Kubernetes NetworkPolicy becomes rules with a subject and four
// sections, as pkg/k8s/apis/cilium.io/utils/utils.go (ParseToCiliumRule)
// and pkg/k8s/network_policy.go convert them; a side is decided as
// pkg/policy/repository.go (computePolicyEnforcementAndRules) and the
// policy map's precedence (pkg/policy/mapstate.go: deny before allow)
// decide it.

// Sections of a Cilium rule.
const (
	ciliumIngress = iota
	ciliumIngressDeny
	ciliumEgress
	ciliumEgressDeny
)

var ciliumSectionNames = [4]string{"ingress", "ingressDeny", "egress", "egressDeny"}

// ciliumLayer decides sides when Cilium enforces.
type ciliumLayer struct {
	enablePolicy   string // default, always, never
	modeUnknown    bool   // cilium-config unreadable: every mode is followed
	cidrNodes      bool   // policy-cidr-match-mode includes nodes
	allowLocalhost bool   // host → local pod ingress always allowed
	version        string // "" unknown
	rules          []*ciliumRule
	classOf        []int32
	classOfIP      map[netip.Addr]int32
	podOfIP        map[netip.Addr]*model.Pod
	classes        []*ciliumClass
	// ignored are the policies Cilium's agent refuses, with why.
	ignored []string
	// requires: some rule uses fromRequires/toRequires, whose meaning
	// depends on the version (removed in 1.19).
	requires bool
	// stale says, per namespace ("" for the cluster), why the sides of
	// its pods are unspecified: a refused policy there has been updated
	// (metadata.generation above 1), and Cilium's agent keeps enforcing
	// the last version it accepted, which the cluster no longer shows.
	stale map[string]string
	// unsupported says why no side is decided (another enforcer's tiers
	// beside Cilium).
	unsupported string
	services    []*model.Service
	// release119 is the layer as Cilium 1.19 and later hold it, when the
	// version is unknown and a policy uses fromRequires/toRequires: the
	// CRD refuses those policies there (MaxItems 0, cilium/cilium#43167),
	// so both layers are asked and a side is decided where they agree.
	release119 *ciliumLayer
}

type ciliumRule struct {
	kind, namespace, name string
	index                 int // the rule in spec/specs (0 for spec)
	subject               *ciliumSel
	host                  bool // nodeSelector: a host policy, out of scope
	defaultDeny           [2]bool
	has                   [2]bool
	sections              [4][]ciliumPeer
	requires              [2][]*ciliumSel
}

func (r *ciliumRule) ref() string {
	if r.namespace == "" {
		return r.kind + "/" + r.name
	}
	return r.kind + "/" + r.namespace + "/" + r.name
}

// ciliumPeer is one entry of a section: which peers (L3) on which ports
// (L4).
type ciliumPeer struct {
	index int
	// l3: some peer field is set; without one, every peer matches when
	// the entry has L4 (a rule with only toPorts), none otherwise.
	l3   bool
	sels []*ciliumSel
	// written are the endpoint selectors as written, before the policy's
	// namespace was added (for hints).
	written  []*ciliumSel
	entities []string
	cidrs    []ipBlock
	services []*model.CiliumService
	// fqdn, nodes, groups: peers the model cannot resolve.
	fqdn, nodes, groups, cidrGroups bool
	// dns: a toPorts entry has DNS rules (what toFQDNs learns from).
	dns bool
	// The fields' names for reasons ("toEndpoints[1]", "toCIDRSet[0]"),
	// parallel to sels, entities, cidrs and services.
	selNames, entNames, cidrNames, svcNames []string
	// l4: toPorts or icmps set; ports and icmps are their entries.
	l4    bool
	ports []ciliumPort
	icmps []model.CiliumICMPRule
}

type ciliumPort struct {
	entry    int // the toPorts entry
	port     int32
	end      int32
	name     string
	protocol string // TCP, UDP, SCTP or ANY
	l7       bool
}

// compileCilium builds the layer when Cilium is known to enforce.
func (e *Engine) compileCilium(m *model.Model) {
	if m.Cilium == nil {
		return
	}
	l := newCiliumLayer(m, false)
	switch atLeast, known := ciliumVersionAtLeast(l.version, 1, 19); {
	case known && atLeast:
		l = newCiliumLayer(m, true)
	case !known && l.requires:
		l.release119 = newCiliumLayer(m, true)
	}
	e.cilium = l
}

// newCiliumLayer compiles the model's Cilium and Kubernetes policies as
// Cilium's repository holds them; refuseRequires leaves out the policies
// that use fromRequires/toRequires, as from 1.19 the API server does.
func newCiliumLayer(m *model.Model, refuseRequires bool) *ciliumLayer {
	info := m.Cilium
	l := &ciliumLayer{enablePolicy: "default", allowLocalhost: true, version: info.Version, services: m.Services}
	cfg := info.Config
	if v := strings.ToLower(strings.TrimSpace(cfg[model.CiliumEnablePolicy])); v != "" {
		l.enablePolicy = v
	}
	l.modeUnknown = info.ConfigUnknown
	l.cidrNodes = strings.Contains(cfg[model.CiliumPolicyCIDRMatchMode], "nodes")
	l.allowLocalhost = cfg[model.CiliumAllowLocalhost] != "policy"
	if v, ok := cfg[model.CiliumVersionKey]; ok && l.version == "" {
		l.version = v
	}
	nonDefaultDeny := cfg[model.CiliumEnableNonDefaultDeny] != "false"
	for _, p := range m.CiliumPolicies {
		why := ciliumRefusal(p, nonDefaultDeny)
		if why == "" && refuseRequires && usesRequires(p) {
			why = "from Cilium 1.19 the API server refuses fromRequires/toRequires (the CRD allows 0 items)"
		}
		if why != "" {
			l.ignored = append(l.ignored, p.Ref()+": "+why)
			l.markStale(p)
			continue
		}
		for i := range p.Rules {
			l.rules = append(l.rules, l.compileRule(p, i))
		}
	}
	for _, np := range m.Policies {
		l.rules = append(l.rules, compileKNPForCilium(np))
	}
	l.classify(m)
	if len(m.ClusterPolicies) > 0 || len(m.ClusterPoliciesUnreadable()) > 0 {
		l.unsupported = "Cilium does not enforce AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy; whether something else does beside it is unknown"
	}
	if len(m.CalicoPolicies) > 0 {
		l.unsupported = "Calico's and Cilium's policies are both in the model; which enforcer decides is unknown"
	}
	return l
}

// markStale notes a refused policy whose spec has been changed since its
// creation: the agent rejects the update and keeps the version it had
// (pkg/policy/k8s: "Unable to add CiliumNetworkPolicy" leaves the
// repository as it was; seen on the test bed's agent), so whatever that
// version selects in the policy's scope is unknown.
func (l *ciliumLayer) markStale(p *model.CiliumPolicy) {
	if p.Generation <= 1 {
		return
	}
	if l.stale == nil {
		l.stale = map[string]string{}
	}
	if _, ok := l.stale[p.Namespace]; !ok {
		l.stale[p.Namespace] = fmt.Sprintf("%s was changed (generation %d) into a spec Cilium's agent refuses; the agent keeps enforcing the version it accepted before, which the cluster no longer shows", p.Ref(), p.Generation)
	}
}

// staleFor says why a pod's side in namespace ns is unspecified ("" when
// no updated refused policy covers it).
func (l *ciliumLayer) staleFor(ns string) string {
	if why, ok := l.stale[""]; ok {
		return why
	}
	return l.stale[ns]
}

// usesRequires: a rule of the policy names fromRequires or toRequires.
func usesRequires(p *model.CiliumPolicy) bool {
	for _, r := range p.Rules {
		for _, section := range [][]model.CiliumPeerRule{r.Ingress, r.IngressDeny, r.Egress, r.EgressDeny} {
			for _, pr := range section {
				if len(pr.FromRequires)+len(pr.ToRequires) > 0 {
					return true
				}
			}
		}
	}
	return false
}

// ciliumRefusal says why the agent refuses the policy, "" when it does not.
func ciliumRefusal(p *model.CiliumPolicy, nonDefaultDeny bool) string {
	if len(p.Problems) > 0 {
		return strings.Join(p.Problems, "; ")
	}
	if nonDefaultDeny {
		return ""
	}
	// rule_validation.go: enableDefaultDeny false is refused unless
	// enable-non-default-deny-policies is on.
	for _, r := range p.Rules {
		if d := r.EnableDefaultDeny; d != nil && ((d.Ingress != nil && !*d.Ingress) || (d.Egress != nil && !*d.Egress)) {
			return "enableDefaultDeny false needs enable-non-default-deny-policies"
		}
	}
	return ""
}

func (l *ciliumLayer) classify(m *model.Model) {
	byKey := map[string]int32{}
	nss := map[string]*model.Namespace{}
	for _, ns := range m.Namespaces {
		nss[ns.Name] = ns
	}
	l.classOf = make([]int32, len(m.Pods))
	l.classOfIP, l.podOfIP = map[netip.Addr]int32{}, map[netip.Addr]*model.Pod{}
	for i, p := range m.Pods {
		labels := ciliumIdentityLabels(p, nss[p.Namespace])
		key := ciliumIdentityKey(labels)
		c, ok := byKey[key]
		if !ok {
			c = int32(len(l.classes))
			byKey[key] = c
			l.classes = append(l.classes, &ciliumClass{labels: labels})
		}
		l.classOf[i] = c
		if !p.HostNetwork {
			for _, a := range p.IPs {
				l.classOfIP[a], l.podOfIP[a] = c, p
			}
		}
	}
}

// compileRule converts one rule of a CNP or CCNP
// (utils.go ParseToCiliumRule).
func (l *ciliumLayer) compileRule(p *model.CiliumPolicy, i int) *ciliumRule {
	r := &p.Rules[i]
	out := &ciliumRule{kind: p.Kind, namespace: p.Namespace, name: p.Name, index: i}
	if r.EndpointSelector != nil {
		out.subject = newCiliumSel(r.EndpointSelector)
		if p.Namespace != "" {
			out.subject.addMatch(ciliumNamespaceKey, p.Namespace)
		}
	} else {
		out.host = true
		out.subject = &ciliumSel{reqs: []ciliumReq{{key: "reserved:host", op: metav1.LabelSelectorOpExists}}}
	}
	// Rule.Sanitize: default deny per direction unless enableDefaultDeny
	// says otherwise.
	out.has[0] = len(r.Ingress)+len(r.IngressDeny) > 0
	out.has[1] = len(r.Egress)+len(r.EgressDeny) > 0
	out.defaultDeny = out.has
	if d := r.EnableDefaultDeny; d != nil {
		if d.Ingress != nil {
			out.defaultDeny[0] = *d.Ingress
		}
		if d.Egress != nil {
			out.defaultDeny[1] = *d.Egress
		}
	}
	for s, entries := range [4][]model.CiliumPeerRule{r.Ingress, r.IngressDeny, r.Egress, r.EgressDeny} {
		ingress := s < ciliumEgress
		for j := range entries {
			pr := &entries[j]
			out.sections[s] = append(out.sections[s], l.compilePeer(p, pr, j, ingress))
			reqs := pr.ToRequires
			if ingress {
				reqs = pr.FromRequires
			}
			for k := range reqs {
				l.requires = true
				out.requires[s/2] = append(out.requires[s/2], ciliumPeerSelector(p, &reqs[k], false))
			}
		}
	}
	return out
}

// ciliumPeerSelector is getEndpointSelector (utils.go): a selector
// naming a reserved label stays as written; one that names no namespace
// is limited to the policy's namespace (a CNP, unless it names namespace
// labels) or to pods (a CCNP: k8s:io.kubernetes.pod.namespace exists).
func ciliumPeerSelector(p *model.CiliumPolicy, ls *metav1.LabelSelector, addK8sPrefix bool) *ciliumSel {
	s := newCiliumSel(ls)
	if addK8sPrefix && s.hasKeyPrefix(ciliumReserved) {
		return s
	}
	if s.hasKey(ciliumNamespaceKey) || s.hasKey(ciliumAnyNamespaceKey) {
		return s
	}
	switch {
	case p.Namespace == "":
		s.addExists(ciliumNamespaceKey)
	case !s.hasKeyPrefix(ciliumNSLabelsK8s) && !s.hasKeyPrefix(ciliumNSLabelsAny):
		s.addMatch(ciliumNamespaceKey, p.Namespace)
	}
	return s
}

func (l *ciliumLayer) compilePeer(p *model.CiliumPolicy, pr *model.CiliumPeerRule, index int, ingress bool) ciliumPeer {
	out := ciliumPeer{index: index}
	sels, entities, cidrs, sets := pr.ToEndpoints, pr.ToEntities, pr.ToCIDR, pr.ToCIDRSet
	if ingress {
		sels, entities, cidrs, sets = pr.FromEndpoints, pr.FromEntities, pr.FromCIDR, pr.FromCIDRSet
		out.nodes, out.groups = len(pr.FromNodes) > 0, len(pr.FromGroups) > 0
	} else {
		out.nodes, out.groups, out.fqdn = len(pr.ToNodes) > 0, len(pr.ToGroups) > 0, len(pr.ToFQDNs) > 0
		for k := range pr.ToServices {
			out.services = append(out.services, &pr.ToServices[k])
		}
	}
	for k := range sels {
		out.sels = append(out.sels, ciliumPeerSelector(p, &sels[k], true))
		out.written = append(out.written, newCiliumSel(&sels[k]))
		out.selNames = append(out.selNames, selectorText(ingress, "Endpoints", k))
	}
	for _, ent := range entities {
		out.entNames = append(out.entNames, selectorText(ingress, "Entities", 0)[:len(selectorText(ingress, "Entities", 0))-3]+"["+ent+"]")
	}
	for k := range out.services {
		out.svcNames = append(out.svcNames, selectorText(false, "Services", k))
	}
	for _, tp := range pr.ToPorts {
		if tp.HasL7() && strings.Contains(string(tp.Rules), `"dns"`) {
			out.dns = true
		}
	}
	out.entities = entities
	for k, c := range cidrs {
		if b, ok := ciliumCIDR(c, nil); ok {
			out.cidrs = append(out.cidrs, b)
			out.cidrNames = append(out.cidrNames, selectorText(ingress, "CIDR", k))
		}
	}
	for k, s := range sets {
		if s.CIDR == "" {
			out.cidrGroups = true // a CiliumCIDRGroup: addresses the model does not hold
			continue
		}
		if b, ok := ciliumCIDR(s.CIDR, s.Except); ok {
			out.cidrs = append(out.cidrs, b)
			out.cidrNames = append(out.cidrNames, selectorText(ingress, "CIDRSet", k))
		}
	}
	out.l3 = len(sels)+len(entities)+len(cidrs)+len(sets)+len(out.services) > 0 || out.nodes || out.groups || out.fqdn
	out.l4 = len(pr.ToPorts)+len(pr.ICMPs) > 0
	out.icmps = pr.ICMPs
	for k := range pr.ToPorts {
		out.ports = append(out.ports, ciliumPorts(&pr.ToPorts[k], k)...)
	}
	return out
}

func ciliumPorts(pr *model.CiliumPortRule, entry int) []ciliumPort {
	l7 := pr.HasL7()
	if len(pr.Ports) == 0 {
		return []ciliumPort{{entry: entry, protocol: "ANY", l7: l7}}
	}
	out := make([]ciliumPort, 0, len(pr.Ports))
	for _, pp := range pr.Ports {
		cp := ciliumPort{entry: entry, protocol: strings.ToUpper(pp.Protocol), l7: l7, end: pp.EndPort}
		if cp.protocol == "" {
			cp.protocol = "ANY"
		}
		n, named, _ := pp.Port.Number()
		if named {
			cp.name = strings.ToLower(string(pp.Port))
		}
		cp.port = n
		out = append(out, cp)
	}
	return out
}

func ciliumCIDR(c string, except []string) (ipBlock, bool) {
	var b ipBlock
	var err error
	if strings.Contains(c, "/") {
		b.cidr, err = netip.ParsePrefix(c)
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(c)
		b.cidr = netip.PrefixFrom(a, a.BitLen())
	}
	if err != nil {
		return b, false
	}
	b.cidr = b.cidr.Masked()
	for _, x := range except {
		if p, err := netip.ParsePrefix(x); err == nil {
			b.except = append(b.except, p.Masked())
		}
	}
	return b, true
}

// compileKNPForCilium converts a Kubernetes NetworkPolicy as
// pkg/k8s/network_policy.go (ParseNetworkPolicy) does: the subject is the
// pod selector in the policy's namespace; every ingress and egress rule
// becomes a default-deny entry **whatever policyTypes says** (a policy
// with policyTypes [Egress] and ingress rules isolates its pods' ingress
// and allows what those rules say: Cilium's deviation from the API, seen
// by the differential against the test bed's agent); a direction without
// rules is default deny where policyTypes names it (ingress also when it
// lacks Egress); a rule without peers allows every peer (the wildcard
// selector, world included); podSelector peers are limited to the
// namespace, namespaceSelector peers match namespace labels
// (io.cilium.k8s.namespace.labels.*; {} is every pod); ipBlock is a CIDR
// set, which never selects a pod.
func compileKNPForCilium(np *networkingv1.NetworkPolicy) *ciliumRule {
	r := &ciliumRule{kind: "NetworkPolicy", namespace: np.Namespace, name: np.Name}
	r.subject = knpSelector(&np.Spec.PodSelector, "k8s:")
	r.subject.addMatch(ciliumNamespaceKey, np.Namespace)
	ingress, egress := ciliumKNPDirections(np)
	r.has = [2]bool{ingress, egress}
	r.defaultDeny = r.has
	for i := range np.Spec.Ingress {
		r.sections[ciliumIngress] = append(r.sections[ciliumIngress], knpPeer(np.Namespace, i, np.Spec.Ingress[i].From, np.Spec.Ingress[i].Ports))
	}
	for i := range np.Spec.Egress {
		r.sections[ciliumEgress] = append(r.sections[ciliumEgress], knpPeer(np.Namespace, i, np.Spec.Egress[i].To, np.Spec.Egress[i].Ports))
	}
	return r
}

// ciliumKNPDirections are the directions a Kubernetes NetworkPolicy
// isolates under Cilium: those with rules, and those policyTypes names
// (ingress also when policyTypes lacks Egress, as for a policy stored
// before policyTypes existed).
func ciliumKNPDirections(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	var typeIngress, typeEgress bool
	for _, t := range np.Spec.PolicyTypes {
		typeIngress = typeIngress || t == networkingv1.PolicyTypeIngress
		typeEgress = typeEgress || t == networkingv1.PolicyTypeEgress
	}
	ingress = len(np.Spec.Ingress) > 0 || typeIngress || !typeEgress
	egress = len(np.Spec.Egress) > 0 || typeEgress
	return ingress, egress
}

// knpSelector prefixes a Kubernetes selector's keys with a source (and a
// namespace-labels prefix).
func knpSelector(ls *metav1.LabelSelector, prefix string) *ciliumSel {
	s := newCiliumSel(ls)
	for i := range s.reqs {
		s.reqs[i].key = prefix + strings.TrimPrefix(s.reqs[i].key, "any:")
	}
	return s
}

func knpPeer(namespace string, index int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) ciliumPeer {
	out := ciliumPeer{index: index, l3: true}
	if len(peers) == 0 {
		out.sels = []*ciliumSel{{text: "{} (every peer)"}}
		out.selNames = []string{"every peer (no from/to)"}
	}
	for k, peer := range peers {
		name := "peer " + strconv.Itoa(k)
		switch {
		case peer.IPBlock != nil:
			if b, err := parseIPBlock(peer.IPBlock); err == nil {
				out.cidrs = append(out.cidrs, *b)
				out.cidrNames = append(out.cidrNames, name+" (ipBlock)")
			}
		case peer.NamespaceSelector != nil:
			s := &ciliumSel{}
			if peer.PodSelector != nil {
				s = knpSelector(peer.PodSelector, "k8s:")
			}
			ns := knpSelector(peer.NamespaceSelector, ciliumNSLabelsK8s)
			s.reqs = append(s.reqs, ns.reqs...)
			if len(ns.reqs) == 0 {
				s.addExists(ciliumNamespaceKey)
			}
			out.sels = append(out.sels, s)
			out.selNames = append(out.selNames, name)
		case peer.PodSelector != nil:
			s := knpSelector(peer.PodSelector, "k8s:")
			s.addMatch(ciliumNamespaceKey, namespace)
			out.sels = append(out.sels, s)
			out.selNames = append(out.selNames, name)
		}
	}
	out.l4 = len(ports) > 0
	for k, p := range ports {
		cp := ciliumPort{entry: k, protocol: string(corev1.ProtocolTCP)}
		if p.Protocol != nil && *p.Protocol != "" {
			cp.protocol = string(*p.Protocol)
		}
		if p.Port != nil {
			if p.Port.Type == intstr.String {
				cp.name = strings.ToLower(p.Port.StrVal)
			} else {
				cp.port = p.Port.IntVal
			}
		}
		if p.EndPort != nil {
			cp.end = *p.EndPort
		}
		out.ports = append(out.ports, cp)
	}
	return out
}

// selectorText names a peer field for reasons ("toEndpoints[1]").
func selectorText(ingress bool, field string, i int) string {
	prefix := "to"
	if ingress {
		prefix = "from"
	}
	return prefix + field + "[" + strconv.Itoa(i) + "]"
}

var _ = fmt.Sprint
