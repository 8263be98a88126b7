package model

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	npav1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	npav1alpha2 "sigs.k8s.io/network-policy-api/apis/v1alpha2"
	npav1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
)

// The cluster-scoped policy kinds the engine decides.
const (
	KindAdminNetworkPolicy         = "AdminNetworkPolicy"
	KindBaselineAdminNetworkPolicy = "BaselineAdminNetworkPolicy"
	KindClusterNetworkPolicy       = "ClusterNetworkPolicy"
)

// Tier is where a cluster-scoped policy sits relative to NetworkPolicy.
type Tier string

// The two cluster-scoped tiers: admin before NetworkPolicy, baseline after.
const (
	TierAdmin    Tier = "admin"
	TierBaseline Tier = "baseline"
)

// Action is what a cluster-scoped rule does with the traffic it matches,
// normalized (ClusterNetworkPolicy's Accept is Allow here; the rule keeps
// the word as written in ActionAsWritten).
type Action string

// The actions.
const (
	ActionAllow Action = "Allow"
	ActionDeny  Action = "Deny"
	ActionPass  Action = "Pass"
)

// ClusterPolicy is one AdminNetworkPolicy, BaselineAdminNetworkPolicy or
// ClusterNetworkPolicy in one shape: the API versions differ in spelling
// (ports, Accept/Allow), not in meaning.
type ClusterPolicy struct {
	Kind string
	Name string
	Tier Tier
	// Priority orders the policies of one tier, lower first; a
	// BaselineAdminNetworkPolicy has none (0).
	Priority int32
	// Family separates the two API generations (AdminNetworkPolicy and
	// BaselineAdminNetworkPolicy are "anp", ClusterNetworkPolicy "cnp"):
	// the API orders the policies within one, never across the two.
	Family  string
	Subject ClusterSubject
	Ingress []ClusterRule
	Egress  []ClusterRule
	// Problems are what the API server would have refused or what this
	// version of the plugin does not know; the engine fails closed on them.
	Problems []string
	// Unresolvable says why the enforcer's controller cannot resolve the
	// policy (an EKS ClusterNetworkPolicy with a named port), so that
	// whether any of its rules is in force is not known; "" when it can.
	Unresolvable string
}

// Ref is "Kind/name".
func (p *ClusterPolicy) Ref() string { return p.Kind + "/" + p.Name }

// ClusterSubject selects the pods a policy applies to: all pods of the
// Namespaces, or the Pods of some namespaces. Exactly one is set; neither
// means the object is invalid and selects nothing.
type ClusterSubject struct {
	Namespaces *metav1.LabelSelector
	Pods       *NamespacedPods
}

// NamespacedPods selects pods by namespace and pod labels.
type NamespacedPods struct {
	NamespaceSelector metav1.LabelSelector
	PodSelector       metav1.LabelSelector
}

// ClusterRule is one ingress or egress rule.
type ClusterRule struct {
	Name            string
	Action          Action
	ActionAsWritten string
	Peers           []ClusterPeer
	// Ports nil: every port and protocol.
	Ports []ClusterPort
	// NamedPorts (the EKS agent's kind only): the rule names a port,
	// which its controller cannot resolve (the name is not in Ports).
	NamedPorts bool
	// Gate (the EKS agent's controller only): the rule takes effect only
	// when the gate's namespace selector matches some namespace; a Gate
	// without a selector never lets it.
	Gate *Gate
}

// Gate conditions a rule on a namespace selector matching something.
type Gate struct {
	Namespaces *metav1.LabelSelector
}

// ClusterPeer is one peer; exactly one field is set. A peer with none
// (a field this version does not know, or an invalid object) is Unknown.
type ClusterPeer struct {
	Namespaces  *metav1.LabelSelector
	Pods        *NamespacedPods
	Nodes       *metav1.LabelSelector
	Networks    []string
	DomainNames []string
	Unknown     bool
}

// ClusterPort matches the destination port: a number, a range (Port to
// EndPort), every port of a protocol (Port 0), or a named port (Name, on
// the destination pod, whatever its protocol). Unknown: no field set.
type ClusterPort struct {
	Protocol corev1.Protocol
	Port     int32
	EndPort  int32
	Name     string
	Unknown  bool
}

// Node is a node's labels and addresses, for the "nodes" peers.
type Node struct {
	Name      string
	Labels    map[string]string
	Addresses []netip.Addr
}

