package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// A deliberately naive reference for the EKS network policy agent's own
// ClusterNetworkPolicy (networking.k8s.aws/v1alpha1), written from the
// sources of the AWS network policy controller and agent, and sharing no
// code with the engine. It reads the RAW ClusterNetworkPolicy objects (not
// the model's conversion) and follows the system's three stages:
//
//  1. the controller (amazon-network-policy-controller-k8s,
//     pkg/resolvers/clusternetworkpolicy_resolver.go and endpoints.go)
//     resolves each policy into ClusterPolicyEndpoint entries: a CIDR (a
//     pod's address or a network as written) or a domain name, an action
//     and a port list; it merges them (mergeClusterEndpointInfo) and the
//     manager combines them per CIDR and action
//     (pkg/policyendpoints/manager.go combineClusterRulesEndpoints);
//  2. the agent (aws-network-policy-agent,
//     controllers/clusterpolicyendpoints_controller.go and
//     pkg/fwruleprocessor ComputeClusterPolicyMapEntriesFromEndpointRules)
//     gives every selected pod an LPM trie whose entry for an address holds
//     the L4 entries of every rule whose CIDR contains it (at most 24,
//     pkg/utils ComputeTrieValueForCPE), valued priority*10+action with
//     Baseline priorities offset by 2000;
//  3. the datapath (pkg/ebpf/c/tc.v4{ingress,egress}.bpf.c evaluateFlow)
//     takes, among the matching entries, the lowest value: an admin-tier
//     Deny or Accept decides, otherwise the NetworkPolicy tier, then the
//     baseline's lowest value, then the pod's default state.
//
// Readings of the sources the engine may miss (refEKSOpts turns each off
// to name the reading a disagreement comes from):
//   - a pod some NetworkPolicy selects is in POLICIES_APPLIED both ways, and
//     a direction none of them isolates gets a catch-all 0.0.0.0/0 entry
//     (policyendpoints_controller.go addCatchAllEntry): allowed at the
//     NetworkPolicy tier, before the baseline and whatever the mode;
//   - the resolver's mergeClusterEndpointInfo keys entries by CIDR, action
//     and portsToString, which leaves out the end of a range: of two rules
//     of one policy and action on one address, the later may be lost;
//   - the manager's combineClusterRulesEndpoints joins the ports of entries
//     of one CIDR and action: an entry without ports joined with one with
//     ports keeps only those ports;
//   - the agent's removeDuplicateL4Rules keys port entries by the
//     protocol's pointer: equal entries are not merged and count apart
//     toward the 24; a domain name's entries (no CIDR) are skipped by the
//     agent and never in the trie;
//   - the controller panics only where it dereferences a named port's nil
//     protocol (an egress rule it resolves to CIDRs, an ingress rule whose
//     target namespaces hold a pod with an address); a named port it never
//     reaches is dropped (domain names) or skips its rule (ingress).
//
// What the sources leave open (a policy the controller cannot resolve,
// entries dropped beyond 24 in random map order, domain names whose
// addresses are unknown, a pod without an address that a network may
// hold, a mode that is not known) is tried every way; a verdict is
// certain only when every way agrees.

// refEKSPort is one resolved port: Start to End (End 0: Start only).
type refEKSPort struct {
	proto      corev1.Protocol
	start, end int32
}

// refEKSEntry is one ClusterEndpointInfo: a CIDR (an address or network as
// the controller wrote it, or "pod:<ns>/<name>" for a pod that has no
// address yet) or a domain name, the action and the ports (nil: every
// port).
type refEKSEntry struct {
	cidr   string
	domain string
	action string
	ports  []refEKSPort
}

// refEKSResolved is one ClusterNetworkPolicy as the controller resolves it.
type refEKSResolved struct {
	cnp      *model.AWSClusterNetworkPolicy
	priority int // with the baseline offset
	subject  map[*model.Pod]bool
	// crash: the controller panics resolving the policy (a named port
	// without protocol): what the agent holds for it is unknown.
	crash bool
	// ingress, egress: the entries after merging and combining.
	ingress, egress []refEKSEntry
	// ingressRules, egressRules: for a crashing policy, per rule, an entry
	// matching any traffic, each in force or not.
	ingressRules, egressRules [][]refEKSEntry
}

// refEKSWorld is a cluster with its resolved policies.
type refEKSWorld struct {
	m        *model.Model
	mode     string
	policies []*refEKSResolved
	opts     refEKSOpts
}

// refEKSOpts turn readings of the sources off, one at a time, only to
// tell which one a disagreement with the engine comes from; the reference
// is the zero value.
type refEKSOpts struct {
	noCatchAll     bool // a direction no NetworkPolicy isolates goes on to the baseline
	noMerge        bool // the resolver keys entries by their whole ports
	noCombine      bool // the manager does not join entries of one CIDR and action
	coarse24       bool // more than 24 entries: open, whatever the flow
	crashAsWritten bool // a policy the controller cannot resolve: its rules' peers as written, any port
	l4ByValue      bool // the agent merges equal port entries (it keys them by the protocol's pointer)
	domainsInTrie  bool // a domain name's entries count toward the 24
	namedCrashes   bool // any named port makes the policy unresolvable
	maybeApart     bool // rules on one network (or domain name) hold an address apart
}

func newRefEKSWorld(m *model.Model, cnps []*model.AWSClusterNetworkPolicy, mode string) *refEKSWorld {
	return newRefEKSWorldWith(m, cnps, mode, refEKSOpts{})
}

func newRefEKSWorldWith(m *model.Model, cnps []*model.AWSClusterNetworkPolicy, mode string, opts refEKSOpts) *refEKSWorld {
	w := &refEKSWorld{m: m, mode: mode, opts: opts}
	for _, cnp := range cnps {
		w.policies = append(w.policies, refEKSResolve(m, cnp, opts))
	}
	return w
}

func refEKSNamespaces(m *model.Model, sel *metav1.LabelSelector) []*model.Namespace {
	var out []*model.Namespace
	for _, ns := range m.Namespaces {
		if naiveSelects(sel, ns.Labels) {
			out = append(out, ns)
		}
	}
	return out
}

// refEKSPeerPods: the pods of the namespaces nsSel matches that podSel
// (nil: every pod) matches, as listMatchingPods lists them.
func refEKSPeerPods(m *model.Model, nsSel, podSel *metav1.LabelSelector) []*model.Pod {
	var out []*model.Pod
	for _, ns := range refEKSNamespaces(m, nsSel) {
		for _, p := range m.Pods {
			if p.Namespace == ns.Name && (podSel == nil || naiveSelects(podSel, p.Labels)) {
				out = append(out, p)
			}
		}
	}
	return out
}

// refEKSAddr is the CIDR the controller writes for a pod: its address (the
// model's convention: a pod without one is matched all the same).
func refEKSAddr(p *model.Pod) string {
	if len(p.IPs) == 0 {
		return "pod:" + p.Key()
	}
	return p.IPs[0].String()
}

func refEKSProto(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP // the CRD's default
	}
	return p
}

// refEKSNumericPorts is convertCNPPortsToNPPorts (and, for domain names,
// convertCNPPortsToEndpointPorts) without the named ports: a number, then
// a range, for every entry, in order; nil when none.
func refEKSNumericPorts(ports *[]model.AWSPort) (out []refEKSPort, named bool) {
	if ports == nil {
		return nil, false
	}
	for _, p := range *ports {
		if p.PortNumber != nil {
			out = append(out, refEKSPort{proto: refEKSProto(p.PortNumber.Protocol), start: p.PortNumber.Port})
		}
		if p.PortRange != nil {
			out = append(out, refEKSPort{proto: refEKSProto(p.PortRange.Protocol), start: p.PortRange.Start, end: p.PortRange.End})
		}
		if p.NamedPort != nil {
			named = true
		}
	}
	return out, named
}

