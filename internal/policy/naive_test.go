package policy

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// naiveVerdict is a deliberately simple reference: it re-reads every
// policy for every flow, straight from the API reference's wording, and
// shares no code with the engine. Property tests compare the two.
func naiveVerdict(m *model.Model, f Flow) Verdict {
	if f.From.Pod != nil && f.From.Pod == f.To.Pod && !f.Replicas {
		return Allowed
	}
	if (f.From.Pod != nil && f.From.Pod.HostNetwork) || (f.To.Pod != nil && f.To.Pod.HostNetwork) || len(m.OtherLayers) > 0 {
		return Unspecified
	}
	for _, ep := range []Endpoint{f.From, f.To} {
		if ep.Pod != nil && !m.PoliciesReadable(ep.Pod.Namespace) {
			return Unspecified
		}
	}
	egressOK := true
	if f.From.Pod != nil {
		egressOK = naiveDirection(m, f, f.From.Pod, f.To, networkingv1.PolicyTypeEgress)
	}
	ingressOK := true
	if f.To.Pod != nil {
		ingressOK = naiveDirection(m, f, f.To.Pod, f.From, networkingv1.PolicyTypeIngress)
	}
	if egressOK && ingressOK {
		return Allowed
	}
	return Denied
}

func naiveDirection(m *model.Model, f Flow, subject *model.Pod, peer Endpoint, dir networkingv1.PolicyType) bool {
	isolated := false
	for _, np := range m.Policies {
		if np.Namespace != subject.Namespace || !naiveSelects(&np.Spec.PodSelector, subject.Labels) {
			continue
		}
		types := np.Spec.PolicyTypes
		if len(types) == 0 {
			types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			if len(np.Spec.Egress) > 0 {
				types = append(types, networkingv1.PolicyTypeEgress)
			}
		}
		applies := false
		for _, t := range types {
			applies = applies || t == dir
		}
		if !applies {
			continue
		}
		isolated = true
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range np.Spec.Ingress {
				if naivePeers(m, np.Namespace, r.From, peer) && naivePorts(r.Ports, f) {
					return true
				}
			}
		} else {
			for _, r := range np.Spec.Egress {
				if naivePeers(m, np.Namespace, r.To, peer) && naivePorts(r.Ports, f) {
					return true
				}
			}
		}
	}
	return !isolated
}

// naiveClusterUses: some address of the model is of the family (IPv4
// when the model has no address at all).
func naiveClusterUses(m *model.Model, v4 bool) bool {
	seen := false
	for _, p := range m.Pods {
		for _, a := range p.IPs {
			seen = true
			if a.Unmap().Is4() == v4 {
				return true
			}
		}
	}
	for _, s := range m.Services {
		for _, a := range s.ClusterIPs {
			seen = true
			if a.Unmap().Is4() == v4 {
				return true
			}
		}
	}
	for _, n := range m.Nodes {
		for _, a := range n.Addresses {
			seen = true
			if a.Unmap().Is4() == v4 {
				return true
			}
		}
	}
	return !seen && v4
}

func naiveSelects(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(l))
}

func naivePeers(m *model.Model, policyNS string, peers []networkingv1.NetworkPolicyPeer, ep Endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if p.IPBlock != nil {
			cidr, err := netip.ParsePrefix(p.IPBlock.CIDR)
			if err != nil {
				continue
			}
			addrs := []netip.Addr{ep.IP}
			if ep.Pod != nil {
				addrs = ep.Pod.IPs
			}
			// A pod without an address (a template's) has one of the
			// cluster's family, so a block of all of them holds it.
			if ep.Pod != nil && len(addrs) == 0 && cidr.Bits() == 0 && len(p.IPBlock.Except) == 0 && naiveClusterUses(m, cidr.Addr().Is4()) {
				return true
			}
			for _, a := range addrs {
				in := cidr.Contains(a)
				for _, ex := range p.IPBlock.Except {
					if e, err := netip.ParsePrefix(ex); err == nil && e.Contains(a) {
						in = false
					}
				}
				if in {
					return true
				}
			}
			continue
		}
		if ep.Pod == nil || (p.PodSelector == nil && p.NamespaceSelector == nil) {
			continue
		}
		nsOK := ep.Pod.Namespace == policyNS
		if p.NamespaceSelector != nil {
			ns := m.Namespace(ep.Pod.Namespace)
			nsOK = ns != nil && naiveSelects(p.NamespaceSelector, ns.Labels)
		}
		podOK := p.PodSelector == nil || naiveSelects(p.PodSelector, ep.Pod.Labels)
		if nsOK && podOK {
			return true
		}
	}
	return false
}

func naivePorts(ports []networkingv1.NetworkPolicyPort, f Flow) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != f.Protocol {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.StrVal != "" {
			if f.To.Pod == nil {
				continue
			}
			for _, cp := range f.To.Pod.Ports {
				if cp.Name == p.Port.StrVal && cp.Protocol == proto && cp.Port == f.Port {
					return true
				}
			}
			continue
		}
		end := p.Port.IntVal
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if f.Port >= p.Port.IntVal && f.Port <= end {
			return true
		}
	}
	return false
}