// NodeFromAPI converts a Node: its InternalIP and ExternalIP addresses.
func NodeFromAPI(n *corev1.Node) *Node {
	out := &Node{Name: n.Name, Labels: n.Labels}
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil {
			out.Addresses = append(out.Addresses, ip)
		}
	}
	return out
}

// FromAdminNetworkPolicy converts a policy.networking.k8s.io/v1alpha1
// AdminNetworkPolicy.
func FromAdminNetworkPolicy(anp *npav1alpha1.AdminNetworkPolicy) *ClusterPolicy {
	p := &ClusterPolicy{Kind: KindAdminNetworkPolicy, Name: anp.Name, Tier: TierAdmin, Priority: anp.Spec.Priority, Family: "anp"}
	if anp.Spec.Priority < 0 || anp.Spec.Priority > 1000 {
		p.problem("spec.priority %d is outside 0-1000", anp.Spec.Priority)
	}
	p.Subject = p.anpSubject(anp.Spec.Subject)
	for i, r := range anp.Spec.Ingress {
		p.Ingress = append(p.Ingress, p.anpRule(fmt.Sprintf("ingress[%d]", i), r.Name, string(r.Action), ingressPeers(r.From), r.Ports))
	}
	for i, r := range anp.Spec.Egress {
		p.Egress = append(p.Egress, p.anpRule(fmt.Sprintf("egress[%d]", i), r.Name, string(r.Action), anpEgressPeers(r.To), r.Ports))
	}
	return p
}

// FromBaselineAdminNetworkPolicy converts a v1alpha1
// BaselineAdminNetworkPolicy (the API allows one, named "default").
func FromBaselineAdminNetworkPolicy(banp *npav1alpha1.BaselineAdminNetworkPolicy) *ClusterPolicy {
	p := &ClusterPolicy{Kind: KindBaselineAdminNetworkPolicy, Name: banp.Name, Tier: TierBaseline, Family: "anp"}
	if banp.Name != "default" {
		p.problem("the API accepts only one BaselineAdminNetworkPolicy, named \"default\"")
	}
	p.Subject = p.anpSubject(banp.Spec.Subject)
	for i, r := range banp.Spec.Ingress {
		p.Ingress = append(p.Ingress, p.anpRule(fmt.Sprintf("ingress[%d]", i), r.Name, string(r.Action), ingressPeers(r.From), r.Ports))
	}
	for i, r := range banp.Spec.Egress {
		peers := make([]ClusterPeer, 0, len(r.To))
		for _, to := range r.To {
			peers = append(peers, egressPeer(to.Namespaces, podsOf(to.Pods), to.Nodes, cidrStrings(to.Networks), nil))
		}
		p.Egress = append(p.Egress, p.anpRule(fmt.Sprintf("egress[%d]", i), r.Name, string(r.Action), peers, r.Ports))
	}
	return p
}

func (p *ClusterPolicy) problem(format string, args ...any) {
	p.Problems = append(p.Problems, fmt.Sprintf(format, args...))
}

func (p *ClusterPolicy) anpSubject(s npav1alpha1.AdminNetworkPolicySubject) ClusterSubject {
	return p.subject(s.Namespaces, podsOf(s.Pods))
}

func (p *ClusterPolicy) subject(namespaces *metav1.LabelSelector, pods *NamespacedPods) ClusterSubject {
	if (namespaces == nil) == (pods == nil) {
		p.problem("spec.subject must set exactly one of namespaces and pods; the policy selects no pod")
		return ClusterSubject{}
	}
	return ClusterSubject{Namespaces: namespaces, Pods: pods}
}

func podsOf(np *npav1alpha1.NamespacedPod) *NamespacedPods {
	if np == nil {
		return nil
	}
	return &NamespacedPods{NamespaceSelector: np.NamespaceSelector, PodSelector: np.PodSelector}
}

func ingressPeers(from []npav1alpha1.AdminNetworkPolicyIngressPeer) []ClusterPeer {
	peers := make([]ClusterPeer, 0, len(from))
	for _, f := range from {
		peers = append(peers, egressPeer(f.Namespaces, podsOf(f.Pods), nil, nil, nil))
	}
	return peers
}