// refEKSPortsString is the resolver's portsToString: the end of a range is
// not in it.
func refEKSPortsString(ports []refEKSPort) string {
	if len(ports) == 0 {
		return "all"
	}
	var parts []string
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("%s:%d", p.proto, p.start))
	}
	return strings.Join(parts, ",")
}

func refEKSResolve(m *model.Model, cnp *model.AWSClusterNetworkPolicy, opts refEKSOpts) *refEKSResolved {
	r := &refEKSResolved{cnp: cnp, priority: int(cnp.Spec.Priority), subject: map[*model.Pod]bool{}}
	if cnp.Spec.Tier == "Baseline" {
		r.priority += 2000 // BASELINE_TIER_PRIORITY_OFFSET
	}
	// resolvePodEndpointsFromSubject: host-networked pods are skipped.
	var subjectPods []*model.Pod
	switch s := cnp.Spec.Subject; {
	case s.Namespaces != nil:
		subjectPods = refEKSPeerPods(m, s.Namespaces, nil)
	case s.Pods != nil:
		subjectPods = refEKSPeerPods(m, &s.Pods.NamespaceSelector, &s.Pods.PodSelector)
	}
	for _, p := range subjectPods {
		if !p.HostNetwork {
			r.subject[p] = true
		}
	}

	// Ingress: each rule is resolved in the namespaces its FIRST peer's
	// namespace selector matches (resolveCNPIngressRules); none, nothing.
	var ingress [][]refEKSEntry
	for _, rule := range cnp.Spec.Ingress {
		var targets []*model.Namespace
		if len(rule.From) > 0 {
			switch first := rule.From[0]; {
			case first.Namespaces != nil:
				targets = refEKSNamespaces(m, first.Namespaces)
			case first.Pods != nil:
				targets = refEKSNamespaces(m, &first.Pods.NamespaceSelector)
			}
		}
		if len(targets) == 0 {
			ingress = append(ingress, nil)
			continue
		}
		ports, named := refEKSNumericPorts(rule.Ports)
		if named {
			// resolveIngressPorts lists the target namespaces' pods and
			// dereferences the named port's nil protocol for the first
			// one with an address (getPortList): the controller panics.
			// Without any, no port resolves and the rule is skipped.
			ready := false
			for _, ns := range targets {
				for _, p := range m.PodsIn(ns.Name) {
					ready = ready || len(p.IPs) > 0
				}
			}
			if ready {
				r.crash = true
			} else {
				ingress = append(ingress, nil)
				continue
			}
		}
		var entries []refEKSEntry
		for _, peer := range rule.From {
			var pods []*model.Pod
			switch {
			case peer.Namespaces != nil:
				pods = refEKSPeerPods(m, peer.Namespaces, nil)
			case peer.Pods != nil:
				pods = refEKSPeerPods(m, &peer.Pods.NamespaceSelector, &peer.Pods.PodSelector)
			}
			for _, p := range pods {
				entries = append(entries, refEKSEntry{cidr: refEKSAddr(p), action: rule.Action, ports: ports})
			}
		}
		ingress = append(ingress, entries)
	}

	// Egress: a networks peer resolves the rule's networks and pods; a
	// namespaces or pods peer resolves them once per namespace it
	// matches; a domain name is kept as such for Accept and Pass.
	var egress [][]refEKSEntry
	for _, rule := range cnp.Spec.Egress {
		ports, named := refEKSNumericPorts(rule.Ports)
		resolvesCIDRs := false
		for _, peer := range rule.To {
			switch {
			case len(peer.Networks) > 0:
				resolvesCIDRs = true
			case peer.Namespaces != nil:
				resolvesCIDRs = resolvesCIDRs || len(refEKSNamespaces(m, peer.Namespaces)) > 0
			case peer.Pods != nil:
				resolvesCIDRs = resolvesCIDRs || len(refEKSNamespaces(m, &peer.Pods.NamespaceSelector)) > 0
			}
		}
		cidrPorts := ports
		if named && resolvesCIDRs {
			// computeEgressEndpoints: convertToPolicyInfoPortForCIDRs
			// dereferences the named port's nil protocol: a panic.
			r.crash = true
		}
		var entries []refEKSEntry
		for _, peer := range rule.To {
			switch {
			case len(peer.Networks) > 0:
				for _, n := range peer.Networks {
					entries = append(entries, refEKSEntry{cidr: n, action: rule.Action, ports: cidrPorts})
				}
			case peer.Namespaces != nil || peer.Pods != nil:
				var pods []*model.Pod
				if peer.Namespaces != nil {
					pods = refEKSPeerPods(m, peer.Namespaces, nil)
				} else {
					pods = refEKSPeerPods(m, &peer.Pods.NamespaceSelector, &peer.Pods.PodSelector)
				}
				for _, p := range pods {
					entries = append(entries, refEKSEntry{cidr: refEKSAddr(p), action: rule.Action, ports: cidrPorts})
				}
			case len(peer.DomainNames) > 0:
				if rule.Action != "Accept" && rule.Action != "Pass" {
					continue // the resolver ignores Deny for domain names
				}
				for _, d := range peer.DomainNames {
					// convertCNPPortsToEndpointPorts: numbers and ranges.
					entries = append(entries, refEKSEntry{domain: d, action: rule.Action, ports: ports})
				}
			}
		}
		egress = append(egress, entries)
	}

	if opts.namedCrashes && !r.crash {
		for _, rule := range cnp.Spec.Ingress {
			_, named := refEKSNumericPorts(rule.Ports)
			r.crash = r.crash || named
		}
		for _, rule := range cnp.Spec.Egress {
			_, named := refEKSNumericPorts(rule.Ports)
			r.crash = r.crash || named
		}
	}
	if r.crash && opts.crashAsWritten {
		for _, entries := range ingress {
			var rs []refEKSEntry
			for _, e := range entries {
				e.ports = nil
				rs = append(rs, e)
			}
			r.ingressRules = append(r.ingressRules, rs)
		}
		for _, entries := range egress {
			var rs []refEKSEntry
			for _, e := range entries {
				e.ports = nil
				rs = append(rs, e)
			}
			r.egressRules = append(r.egressRules, rs)
		}
		return r
	}
	if r.crash {
		// The controller never writes a ClusterPolicyEndpoint from this
		// spec (it panics first, and with it every reconcile): what the
		// agent holds for the policy, if anything, is not this spec's. Each
		// rule may match any traffic of the subject, or nothing.
		for _, rule := range cnp.Spec.Ingress {
			r.ingressRules = append(r.ingressRules, []refEKSEntry{{cidr: "0.0.0.0/0", action: rule.Action}})
		}
		for _, rule := range cnp.Spec.Egress {
			r.egressRules = append(r.egressRules, []refEKSEntry{{cidr: "0.0.0.0/0", action: rule.Action}})
		}
		return r
	}
	r.ingress = refEKSMergeAndCombine(ingress, opts)
	r.egress = refEKSMergeAndCombine(egress, opts)
	return r
}

