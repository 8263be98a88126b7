package policy

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Verdict is the engine's three-state answer.
type Verdict string

// The verdicts.
const (
	Allowed Verdict = "allowed"
	Denied  Verdict = "denied"
	// Unspecified means NetworkPolicy alone cannot decide (host network pods,
	// other policy layers, a DNS name).
	Unspecified Verdict = "unspecified"
)

// Endpoint is one end of a flow: a pod of the model, or an address
// outside it.
type Endpoint struct {
	Pod *model.Pod
	IP  netip.Addr
	// Entity names a reserved identity of Cilium's outside the pods (host,
	// remote-node, kube-apiserver, health, world): only Cilium's entities
	// and wildcards match it; IP may be unset.
	Entity string
	// idx is the pod's index in the engine plus one, once Evaluate has
	// looked it up (0: not yet), so the hot path looks it up once.
	idx int32
}

// PodEndpoint is the endpoint of a pod of the model.
func PodEndpoint(p *model.Pod) Endpoint { return Endpoint{Pod: p} }

// IPEndpoint is an address outside the cluster.
func IPEndpoint(a netip.Addr) Endpoint { return Endpoint{IP: a} }

func (ep Endpoint) inCluster() bool { return ep.Pod != nil }
func (ep Endpoint) String() string {
	if ep.Pod != nil {
		return ep.Pod.Key()
	}
	if ep.Entity != "" && !ep.IP.IsValid() {
		return ep.Entity
	}
	return ep.IP.String()
}

// Flow is one connection attempt: Port is the destination port number
// (a named port already resolved on the destination pod).
type Flow struct {
	From, To Endpoint
	Port     int32
	Protocol corev1.Protocol
	// Replicas: From and To are the same pod object standing for two
	// replicas of a workload (a pod template read from files), not a pod
	// talking to itself.
	Replicas bool
	// cilium is where evaluate keeps the sides' Cilium reasons.
	cilium *[2]CiliumSide
}

// RuleRef names what allowed a side: a policy, its rule, the peer and the
// port entry within the rule. Peer and Port are nil when the rule lists
// no peers (everyone) or no ports (every port).
type RuleRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Rule      int    `json:"rule"`
	Peer      *int   `json:"peer"`
	Port      *int   `json:"port"`
}

// Side is the verdict of one direction: the source's egress or the
// destination's ingress.
type Side struct {
	// Verdict is this side's own answer; Tier says which tier decided it:
	// admin, networkpolicy, baseline, or none (nothing decides: allowed).
	Verdict Verdict  `json:"verdict"`
	Tier    TierName `json:"tier"`
	// Admin is the admin-tier rule that matched first (Allow, Deny, or a
	// Pass that handed the side on); Baseline the baseline-tier one.
	Admin    *TierMatch `json:"admin,omitempty"`
	Baseline *TierMatch `json:"baseline,omitempty"`
	// Calico is the Calico policy and rule that decided (tier calico).
	Calico *CalicoMatch `json:"calico,omitempty"`
	// Cilium is how Cilium's policy repository decided (tier cilium).
	Cilium *CiliumSide `json:"cilium,omitempty"`
	// Undecided says why the side is unspecified (the API leaves the order
	// of two policies open, a rule names a domain).
	Undecided string `json:"undecided,omitempty"`
	// Isolated: some NetworkPolicy selects the pod for this direction, so
	// only what a rule allows gets through.
	Isolated bool `json:"isolated"`
	// AllowedBy lists every policy, rule, peer and port that allowed it.
	AllowedBy []RuleRef `json:"allowedBy"`
	// IsolatedBy names the policies that select the pod for this direction.
	IsolatedBy []string `json:"isolatedBy"`
}

// Allows reports whether the side lets the flow through.
func (s *Side) Allows() bool { return s == nil || s.Verdict == Allowed }

// Denies reports whether the side stops the flow whatever else happens.
func (s *Side) Denies() bool { return s != nil && s.Verdict == Denied }

// Result is the engine's answer for one flow.
type Result struct {
	Verdict Verdict
	// Egress is the source's side and Ingress the destination's; nil for
	// an end outside the cluster.
	Egress, Ingress *Side
	Hints           []Hint
}

// Evaluate decides one flow. With explain set it also collects hints,
// which costs more; matrices leave it off.
func (e *Engine) Evaluate(f Flow, explain bool) Result {
	d := reasons
	if explain {
		d = explained
	}
	return e.evaluate(f, d)
}

// detail is how much of an answer evaluate works out.
type detail uint8

const (
	// verdictOnly: the verdicts, and of each side's allowing rules only
	// the first found (matrices summed per namespace or drawn as a grid).
	verdictOnly detail = iota
	// reasons: every allowing rule, peer and port entry (Evaluate).
	reasons
	// explained: also the rules a decided admin tier overrides, and hints.
	explained
)