func anpEgressPeers(to []npav1alpha1.AdminNetworkPolicyEgressPeer) []ClusterPeer {
	peers := make([]ClusterPeer, 0, len(to))
	for _, t := range to {
		var domains []string
		for _, d := range t.DomainNames {
			domains = append(domains, string(d))
		}
		peers = append(peers, egressPeer(t.Namespaces, podsOf(t.Pods), t.Nodes, cidrStrings(t.Networks), domains))
	}
	return peers
}

func cidrStrings[C ~string](cidrs []C) []string {
	out := make([]string, 0, len(cidrs))
	for _, c := range cidrs {
		out = append(out, string(c))
	}
	return out
}

// egressPeer builds a peer and marks it Unknown unless exactly one field is set.
func egressPeer(namespaces *metav1.LabelSelector, pods *NamespacedPods, nodes *metav1.LabelSelector, networks, domains []string) ClusterPeer {
	peer := ClusterPeer{Namespaces: namespaces, Pods: pods, Nodes: nodes, Networks: networks, DomainNames: domains}
	set := 0
	for _, present := range []bool{namespaces != nil, pods != nil, nodes != nil, len(networks) > 0, len(domains) > 0} {
		if present {
			set++
		}
	}
	if set != 1 {
		peer = ClusterPeer{Unknown: true}
	}
	return peer
}

func (p *ClusterPolicy) anpRule(at, name, action string, peers []ClusterPeer, ports *[]npav1alpha1.AdminNetworkPolicyPort) ClusterRule {
	r := p.rule(at, name, action, peers)
	if ports != nil {
		r.Ports = []ClusterPort{}
		for _, port := range *ports {
			r.Ports = append(r.Ports, anpPort(port))
		}
	}
	p.checkPorts(at, &r)
	return r
}

// checkPorts reports port entries with no field (or one unknown here).
func (p *ClusterPolicy) checkPorts(at string, r *ClusterRule) {
	for k, port := range r.Ports {
		if port.Unknown {
			p.problem("%s.ports[%d]: exactly one field must be set (or it is one this version does not know); %s", at, k, failClosedPort(r.Action))
		}
	}
}

func failClosedPort(a Action) string {
	if a == ActionAllow {
		return "the entry matches no port"
	}
	return "the rule denies all traffic"
}

func (p *ClusterPolicy) rule(at, name, action string, peers []ClusterPeer) ClusterRule {
	r := ClusterRule{Name: name, ActionAsWritten: action, Peers: peers}
	switch action {
	case "Allow", "Accept":
		r.Action = ActionAllow
	case "Deny":
		r.Action = ActionDeny
	case "Pass":
		r.Action = ActionPass
	default:
		// An action this version does not know: fail closed, as the API
		// asks for a peer it does not know.
		p.problem("%s: action %q is not Allow, Accept, Deny or Pass; treated as Deny", at, action)
		r.Action = ActionDeny
	}
	if p.Kind == KindBaselineAdminNetworkPolicy && r.Action == ActionPass {
		p.problem("%s: a BaselineAdminNetworkPolicy has no Pass action; treated as Deny", at)
		r.Action = ActionDeny
	}
	if len(peers) == 0 {
		p.problem("%s: the rule lists no peers (the API requires at least one); it matches nothing", at)
	}
	for j, peer := range peers {
		if peer.Unknown {
			p.problem("%s.peers[%d]: exactly one field must be set (or it is one this version does not know); %s", at, j, failClosed(r.Action))
		}
		for _, c := range peer.Networks {
			if _, err := netip.ParsePrefix(strings.TrimSpace(c)); err != nil {
				p.problem("%s.peers[%d]: networks %q is not a CIDR; it matches nothing", at, j, c)
			}
		}
	}
	return r
}

// failClosed says what the API's "fail closed" means for the action.
func failClosed(a Action) string {
	if a == ActionAllow {
		return "the peer matches nothing"
	}
	return "the rule denies all traffic"
}

func anpPort(port npav1alpha1.AdminNetworkPolicyPort) ClusterPort {
	set := 0
	var out ClusterPort
	if port.PortNumber != nil {
		set++
		out = ClusterPort{Protocol: defaultProtocol(port.PortNumber.Protocol), Port: port.PortNumber.Port, EndPort: port.PortNumber.Port}
	}
	if port.NamedPort != nil {
		set++
		out = ClusterPort{Name: *port.NamedPort}
	}
	if port.PortRange != nil {
		set++
		out = ClusterPort{Protocol: defaultProtocol(port.PortRange.Protocol), Port: port.PortRange.Start, EndPort: port.PortRange.End}
	}
	if set != 1 {
		return ClusterPort{Unknown: true}
	}
	return out
}

func defaultProtocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// FromClusterNetworkPolicyV1alpha2 converts a v1alpha2 ClusterNetworkPolicy.
func FromClusterNetworkPolicyV1alpha2(cnp *npav1alpha2.ClusterNetworkPolicy) *ClusterPolicy {
	// v1beta1 has the same fields as v1alpha2: one conversion serves both.
	var beta npav1beta1.ClusterNetworkPolicy
	beta.ObjectMeta = cnp.ObjectMeta
	beta.Spec.Tier = npav1beta1.Tier(cnp.Spec.Tier)
	beta.Spec.Priority = cnp.Spec.Priority
	beta.Spec.Subject = npav1beta1.ClusterNetworkPolicySubject{Namespaces: cnp.Spec.Subject.Namespaces}
	if s := cnp.Spec.Subject.Pods; s != nil {
		beta.Spec.Subject.Pods = &npav1beta1.NamespacedPod{NamespaceSelector: s.NamespaceSelector, PodSelector: s.PodSelector}
	}
	for _, r := range cnp.Spec.Ingress {
		in := npav1beta1.ClusterNetworkPolicyIngressRule{Name: r.Name, Action: npav1beta1.ClusterNetworkPolicyRuleAction(r.Action), Protocols: alpha2Protocols(r.Protocols)}
		for _, f := range r.From {
			peer := npav1beta1.ClusterNetworkPolicyIngressPeer{Namespaces: f.Namespaces}
			if f.Pods != nil {
				peer.Pods = &npav1beta1.NamespacedPod{NamespaceSelector: f.Pods.NamespaceSelector, PodSelector: f.Pods.PodSelector}
			}
			in.From = append(in.From, peer)
		}
		beta.Spec.Ingress = append(beta.Spec.Ingress, in)
	}
	for _, r := range cnp.Spec.Egress {
		out := npav1beta1.ClusterNetworkPolicyEgressRule{Name: r.Name, Action: npav1beta1.ClusterNetworkPolicyRuleAction(r.Action), Protocols: alpha2Protocols(r.Protocols)}
		for _, t := range r.To {
			peer := npav1beta1.ClusterNetworkPolicyEgressPeer{Namespaces: t.Namespaces, Nodes: t.Nodes}
			if t.Pods != nil {
				peer.Pods = &npav1beta1.NamespacedPod{NamespaceSelector: t.Pods.NamespaceSelector, PodSelector: t.Pods.PodSelector}
			}
			for _, n := range t.Networks {
				peer.Networks = append(peer.Networks, npav1beta1.CIDR(n))
			}
			for _, d := range t.DomainNames {
				peer.DomainNames = append(peer.DomainNames, npav1beta1.DomainName(d))
			}
			out.To = append(out.To, peer)
		}
		beta.Spec.Egress = append(beta.Spec.Egress, out)
	}
	return FromClusterNetworkPolicy(&beta)
}

func alpha2Protocols(in []npav1alpha2.ClusterNetworkPolicyProtocol) []npav1beta1.ClusterNetworkPolicyProtocol {
	var out []npav1beta1.ClusterNetworkPolicyProtocol
	port := func(p *npav1alpha2.Port) *npav1beta1.Port {
		if p == nil {
			return nil
		}
		q := &npav1beta1.Port{Number: p.Number}
		if p.Range != nil {
			q.Range = &npav1beta1.PortRange{Start: p.Range.Start, End: p.Range.End}
		}
		return q
	}
	for _, p := range in {
		q := npav1beta1.ClusterNetworkPolicyProtocol{DestinationNamedPort: p.DestinationNamedPort}
		if p.TCP != nil {
			q.TCP = &npav1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: port(p.TCP.DestinationPort)}
		}
		if p.UDP != nil {
			q.UDP = &npav1beta1.ClusterNetworkPolicyProtocolUDP{DestinationPort: port(p.UDP.DestinationPort)}
		}
		if p.SCTP != nil {
			q.SCTP = &npav1beta1.ClusterNetworkPolicyProtocolSCTP{DestinationPort: port(p.SCTP.DestinationPort)}
		}
		out = append(out, q)
	}
	return out
}