// refEKSMergeAndCombine: mergeClusterEndpointInfo keeps the first entry of
// each CIDR (or domain), action and portsToString (so of two rules with
// the same action, one with port 80 and one with the range 80-3000, the
// later is lost for the addresses both cover); combineClusterRulesEndpoints
// then joins the entries of one CIDR and action, deduplicating their
// ports by value (a list without ports joined with one with ports keeps
// only those ports).
func refEKSMergeAndCombine(rules [][]refEKSEntry, opts refEKSOpts) []refEKSEntry {
	seen := map[string]bool{}
	var merged []refEKSEntry
	for _, entries := range rules {
		for _, e := range entries {
			key := "cidr:" + e.cidr
			if e.domain != "" {
				key = "domain:" + e.domain
			}
			key += ":" + e.action + ":" + refEKSPortsString(e.ports)
			if opts.noMerge {
				key += fmt.Sprint(e.ports)
			}
			if !seen[key] {
				seen[key] = true
				merged = append(merged, e)
			}
		}
	}
	type group struct {
		entries []refEKSEntry
	}
	var order []string
	groups := map[string]*group{}
	for _, e := range merged {
		key := e.cidr + "|" + e.domain + "|" + e.action
		if opts.noCombine {
			key += fmt.Sprint("|", len(order))
		}
		if groups[key] == nil {
			groups[key] = &group{}
			order = append(order, key)
		}
		groups[key].entries = append(groups[key].entries, e)
	}
	var out []refEKSEntry
	for _, key := range order {
		g := groups[key]
		e := g.entries[0]
		if len(g.entries) > 1 {
			var all []refEKSPort
			for _, x := range g.entries {
				all = append(all, x.ports...)
			}
			seenPort := map[refEKSPort]bool{}
			var ports []refEKSPort
			for _, p := range all {
				if !seenPort[p] {
					seenPort[p] = true
					ports = append(ports, p)
				}
			}
			e.ports = ports
		}
		out = append(out, e)
	}
	return out
}

// refEKSRule is one rule in a pod's trie: an entry and its priority.
type refEKSRule struct {
	refEKSEntry
	priority int
}

// refEKSActionValue is CPActionType: Deny 0, Accept 1, Pass 2.
func refEKSActionValue(a string) int {
	switch a {
	case "Deny":
		return 0
	case "Accept":
		return 1
	}
	return 2
}

// refEKSL4 is one L4 entry of a trie value.
type refEKSL4 struct {
	value   int // priority*10 + action
	matches bool
}

// refEKSVerdict decides a flow: under "unknown" mode both modes must agree.
func (w *refEKSWorld) verdict(f Flow) Verdict {
	if f.From.Pod != nil && f.From.Pod == f.To.Pod && !f.Replicas {
		return Allowed
	}
	if (f.From.Pod != nil && f.From.Pod.HostNetwork) || (f.To.Pod != nil && f.To.Pod.HostNetwork) || len(w.m.OtherLayers) > 0 {
		return Unspecified
	}
	for _, ep := range []Endpoint{f.From, f.To} {
		if ep.Pod != nil && !w.m.PoliciesReadable(ep.Pod.Namespace) {
			return Unspecified
		}
	}
	switch w.mode {
	case model.AWSModeStrict:
		return w.verdictIn(f, true)
	case model.AWSModeUnknown:
		a, b := w.verdictIn(f, false), w.verdictIn(f, true)
		if a != b {
			return Unspecified
		}
		return a
	}
	return w.verdictIn(f, false) // "" and "standard": the agent's default mode
}

func (w *refEKSWorld) verdictIn(f Flow, strict bool) Verdict {
	egress := map[Verdict]bool{Allowed: true}
	if f.From.Pod != nil {
		egress = w.side(f, f.From.Pod, f.To, false, strict)
	}
	ingress := map[Verdict]bool{Allowed: true}
	if f.To.Pod != nil {
		ingress = w.side(f, f.To.Pod, f.From, true, strict)
	}
	canAllow := egress[Allowed] && ingress[Allowed]
	canDeny := egress[Denied] || ingress[Denied]
	switch {
	case canAllow && !canDeny:
		return Allowed
	case canDeny && !canAllow:
		return Denied
	}
	return Unspecified
}

// refEKSNPSelected: some NetworkPolicy selects the pod, so the agent puts it
// in POLICIES_APPLIED for both directions.
func refEKSNPSelected(m *model.Model, pod *model.Pod) bool {
	for _, np := range m.Policies {
		if np.Namespace == pod.Namespace && naiveSelects(&np.Spec.PodSelector, pod.Labels) {
			return true
		}
	}
	return false
}

// refEKSNPIsolates: some NetworkPolicy selecting the pod has the direction
// among its policy types (written, or as the API server defaults them).
func refEKSNPIsolates(m *model.Model, pod *model.Pod, dir networkingv1.PolicyType) bool {
	for _, np := range m.Policies {
		if np.Namespace != pod.Namespace || !naiveSelects(&np.Spec.PodSelector, pod.Labels) {
			continue
		}
		types := np.Spec.PolicyTypes
		if len(types) == 0 {
			types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			if len(np.Spec.Egress) > 0 {
				types = append(types, networkingv1.PolicyTypeEgress)
			}
		}
		for _, t := range types {
			if t == dir {
				return true
			}
		}
	}
	return false
}

// refEKSContains says whether a trie rule holds the peer: "yes", "no" or
// "maybe" (a pod without an address, a domain name).
func (w *refEKSWorld) refEKSContains(r refEKSRule, peer Endpoint) string {
	if r.domain != "" {
		if peer.Pod == nil {
			return "maybe"
		}
		return "no" // the model's convention: domain names are outside the cluster
	}
	if strings.HasPrefix(r.cidr, "pod:") {
		if peer.Pod != nil && len(peer.Pod.IPs) == 0 && r.cidr == "pod:"+peer.Pod.Key() {
			return "yes"
		}
		return "no"
	}
	cidr := r.cidr
	if !strings.Contains(cidr, "/") {
		// Another pod's address: never that of a pod without one.
		if peer.Pod != nil && len(peer.Pod.IPs) == 0 {
			return "no"
		}
		cidr += "/32" // the agent's host mask
	}
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil || !prefix.Addr().Is4() {
		return "no" // an IPv6 rule in an IPv4 cluster is skipped
	}
	prefix = prefix.Masked()
	if peer.Pod == nil {
		return map[bool]string{true: "yes", false: "no"}[prefix.Contains(peer.IP)]
	}
	if len(peer.Pod.IPs) > 0 {
		for _, a := range peer.Pod.IPs {
			if prefix.Contains(a) {
				return "yes"
			}
		}
		return "no"
	}
	// A pod without an address yet (the model's convention): a network
	// spanning every address of the cluster's families holds it, any
	// other it may be given may.
	v4, v6 := naiveFamilies(w.m)
	if prefix.Bits() == 0 && !v6 && v4 {
		return "yes"
	}
	if naiveReserved(prefix) {
		return "no"
	}
	return "maybe"
}

// side returns every verdict the subject's side can give.
func (w *refEKSWorld) side(f Flow, subject *model.Pod, peer Endpoint, ingress, strict bool) map[Verdict]bool {
	dir := networkingv1.PolicyTypeEgress
	if ingress {
		dir = networkingv1.PolicyTypeIngress
	}
	// The rules in the subject's trie, and the rules whose presence is
	// open: a crashing policy's rules, each in force or not.
	var certain []refEKSRule
	var openRules [][]refEKSRule
	for _, p := range w.policies {
		if !p.subject[subject] {
			continue
		}
		if p.crash {
			rules := p.egressRules
			if ingress {
				rules = p.ingressRules
			}
			for _, entries := range rules {
				if len(entries) == 0 {
					continue
				}
				var rs []refEKSRule
				for _, e := range entries {
					rs = append(rs, refEKSRule{refEKSEntry: e, priority: p.priority})
				}
				openRules = append(openRules, rs)
			}
			continue
		}
		entries := p.egress
		if ingress {
			entries = p.ingress
		}
		for _, e := range entries {
			certain = append(certain, refEKSRule{refEKSEntry: e, priority: p.priority})
		}
	}
	out := map[Verdict]bool{}
	if len(openRules) > 12 {
		return map[Verdict]bool{Allowed: true, Denied: true}
	}
	for mask := 0; mask < 1<<len(openRules); mask++ {
		rules := append([]refEKSRule(nil), certain...)
		for i, rs := range openRules {
			if mask&(1<<i) != 0 {
				rules = append(rules, rs...)
			}
		}
		for v := range w.sideWith(f, subject, peer, dir, strict, rules) {
			out[v] = true
		}
	}
	return out
}

