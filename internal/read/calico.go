package read

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/strict"
)

// The documents of Calico's policy kinds, field for field as
// projectcalico.org/v3 (and the crd.projectcalico.org/v1 CRDs, which hold
// the same spec) defines them: the loader decodes into these, reports
// fields they do not have, and converts them into model.CalicoPolicy.

type calicoObject struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   calicoMetadata `json:"metadata"`
	Spec       calicoSpec     `json:"spec"`
}

type calicoMetadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// What kubectl get -o yaml adds; ignored.
	UID               string          `json:"uid,omitempty"`
	ResourceVersion   string          `json:"resourceVersion,omitempty"`
	Generation        int64           `json:"generation,omitempty"`
	CreationTimestamp json.RawMessage `json:"creationTimestamp,omitempty"`
	ManagedFields     json.RawMessage `json:"managedFields,omitempty"`
}

// calicoSpec is the union of NetworkPolicy, GlobalNetworkPolicy and the
// staged kinds' specs; object() refuses the fields a kind does not have.
type calicoSpec struct {
	Tier                   string       `json:"tier,omitempty"`
	Order                  *float64     `json:"order,omitempty"`
	Selector               string       `json:"selector,omitempty"`
	NamespaceSelector      string       `json:"namespaceSelector,omitempty"`
	ServiceAccountSelector string       `json:"serviceAccountSelector,omitempty"`
	Types                  []string     `json:"types,omitempty"`
	Ingress                []calicoRule `json:"ingress,omitempty"`
	Egress                 []calicoRule `json:"egress,omitempty"`
	DoNotTrack             bool         `json:"doNotTrack,omitempty"`
	PreDNAT                bool         `json:"preDNAT,omitempty"`
	ApplyOnForward         bool         `json:"applyOnForward,omitempty"`
	PerformanceHints       []string     `json:"performanceHints,omitempty"`
	StagedAction           string       `json:"stagedAction,omitempty"`
	// StagedKubernetesNetworkPolicy holds a Kubernetes policy's fields.
	PodSelector json.RawMessage `json:"podSelector,omitempty"`
	PolicyTypes json.RawMessage `json:"policyTypes,omitempty"`
}

