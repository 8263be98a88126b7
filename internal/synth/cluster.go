package synth

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	npav1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	npav1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

var (
	zones = []string{"a", "b"}
	roles = []string{"worker", "control-plane"}
)

// clusterPolicy is a random AdminNetworkPolicy, BaselineAdminNetworkPolicy
// or ClusterNetworkPolicy, built as the API object and converted as the
// readers convert it. Priorities come from three values, so ties occur.
func clusterPolicy(r *rand.Rand, i int, api string, valid bool) (*model.ClusterPolicy, any) {
	priority := int32(1 + r.IntN(3))
	kind := r.IntN(4)
	switch api {
	case "anp":
		kind = kind % 2
	case "cnp":
		kind = 2
	}
	switch kind {
	case 0:
		anp := &npav1alpha1.AdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("anp-%d", i)}}
		anp.Spec.Priority = priority
		anp.Spec.Subject = anpSubject(r)
		for k := r.IntN(3); k > 0; k-- {
			anp.Spec.Ingress = append(anp.Spec.Ingress, npav1alpha1.AdminNetworkPolicyIngressRule{
				Name: fmt.Sprintf("in-%d", k), Action: pick(r, anpActions), From: anpIngressPeers(r, valid), Ports: anpPorts(r, valid)})
		}
		for k := r.IntN(3); k > 0; k-- {
			anp.Spec.Egress = append(anp.Spec.Egress, npav1alpha1.AdminNetworkPolicyEgressRule{
				Name: fmt.Sprintf("out-%d", k), Action: pick(r, anpActions), To: anpEgressPeers(r, valid), Ports: anpPorts(r, valid)})
		}
		anp.TypeMeta = metav1.TypeMeta{APIVersion: "policy.networking.k8s.io/v1alpha1", Kind: model.KindAdminNetworkPolicy}
		return model.FromAdminNetworkPolicy(anp), anp
	case 1:
		banp := &npav1alpha1.BaselineAdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
		if r.IntN(3) == 0 && !valid {
			banp.Name = fmt.Sprintf("default-%d", i) // refused by the API; evaluated all the same
		}
		banp.Spec.Subject = anpSubject(r)
		for k := r.IntN(3); k > 0; k-- {
			banp.Spec.Ingress = append(banp.Spec.Ingress, npav1alpha1.BaselineAdminNetworkPolicyIngressRule{
				Action: pick(r, banpActions), From: anpIngressPeers(r, valid), Ports: anpPorts(r, valid)})
		}
		for k := r.IntN(3); k > 0; k-- {
			var to []npav1alpha1.BaselineAdminNetworkPolicyEgressPeer
			for _, p := range anpEgressPeers(r, valid) {
				if len(p.DomainNames) > 0 && valid {
					p.DomainNames, p.Networks = nil, []npav1alpha1.CIDR{"203.0.113.0/24"} // the baseline has no domain names
				}
				to = append(to, npav1alpha1.BaselineAdminNetworkPolicyEgressPeer{Namespaces: p.Namespaces, Pods: p.Pods, Nodes: p.Nodes, Networks: p.Networks})
			}
			banp.Spec.Egress = append(banp.Spec.Egress, npav1alpha1.BaselineAdminNetworkPolicyEgressRule{
				Action: pick(r, banpActions), To: to, Ports: anpPorts(r, valid)})
		}
		if banp.Name != "default" {
			banp.Name = fmt.Sprintf("banp-%d", i)
		}
		banp.TypeMeta = metav1.TypeMeta{APIVersion: "policy.networking.k8s.io/v1alpha1", Kind: model.KindBaselineAdminNetworkPolicy}
		return model.FromBaselineAdminNetworkPolicy(banp), banp
	}
	cnp := &npav1beta1.ClusterNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cnp-%d", i)}}
	cnp.Spec.Tier = pick(r, []npav1beta1.Tier{npav1beta1.AdminTier, npav1beta1.BaselineTier})
	cnp.Spec.Priority = priority
	s := anpSubject(r)
	cnp.Spec.Subject.Namespaces = s.Namespaces
	if s.Pods != nil {
		cnp.Spec.Subject.Pods = &npav1beta1.NamespacedPod{NamespaceSelector: s.Pods.NamespaceSelector, PodSelector: s.Pods.PodSelector}
	}
	for k := r.IntN(3); k > 0; k-- {
		rule := npav1beta1.ClusterNetworkPolicyIngressRule{Action: pick(r, cnpActions), Protocols: cnpProtocols(r, valid)}
		for _, p := range anpIngressPeers(r, valid) {
			rule.From = append(rule.From, npav1beta1.ClusterNetworkPolicyIngressPeer{Namespaces: p.Namespaces, Pods: betaPods(p.Pods)})
		}
		cnp.Spec.Ingress = append(cnp.Spec.Ingress, rule)
	}
	for k := r.IntN(3); k > 0; k-- {
		rule := npav1beta1.ClusterNetworkPolicyEgressRule{Action: pick(r, cnpActions), Protocols: cnpProtocols(r, valid)}
		for _, p := range anpEgressPeers(r, valid) {
			peer := npav1beta1.ClusterNetworkPolicyEgressPeer{Namespaces: p.Namespaces, Pods: betaPods(p.Pods), Nodes: p.Nodes}
			for _, n := range p.Networks {
				peer.Networks = append(peer.Networks, npav1beta1.CIDR(n))
			}
			for _, d := range p.DomainNames {
				peer.DomainNames = append(peer.DomainNames, npav1beta1.DomainName(d))
			}
			rule.To = append(rule.To, peer)
		}
		cnp.Spec.Egress = append(cnp.Spec.Egress, rule)
	}
	cnp.TypeMeta = metav1.TypeMeta{APIVersion: "policy.networking.k8s.io/v1beta1", Kind: model.KindClusterNetworkPolicy}
	return model.FromClusterNetworkPolicy(cnp), cnp
}

