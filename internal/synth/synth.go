// Package synth generates random but valid clusters (namespaces, pods and
// NetworkPolicies) from a seed, for property tests, fuzzing seeds and
// benchmarks. The same seed and options always give the same cluster.
package synth

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Options size the cluster.
type Options struct {
	Seed       uint64
	Namespaces int
	// Workloads per namespace; each has 1..MaxReplicas pods sharing labels.
	Workloads   int
	MaxReplicas int
	Policies    int
	// HostNetworkEvery makes one workload in N host-networked (0: none).
	HostNetworkEvery int
	// NoIPEvery leaves one workload in N without pod IPs (0: none).
	NoIPEvery int
	// PodsPerLabelSet > 0 gives each run of that many replicas its own
	// track label (the first run also canary=true), as canary and version
	// rollouts do: about replicas/PodsPerLabelSet label sets per workload.
	// 0 keeps every replica's labels equal.
	PodsPerLabelSet int
	// ClusterPolicies adds that many AdminNetworkPolicies,
	// BaselineAdminNetworkPolicies and ClusterNetworkPolicies (both tiers),
	// with few distinct priorities so that ties occur; Nodes adds nodes
	// for their "nodes" peers.
	ClusterPolicies int
	Nodes           int
	// DistinctPriorities gives every cluster-scoped policy its own
	// priority, as platform teams do to keep the order defined.
	DistinctPriorities bool
	// ClusterPolicyAPI limits them to one API generation: "anp"
	// (AdminNetworkPolicy, BaselineAdminNetworkPolicy) or "cnp"
	// (ClusterNetworkPolicy); "" mixes both, which the API leaves unordered.
	ClusterPolicyAPI string
	// ValidOnly leaves out what the API server would refuse (peers and
	// ports without a field, extra BaselineAdminNetworkPolicies), for
	// manifests; property tests want those too.
	ValidOnly bool
	// Calico adds that many Calico policies (calico.go), service accounts
	// for the pods and, now and then, tiers.
	Calico int
}

var (
	apps      = []string{"web", "api", "db", "cache", "worker", "frontend", "backend"}
	tiers     = []string{"front", "back", "data"}
	envs      = []string{"prod", "dev", "staging"}
	teams     = []string{"red", "blue", "green"}
	portNames = []string{"http", "metrics", "grpc", "dns"}
	portNums  = []int32{53, 80, 443, 3000, 3001, 8080, 9090}
	protocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
)

// Model builds a normalized cluster model.
func Model(o Options) *model.Model {
	m, _ := ModelAndObjects(o)
	return m
}

// ModelAndObjects is Model with the API objects of its cluster-scoped
// policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// ClusterNetworkPolicy, in the model's order before sorting), for writing
// them out as manifests.
func ModelAndObjects(o Options) (*model.Model, []any) {
	var objects []any
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	m := &model.Model{}
	ip := netip.MustParseAddr("10.0.0.1")
	workload := 0
	for n := 0; n < o.Namespaces; n++ {
		ns := &model.Namespace{Name: fmt.Sprintf("ns-%d", n), Labels: map[string]string{}}
		if r.IntN(4) > 0 {
			ns.Labels["env"] = pick(r, envs)
		}
		if r.IntN(2) == 0 {
			ns.Labels["team"] = pick(r, teams)
		}
		if r.IntN(3) == 0 {
			ns.Labels["name"] = ns.Name
		}
		m.Namespaces = append(m.Namespaces, ns)
		for w := 0; w < o.Workloads; w++ {
			workload++
			name := fmt.Sprintf("%s-%d", pick(r, apps), w)
			labels := map[string]string{"app": name[:len(name)-len(fmt.Sprint(w))-1]}
			if r.IntN(2) == 0 {
				labels["tier"] = pick(r, tiers)
			}
			if r.IntN(4) == 0 {
				labels["version"] = fmt.Sprintf("v%d", r.IntN(3))
			}
			var ports []model.ContainerPort
			used := map[string]bool{}
			for k := r.IntN(3); k > 0; k-- {
				pn := pick(r, portNames)
				if used[pn] {
					continue
				}
				used[pn] = true
				ports = append(ports, model.ContainerPort{Name: pn, Port: pick(r, portNums), Protocol: pick(r, protocols)})
			}
			hostNet := o.HostNetworkEvery > 0 && workload%o.HostNetworkEvery == 0
			noIP := o.NoIPEvery > 0 && workload%o.NoIPEvery == 0
			replicas := 1
			if o.MaxReplicas > 1 {
				replicas += r.IntN(o.MaxReplicas)
			}
			for p := 0; p < replicas; p++ {
				pod := &model.Pod{
					Namespace: ns.Name, Name: fmt.Sprintf("%s-%d", name, p),
					Labels: copyMap(labels), Ports: ports, HostNetwork: hostNet,
					Owner: &model.Owner{Kind: "Deployment", Name: name},
					Phase: corev1.PodRunning, Ready: true,
				}
				pod.Labels["pod-template-hash"] = "abc123"
				if o.PodsPerLabelSet > 0 {
					pod.Labels["track"] = fmt.Sprintf("t%d", p/o.PodsPerLabelSet)
					if p < o.PodsPerLabelSet {
						pod.Labels["canary"] = "true"
					}
				}
				if !noIP {
					pod.IPs = []netip.Addr{ip}
					ip = ip.Next()
				}
				m.Pods = append(m.Pods, pod)
			}
		}
	}
	for i := 0; i < o.Policies; i++ {
		m.Policies = append(m.Policies, policy(r, fmt.Sprintf("np-%d", i), m.Namespaces[r.IntN(len(m.Namespaces))].Name))
	}
	node := netip.MustParseAddr("172.16.0.1")
	for i := 0; i < o.Nodes; i++ {
		m.Nodes = append(m.Nodes, &model.Node{Name: fmt.Sprintf("node-%d", i), Labels: map[string]string{"zone": pick(r, zones), "role": pick(r, roles)}, Addresses: []netip.Addr{node}})
		node = node.Next()
	}
	for i := 0; i < o.ClusterPolicies; i++ {
		cp, obj := clusterPolicy(r, i, o.ClusterPolicyAPI, o.ValidOnly)
		if o.DistinctPriorities && cp.Kind != model.KindBaselineAdminNetworkPolicy {
			cp.Priority = int32(i + 1)
			setPriority(obj, cp.Priority)
		}
		m.ClusterPolicies = append(m.ClusterPolicies, cp)
		objects = append(objects, obj)
	}
	if o.Calico > 0 {
		addCalico(m, o.Seed, o.Calico)
	}
	m.Normalize()
	return m, objects
}