type calicoRule struct {
	Action      string          `json:"action"`
	IPVersion   *int            `json:"ipVersion,omitempty"`
	Protocol    *calicoProtocol `json:"protocol,omitempty"`
	NotProtocol *calicoProtocol `json:"notProtocol,omitempty"`
	ICMP        json.RawMessage `json:"icmp,omitempty"`
	NotICMP     json.RawMessage `json:"notICMP,omitempty"`
	HTTP        json.RawMessage `json:"http,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Source      calicoEntity    `json:"source,omitempty"`
	Destination calicoEntity    `json:"destination,omitempty"`
}

type calicoEntity struct {
	Nets              []string            `json:"nets,omitempty"`
	NotNets           []string            `json:"notNets,omitempty"`
	Selector          string              `json:"selector,omitempty"`
	NotSelector       string              `json:"notSelector,omitempty"`
	NamespaceSelector string              `json:"namespaceSelector,omitempty"`
	Ports             []calicoPort        `json:"ports,omitempty"`
	NotPorts          []calicoPort        `json:"notPorts,omitempty"`
	ServiceAccounts   *calicoServiceAccts `json:"serviceAccounts,omitempty"`
	Services          *calicoServices     `json:"services,omitempty"`
}

type calicoServiceAccts struct {
	Names    []string `json:"names,omitempty"`
	Selector string   `json:"selector,omitempty"`
}

type calicoServices struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// calicoProtocol is numorstring.Protocol: a name or a number.
type calicoProtocol struct{ model.CalicoProtocol }

func (p *calicoProtocol) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		if n < 0 || n > 255 {
			return fmt.Errorf("protocol %d is not between 0 and 255", n)
		}
		p.Number = uint8(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("protocol must be a name or a number: %s", b)
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 255 {
		p.Number = uint8(n)
		return nil
	}
	p.Name = s
	return nil
}

// calicoPort is numorstring.Port: a number, "first:last", or a name.
type calicoPort struct{ model.CalicoPort }

func (p *calicoPort) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		return p.set(strconv.Itoa(n))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("port must be a number, a range or a name: %s", b)
	}
	return p.set(s)
}

func (p *calicoPort) set(s string) error {
	first, last, isRange := strings.Cut(s, ":")
	lo, err := strconv.ParseUint(first, 10, 16)
	if err != nil {
		if isRange || s == "" {
			return fmt.Errorf("port %q is not a number, a range or a name", s)
		}
		p.Name = s // a named port
		return nil
	}
	hi := lo
	if isRange {
		if hi, err = strconv.ParseUint(last, 10, 16); err != nil {
			return fmt.Errorf("port range %q is not two numbers", s)
		}
	}
	if lo > hi {
		return fmt.Errorf("port range %q: the first port is above the last", s)
	}
	p.First, p.Last = uint16(lo), uint16(hi)
	return nil
}

// isCalicoGroup reports whether apiVersion is Calico's API or its CRDs.
func isCalicoGroup(apiVersion string) (string, bool) {
	group, _, _ := strings.Cut(apiVersion, "/")
	switch group {
	case model.CalicoAPIGroup, model.CalicoCRDGroup:
		return group, true
	}
	return "", false
}

// calicoPolicyKinds are the kinds decoded into model.CalicoPolicy.
var calicoPolicyKinds = map[string]bool{
	model.CalicoNetworkPolicy: true, model.CalicoGlobalNetworkPolicy: true,
	model.CalicoStagedNetworkPolicy: true, model.CalicoStagedGlobalNetworkPolicy: true,
	model.CalicoStagedKubernetesPolicy: true,
}

// calicoPolicy decodes one Calico policy document. Fields Calico does not
// have are reported (the caller warns); what Calico's validation refuses
// is in Problems.
func decodeCalicoPolicy(obj map[string]any, group, defaultNamespace string) (*model.CalicoPolicy, []string, error) {
	var doc calicoObject
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &doc); err != nil {
		return nil, nil, err
	}
	unknown := strict.UnknownFields(obj, reflect.TypeFor[calicoObject](), "")
	p := &model.CalicoPolicy{Kind: doc.Kind, Name: doc.Metadata.Name, Namespace: doc.Metadata.Namespace, Group: group,
		Tier: doc.Spec.Tier, Order: doc.Spec.Order, Selector: doc.Spec.Selector, NamespaceSelector: doc.Spec.NamespaceSelector,
		ServiceAccountSelector: doc.Spec.ServiceAccountSelector, Types: doc.Spec.Types,
		DoNotTrack: doc.Spec.DoNotTrack, PreDNAT: doc.Spec.PreDNAT, ApplyOnForward: doc.Spec.ApplyOnForward, StagedAction: doc.Spec.StagedAction}
	if p.Global() {
		p.Namespace = ""
	} else if p.Namespace == "" {
		p.Namespace = defaultNamespace
	}
	if p.Name == "" {
		return nil, nil, fmt.Errorf("%s: metadata.name is required", p.Kind)
	}
	if p.Kind == model.CalicoStagedKubernetesPolicy {
		return decodeStagedKubernetes(obj, p, unknown)
	}
	p.Ingress = convertCalicoRules(doc.Spec.Ingress)
	p.Egress = convertCalicoRules(doc.Spec.Egress)
	p.Problems = calicoProblems(p, &doc.Spec)
	return p, unknown, nil
}

// decodeStagedKubernetes reads a StagedKubernetesNetworkPolicy: a
// Kubernetes NetworkPolicy's spec and a stagedAction. It is kept as the
// Kubernetes policy it would become (order 1000, named knp.default.*).
func decodeStagedKubernetes(obj map[string]any, p *model.CalicoPolicy, unknown []string) (*model.CalicoPolicy, []string, error) {
	spec, _ := obj["spec"].(map[string]any)
	k8s := map[string]any{}
	for k, v := range spec {
		if k != "stagedAction" {
			k8s[k] = v
		}
	}
	np := &networkingv1.NetworkPolicy{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(map[string]any{"spec": k8s}, np); err != nil {
		return nil, nil, err
	}
	np.Name, np.Namespace = p.Name, p.Namespace
	p.Kubernetes = np
	return p, unknown, nil
}

func convertCalicoRules(rules []calicoRule) []model.CalicoRule {
	out := make([]model.CalicoRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, model.CalicoRule{
			Action: r.Action, IPVersion: r.IPVersion,
			Protocol: protocolOf(r.Protocol), NotProtocol: protocolOf(r.NotProtocol),
			ICMP: len(r.ICMP) > 0 && string(r.ICMP) != "null", NotICMP: len(r.NotICMP) > 0 && string(r.NotICMP) != "null",
			HTTP:   len(r.HTTP) > 0 && string(r.HTTP) != "null",
			Source: convertCalicoEntity(r.Source), Destination: convertCalicoEntity(r.Destination),
		})
	}
	return out
}

func protocolOf(p *calicoProtocol) *model.CalicoProtocol {
	if p == nil {
		return nil
	}
	c := p.CalicoProtocol
	return &c
}

func convertCalicoEntity(e calicoEntity) model.CalicoEntity {
	out := model.CalicoEntity{Nets: e.Nets, NotNets: e.NotNets, Selector: e.Selector, NotSelector: e.NotSelector,
		NamespaceSelector: e.NamespaceSelector, Ports: ports(e.Ports), NotPorts: ports(e.NotPorts)}
	if e.ServiceAccounts != nil {
		out.ServiceAccounts = &model.CalicoServiceAccounts{Names: e.ServiceAccounts.Names, Selector: e.ServiceAccounts.Selector}
	}
	if e.Services != nil {
		out.Services = &model.CalicoServiceRef{Name: e.Services.Name, Namespace: e.Services.Namespace}
	}
	return out
}

func ports(in []calicoPort) []model.CalicoPort {
	if len(in) == 0 {
		return nil
	}
	out := make([]model.CalicoPort, len(in))
	for i, p := range in {
		out[i] = p.CalicoPort
	}
	return out
}

// calicoProblems lists what Calico's validation refuses (the API server
// for projectcalico.org/v3; felix cannot use it either when written
// straight to the CRD): actions, types, nets, ports without a protocol
// that has ports, fields of the other kind.
func calicoProblems(p *model.CalicoPolicy, spec *calicoSpec) []string {
	var out []string
	for _, t := range p.Types {
		if t != "Ingress" && t != "Egress" {
			out = append(out, fmt.Sprintf("types: %q is neither Ingress nor Egress", t))
		}
	}
	if !p.Global() && (spec.NamespaceSelector != "" || spec.DoNotTrack || spec.PreDNAT || spec.ApplyOnForward) {
		out = append(out, "namespaceSelector, doNotTrack, preDNAT and applyOnForward exist only on GlobalNetworkPolicy")
	}
	if !p.Staged() && spec.StagedAction != "" {
		out = append(out, "stagedAction exists only on the staged kinds")
	}
	for _, dir := range []struct {
		name  string
		rules []model.CalicoRule
	}{{"ingress", p.Ingress}, {"egress", p.Egress}} {
		for i, r := range dir.rules {
			out = append(out, ruleProblems(fmt.Sprintf("%s[%d]", dir.name, i), &r)...)
		}
	}
	return out
}

func ruleProblems(at string, r *model.CalicoRule) []string {
	var out []string
	switch r.Action {
	case "Allow", "Deny", "Log", "Pass":
	default:
		out = append(out, fmt.Sprintf("%s.action: %q is not Allow, Deny, Log or Pass", at, r.Action))
	}
	for _, side := range []struct {
		name string
		e    *model.CalicoEntity
	}{{"source", &r.Source}, {"destination", &r.Destination}} {
		if (len(side.e.Ports) > 0 || len(side.e.NotPorts) > 0) && !hasPorts(r.Protocol) {
			out = append(out, fmt.Sprintf("%s.%s: ports need protocol TCP, UDP or SCTP", at, side.name))
		}
		for _, n := range append(append([]string{}, side.e.Nets...), side.e.NotNets...) {
			if _, err := parseNet(n); err != nil {
				out = append(out, fmt.Sprintf("%s.%s: %v", at, side.name, err))
			}
		}
	}
	return out
}

// hasPorts: the protocol is one whose packets have ports.
func hasPorts(p *model.CalicoProtocol) bool {
	if p == nil {
		return false
	}
	switch strings.ToUpper(p.Name) {
	case "TCP", "UDP", "SCTP", "UDPLITE":
		return true
	}
	return p.Name == "" && (p.Number == 6 || p.Number == 17 || p.Number == 132 || p.Number == 136)
}

// parseNet reads a CIDR or a single address, as Calico's nets do.
func parseNet(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or an address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// decodeCalicoTier reads a Tier: its name and order.
func decodeCalicoTier(obj map[string]any) (*model.CalicoTier, error) {
	var doc struct {
		Metadata calicoMetadata `json:"metadata"`
		Spec     struct {
			Order *float64 `json:"order,omitempty"`
		} `json:"spec"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &doc); err != nil {
		return nil, err
	}
	if doc.Metadata.Name == "" {
		return nil, errors.New("a Tier needs metadata.name")
	}
	return &model.CalicoTier{Name: doc.Metadata.Name, Order: doc.Spec.Order}, nil
}