// FromClusterNetworkPolicy converts a v1beta1 ClusterNetworkPolicy.
func FromClusterNetworkPolicy(cnp *npav1beta1.ClusterNetworkPolicy) *ClusterPolicy {
	p := &ClusterPolicy{Kind: KindClusterNetworkPolicy, Name: cnp.Name, Priority: cnp.Spec.Priority, Family: "cnp"}
	p.placeInTier(string(cnp.Spec.Tier))
	var pods *NamespacedPods
	if s := cnp.Spec.Subject.Pods; s != nil {
		pods = &NamespacedPods{NamespaceSelector: s.NamespaceSelector, PodSelector: s.PodSelector}
	}
	p.Subject = p.subject(cnp.Spec.Subject.Namespaces, pods)
	for i, r := range cnp.Spec.Ingress {
		peers := make([]ClusterPeer, 0, len(r.From))
		for _, f := range r.From {
			peers = append(peers, egressPeer(f.Namespaces, betaPods(f.Pods), nil, nil, nil))
		}
		rule := p.rule(fmt.Sprintf("ingress[%d]", i), r.Name, string(r.Action), peers)
		rule.Ports = cnpPorts(r.Protocols)
		p.checkPorts(fmt.Sprintf("ingress[%d]", i), &rule)
		p.Ingress = append(p.Ingress, rule)
	}
	for i, r := range cnp.Spec.Egress {
		peers := make([]ClusterPeer, 0, len(r.To))
		for _, t := range r.To {
			var domains []string
			for _, d := range t.DomainNames {
				domains = append(domains, string(d))
			}
			peers = append(peers, egressPeer(t.Namespaces, betaPods(t.Pods), t.Nodes, cidrStrings(t.Networks), domains))
		}
		rule := p.rule(fmt.Sprintf("egress[%d]", i), r.Name, string(r.Action), peers)
		rule.Ports = cnpPorts(r.Protocols)
		p.checkPorts(fmt.Sprintf("egress[%d]", i), &rule)
		p.Egress = append(p.Egress, rule)
	}
	return p
}

// placeInTier sets the tier of a ClusterNetworkPolicy (either API's) and
// checks its priority.
func (p *ClusterPolicy) placeInTier(tier string) {
	switch tier {
	case "Admin":
		p.Tier = TierAdmin
	case "Baseline":
		p.Tier = TierBaseline
	default:
		// Without a known tier the policy's place is unknown: the
		// engine treats it as admin (it could override anything).
		p.problem("spec.tier %q is not Admin or Baseline; treated as Admin", tier)
		p.Tier = TierAdmin
	}
	if p.Priority < 0 || p.Priority > 1000 {
		p.problem("spec.priority %d is outside 0-1000", p.Priority)
	}
}

func betaPods(np *npav1beta1.NamespacedPod) *NamespacedPods {
	if np == nil {
		return nil
	}
	return &NamespacedPods{NamespaceSelector: np.NamespaceSelector, PodSelector: np.PodSelector}
}

// cnpPorts converts ClusterNetworkPolicy's protocols: a protocol without
// destinationPort matches every port of it.
func cnpPorts(protocols []npav1beta1.ClusterNetworkPolicyProtocol) []ClusterPort {
	if len(protocols) == 0 {
		return nil
	}
	out := make([]ClusterPort, 0, len(protocols))
	for _, pr := range protocols {
		set := 0
		var port ClusterPort
		add := func(proto corev1.Protocol, dp *npav1beta1.Port) {
			set++
			port = ClusterPort{Protocol: proto}
			switch {
			case dp == nil:
			case dp.Range != nil:
				port.Port, port.EndPort = dp.Range.Start, dp.Range.End
			case dp.Number != 0:
				port.Port, port.EndPort = dp.Number, dp.Number
			default:
				port.Unknown = true // destinationPort with neither number nor range
			}
		}
		if pr.TCP != nil {
			add(corev1.ProtocolTCP, pr.TCP.DestinationPort)
		}
		if pr.UDP != nil {
			add(corev1.ProtocolUDP, pr.UDP.DestinationPort)
		}
		if pr.SCTP != nil {
			add(corev1.ProtocolSCTP, pr.SCTP.DestinationPort)
		}
		if pr.DestinationNamedPort != "" {
			set++
			port = ClusterPort{Name: pr.DestinationNamedPort}
		}
		if set != 1 {
			port = ClusterPort{Unknown: true}
		}
		out = append(out, port)
	}
	return out
}