func policy(r *rand.Rand, name, namespace string) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: *podSelector(r)},
	}
	switch r.IntN(4) {
	case 1:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	case 2:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case 3:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	}
	if r.IntN(5) > 0 {
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
		for k := r.IntN(3); k > 0; k-- {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers(r), Ports: ports(r)})
		}
	}
	if r.IntN(3) > 0 {
		for k := r.IntN(3); k > 0; k-- {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: peers(r), Ports: ports(r)})
		}
	}
	return np
}

func podSelector(r *rand.Rand) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	switch r.IntN(4) {
	case 0: // {}
	case 1:
		s.MatchLabels = map[string]string{"app": pick(r, apps)}
	case 2:
		s.MatchExpressions = []metav1.LabelSelectorRequirement{requirement(r, "tier", tiers)}
	default:
		s.MatchLabels = map[string]string{"app": pick(r, apps)}
		s.MatchExpressions = []metav1.LabelSelectorRequirement{requirement(r, "version", []string{"v0", "v1", "v2"})}
	}
	return s
}

func namespaceSelector(r *rand.Rand) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	switch r.IntN(4) {
	case 0:
	case 1:
		s.MatchLabels = map[string]string{"env": pick(r, envs)}
	case 2:
		s.MatchExpressions = []metav1.LabelSelectorRequirement{requirement(r, "team", teams)}
	default:
		s.MatchLabels = map[string]string{model.MetadataNameLabel: fmt.Sprintf("ns-%d", r.IntN(6))}
	}
	return s
}

func requirement(r *rand.Rand, key string, values []string) metav1.LabelSelectorRequirement {
	ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
	req := metav1.LabelSelectorRequirement{Key: key, Operator: ops[r.IntN(len(ops))]}
	if req.Operator == metav1.LabelSelectorOpIn || req.Operator == metav1.LabelSelectorOpNotIn {
		req.Values = []string{pick(r, values)}
		if r.IntN(2) == 0 {
			req.Values = append(req.Values, pick(r, values))
		}
	}
	return req
}

func peers(r *rand.Rand) []networkingv1.NetworkPolicyPeer {
	if r.IntN(5) == 0 {
		return nil
	}
	var out []networkingv1.NetworkPolicyPeer
	for k := 1 + r.IntN(2); k > 0; k-- {
		var p networkingv1.NetworkPolicyPeer
		switch r.IntN(4) {
		case 0:
			p.PodSelector = podSelector(r)
		case 1:
			p.NamespaceSelector = namespaceSelector(r)
		case 2:
			p.PodSelector = podSelector(r)
			p.NamespaceSelector = namespaceSelector(r)
		default:
			base := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(2)), 0}), 16+r.IntN(9)).Masked()
			p.IPBlock = &networkingv1.IPBlock{CIDR: base.String()}
			if r.IntN(2) == 0 {
				ex := netip.PrefixFrom(base.Addr(), base.Bits()+1+r.IntN(4)).Masked()
				p.IPBlock.Except = []string{ex.String()}
			}
		}
		out = append(out, p)
	}
	return out
}

func ports(r *rand.Rand) []networkingv1.NetworkPolicyPort {
	if r.IntN(3) == 0 {
		return nil
	}
	var out []networkingv1.NetworkPolicyPort
	for k := 1 + r.IntN(2); k > 0; k-- {
		var p networkingv1.NetworkPolicyPort
		if r.IntN(3) > 0 {
			proto := pick(r, protocols)
			p.Protocol = &proto
		}
		switch r.IntN(4) {
		case 0: // protocol only
		case 1:
			v := intstr.FromString(pick(r, portNames))
			p.Port = &v
		case 2:
			v := intstr.FromInt32(pick(r, portNums))
			p.Port = &v
		default:
			lo := pick(r, portNums)
			v := intstr.FromInt32(lo)
			end := lo + int32(r.IntN(3000))
			p.Port, p.EndPort = &v, &end
		}
		out = append(out, p)
	}
	return out
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func copyMap(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
