// Package model is the read model the engine and the commands share:
// namespaces, pods, services and NetworkPolicies, read once from a live
// cluster or from manifest files.
package model

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Namespace is a namespace and its labels. Labels always include
// kubernetes.io/metadata.name, which the control plane sets.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// ContainerPort is a port a pod's container declares.
type ContainerPort struct {
	Name     string
	Port     int32
	Protocol corev1.Protocol
}

// Owner names the workload a pod belongs to ("deploy", "frontend").
type Owner struct {
	Kind string // deployment, statefulset, daemonset, replicaset, job, cronjob
	Name string
}

// Pod is what the engine needs to know about a pod.
type Pod struct {
	Namespace   string
	Name        string
	Labels      map[string]string
	IPs         []netip.Addr
	HostNetwork bool
	Ports       []ContainerPort
	// Owner is the top workload (a Deployment rather than its ReplicaSet);
	// nil for a bare pod. Controller is the direct controller.
	Owner      *Owner
	Controller *Owner
	// Phase and Ready matter to probe; files leave them empty.
	Phase corev1.PodPhase
	Ready bool
	// Terminating: the pod, or its namespace, is being deleted. It still
	// counts for policy (it may hold connections), but probes never start
	// in it: it can go at any moment of the check.
	Terminating bool
	// FromTemplate marks a pod that stands for a workload's pod template
	// (offline mode); it has no IP.
	FromTemplate bool
	// ServiceAccount runs the pod ("default" when the spec names none, as
	// the API server's admission sets it): Calico policies select on it.
	ServiceAccount string
}

// Key is "namespace/name".
func (p *Pod) Key() string { return p.Namespace + "/" + p.Name }

// NamedPort resolves a port name on the pod: the declared number for that
// name and protocol.
func (p *Pod) NamedPort(name string, protocol corev1.Protocol) (int32, bool) {
	for _, cp := range p.Ports {
		if cp.Name == name && cp.Protocol == protocol {
			return cp.Port, true
		}
	}
	return 0, false
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name       string
	Port       int32
	TargetPort intstr.IntOrString
	Protocol   corev1.Protocol
	// NodePort is the port every node opens for it (NodePort and
	// LoadBalancer Services); 0 when none.
	NodePort int32
}

// Service is a Service and how it maps ports to pods.
type Service struct {
	Namespace  string
	Name       string
	Selector   map[string]string
	Ports      []ServicePort
	ClusterIPs []netip.Addr
	// Type, ExternalIPs, LoadBalancerSourceRanges and
	// ExternalTrafficPolicy say how traffic from outside reaches it
	// (audit's entry points).
	Type                     corev1.ServiceType
	ExternalIPs              []string
	LoadBalancerSourceRanges []string
	ExternalTrafficPolicy    corev1.ServiceExternalTrafficPolicy
}

// Key is "namespace/name".
func (s *Service) Key() string { return s.Namespace + "/" + s.Name }