var (
	anpActions  = []npav1alpha1.AdminNetworkPolicyRuleAction{"Allow", "Deny", "Pass"}
	banpActions = []npav1alpha1.BaselineAdminNetworkPolicyRuleAction{"Allow", "Deny"}
	cnpActions  = []npav1beta1.ClusterNetworkPolicyRuleAction{"Accept", "Deny", "Pass"}
)

func betaPods(p *npav1alpha1.NamespacedPod) *npav1beta1.NamespacedPod {
	if p == nil {
		return nil
	}
	return &npav1beta1.NamespacedPod{NamespaceSelector: p.NamespaceSelector, PodSelector: p.PodSelector}
}

func anpSubject(r *rand.Rand) npav1alpha1.AdminNetworkPolicySubject {
	if r.IntN(2) == 0 {
		return npav1alpha1.AdminNetworkPolicySubject{Namespaces: namespaceSelector(r)}
	}
	return npav1alpha1.AdminNetworkPolicySubject{Pods: &npav1alpha1.NamespacedPod{NamespaceSelector: *namespaceSelector(r), PodSelector: *podSelector(r)}}
}

func anpIngressPeers(r *rand.Rand, valid bool) []npav1alpha1.AdminNetworkPolicyIngressPeer {
	var out []npav1alpha1.AdminNetworkPolicyIngressPeer
	for k := 1 + r.IntN(2); k > 0; k-- {
		switch n := r.IntN(7); {
		case n == 0 && !valid:
			out = append(out, npav1alpha1.AdminNetworkPolicyIngressPeer{}) // no field: fails closed
		case n <= 3:
			out = append(out, npav1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: namespaceSelector(r)})
		default:
			out = append(out, npav1alpha1.AdminNetworkPolicyIngressPeer{Pods: &npav1alpha1.NamespacedPod{NamespaceSelector: *namespaceSelector(r), PodSelector: *podSelector(r)}})
		}
	}
	return out
}