// sideWith decides the side for a given set of trie rules, trying both
// ways every rule whose holding of the peer is open: per domain name, per
// network for a pod without an address.
func (w *refEKSWorld) sideWith(f Flow, subject *model.Pod, peer Endpoint, dir networkingv1.PolicyType, strict bool, rules []refEKSRule) map[Verdict]bool {
	var held []refEKSRule
	openKeys := []string{}
	openIndex := map[string]int{}
	var maybe []refEKSRule
	for _, r := range rules {
		switch w.refEKSContains(r, peer) {
		case "yes":
			held = append(held, r)
		case "maybe":
			key := refEKSMaybeKey(r, len(maybe), w.opts)
			if _, ok := openIndex[key]; !ok {
				openIndex[key] = len(openKeys)
				openKeys = append(openKeys, key)
			}
			maybe = append(maybe, r)
		}
	}
	out := map[Verdict]bool{}
	if len(openKeys) > 10 {
		return map[Verdict]bool{Allowed: true, Denied: true}
	}
	for mask := 0; mask < 1<<len(openKeys); mask++ {
		var trie, extra []refEKSRule
		trie = append(trie, held...)
		for i, r := range maybe {
			key := refEKSMaybeKey(r, i, w.opts)
			if mask&(1<<openIndex[key]) == 0 {
				continue
			}
			if r.domain != "" {
				extra = append(extra, r) // not in the CIDR trie: never dropped
			} else {
				trie = append(trie, r)
			}
		}
		for v := range w.evaluate(f, subject, peer, dir, strict, trie, extra) {
			out[v] = true
		}
	}
	return out
}

// refEKSMaybeKey groups the rules whose holding of the peer is open: one
// domain name resolves, or not, for all its rules; one network holds the
// address, or not, for all its rules.
func refEKSMaybeKey(r refEKSRule, i int, opts refEKSOpts) string {
	if opts.maybeApart {
		return fmt.Sprint("rule:", i)
	}
	if r.domain != "" {
		return "domain:" + r.domain
	}
	if p, err := netip.ParsePrefix(r.cidr); err == nil {
		return "cidr:" + p.Masked().String()
	}
	return "cidr:" + r.cidr
}

// evaluate is the trie value and evaluateFlow: the L4 entries of every
// rule holding the peer (catch-all entries of one priority and action are
// one; port entries are never merged, removeDuplicateL4Rules keys them by
// the protocol's pointer), at most 24 of them kept in random map order.
func (w *refEKSWorld) evaluate(f Flow, subject *model.Pod, peer Endpoint, dir networkingv1.PolicyType, strict bool, trie, extra []refEKSRule) map[Verdict]bool {
	l4 := func(rules []refEKSRule) []refEKSL4 {
		var out []refEKSL4
		catchAll := map[[2]int]bool{}
		byValue := map[string]bool{}
		for _, r := range rules {
			value := r.priority*10 + refEKSActionValue(r.action)
			if len(r.ports) == 0 {
				key := [2]int{r.priority, refEKSActionValue(r.action)}
				if !catchAll[key] {
					catchAll[key] = true
					out = append(out, refEKSL4{value: value, matches: true})
				}
				continue
			}
			for _, p := range r.ports {
				if w.opts.l4ByValue {
					key := fmt.Sprint(p, r.priority, r.action)
					if byValue[key] {
						continue
					}
					byValue[key] = true
				}
				m := p.proto == f.Protocol && (f.Port == p.start || (p.end > 0 && f.Port >= p.start && f.Port <= p.end))
				out = append(out, refEKSL4{value: value, matches: m})
			}
		}
		return out
	}
	if w.opts.domainsInTrie {
		trie, extra = append(append([]refEKSRule(nil), trie...), extra...), nil
	}
	entries := l4(trie)
	always := l4(extra)
	// The lowest matching value overall (admin) and among baseline
	// values, for every set of kept entries the agent may write.
	type pick struct{ admin, baseline int } // -1: none
	picks := map[pick]bool{}
	minOf := func(es []refEKSL4, baselineOnly bool) int {
		best := -1
		for _, e := range es {
			if !e.matches || (baselineOnly && e.value/10 <= 1000) {
				continue
			}
			if best < 0 || e.value < best {
				best = e.value
			}
		}
		return best
	}
	combine := func(a, b int) int {
		switch {
		case a < 0:
			return b
		case b < 0:
			return a
		case a < b:
			return a
		}
		return b
	}
	if len(entries) > 24 && w.opts.coarse24 {
		return map[Verdict]bool{Allowed: true, Denied: true}
	}
	if len(entries) <= 24 {
		picks[pick{combine(minOf(entries, false), minOf(always, false)), combine(minOf(entries, true), minOf(always, true))}] = true
	} else {
		// Any 24 entries may be kept: for each candidate lowest matching
		// entry (a) and lowest matching baseline entry (b), the kept set
		// must hold them and none lower.
		n := len(entries)
		candidates := []int{-1}
		for i, e := range entries {
			if e.matches {
				candidates = append(candidates, i)
			}
		}
		for _, a := range candidates {
			for _, b := range candidates {
				if b >= 0 && entries[b].value/10 <= 1000 {
					continue
				}
				required := map[int]bool{}
				excluded := map[int]bool{}
				for _, x := range []int{a, b} {
					if x >= 0 {
						required[x] = true
					}
				}
				for i, e := range entries {
					if !e.matches {
						continue
					}
					if a < 0 || e.value < entries[a].value {
						excluded[i] = true
					}
					if e.value/10 > 1000 && (b < 0 || e.value < entries[b].value) {
						excluded[i] = true
					}
				}
				ok := len(required) <= 24 && n-len(excluded) >= 24
				for x := range required {
					ok = ok && !excluded[x]
				}
				if !ok {
					continue
				}
				av, bv := -1, -1
				if a >= 0 {
					av = entries[a].value
				}
				if b >= 0 {
					bv = entries[b].value
				}
				picks[pick{combine(av, minOf(always, false)), combine(bv, minOf(always, true))}] = true
			}
		}
	}
	out := map[Verdict]bool{}
	for p := range picks {
		out[w.decide(f, subject, peer, dir, strict, p.admin, p.baseline)] = true
	}
	return out
}

// decide is evaluateFlow once the trie's lowest values are known.
func (w *refEKSWorld) decide(f Flow, subject *model.Pod, peer Endpoint, dir networkingv1.PolicyType, strict bool, admin, baseline int) Verdict {
	if admin >= 0 && admin/10 <= 1000 { // ADMIN_TIER_PRIORITY_LIMIT
		switch admin % 10 {
		case 0:
			return Denied
		case 1:
			return Allowed
		}
	}
	// The NetworkPolicy tier: a pod some NetworkPolicy selects is in
	// POLICIES_APPLIED both ways; a direction no NetworkPolicy isolates
	// gets the catch-all 0.0.0.0/0 entry (addCatchAllEntry): allowed.
	if refEKSNPSelected(w.m, subject) && (!w.opts.noCatchAll || refEKSNPIsolates(w.m, subject, dir)) {
		if !refEKSNPIsolates(w.m, subject, dir) {
			return Allowed
		}
		if naiveDirection(w.m, f, subject, peer, dir) {
			return Allowed
		}
		return Denied
	}
	if baseline >= 0 {
		switch baseline % 10 {
		case 0:
			return Denied
		case 1:
			return Allowed
		}
	}
	if strict && !refEKSNPSelected(w.m, subject) {
		return Denied // DEFAULT_DENY
	}
	return Allowed // DEFAULT_ALLOW (or, with noCatchAll, POLICIES_APPLIED)
}

// --- The random clusters ---