// Model is everything read, in stable order.
type Model struct {
	Namespaces []*Namespace
	Pods       []*Pod
	Services   []*Service
	// Ingresses are read for audit's entry points (files always; live
	// only when asked: LiveOptions.Ingresses).
	Ingresses []*Ingress
	// Gateways, Routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute) and
	// ReferenceGrants are the Gateway API's (model/gateway.go), read like
	// the Ingresses.
	Gateways        []*Gateway
	Routes          []*Route
	ReferenceGrants []*ReferenceGrant
	Policies        []*networkingv1.NetworkPolicy
	// ClusterPolicies are the AdminNetworkPolicies,
	// BaselineAdminNetworkPolicies and ClusterNetworkPolicies; Nodes are
	// read for their "nodes" peers.
	ClusterPolicies []*ClusterPolicy
	Nodes           []*Node
	// CalicoPolicies are Calico's own (model/calico.go), decided with the
	// NetworkPolicies as felix orders them; ServiceAccounts carry the
	// labels their selectors may match.
	CalicoPolicies []*CalicoPolicy
	CalicoTiers    []*CalicoTier
	// CalicoVersion is the running Calico's (ClusterInformation's
	// calicoVersion, "v3.28.5"); "" when unknown.
	CalicoVersion   string
	ServiceAccounts []*ServiceAccount
	// CiliumPolicies are Cilium's own (model/cilium.go), decided with the
	// NetworkPolicies as Cilium's policy repository holds them; Cilium is
	// what is known of the enforcer (nil: Cilium is not known to enforce).
	CiliumPolicies []*CiliumPolicy
	Cilium         *CiliumInfo
	// AWSPolicyMode is the EKS network policy agent's enforcing mode
	// (AWSModeStandard, AWSModeStrict, AWSModeUnknown); "" when the agent
	// is not known to run (NetworkPolicy's own default then holds).
	AWSPolicyMode string
	// OtherLayers names policy layers besides NetworkPolicy that were found
	// (AdminNetworkPolicy, CiliumNetworkPolicy, GlobalNetworkPolicy, …):
	// with them present no verdict from NetworkPolicy alone is certain.
	OtherLayers []string
	// PoliciesPartial: the NetworkPolicies of only the namespaces in
	// PoliciesRead could be read; pods elsewhere get no confident verdict.
	PoliciesPartial bool
	PoliciesRead    []string
	// Warnings say what could not be read (forbidden lists, unknown kinds).
	Warnings []string
	// Unreadable lists, per resource ("pods", "services",
	// "networkpolicies"), the namespaces whose objects could not be read
	// ("" for every namespace), so that nobody mistakes "could not read"
	// for "there are none".
	Unreadable map[string][]string
}

// CouldNotRead reports whether the resource's objects in the namespace
// were unreadable.
func (m *Model) CouldNotRead(resource, namespace string) bool {
	for _, ns := range m.Unreadable[resource] {
		if ns == "" || ns == namespace {
			return true
		}
	}
	return false
}

// Refusals words what could not be read of the resources, in the
// namespaces (every namespace when nil): one RBAC refusal per resource
// and scope, for messages that say an answer is unknown.
func (m *Model) Refusals(resources []string, namespaces []string) []string {
	var out []string
	for _, r := range resources {
		for _, ns := range m.Unreadable[r] {
			if ns == "" || namespaces == nil || slices.Contains(namespaces, ns) {
				out = append(out, RBACRefusal("list", r, ns))
			}
		}
	}
	return out
}

// UnreadableError reports that the answer depends on objects the user may not read.
type UnreadableError struct {
	Verb, Resource, Namespace string
}

func (e *UnreadableError) Error() string {
	return "forbidden: " + RBACRefusal(e.Verb, e.Resource, e.Namespace) + ", so the answer is unknown"
}

// RBACRefusal says what RBAC refused in the words every message of the
// plugin uses: `RBAC does not allow "list" on "pods" in namespace web`
// (namespace "" is cluster-wide).
func RBACRefusal(verb, resource, namespace string) string {
	where := "cluster-wide"
	if namespace != "" {
		where = "in namespace " + namespace
	}
	return fmt.Sprintf("RBAC does not allow %q on %q %s", verb, resource, where)
}

// MarkUnreadable records that the resource could not be read in the
// namespace ("" for every namespace).
func (m *Model) MarkUnreadable(resource, namespace string) {
	if m.Unreadable == nil {
		m.Unreadable = map[string][]string{}
	}
	m.Unreadable[resource] = append(m.Unreadable[resource], namespace)
}

// ClusterPolicyResources are the resources of the cluster-scoped tiers.
var ClusterPolicyResources = []string{"adminnetworkpolicies", "baselineadminnetworkpolicies", "clusternetworkpolicies", AWSClusterPolicyResource}

// QualifiedClusterResource is a ClusterPolicyResources entry with its API
// group ("adminnetworkpolicies.policy.networking.k8s.io").
func QualifiedClusterResource(r string) string {
	if strings.Contains(r, ".") {
		return r
	}
	return r + ".policy.networking.k8s.io"
}

// ClusterPoliciesUnreadable lists the cluster-scoped policy resources
// that exist but could not be read: any pod may be their subject.
func (m *Model) ClusterPoliciesUnreadable() []string {
	var out []string
	for _, r := range ClusterPolicyResources {
		if m.CouldNotRead(r, "") {
			out = append(out, r)
		}
	}
	return out
}