func (e *Engine) evaluate(f Flow, d detail) Result {
	explain := d == explained
	if f.Protocol == "" {
		f.Protocol = corev1.ProtocolTCP
	}
	f.From, f.To = e.indexed(f.From), e.indexed(f.To)
	var r Result
	// Both sides in one allocation: matrices evaluate millions of flows.
	var sides *[2]Side
	if e.cilium != nil {
		// With Cilium's reasons too.
		pair := new(ciliumSides)
		sides, f.cilium = &pair.sides, &pair.cilium
	} else {
		sides = new([2]Side)
	}
	if f.From.inCluster() {
		r.Egress = e.side(&sides[0], f, f.From.Pod, false, d)
	}
	if f.To.inCluster() {
		r.Ingress = e.side(&sides[1], f, f.To.Pod, true, d)
	}
	f.cilium = nil // what hints evaluate keeps its own
	switch {
	case r.Egress.Denies() || r.Ingress.Denies():
		r.Verdict = Denied
	case r.Egress.Allows() && r.Ingress.Allows():
		r.Verdict = Allowed
	default:
		r.Verdict = Unspecified
	}

	self := f.From.inCluster() && f.From.Pod == f.To.Pod && !f.Replicas
	switch {
	case self:
		// A pod can always reach itself, whatever the policies say.
		r.Verdict = Allowed
	case f.From.inCluster() && f.From.Pod.HostNetwork, f.To.inCluster() && f.To.Pod.HostNetwork:
		r.Verdict = Unspecified
	case len(e.model.OtherLayers) > 0:
		r.Verdict = Unspecified
	case !e.readable(f.From) || !e.readable(f.To):
		r.Verdict = Unspecified
	case e.clusterUnreadable:
		r.Verdict = Unspecified
	case len(e.nsLabelsUnknown) > 0 && e.calico == nil && e.labelsMayDecide(f, &r):
		r.Verdict = Unspecified
	}
	if explain {
		r.Hints = e.hints(f, &r, self)
	}
	return r
}

// indexed records the endpoint's pod index.
func (e *Engine) indexed(ep Endpoint) Endpoint {
	if ep.Pod != nil && ep.idx == 0 {
		if i, ok := e.podIndex[ep.Pod]; ok {
			ep.idx = int32(i) + 1
		}
	}
	return ep
}

// indexOf is the endpoint's pod index (the pod must be in the model).
func (e *Engine) indexOf(ep Endpoint) int {
	if ep.idx > 0 {
		return int(ep.idx - 1)
	}
	return e.podIndex[ep.Pod]
}

// readable reports whether the endpoint's namespace policies were read.
func (e *Engine) readable(ep Endpoint) bool {
	return ep.Pod == nil || e.model.PoliciesReadable(ep.Pod.Namespace)
}

// side evaluates the egress rules of the source (ingress=false) or the
// ingress rules of the destination (ingress=true). It is the hot path of
// matrices: it allocates only for what it reports.
//
// The admin tier goes first: when it decides, the NetworkPolicy rules
// are only read for an explanation (full), since they cannot change it.
func (e *Engine) side(s *Side, f Flow, pod *model.Pod, ingress bool, d detail) *Side {
	if e.cilium != nil {
		return e.ciliumSide(s, f, pod, ingress, d != verdictOnly)
	}
	if e.calico != nil {
		if len(e.cluster) > 0 || e.clusterUnreadable {
			*s = Side{Verdict: Unspecified, Tier: TierCalico, AllowedBy: []RuleRef{},
				Undecided: "Calico places AdminNetworkPolicy and BaselineAdminNetworkPolicy by its version (in its own tiers from v3.29/v3.30); not decided beside Calico's policies"}
			return s
		}
		return e.calicoSide(s, f, ingress)
	}
	full := d == explained
	ep := f.From
	if ingress {
		ep = f.To
	}
	idx := e.indexOf(ep)
	policies, names := e.egressOf[idx], e.egressNames[idx]
	if ingress {
		policies, names = e.ingressOf[idx], e.ingressNames[idx]
	}
	*s = Side{Isolated: len(policies) > 0, AllowedBy: []RuleRef{}, IsolatedBy: names}
	var admin tierResult
	if len(e.cluster) > 0 {
		admin = e.evaluateTier(&e.adminOf, f, pod, ingress)
		if !full && (admin.set == outAllow || admin.set == outDeny) {
			policies = nil
		}
	}
	for _, pi := range policies {
		if d == verdictOnly && len(s.AllowedBy) > 0 {
			break // allowed: the other rules cannot change that
		}
		cp := e.policies[pi]
		rules := cp.egressRules
		peerEnd := f.To
		if ingress {
			rules = cp.ingressRules
			peerEnd = f.From
		}
		for ri := range rules {
			rule := &rules[ri]
			if !rule.allPeers && !e.anyPeerMatches(rule, peerEnd) {
				continue
			}
			if len(rule.ports) > 0 && !anyPortMatches(rule.ports, f.To, f.Port, f.Protocol) {
				continue
			}
			// Every matching peer and port entry, without intermediate
			// slices: this loop runs for every cell of a matrix.
			for j := -1; j < len(rule.peers); j++ {
				var pe *int
				switch {
				case j == -1 && !rule.allPeers, j >= 0 && rule.allPeers:
					continue
				case j >= 0:
					if !e.peerMatches(&rule.peers[j], peerEnd) {
						continue
					}
					pe = intPtr(j)
				}
				if len(rule.ports) == 0 {
					s.AllowedBy = append(s.AllowedBy, RuleRef{Namespace: cp.np.Namespace, Name: cp.np.Name, Rule: ri, Peer: pe})
					continue
				}
				for k := range rule.ports {
					if portMatches(&rule.ports[k], f.To, f.Port, f.Protocol) {
						s.AllowedBy = append(s.AllowedBy, RuleRef{Namespace: cp.np.Namespace, Name: cp.np.Name, Rule: ri, Peer: pe, Port: intPtr(k)})
					}
				}
			}
		}
	}
	e.decideSide(s, f, pod, ingress, &admin)
	return s
}