var (
	refEKSFlowPorts     = []int32{53, 80, 443, 8080}
	refEKSFlowProtocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP}
	refEKSExternalAddrs = []netip.Addr{netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.0.9.9")}
	refEKSModes         = []string{"", model.AWSModeStandard, model.AWSModeStrict, model.AWSModeUnknown}
	refEKSEnvs          = []string{"prod", "dev", "staging"}
	refEKSTeams         = []string{"red", "blue", "green"}
	refEKSApps          = []string{"web", "api", "db", "cache", "worker", "frontend", "backend"}
	refEKSTiers         = []string{"front", "back", "data"}
	refEKSDomains       = []string{"*.example.com", "api.example.org"}
	refEKSPortNumbers   = []int32{53, 80, 443, 8080, 3000}
)

// refEKSCase is a random cluster: the model (NetworkPolicies, no cluster
// policies), the raw EKS ClusterNetworkPolicies and the agent's mode.
type refEKSCase struct {
	m    *model.Model
	cnps []*model.AWSClusterNetworkPolicy
	mode string
}

// engineModel is what the engine reads: the model with the conversions.
func (c refEKSCase) engineModel() *model.Model {
	m := *c.m
	m.ClusterPolicies = nil
	for _, cnp := range c.cnps {
		m.ClusterPolicies = append(m.ClusterPolicies, model.FromAWSClusterNetworkPolicy(cnp))
	}
	m.AWSPolicyMode = c.mode
	return &m
}

func refEKSPick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func refEKSCaseFor(seed uint64) refEKSCase {
	m := synth.Model(synth.Options{Seed: seed, Namespaces: 2 + int(seed%2), Workloads: 2 + int(seed/7%2), MaxReplicas: 2, Policies: int(seed % 4), HostNetworkEvery: 13, NoIPEvery: 9})
	// The AWS controller resolves a NetworkPolicy's ingress and egress
	// rules whatever its policyTypes say (a quirk of its own, outside this
	// kind): leave out rules of the directions the types leave out.
	for _, np := range m.Policies {
		if len(np.Spec.PolicyTypes) == 0 {
			continue
		}
		in, eg := false, false
		for _, t := range np.Spec.PolicyTypes {
			in = in || t == networkingv1.PolicyTypeIngress
			eg = eg || t == networkingv1.PolicyTypeEgress
		}
		if !in {
			np.Spec.Ingress = nil
		}
		if !eg {
			np.Spec.Egress = nil
		}
	}
	r := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	c := refEKSCase{m: m, mode: refEKSModes[seed%4]}
	for i := 0; i < 1+int(seed%6); i++ {
		c.cnps = append(c.cnps, refEKSRandomPolicy(r, m, i))
	}
	return c
}

func refEKSNSSelector(r *rand.Rand) *metav1.LabelSelector {
	switch r.IntN(6) {
	case 0:
		return &metav1.LabelSelector{}
	case 1:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"env": refEKSPick(r, refEKSEnvs)}}
	case 2:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: refEKSPick(r, []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn}), Values: []string{refEKSPick(r, refEKSTeams)}}}}
	case 3:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: refEKSPick(r, []metav1.LabelSelectorOperator{metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist})}}}
	}
	return &metav1.LabelSelector{MatchLabels: map[string]string{model.MetadataNameLabel: fmt.Sprintf("ns-%d", r.IntN(3))}}
}

// refEKSNowhere selects no namespace.
func refEKSNowhere(r *rand.Rand) *metav1.LabelSelector {
	if r.IntN(2) == 0 {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"env": "nowhere"}}
	}
	return &metav1.LabelSelector{MatchLabels: map[string]string{model.MetadataNameLabel: "ns-9"}}
}

func refEKSPodSelector(r *rand.Rand) *metav1.LabelSelector {
	switch r.IntN(4) {
	case 0:
		return &metav1.LabelSelector{}
	case 1:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": refEKSPick(r, refEKSApps)}}
	case 2:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{refEKSPick(r, refEKSTiers), refEKSPick(r, refEKSTiers)}}}}
	}
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpExists}}}
}

func refEKSNamespacedPod(r *rand.Rand, nsSel *metav1.LabelSelector) *model.AWSNamespacedPod {
	return &model.AWSNamespacedPod{NamespaceSelector: *nsSel, PodSelector: *refEKSPodSelector(r)}
}

func refEKSNetworks(r *rand.Rand, m *model.Model) []string {
	var out []string
	for k := 1 + r.IntN(2); k > 0; k-- {
		switch n := r.IntN(12); {
		case n == 0:
			out = append(out, "0.0.0.0/0")
		case n == 1:
			out = append(out, "10.0.0.0/8")
		case n == 2:
			out = append(out, "10.0.0.0/16")
		case n == 3:
			out = append(out, "10.0.0.0/29")
		case n == 4:
			out = append(out, "10.0.0.8/29")
		case n == 5 && len(m.Pods) > 0:
			if p := refEKSPick(r, m.Pods); len(p.IPs) > 0 {
				out = append(out, p.IPs[0].String()+"/32")
				continue
			}
			out = append(out, "10.0.0.4/30")
		case n == 6:
			out = append(out, "198.51.100.0/24")
		case n == 7:
			out = append(out, "198.51.100.10/32")
		case n == 8:
			out = append(out, "192.0.2.0/24")
		case n == 9:
			out = append(out, "169.254.0.0/16")
		default:
			out = append(out, "10.0.9.0/24")
		}
	}
	return out
}

