package model

import (
	"encoding/json"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cilium's own policies, as the engine decides them at layers 3 and 4:
// the fields of cilium.io/v2 CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy (pkg/policy/api/rule.go, ingress.go,
// egress.go, l4.go, cidr.go, service.go of cilium/cilium). Selectors keep
// Cilium's label keys as written (`k8s:io.kubernetes.pod.namespace`,
// `reserved:host`, …): the engine resolves their sources
// (docs/design.md, "Cilium").

// Cilium kinds.
const (
	CiliumNetworkPolicyKind            = "CiliumNetworkPolicy"
	CiliumClusterwideNetworkPolicyKind = "CiliumClusterwideNetworkPolicy"
)

// CiliumPolicy is one CiliumNetworkPolicy or
// CiliumClusterwideNetworkPolicy: its `spec` and `specs` as rules.
type CiliumPolicy struct {
	Kind      string
	Namespace string // "" for a CiliumClusterwideNetworkPolicy
	Name      string
	Rules     []CiliumRule
	// Problems are what Cilium's validation refuses
	// (pkg/policy/api/rule_validation.go): the agent imports none of the
	// policy's rules.
	Problems []string
	// Generation is metadata.generation as read (0 when absent): above 1
	// the spec has been changed since the object was created, so a
	// refused policy may be an update the agent rejected, and the agent
	// keeps enforcing the version it accepted before.
	Generation int64
}

// Clusterwide reports whether the policy is a CiliumClusterwideNetworkPolicy.
func (p *CiliumPolicy) Clusterwide() bool { return p.Kind == CiliumClusterwideNetworkPolicyKind }

// Ref is "Kind/namespace/name" or "Kind/name".
func (p *CiliumPolicy) Ref() string {
	if p.Namespace == "" {
		return p.Kind + "/" + p.Name
	}
	return p.Kind + "/" + p.Namespace + "/" + p.Name
}

// CiliumRule is one api.Rule.
type CiliumRule struct {
	EndpointSelector  *metav1.LabelSelector `json:"endpointSelector,omitempty"`
	NodeSelector      *metav1.LabelSelector `json:"nodeSelector,omitempty"`
	Ingress           []CiliumPeerRule      `json:"ingress,omitempty"`
	IngressDeny       []CiliumPeerRule      `json:"ingressDeny,omitempty"`
	Egress            []CiliumPeerRule      `json:"egress,omitempty"`
	EgressDeny        []CiliumPeerRule      `json:"egressDeny,omitempty"`
	EnableDefaultDeny *CiliumDefaultDeny    `json:"enableDefaultDeny,omitempty"`
	Description       string                `json:"description,omitempty"`
	Labels            []json.RawMessage     `json:"labels,omitempty"`
	Log               json.RawMessage       `json:"log,omitempty"`
}

// CiliumDefaultDeny is a rule's enableDefaultDeny: nil is true.
type CiliumDefaultDeny struct {
	Ingress *bool `json:"ingress,omitempty"`
	Egress  *bool `json:"egress,omitempty"`
}

// CiliumPeerRule is an ingress, ingressDeny, egress or egressDeny rule:
// the from* fields belong to the ingress sections, the to* fields (but
// toPorts) to the egress ones.
type CiliumPeerRule struct {
	FromEndpoints  []metav1.LabelSelector `json:"fromEndpoints,omitempty"`
	ToEndpoints    []metav1.LabelSelector `json:"toEndpoints,omitempty"`
	FromRequires   []metav1.LabelSelector `json:"fromRequires,omitempty"`
	ToRequires     []metav1.LabelSelector `json:"toRequires,omitempty"`
	FromEntities   []string               `json:"fromEntities,omitempty"`
	ToEntities     []string               `json:"toEntities,omitempty"`
	FromCIDR       []string               `json:"fromCIDR,omitempty"`
	ToCIDR         []string               `json:"toCIDR,omitempty"`
	FromCIDRSet    []CiliumCIDRRule       `json:"fromCIDRSet,omitempty"`
	ToCIDRSet      []CiliumCIDRRule       `json:"toCIDRSet,omitempty"`
	FromNodes      []metav1.LabelSelector `json:"fromNodes,omitempty"`
	ToNodes        []metav1.LabelSelector `json:"toNodes,omitempty"`
	FromGroups     []json.RawMessage      `json:"fromGroups,omitempty"`
	ToGroups       []json.RawMessage      `json:"toGroups,omitempty"`
	ToServices     []CiliumService        `json:"toServices,omitempty"`
	ToFQDNs        []json.RawMessage      `json:"toFQDNs,omitempty"`
	ToPorts        []CiliumPortRule       `json:"toPorts,omitempty"`
	ICMPs          []CiliumICMPRule       `json:"icmps,omitempty"`
	Authentication json.RawMessage        `json:"authentication,omitempty"`
}

// CiliumCIDRRule is a fromCIDRSet/toCIDRSet entry.
type CiliumCIDRRule struct {
	CIDR              string                `json:"cidr,omitempty"`
	Except            []string              `json:"except,omitempty"`
	CIDRGroupRef      string                `json:"cidrGroupRef,omitempty"`
	CIDRGroupSelector *metav1.LabelSelector `json:"cidrGroupSelector,omitempty"`
}

// CiliumPortRule is a toPorts entry: ports and, above layer 4, rules.
type CiliumPortRule struct {
	Ports []CiliumPort `json:"ports,omitempty"`
	// Rules are the L7 rules (http, kafka, dns, l7proto/l7): the
	// connection is allowed, its requests are filtered.
	Rules          json.RawMessage `json:"rules,omitempty"`
	TerminatingTLS json.RawMessage `json:"terminatingTLS,omitempty"`
	OriginatingTLS json.RawMessage `json:"originatingTLS,omitempty"`
	ServerNames    []string        `json:"serverNames,omitempty"`
	Listener       json.RawMessage `json:"listener,omitempty"`
}

// HasL7 reports whether the port rule filters requests above layer 4.
func (r *CiliumPortRule) HasL7() bool {
	if len(r.Rules) == 0 || string(r.Rules) == "null" {
		return len(r.Listener) > 0 && string(r.Listener) != "null"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(r.Rules, &m) != nil {
		return true
	}
	for _, v := range m {
		if s := strings.TrimSpace(string(v)); s != "null" && s != "[]" && s != "" && s != `""` {
			return true
		}
	}
	return len(r.Listener) > 0 && string(r.Listener) != "null"
}

// CiliumPort is a port (a number, "0" or empty for every port, or a
// name), an optional endPort and a protocol (ANY when empty).
type CiliumPort struct {
	Port     CiliumPortValue `json:"port,omitempty"`
	EndPort  int32           `json:"endPort,omitempty"`
	Protocol string          `json:"protocol,omitempty"`
}

// CiliumPortValue is a port as written: Cilium's field is a string, YAML
// authors also write numbers.
type CiliumPortValue string

// UnmarshalJSON takes a string or a number.
func (v *CiliumPortValue) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = CiliumPortValue(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*v = CiliumPortValue(n.String())
	return nil
}

// Number is the port number, 0 for every port; named is true for a port
// name.
func (v CiliumPortValue) Number() (n int32, named bool, ok bool) {
	s := string(v)
	if s == "" {
		return 0, false, true
	}
	i, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, true, true
	}
	if i < 0 || i > 65535 {
		return 0, false, false
	}
	return int32(i), false, true
}

// CiliumService is a toServices entry.
type CiliumService struct {
	K8sService         *CiliumServiceName     `json:"k8sService,omitempty"`
	K8sServiceSelector *CiliumServiceSelector `json:"k8sServiceSelector,omitempty"`
}

// CiliumServiceName names a Service.
type CiliumServiceName struct {
	ServiceName string `json:"serviceName,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
}

// CiliumServiceSelector selects Services by their labels.
type CiliumServiceSelector struct {
	Selector  metav1.LabelSelector `json:"selector"`
	Namespace string               `json:"namespace,omitempty"`
}

// CiliumICMPRule is an icmps entry.
type CiliumICMPRule struct {
	Fields []CiliumICMPField `json:"fields,omitempty"`
}

// CiliumICMPField is an ICMP type (a number or a name) of a family.
type CiliumICMPField struct {
	Family string          `json:"family,omitempty"`
	Type   json.RawMessage `json:"type,omitempty"`
}

// CiliumInfo is Cilium's configuration and what is known of the running
// agent: set when Cilium is known to enforce (its objects in the input, its
// cilium-config, or doctor's live detection).
type CiliumInfo struct {
	// Source says how the model knows Cilium enforces ("CiliumNetworkPolicy
	// objects in the input", "cilium DaemonSet", "cilium-config").
	Source string
	// Config holds the cilium-config keys that change verdicts
	// (enable-policy, policy-cidr-match-mode,
	// enable-non-default-deny-policies, allow-localhost); ConfigRead is
	// false when the ConfigMap was not read (defaults assumed, said).
	Config     map[string]string
	ConfigRead bool
	// ConfigUnknown: the ConfigMap exists but could not be read (live):
	// the engine follows every enable-policy mode. Files without it get
	// Cilium's defaults.
	ConfigUnknown bool
	// Version is the running agent's ("1.16.5"), from the cilium
	// DaemonSet's image tag; "" when unknown.
	Version string
}

// Cilium's resources (cilium.io/v2).
const (
	CiliumGroup                 = "cilium.io"
	CiliumPolicyResource        = "ciliumnetworkpolicies"
	CiliumClusterPolicyResource = "ciliumclusterwidenetworkpolicies"
	CiliumConfigMapName         = "cilium-config"
	CiliumConfigMapNamespace    = "kube-system"
	CiliumEnablePolicy          = "enable-policy"
	CiliumPolicyCIDRMatchMode   = "policy-cidr-match-mode"
	CiliumEnableNonDefaultDeny  = "enable-non-default-deny-policies"
	CiliumAllowLocalhost        = "allow-localhost"
	CiliumVersionKey            = "cilium-version"
)

// CiliumConfigKeys are the cilium-config keys the engine reads.
var CiliumConfigKeys = []string{CiliumEnablePolicy, CiliumPolicyCIDRMatchMode, CiliumEnableNonDefaultDeny, CiliumAllowLocalhost}

// AssumeCilium records that Cilium enforces where the input cannot say so
// (manifests with Kubernetes NetworkPolicies only): source names why
// ("--enforcer=cilium"); version, when given, is the release whose
// semantics apply where releases differ.
func (m *Model) AssumeCilium(source, version string) {
	if m.Cilium == nil {
		m.Cilium = &CiliumInfo{Source: source}
	}
	if version != "" {
		m.Cilium.Version = version
	}
}