func (e *Engine) anyPeerMatches(rule *compiledRule, ep Endpoint) bool {
	for j := range rule.peers {
		if e.peerMatches(&rule.peers[j], ep) {
			return true
		}
	}
	return false
}

func anyPortMatches(ports []networkingv1.NetworkPolicyPort, dst Endpoint, port int32, proto corev1.Protocol) bool {
	for k := range ports {
		if portMatches(&ports[k], dst, port, proto) {
			return true
		}
	}
	return false
}

// matchingPeers returns the indices of the rule's peers that match the
// endpoint, [nil] for a rule without peers, or none.
func (e *Engine) matchingPeers(rule *compiledRule, ep Endpoint) []*int {
	if rule.allPeers {
		return []*int{nil}
	}
	var out []*int
	for j := range rule.peers {
		if e.peerMatches(&rule.peers[j], ep) {
			out = append(out, intPtr(j))
		}
	}
	return out
}

func (e *Engine) peerMatches(p *compiledPeer, ep Endpoint) bool {
	switch {
	case p.invalid != "":
		return false
	case p.ipBlock != nil:
		if ep.Pod == nil {
			return p.ipBlock.contains(ep.IP)
		}
		// ipBlock also matches pod IPs (upstream conformance); the hints
		// note that implementations differ. A pod without an address (a
		// template's) is in a block of every address of its family.
		if len(ep.Pod.IPs) == 0 {
			return p.ipBlock.holdsEveryPod
		}
		for _, a := range ep.Pod.IPs {
			if p.ipBlock.contains(a) {
				return true
			}
		}
		return false
	case ep.Pod == nil:
		return false // selectors never match addresses outside the cluster
	}
	return p.pods.pods().has(e.indexOf(ep))
}

// matchingPorts returns the indices of the port entries that match, [nil]
// when the rule lists no ports, or none. Named ports are resolved on the
// destination pod, name AND protocol; they never match an external address.
func matchingPorts(ports []networkingv1.NetworkPolicyPort, dst Endpoint, port int32, proto corev1.Protocol) []*int {
	if len(ports) == 0 {
		return []*int{nil}
	}
	var out []*int
	for k := range ports {
		if portMatches(&ports[k], dst, port, proto) {
			out = append(out, intPtr(k))
		}
	}
	return out
}

func portMatches(p *networkingv1.NetworkPolicyPort, dst Endpoint, port int32, proto corev1.Protocol) bool {
	if protocolOf(p) != proto {
		return false
	}
	if p.Port == nil {
		return true // a protocol alone: every port of it
	}
	if p.Port.Type == intstr.String {
		if dst.Pod == nil {
			return false
		}
		n, ok := dst.Pod.NamedPort(p.Port.StrVal, proto)
		return ok && n == port
	}
	lo := p.Port.IntVal
	hi := lo
	if p.EndPort != nil && *p.EndPort >= lo {
		hi = *p.EndPort
	}
	return port >= lo && port <= hi
}

func protocolOf(p *networkingv1.NetworkPolicyPort) corev1.Protocol {
	if p.Protocol == nil || *p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return *p.Protocol
}

// smallInts back intPtr for the indices rules have, so that references
// to them do not allocate; they are never written through.
var smallInts = func() (out [128]int) {
	for i := range out {
		out[i] = i
	}
	return out
}()

func intPtr(i int) *int {
	if i >= 0 && i < len(smallInts) {
		return &smallInts[i]
	}
	return &i
}