func refEKSRandomPorts(r *rand.Rand) *[]model.AWSPort {
	if r.IntN(5) < 2 {
		return nil
	}
	protos := []corev1.Protocol{"", corev1.ProtocolTCP, corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	number := func() *model.AWSPortNumber {
		return &model.AWSPortNumber{Protocol: refEKSPick(r, protos), Port: refEKSPick(r, refEKSPortNumbers)}
	}
	portRange := func() *model.AWSPortRange {
		start := refEKSPick(r, []int32{50, 80, 443, 1000})
		return &model.AWSPortRange{Protocol: refEKSPick(r, protos), Start: start, End: start + 1 + int32(r.IntN(8000))}
	}
	var out []model.AWSPort
	if r.IntN(14) == 0 {
		// Many ports: with the entries of other rules on the same
		// address, more than the 24 the agent keeps.
		for k := 12 + r.IntN(18); k > 0; k-- {
			out = append(out, model.AWSPort{PortNumber: &model.AWSPortNumber{Protocol: refEKSPick(r, protos), Port: 9000 + int32(r.IntN(40))}})
		}
		for k := r.IntN(3); k > 0; k-- {
			out = append(out, model.AWSPort{PortNumber: number()})
		}
		return &out
	}
	for k := 1 + r.IntN(3); k > 0; k-- {
		switch n := r.IntN(20); {
		case n < 8:
			out = append(out, model.AWSPort{PortNumber: number()})
		case n < 13:
			out = append(out, model.AWSPort{PortRange: portRange()})
		case n < 16:
			out = append(out, model.AWSPort{PortNumber: number(), PortRange: portRange()})
		case n < 19:
			out = append(out, model.AWSPort{}) // adds nothing
		default:
			if r.IntN(3) == 0 {
				name := refEKSPick(r, []string{"http", "dns", "metrics"})
				out = append(out, model.AWSPort{NamedPort: &name})
			} else {
				out = append(out, model.AWSPort{PortNumber: number()})
			}
		}
	}
	return &out
}

func refEKSRandomPolicy(r *rand.Rand, m *model.Model, i int) *model.AWSClusterNetworkPolicy {
	cnp := &model.AWSClusterNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: model.AWSPolicyGroup + "/v1alpha1", Kind: "ClusterNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("eks-%d", i)},
	}
	cnp.Spec.Tier = refEKSPick(r, []string{"Admin", "Admin", "Baseline"})
	cnp.Spec.Priority = refEKSPick(r, []int32{1, 1, 2, 2, 3, 0, 1000})
	if r.IntN(2) == 0 {
		cnp.Spec.Subject.Namespaces = refEKSNSSelector(r)
	} else {
		cnp.Spec.Subject.Pods = refEKSNamespacedPod(r, refEKSNSSelector(r))
	}
	actions := []string{"Accept", "Deny", "Pass"}
	for k := r.IntN(4); k > 0; k-- {
		rule := model.AWSIngressRule{Name: fmt.Sprintf("in-%d", k), Action: refEKSPick(r, actions), Ports: refEKSRandomPorts(r)}
		for p := 1 + r.IntN(2); p > 0; p-- {
			nsSel := refEKSNSSelector(r)
			if len(rule.From) == 0 && r.IntN(6) == 0 {
				nsSel = refEKSNowhere(r) // the first peer selects no namespace
			}
			if r.IntN(2) == 0 {
				rule.From = append(rule.From, model.AWSIngressPeer{Namespaces: nsSel})
			} else {
				rule.From = append(rule.From, model.AWSIngressPeer{Pods: refEKSNamespacedPod(r, nsSel)})
			}
		}
		cnp.Spec.Ingress = append(cnp.Spec.Ingress, rule)
	}
	for k := r.IntN(4); k > 0; k-- {
		rule := model.AWSEgressRule{Name: fmt.Sprintf("out-%d", k), Action: refEKSPick(r, actions), Ports: refEKSRandomPorts(r)}
		for p := 1 + r.IntN(2); p > 0; p-- {
			switch n := r.IntN(10); {
			case n < 2:
				nsSel := refEKSNSSelector(r)
				if r.IntN(8) == 0 {
					nsSel = refEKSNowhere(r)
				}
				rule.To = append(rule.To, model.AWSEgressPeer{Namespaces: nsSel})
			case n < 4:
				rule.To = append(rule.To, model.AWSEgressPeer{Pods: refEKSNamespacedPod(r, refEKSNSSelector(r))})
			case n < 8 || rule.Action == "Deny":
				rule.To = append(rule.To, model.AWSEgressPeer{Networks: refEKSNetworks(r, m)})
			default:
				names := []string{refEKSPick(r, refEKSDomains)}
				if r.IntN(3) == 0 {
					names = refEKSDomains
				}
				rule.To = append(rule.To, model.AWSEgressPeer{DomainNames: names})
			}
		}
		cnp.Spec.Egress = append(cnp.Spec.Egress, rule)
	}
	return cnp
}

// --- The test ---

func eachRefEKSFlow(m *model.Model, visit func(Flow)) {
	var endpoints []Endpoint
	for _, p := range m.Pods {
		endpoints = append(endpoints, PodEndpoint(p))
	}
	for _, a := range refEKSExternalAddrs {
		endpoints = append(endpoints, IPEndpoint(a))
	}
	for _, from := range endpoints {
		for _, to := range endpoints {
			if from.Pod == nil && to.Pod == nil {
				continue
			}
			for _, port := range refEKSFlowPorts {
				for _, proto := range refEKSFlowProtocols {
					visit(Flow{From: from, To: to, Port: port, Protocol: proto})
				}
			}
		}
	}
}

// The engine agrees with the naive reference on every flow of many random
// clusters holding the EKS agent's ClusterNetworkPolicies with
// NetworkPolicies, in every enforcing mode.
func TestEngineAgreesWithNaiveReferenceOnEKS(t *testing.T) {
	clusters := 2000
	if testing.Short() {
		clusters = 300
	}
	const casesShown = 16
	flows, disagreements, disagreeingClusters := 0, 0, 0
	verdicts := map[Verdict]int{}
	classes := map[string]int{}
	shown := map[string]bool{}
	for seed := 0; seed < clusters; seed++ {
		c := refEKSCaseFor(uint64(seed))
		e := New(c.engineModel())
		w := newRefEKSWorld(c.m, c.cnps, c.mode)
		worlds := map[refEKSOpts]*refEKSWorld{}
		before := disagreements
		eachRefEKSFlow(c.m, func(f Flow) {
			flows++
			want := w.verdict(f)
			verdicts[want]++
			got := e.Evaluate(f, false).Verdict
			if got == want {
				return
			}
			disagreements++
			class := refEKSClass(c, f, got, want, worlds)
			classes[class]++
			if !shown[class] && len(shown) < casesShown {
				shown[class] = true
				t.Errorf("seed %d: %s\n%s", seed, class, describeRefEKSCase(shrinkRefEKSCase(c, f), f))
			}
		})
		if disagreements > before {
			disagreeingClusters++
		}
	}
	var lines []string
	for class, n := range classes {
		lines = append(lines, fmt.Sprintf("%7d  %s", n, class))
	}
	sort.Strings(lines)
	t.Logf("%d flows over %d random clusters: %d disagree (in %d clusters); reference verdicts %v; disagreements by class:\n%s", flows, clusters, disagreements, disagreeingClusters, verdicts, strings.Join(lines, "\n"))
	if verdicts[Allowed] == 0 || verdicts[Denied] == 0 || verdicts[Unspecified] == 0 {
		t.Fatalf("the random clusters do not reach every verdict: %v", verdicts)
	}
}

// refEKSReadings are the readings of the sources a disagreement is traced
// to: the first (alone, then in pairs) that, turned off, makes the
// reference give the engine's verdict.
var refEKSReadings = []struct {
	name string
	opts refEKSOpts
}{
	{"the catch-all entry of a direction no NetworkPolicy isolates", refEKSOpts{noCatchAll: true}},
	{"the resolver's merge (portsToString ignores range ends)", refEKSOpts{noMerge: true}},
	{"the manager's combine (ports of one CIDR and action joined)", refEKSOpts{noCombine: true}},
	{"more than 24 entries, decided when no kept set changes it", refEKSOpts{coarse24: true}},
	{"an unresolvable policy's rules may match anything", refEKSOpts{crashAsWritten: true}},
	{"equal port entries count apart toward the 24 (keyed by pointer)", refEKSOpts{l4ByValue: true}},
	{"domain names' entries outside the 24", refEKSOpts{domainsInTrie: true}},
	{"a named port the controller never dereferences does not crash it", refEKSOpts{namedCrashes: true}},
	{"rules on one domain name (or network, for a pod without an address) hold the address together", refEKSOpts{maybeApart: true}},
	{"a named port the controller never dereferences does not crash it + an unresolvable policy's rules may match anything", refEKSOpts{namedCrashes: true, crashAsWritten: true}},
}

// refEKSClass names a disagreement: both verdicts and the reading of the
// sources it comes from.
func refEKSClass(c refEKSCase, f Flow, got, want Verdict, worlds map[refEKSOpts]*refEKSWorld) string {
	world := func(o refEKSOpts) *refEKSWorld {
		if worlds == nil {
			return newRefEKSWorldWith(c.m, c.cnps, c.mode, o)
		}
		if worlds[o] == nil {
			worlds[o] = newRefEKSWorldWith(c.m, c.cnps, c.mode, o)
		}
		return worlds[o]
	}
	label := fmt.Sprintf("engine %s, reference %s", got, want)
	for _, r := range refEKSReadings {
		if world(r.opts).verdict(f) == got {
			return label + ": " + r.name
		}
	}
	or := func(a, b refEKSOpts) refEKSOpts {
		return refEKSOpts{
			noCatchAll: a.noCatchAll || b.noCatchAll, noMerge: a.noMerge || b.noMerge, noCombine: a.noCombine || b.noCombine,
			coarse24: a.coarse24 || b.coarse24, crashAsWritten: a.crashAsWritten || b.crashAsWritten, l4ByValue: a.l4ByValue || b.l4ByValue,
			domainsInTrie: a.domainsInTrie || b.domainsInTrie, namedCrashes: a.namedCrashes || b.namedCrashes, maybeApart: a.maybeApart || b.maybeApart,
		}
	}
	for i, a := range refEKSReadings {
		for _, b := range refEKSReadings[i+1:] {
			if world(or(a.opts, b.opts)).verdict(f) == got {
				return label + ": " + a.name + " + " + b.name
			}
		}
	}
	for i, a := range refEKSReadings {
		for j, b := range refEKSReadings[i+1:] {
			for _, c := range refEKSReadings[i+j+2:] {
				if world(or(or(a.opts, b.opts), c.opts)).verdict(f) == got {
					return label + ": " + a.name + " + " + b.name + " + " + c.name
				}
			}
		}
	}
	return label + ": unexplained"
}