// PoliciesReadable reports whether the namespace's policies were read.
func (m *Model) PoliciesReadable(namespace string) bool {
	if !m.PoliciesPartial {
		return true
	}
	for _, ns := range m.PoliciesRead {
		if ns == namespace {
			return true
		}
	}
	return false
}

// MetadataNameLabel is set on every namespace by the control plane.
const MetadataNameLabel = "kubernetes.io/metadata.name"

// Namespace returns the namespace by name, or nil.
func (m *Model) Namespace(name string) *Namespace {
	for _, ns := range m.Namespaces {
		if ns.Name == name {
			return ns
		}
	}
	return nil
}

// NamespaceLabelsUnknown lists the namespaces whose labels could not be
// read (only their automatic name label is known): a namespaceSelector on
// any other label cannot be decided for them.
func (m *Model) NamespaceLabelsUnknown() []string {
	return m.Unreadable["namespaces"]
}

// EnsureNamespace adds a namespace with only its automatic name label if
// none of that name exists, and returns it.
func (m *Model) EnsureNamespace(name string) *Namespace {
	if ns := m.Namespace(name); ns != nil {
		return ns
	}
	ns := &Namespace{Name: name, Labels: map[string]string{MetadataNameLabel: name}}
	m.Namespaces = append(m.Namespaces, ns)
	return ns
}

// Derive is a model to change: a copy whose lists are its own (Normalize
// adds to them and sorts them), sharing the objects, which must not be
// changed; m stays as it is and may be read meanwhile.
func (m *Model) Derive() *Model {
	next := *m
	next.Namespaces = slices.Clone(m.Namespaces)
	next.Pods = slices.Clone(m.Pods)
	next.Services = slices.Clone(m.Services)
	next.Ingresses = slices.Clone(m.Ingresses)
	next.Gateways = slices.Clone(m.Gateways)
	next.Routes = slices.Clone(m.Routes)
	next.ReferenceGrants = slices.Clone(m.ReferenceGrants)
	next.Policies = slices.Clone(m.Policies)
	next.ClusterPolicies = slices.Clone(m.ClusterPolicies)
	next.Nodes = slices.Clone(m.Nodes)
	next.OtherLayers = slices.Clone(m.OtherLayers)
	next.CalicoPolicies = slices.Clone(m.CalicoPolicies)
	next.CiliumPolicies = slices.Clone(m.CiliumPolicies)
	next.Warnings = slices.Clone(m.Warnings)
	return &next
}