func anpEgressPeers(r *rand.Rand, valid bool) []npav1alpha1.AdminNetworkPolicyEgressPeer {
	var out []npav1alpha1.AdminNetworkPolicyEgressPeer
	for k := 1 + r.IntN(2); k > 0; k-- {
		var p npav1alpha1.AdminNetworkPolicyEgressPeer
		n := r.IntN(12)
		if n == 0 && valid {
			n = 1
		}
		switch n {
		case 0:
			// no field: fails closed
		case 1, 2, 3:
			p.Namespaces = namespaceSelector(r)
		case 4, 5, 6:
			p.Pods = &npav1alpha1.NamespacedPod{NamespaceSelector: *namespaceSelector(r), PodSelector: *podSelector(r)}
		case 7, 8:
			base := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(2)), 0}), 16+r.IntN(9)).Masked()
			p.Networks = []npav1alpha1.CIDR{npav1alpha1.CIDR(base.String())}
			if r.IntN(3) == 0 {
				p.Networks = append(p.Networks, "203.0.113.0/24")
			}
		case 9:
			p.Nodes = &metav1.LabelSelector{MatchLabels: map[string]string{"zone": pick(r, zones)}}
			if r.IntN(2) == 0 {
				p.Nodes = &metav1.LabelSelector{}
			}
		case 10:
			p.Networks = []npav1alpha1.CIDR{pick(r, []npav1alpha1.CIDR{"0.0.0.0/0", "169.254.0.0/16"})}
		default:
			p.DomainNames = []npav1alpha1.DomainName{"*.example.com"}
		}
		out = append(out, p)
	}
	return out
}

func anpPorts(r *rand.Rand, valid bool) *[]npav1alpha1.AdminNetworkPolicyPort {
	if r.IntN(3) == 0 {
		return nil
	}
	var out []npav1alpha1.AdminNetworkPolicyPort
	for k := 1 + r.IntN(2); k > 0; k-- {
		n := r.IntN(7)
		if n == 0 && valid {
			n = 1
		}
		switch n {
		case 0:
			out = append(out, npav1alpha1.AdminNetworkPolicyPort{}) // no field: fails closed
		case 1, 2:
			out = append(out, npav1alpha1.AdminNetworkPolicyPort{PortNumber: &npav1alpha1.Port{Protocol: pick(r, protocols), Port: pick(r, portNums)}})
		case 3, 4:
			name := pick(r, portNames)
			out = append(out, npav1alpha1.AdminNetworkPolicyPort{NamedPort: &name})
		default:
			lo := pick(r, portNums)
			out = append(out, npav1alpha1.AdminNetworkPolicyPort{PortRange: &npav1alpha1.PortRange{Protocol: pick(r, []corev1.Protocol{"", "TCP", "UDP"}), Start: lo, End: lo + int32(1+r.IntN(3000))}})
		}
	}
	return &out
}

func cnpProtocols(r *rand.Rand, valid bool) []npav1beta1.ClusterNetworkPolicyProtocol {
	if r.IntN(3) == 0 {
		return nil
	}
	var out []npav1beta1.ClusterNetworkPolicyProtocol
	for k := 1 + r.IntN(2); k > 0; k-- {
		var port *npav1beta1.Port
		switch r.IntN(3) {
		case 0: // every port of the protocol
		case 1:
			port = &npav1beta1.Port{Number: pick(r, portNums)}
		default:
			lo := pick(r, portNums)
			port = &npav1beta1.Port{Range: &npav1beta1.PortRange{Start: lo, End: lo + int32(1+r.IntN(3000))}}
		}
		switch r.IntN(5) {
		case 0:
			out = append(out, npav1beta1.ClusterNetworkPolicyProtocol{TCP: &npav1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: port}})
		case 1:
			out = append(out, npav1beta1.ClusterNetworkPolicyProtocol{UDP: &npav1beta1.ClusterNetworkPolicyProtocolUDP{DestinationPort: port}})
		case 2:
			out = append(out, npav1beta1.ClusterNetworkPolicyProtocol{SCTP: &npav1beta1.ClusterNetworkPolicyProtocolSCTP{DestinationPort: port}})
		case 3:
			out = append(out, npav1beta1.ClusterNetworkPolicyProtocol{DestinationNamedPort: pick(r, portNames)})
		default:
			out = append(out, npav1beta1.ClusterNetworkPolicyProtocol{TCP: &npav1beta1.ClusterNetworkPolicyProtocolTCP{DestinationPort: port}})
		}
	}
	return out
}

// setPriority writes a priority back into the API object.
func setPriority(obj any, priority int32) {
	switch o := obj.(type) {
	case *npav1alpha1.AdminNetworkPolicy:
		o.Spec.Priority = priority
	case *npav1beta1.ClusterNetworkPolicy:
		o.Spec.Priority = priority
	}
}