// refEKSClassOf is refEKSClass for a case on its own ("" if they agree).
func refEKSClassOf(c refEKSCase, f Flow) string {
	got := New(c.engineModel()).Evaluate(f, false).Verdict
	want := newRefEKSWorld(c.m, c.cnps, c.mode).verdict(f)
	if got == want {
		return ""
	}
	return refEKSClass(c, f, got, want, nil)
}

// shrinkRefEKSCase drops policies, rules, peers and ports one at a time while
// the engine and the reference still disagree on the flow the same way.
func shrinkRefEKSCase(c refEKSCase, f Flow) refEKSCase {
	want := refEKSClassOf(c, f)
	for changed := true; changed; {
		changed = false
		for _, candidate := range smallerRefEKSCases(c) {
			if refEKSClassOf(candidate, f) == want {
				c, changed = candidate, true
				break
			}
		}
	}
	return c
}

func refEKSWithout[T any](xs []T, i int) []T {
	return append(append([]T(nil), xs[:i]...), xs[i+1:]...)
}

func smallerRefEKSCases(c refEKSCase) []refEKSCase {
	var out []refEKSCase
	withCNP := func(i int, edit func(*model.AWSClusterNetworkPolicy)) refEKSCase {
		d := c
		d.cnps = append([]*model.AWSClusterNetworkPolicy(nil), c.cnps...)
		cp := *c.cnps[i]
		cp.Spec.Ingress = append([]model.AWSIngressRule(nil), cp.Spec.Ingress...)
		cp.Spec.Egress = append([]model.AWSEgressRule(nil), cp.Spec.Egress...)
		edit(&cp)
		d.cnps[i] = &cp
		return d
	}
	for i := range c.cnps {
		d := c
		d.cnps = refEKSWithout(c.cnps, i)
		out = append(out, d)
	}
	for i := range c.m.Policies {
		d := c
		m := *c.m
		m.Policies = refEKSWithout(c.m.Policies, i)
		d.m = &m
		out = append(out, d)
	}
	for i, cnp := range c.cnps {
		for j, rule := range cnp.Spec.Ingress {
			out = append(out, withCNP(i, func(p *model.AWSClusterNetworkPolicy) { p.Spec.Ingress = refEKSWithout(p.Spec.Ingress, j) }))
			for k := range rule.From {
				if len(rule.From) > 1 {
					out = append(out, withCNP(i, func(p *model.AWSClusterNetworkPolicy) { p.Spec.Ingress[j].From = refEKSWithout(rule.From, k) }))
				}
			}
			if rule.Ports != nil {
				for k := range *rule.Ports {
					if len(*rule.Ports) > 1 {
						fewer := refEKSWithout(*rule.Ports, k)
						out = append(out, withCNP(i, func(p *model.AWSClusterNetworkPolicy) { p.Spec.Ingress[j].Ports = &fewer }))
					}
				}
			}
		}
		for j, rule := range cnp.Spec.Egress {
			out = append(out, withCNP(i, func(p *model.AWSClusterNetworkPolicy) { p.Spec.Egress = refEKSWithout(p.Spec.Egress, j) }))
			for k := range rule.To {
				if len(rule.To) > 1 {
					out = append(out, withCNP(i, func(p *model.AWSClusterNetworkPolicy) { p.Spec.Egress[j].To = refEKSWithout(rule.To, k) }))
				}
			}
			if rule.Ports != nil {
				for k := range *rule.Ports {
					if len(*rule.Ports) > 1 {
						fewer := refEKSWithout(*rule.Ports, k)
						out = append(out, withCNP(i, func(p *model.AWSClusterNetworkPolicy) { p.Spec.Egress[j].Ports = &fewer }))
					}
				}
			}
		}
	}
	return out
}

func describeRefEKSCase(c refEKSCase, f Flow) string {
	em := c.engineModel()
	got := New(em).Evaluate(f, true)
	var b strings.Builder
	fmt.Fprintf(&b, "flow %s -> %s %d/%s, mode %q: engine %s, reference %s\n", f.From, f.To, f.Port, f.Protocol, c.mode, got.Verdict, newRefEKSWorld(c.m, c.cnps, c.mode).verdict(f))
	for name, s := range map[string]*Side{"egress": got.Egress, "ingress": got.Ingress} {
		if s != nil {
			fmt.Fprintf(&b, "engine %s: %+v\n", name, *s)
		}
	}
	for _, ns := range c.m.Namespaces {
		fmt.Fprintf(&b, "namespace %s %v\n", ns.Name, ns.Labels)
	}
	pods := append([]*model.Pod(nil), c.m.Pods...)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Key() < pods[j].Key() })
	for _, p := range pods {
		fmt.Fprintf(&b, "pod %s labels=%v ips=%v ports=%v host=%v\n", p.Key(), p.Labels, p.IPs, p.Ports, p.HostNetwork)
	}
	for _, np := range c.m.Policies {
		y, _ := yaml.Marshal(np.Spec)
		fmt.Fprintf(&b, "--- NetworkPolicy %s/%s\n%s", np.Namespace, np.Name, y)
	}
	for _, cnp := range c.cnps {
		y, _ := yaml.Marshal(cnp.Spec)
		fmt.Fprintf(&b, "--- ClusterNetworkPolicy.networking.k8s.aws %s\n%s", cnp.Name, y)
	}
	return b.String()
}