// Normalize fills the automatic namespace label, adds namespaces that pods,
// services and policies refer to, and sorts everything.
func (m *Model) Normalize() {
	for _, ns := range m.Namespaces {
		// Written only when wrong: a normalized model's namespaces are
		// shared by the models derived from it (Derive), read meanwhile.
		if ns.Labels[MetadataNameLabel] == ns.Name {
			continue
		}
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[MetadataNameLabel] = ns.Name
	}
	for _, p := range m.Pods {
		m.EnsureNamespace(p.Namespace)
	}
	for _, s := range m.Services {
		m.EnsureNamespace(s.Namespace)
	}
	for _, in := range m.Ingresses {
		m.EnsureNamespace(in.Namespace)
	}
	m.normalizeGatewayAPI()
	for _, np := range m.Policies {
		m.EnsureNamespace(np.Namespace)
	}
	for _, cp := range m.CiliumPolicies {
		if cp.Namespace != "" {
			m.EnsureNamespace(cp.Namespace)
		}
	}
	sort.Slice(m.Namespaces, func(i, j int) bool { return m.Namespaces[i].Name < m.Namespaces[j].Name })
	sort.SliceStable(m.Pods, func(i, j int) bool { return m.Pods[i].Key() < m.Pods[j].Key() })
	sort.SliceStable(m.Services, func(i, j int) bool { return m.Services[i].Key() < m.Services[j].Key() })
	sort.SliceStable(m.Ingresses, func(i, j int) bool { return m.Ingresses[i].Key() < m.Ingresses[j].Key() })
	sort.SliceStable(m.Policies, func(i, j int) bool {
		a, b := m.Policies[i], m.Policies[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	sort.SliceStable(m.ClusterPolicies, func(i, j int) bool { return m.ClusterPolicies[i].Ref() < m.ClusterPolicies[j].Ref() })
	sort.SliceStable(m.Nodes, func(i, j int) bool { return m.Nodes[i].Name < m.Nodes[j].Name })
	sort.SliceStable(m.CiliumPolicies, func(i, j int) bool { return m.CiliumPolicies[i].Ref() < m.CiliumPolicies[j].Ref() })
	if len(m.CiliumPolicies) > 0 && m.Cilium == nil {
		m.Cilium = &CiliumInfo{Source: "Cilium policies in the input"}
	}
	sort.Strings(m.OtherLayers)
	m.OtherLayers = dedupeSorted(m.OtherLayers)
}

func dedupeSorted(in []string) []string {
	out := in[:0]
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// Pod returns a pod by namespace and name, or nil.
func (m *Model) Pod(namespace, name string) *Pod {
	for _, p := range m.Pods {
		if p.Namespace == namespace && p.Name == name {
			return p
		}
	}
	return nil
}

// Service returns a service by namespace and name, or nil.
func (m *Model) Service(namespace, name string) *Service {
	for _, s := range m.Services {
		if s.Namespace == namespace && s.Name == name {
			return s
		}
	}
	return nil
}

// PodsIn lists the pods of a namespace.
func (m *Model) PodsIn(namespace string) []*Pod {
	var out []*Pod
	for _, p := range m.Pods {
		if p.Namespace == namespace {
			out = append(out, p)
		}
	}
	return out
}

// groupIgnoredLabels vary between pods of one workload and say nothing
// about policy (docs/design.md's grouping key).
var groupIgnoredLabels = map[string]bool{
	"pod-template-hash":                  true,
	"controller-revision-hash":           true,
	"statefulset.kubernetes.io/pod-name": true,
	"apps.kubernetes.io/pod-index":       true,
}

// GroupKey is the grouping key of docs/design.md: pods with equal keys get the
// same verdicts unless an ipBlock tells their IPs apart.
func (p *Pod) GroupKey() string {
	var b strings.Builder
	b.WriteString(p.Namespace)
	b.WriteString("|")
	keys := make([]string, 0, len(p.Labels))
	for k := range p.Labels {
		if !groupIgnoredLabels[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + "=" + p.Labels[k] + ",")
	}
	b.WriteString("|")
	ports := make([]string, 0, len(p.Ports))
	for _, cp := range p.Ports {
		ports = append(ports, fmt.Sprintf("%s:%d/%s", cp.Name, cp.Port, cp.Protocol))
	}
	sort.Strings(ports)
	b.WriteString(strings.Join(ports, ","))
	if p.HostNetwork {
		b.WriteString("|hostNetwork")
	}
	if p.ServiceAccount != "" && p.ServiceAccount != "default" {
		// Calico policies select on it.
		b.WriteString("|sa=" + p.ServiceAccount)
	}
	return b.String()
}

// GroupName is the human name of a pod's group: its workload
// (ns/deploy/frontend) or, for a bare pod, the pod itself.
func (p *Pod) GroupName() string {
	if p.Owner != nil {
		return p.Namespace + "/" + ShortKind(p.Owner.Kind) + "/" + p.Owner.Name
	}
	return p.Key()
}

// ShortKind abbreviates a workload kind as kubectl users write it.
func ShortKind(kind string) string {
	switch strings.ToLower(kind) {
	case "deployment":
		return "deploy"
	case "statefulset":
		return "sts"
	case "daemonset":
		return "ds"
	case "replicaset":
		return "rs"
	}
	return strings.ToLower(kind)
}

// Unique returns names once each, in their first order (namespaces asked
// twice, refusals met twice).
func Unique(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// SystemNamespaces are Kubernetes' own: -A gives them no baseline, and
// no probe runs from their pods unless asked.
var SystemNamespaces = map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true}