// The reference on cases worked out by hand from the sources (the engine's
// verdicts are logged, not checked: TestEngineAgreesWithNaiveReferenceOnEKS
// compares them).
func TestNaiveEKSReferenceOnHandCases(t *testing.T) {
	p := &model.Pod{Namespace: "a", Name: "p", Labels: map[string]string{"app": "p"}, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}}
	q := &model.Pod{Namespace: "b", Name: "q", Labels: map[string]string{"app": "q"}, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}
	base := func() *model.Model {
		m := &model.Model{Namespaces: []*model.Namespace{{Name: "a", Labels: map[string]string{"env": "prod"}}, {Name: "b"}}, Pods: []*model.Pod{p, q}}
		m.Normalize()
		return m
	}
	toQ := &metav1.LabelSelector{MatchLabels: map[string]string{model.MetadataNameLabel: "b"}}
	fromA := &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	ports := func(ps ...model.AWSPort) *[]model.AWSPort { return &ps }
	num := func(n int32) model.AWSPort {
		return model.AWSPort{PortNumber: &model.AWSPortNumber{Protocol: "TCP", Port: n}}
	}
	cnp := func(name, tier string, prio int32, subject *metav1.LabelSelector) *model.AWSClusterNetworkPolicy {
		c := &model.AWSClusterNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
		c.Spec.Tier, c.Spec.Priority, c.Spec.Subject.Namespaces = tier, prio, subject
		return c
	}
	in := func(action string, ps *[]model.AWSPort, from ...model.AWSIngressPeer) model.AWSIngressRule {
		return model.AWSIngressRule{Action: action, From: from, Ports: ps}
	}
	out := func(action string, ps *[]model.AWSPort, to ...model.AWSEgressPeer) model.AWSEgressRule {
		return model.AWSEgressRule{Action: action, To: to, Ports: ps}
	}
	nsPeer := model.AWSIngressPeer{Namespaces: fromA}
	qPeer := model.AWSEgressPeer{Namespaces: toQ}
	all := model.AWSEgressPeer{Networks: []string{"0.0.0.0/0"}}
	egressOnlyNP := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "eg"}, Spec: networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: []networkingv1.NetworkPolicyEgressRule{{}}}}
	pq := Flow{From: PodEndpoint(p), To: PodEndpoint(q), Port: 443, Protocol: corev1.ProtocolTCP}
	ext := netip.MustParseAddr("198.51.100.10")
	many := func() *[]model.AWSPort {
		var ps []model.AWSPort
		for i := int32(0); i < 30; i++ {
			ps = append(ps, num(9000+i))
		}
		return &ps
	}
	cases := []struct {
		name string
		cnps func() []*model.AWSClusterNetworkPolicy
		nps  []*networkingv1.NetworkPolicy
		mode string
		flow Flow
		want Verdict
	}{{
		name: "Deny wins over Accept at one priority, whatever the rule order",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			c := cnp("c", "Admin", 1, toQ)
			c.Spec.Ingress = []model.AWSIngressRule{in("Accept", nil, nsPeer), in("Deny", nil, nsPeer)}
			return []*model.AWSClusterNetworkPolicy{c}
		},
		flow: pq, want: Denied,
	}, {
		name: "a lower priority number wins",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			c, d := cnp("c", "Admin", 2, toQ), cnp("d", "Admin", 1, toQ)
			c.Spec.Ingress = []model.AWSIngressRule{in("Deny", nil, nsPeer)}
			d.Spec.Ingress = []model.AWSIngressRule{in("Accept", nil, nsPeer)}
			return []*model.AWSClusterNetworkPolicy{c, d}
		},
		mode: model.AWSModeStrict, flow: pq, want: Denied, // p's egress: strict default deny
	}, {
		name: "an ingress rule whose first peer selects no namespace is not in force",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			c := cnp("c", "Admin", 1, toQ)
			c.Spec.Ingress = []model.AWSIngressRule{in("Deny", nil, model.AWSIngressPeer{Namespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "nowhere"}}}, nsPeer)}
			return []*model.AWSClusterNetworkPolicy{c}
		},
		flow: pq, want: Allowed,
	}, {
		name: "strict mode denies a pod no NetworkPolicy selects",
		cnps: func() []*model.AWSClusterNetworkPolicy { return nil },
		mode: model.AWSModeStrict, flow: Flow{From: IPEndpoint(ext), To: PodEndpoint(q), Port: 80, Protocol: corev1.ProtocolTCP}, want: Denied,
	}, {
		name: "an egress-only NetworkPolicy opens the ingress in strict mode (catch-all entry)",
		cnps: func() []*model.AWSClusterNetworkPolicy { return nil },
		nps:  []*networkingv1.NetworkPolicy{egressOnlyNP},
		mode: model.AWSModeStrict, flow: Flow{From: IPEndpoint(ext), To: PodEndpoint(q), Port: 80, Protocol: corev1.ProtocolTCP}, want: Allowed,
	}, {
		name: "a baseline Deny is not reached on a NetworkPolicy-selected pod's unisolated direction",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			c := cnp("c", "Baseline", 1, toQ)
			c.Spec.Ingress = []model.AWSIngressRule{in("Deny", nil, nsPeer)}
			return []*model.AWSClusterNetworkPolicy{c}
		},
		nps:  []*networkingv1.NetworkPolicy{egressOnlyNP},
		flow: pq, want: Allowed,
	}, {
		name: "the baseline Deny holds without it",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			c := cnp("c", "Baseline", 1, toQ)
			c.Spec.Ingress = []model.AWSIngressRule{in("Deny", nil, nsPeer)}
			return []*model.AWSClusterNetworkPolicy{c}
		},
		flow: pq, want: Denied,
	}, {
		name: "the resolver's merge drops a range that starts where an earlier rule's port is",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			c := cnp("c", "Admin", 1, fromA)
			c.Spec.Egress = []model.AWSEgressRule{
				out("Accept", ports(num(80)), qPeer),
				out("Accept", ports(model.AWSPort{PortRange: &model.AWSPortRange{Protocol: "TCP", Start: 80, End: 3000}}), qPeer)}
			d := cnp("d", "Admin", 2, fromA)
			d.Spec.Egress = []model.AWSEgressRule{out("Deny", nil, all)}
			return []*model.AWSClusterNetworkPolicy{c, d}
		},
		flow: pq, want: Denied,
	}, {
		name: "combining a rule without ports with one with ports keeps only the ports",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			c := cnp("c", "Admin", 1, fromA)
			c.Spec.Egress = []model.AWSEgressRule{out("Accept", nil, qPeer), out("Accept", ports(num(80)), qPeer)}
			d := cnp("d", "Admin", 2, fromA)
			d.Spec.Egress = []model.AWSEgressRule{out("Deny", nil, all)}
			return []*model.AWSClusterNetworkPolicy{c, d}
		},
		flow: pq, want: Denied,
	}, {
		name: "more than 24 entries: which are kept is open",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			c := cnp("c", "Admin", 1, fromA)
			c.Spec.Egress = []model.AWSEgressRule{out("Accept", many(), qPeer)}
			d := cnp("d", "Admin", 2, fromA)
			d.Spec.Egress = []model.AWSEgressRule{out("Deny", nil, all)}
			return []*model.AWSClusterNetworkPolicy{c, d}
		},
		flow: Flow{From: PodEndpoint(p), To: PodEndpoint(q), Port: 9003, Protocol: corev1.ProtocolTCP}, want: Unspecified,
	}, {
		name: "a domain name may hold an external address",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			c := cnp("c", "Admin", 1, fromA)
			c.Spec.Egress = []model.AWSEgressRule{out("Accept", nil, model.AWSEgressPeer{DomainNames: []string{"*.example.com"}})}
			d := cnp("d", "Admin", 2, fromA)
			d.Spec.Egress = []model.AWSEgressRule{out("Deny", nil, all)}
			return []*model.AWSClusterNetworkPolicy{c, d}
		},
		flow: Flow{From: PodEndpoint(p), To: IPEndpoint(ext), Port: 443, Protocol: corev1.ProtocolTCP}, want: Unspecified,
	}, {
		name: "a named port: the controller panics, the rule may or may not be in force",
		cnps: func() []*model.AWSClusterNetworkPolicy {
			name := "http"
			c := cnp("c", "Admin", 1, fromA)
			c.Spec.Egress = []model.AWSEgressRule{out("Deny", ports(model.AWSPort{NamedPort: &name}), all)}
			return []*model.AWSClusterNetworkPolicy{c}
		},
		flow: Flow{From: PodEndpoint(p), To: IPEndpoint(ext), Port: 443, Protocol: corev1.ProtocolTCP}, want: Unspecified,
	}, {
		name: "unknown mode where the mode decides",
		cnps: func() []*model.AWSClusterNetworkPolicy { return nil },
		mode: model.AWSModeUnknown, flow: pq, want: Unspecified,
	}}
	for _, c := range cases {
		m := base()
		m.Policies = c.nps
		cs := refEKSCase{m: m, cnps: c.cnps(), mode: c.mode}
		if got := newRefEKSWorld(cs.m, cs.cnps, cs.mode).verdict(c.flow); got != c.want {
			t.Errorf("%s: reference %s, want %s", c.name, got, c.want)
		}
		t.Logf("%s: engine %s", c.name, New(cs.engineModel()).Evaluate(c.flow, false).Verdict)
	}
}
