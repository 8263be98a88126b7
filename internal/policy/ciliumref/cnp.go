package ciliumref

// CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy -> compiledRule.
//
// Sources (cilium/cilium main via the code index):
//   - pkg/policy/api/rule.go (newest, with Log and EnableDefaultDeny): Rule
//     fields; "If both ingress and egress are omitted, the rule has no
//     effect"; EnableDefaultDeny "If not specified, the default is true for
//     each traffic direction that has rules"; a policy with default deny
//     disabled does not put the endpoint into default deny.
//   - pkg/policy/api/rule_validation.go (newest): Sanitize fills
//     EnableDefaultDeny from len(Ingress)+len(IngressDeny) (resp. egress),
//     or forces true when enable-non-default-deny-policies is off.
//   - pkg/k8s/apis/cilium.io/utils/utils.go @0457444e: ParseToCiliumRule adds
//     k8s:io.kubernetes.pod.namespace=<ns> to a CNP's endpointSelector (never
//     to a CCNP's); getEndpointSelector for fromEndpoints/toEndpoints:
//     selectors with a reserved: key are left alone; otherwise, unless the
//     selector names io.kubernetes.pod.namespace (k8s: or any:), a CNP adds
//     k8s:io.kubernetes.pod.namespace=<ns> (not when it names a
//     io.cilium.k8s.namespace.labels.* key) and a CCNP adds
//     "k8s:io.kubernetes.pod.namespace Exists" (all pods, no reserved
//     identities) unless its subject selects reserved:init.
//   - pkg/policy/types/policyentry.go @fdc510fe: "L3 ... Nil selects nothing.
//     Non-nil but empty L3 is implicitly treated as a wildcard selector if
//     any L4 PortRules are also specified" -> a rule with only toPorts (or
//     icmps) applies to every peer; `ingress: [{}]` selects nothing but still
//     turns on default deny.
//   - pkg/policy/k8s/service.go (newest): toServices of a service with a
//     selector becomes a generated toEndpoints {selector, k8s:namespace=svc
//     ns}; a service without selector becomes toCIDRSet of its backends
//     (CIDR, so never pods); k8sService with an empty namespace matches the
//     name in every namespace; k8sServiceSelector matches service labels.

import (
	"encoding/json"
	"fmt"
)

type cnpObject struct {
	Metadata struct {
		Name       string `json:"name"`
		Namespace  string `json:"namespace"`
		Generation int64  `json:"generation"`
	} `json:"metadata"`
	Spec  *cnpRule  `json:"spec"`
	Specs []cnpRule `json:"specs"`
}

type cnpRule struct {
	EndpointSelector  *rawLabelSelector `json:"endpointSelector"`
	NodeSelector      *rawLabelSelector `json:"nodeSelector"`
	Ingress           []cnpPeerRule     `json:"ingress"`
	IngressDeny       []cnpPeerRule     `json:"ingressDeny"`
	Egress            []cnpPeerRule     `json:"egress"`
	EgressDeny        []cnpPeerRule     `json:"egressDeny"`
	EnableDefaultDeny struct {
		Ingress *bool `json:"ingress"`
		Egress  *bool `json:"egress"`
	} `json:"enableDefaultDeny"`
}

// cnpPeerRule holds the fields of IngressRule, IngressDenyRule, EgressRule
// and EgressDenyRule; the direction decides which are read.
type cnpPeerRule struct {
	FromEndpoints  []rawLabelSelector `json:"fromEndpoints"`
	FromRequires   []rawLabelSelector `json:"fromRequires"`
	FromCIDR       []string           `json:"fromCIDR"`
	FromCIDRSet    []cidrRule         `json:"fromCIDRSet"`
	FromEntities   []string           `json:"fromEntities"`
	FromNodes      []rawLabelSelector `json:"fromNodes"`
	FromGroups     []any              `json:"fromGroups"`
	ToEndpoints    []rawLabelSelector `json:"toEndpoints"`
	ToRequires     []rawLabelSelector `json:"toRequires"`
	ToCIDR         []string           `json:"toCIDR"`
	ToCIDRSet      []cidrRule         `json:"toCIDRSet"`
	ToEntities     []string           `json:"toEntities"`
	ToNodes        []rawLabelSelector `json:"toNodes"`
	ToGroups       []any              `json:"toGroups"`
	ToServices     []serviceRef       `json:"toServices"`
	ToFQDNs        []any              `json:"toFQDNs"`
	ToPorts        []portRule         `json:"toPorts"`
	ICMPs          []icmpRule         `json:"icmps"`
	Authentication *struct {
		Mode string `json:"mode"`
	} `json:"authentication"`
}

type cidrRule struct {
	Cidr              string            `json:"cidr"`
	Except            []string          `json:"except"`
	CIDRGroupRef      string            `json:"cidrGroupRef"`
	CIDRGroupSelector *rawLabelSelector `json:"cidrGroupSelector"`
}

type serviceRef struct {
	K8sService *struct {
		ServiceName string `json:"serviceName"`
		Namespace   string `json:"namespace"`
	} `json:"k8sService"`
	K8sServiceSelector *struct {
		Selector  rawLabelSelector `json:"selector"`
		Namespace string           `json:"namespace"`
	} `json:"k8sServiceSelector"`
}

type portRule struct {
	Ports       []portProtocol `json:"ports"`
	Rules       map[string]any `json:"rules"`
	ServerNames []string       `json:"serverNames"`
	Listener    any            `json:"listener"`
}

type portProtocol struct {
	Port     intOrString `json:"port"`
	EndPort  int32       `json:"endPort"`
	Protocol string      `json:"protocol"`
}

type icmpRule struct {
	Fields []struct {
		Family string      `json:"family"`
		Type   intOrString `json:"type"`
	} `json:"fields"`
}

// intOrString accepts 80 or "80" (Cilium's port is a string, ICMP type an
// IntOrString; fixtures may write either).
type intOrString struct{ s string }

func (v *intOrString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v.s = s
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a number or a string, got %s", b)
	}
	v.s = n.String()
	return nil
}

// decodeInto round-trips a raw object through JSON into typed structs.
func decodeInto(obj map[string]any, out any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// compileCNP compiles a CNP (namespaced) or CCNP (clusterwide). A policy that
// Cilium's validation rejects is not installed at all (the whole object).
func (ctx *evalCtx) compileCNP(obj map[string]any, clusterwide bool) error {
	var o cnpObject
	if err := decodeInto(obj, &o); err != nil {
		return err
	}
	kind, ns := "CiliumNetworkPolicy", o.Metadata.Namespace
	if clusterwide {
		kind, ns = "CiliumClusterwideNetworkPolicy", ""
	} else if ns == "" {
		ns = "default"
	}
	name := policyName(kind, ns, o.Metadata.Name)
	var specs []cnpRule
	if o.Spec != nil {
		specs = append(specs, *o.Spec)
	}
	specs = append(specs, o.Specs...)
	if len(specs) == 0 {
		ctx.rejected = append(ctx.rejected, name+" (no spec)")
		return nil
	}
	if ctx.version >= requiresRemoved && usesRequires(obj) {
		// CRD validation MaxItems=0 from 1.19 on (requires.go).
		ctx.rejected = append(ctx.rejected, fmt.Sprintf("%s (fromRequires/toRequires: rejected by the CRD schema from Cilium 1.19, cilium-version %s)", name, ctx.version))
		return nil
	}
	var compiled []compiledRule
	for i, r := range specs {
		origin := fmt.Sprintf("%s rule %d", name, i)
		if err := ctx.validateRule(r, clusterwide); err != nil {
			ctx.rejected = append(ctx.rejected, fmt.Sprintf("%s (%v)", origin, err))
			ctx.keptVersion(ns, name, o.Metadata.Generation)
			return nil
		}
		if r.NodeSelector != nil {
			ctx.hostPolicy = origin
			continue
		}
		cr, err := ctx.compileCiliumRule(r, ns, origin)
		if err != nil {
			return fmt.Errorf("%s: %w", origin, err)
		}
		compiled = append(compiled, cr)
	}
	ctx.rules = append(ctx.rules, compiled...)
	return nil
}

// compileCiliumRule compiles one validated rule.
func (ctx *evalCtx) compileCiliumRule(r cnpRule, ns, origin string) (compiledRule, error) {
	cr := compiledRule{origin: origin}
	subject, err := ciliumSelector(r.EndpointSelector)
	if err != nil {
		return cr, err
	}
	if ns != "" {
		subject.addMatch("k8s", "io.kubernetes.pod.namespace", ns)
	}
	cr.subject = subject
	matchesInit := subject.hasKey("reserved", "init")
	dd := [2]*bool{r.EnableDefaultDeny.Ingress, r.EnableDefaultDeny.Egress}
	sections := [2][2][]cnpPeerRule{{r.Ingress, r.IngressDeny}, {r.Egress, r.EgressDeny}}
	for _, dir := range []direction{dirIngress, dirEgress} {
		allows, denies := sections[dir][0], sections[dir][1]
		cr.defaultDeny[dir] = !ctx.nonDefDeny || len(allows)+len(denies) > 0
		if ctx.nonDefDeny && dd[dir] != nil {
			cr.defaultDeny[dir] = *dd[dir]
		}
		for i, pr := range allows {
			e, err := ctx.compileEntry(pr, dir, ns, matchesInit, false)
			if err != nil {
				return cr, err
			}
			e.desc = fmt.Sprintf("%s %s[%d]", origin, dir, i)
			cr.allows[dir] = append(cr.allows[dir], e)
		}
		for i, pr := range denies {
			e, err := ctx.compileEntry(pr, dir, ns, matchesInit, true)
			if err != nil {
				return cr, err
			}
			e.desc = fmt.Sprintf("%s %sDeny[%d]", origin, dir, i)
			cr.denies[dir] = append(cr.denies[dir], e)
		}
	}
	return cr, nil
}

// compileEntry compiles one ingress/egress (deny) rule, with its own
// fromRequires/toRequires (requires.go).
func (ctx *evalCtx) compileEntry(pr cnpPeerRule, dir direction, ns string, matchesInit, deny bool) (entry, error) {
	var e entry
	var err error
	reqs := pr.FromRequires
	if dir == dirIngress {
		e.peers, err = ctx.ingressPeers(pr, ns, matchesInit)
	} else {
		e.peers, err = ctx.egressPeers(pr, ns, matchesInit, deny)
		reqs = pr.ToRequires
	}
	if err != nil {
		return e, err
	}
	if e.requires, err = requirementSelectors(reqs, ns, matchesInit); err != nil {
		return e, err
	}
	e.hasL4 = len(pr.ToPorts) > 0 || len(pr.ICMPs) > 0
	e.wildcard = !l3Specified(pr, dir) && e.hasL4
	if e.ports, err = ciliumPorts(pr.ToPorts); err != nil {
		return e, err
	}
	for _, ir := range pr.ICMPs {
		for _, f := range ir.Fields {
			e.icmps = append(e.icmps, icmpField{family: f.Family, typ: f.Type.s})
		}
	}
	if pr.Authentication != nil && pr.Authentication.Mode != "" && pr.Authentication.Mode != "disabled" {
		e.authMaybe = true
	}
	return e, nil
}

// l3Specified: does the rule name any peer (L3 member)? Requires are not L3
// members (rule_validation.go l3Members).
func l3Specified(pr cnpPeerRule, dir direction) bool {
	if dir == dirIngress {
		return len(pr.FromEndpoints)+len(pr.FromCIDR)+len(pr.FromCIDRSet)+len(pr.FromEntities)+
			len(pr.FromNodes)+len(pr.FromGroups) > 0
	}
	return len(pr.ToEndpoints)+len(pr.ToCIDR)+len(pr.ToCIDRSet)+len(pr.ToEntities)+len(pr.ToNodes)+
		len(pr.ToGroups)+len(pr.ToServices)+len(pr.ToFQDNs) > 0
}

func (ctx *evalCtx) ingressPeers(pr cnpPeerRule, ns string, matchesInit bool) ([]peer, error) {
	peers, err := ctx.endpointPeers(pr.FromEndpoints, ns, matchesInit)
	if err != nil {
		return nil, err
	}
	peers = append(peers, cidrPeers(pr.FromCIDR, pr.FromCIDRSet)...)
	peers = append(peers, ctx.entityPeers(pr.FromEntities)...)
	if len(pr.FromNodes) > 0 {
		peers = append(peers, peer{kind: peerNodes, why: "fromNodes (node labels are not in the input)"})
	}
	if len(pr.FromGroups) > 0 {
		peers = append(peers, peer{kind: peerCIDRBased, why: "fromGroups (cloud provider groups)"})
	}
	return peers, nil
}

func (ctx *evalCtx) egressPeers(pr cnpPeerRule, ns string, matchesInit, deny bool) ([]peer, error) {
	peers, err := ctx.endpointPeers(pr.ToEndpoints, ns, matchesInit)
	if err != nil {
		return nil, err
	}
	peers = append(peers, cidrPeers(pr.ToCIDR, pr.ToCIDRSet)...)
	peers = append(peers, ctx.entityPeers(pr.ToEntities)...)
	if len(pr.ToNodes) > 0 {
		peers = append(peers, peer{kind: peerNodes, why: "toNodes (node labels are not in the input)"})
	}
	if len(pr.ToGroups) > 0 {
		peers = append(peers, peer{kind: peerCIDRBased, why: "toGroups (cloud provider groups)"})
	}
	if len(pr.ToFQDNs) > 0 && !deny {
		peers = append(peers, peer{kind: peerCIDRBased, why: "toFQDNs (depends on DNS answers)"})
	}
	svc, err := ctx.servicePeers(pr.ToServices)
	if err != nil {
		return nil, err
	}
	return append(peers, svc...), nil
}

// endpointPeers applies getEndpointSelector's namespace injection.
func (ctx *evalCtx) endpointPeers(raws []rawLabelSelector, ns string, matchesInit bool) ([]peer, error) {
	var out []peer
	for i := range raws {
		sel, err := ciliumSelector(&raws[i])
		if err != nil {
			return nil, err
		}
		out = append(out, peer{kind: peerSelector, sel: injectNamespace(sel, ns, matchesInit), endpoints: true})
	}
	return out, nil
}

const (
	nsLabel       = "io.kubernetes.pod.namespace"
	nsLabelPrefix = "io.cilium.k8s.namespace.labels"
)

// injectNamespace is utils.go getEndpointSelector for fromEndpoints /
// toEndpoints (addK8sPrefix=true).
func injectNamespace(sel selector, ns string, matchesInit bool) selector {
	return injectNamespaceOpt(sel, ns, matchesInit, true)
}

// injectNamespaceOpt is getEndpointSelector; reservedExempt is its
// addK8sPrefix argument (false for fromRequires/toRequires).
func injectNamespaceOpt(sel selector, ns string, matchesInit, reservedExempt bool) selector {
	sel = sel.clone()
	if reservedExempt && sel.hasKeyPrefix("reserved", "") {
		return sel
	}
	if sel.hasKey("k8s", nsLabel) || sel.hasKey("any", nsLabel) {
		return sel
	}
	if ns == "" {
		if !matchesInit {
			sel.addExists("k8s", nsLabel)
		}
		return sel
	}
	if !sel.hasKeyPrefix("k8s", nsLabelPrefix) && !sel.hasKeyPrefix("any", nsLabelPrefix) {
		sel.addMatch("k8s", nsLabel, ns)
	}
	return sel
}

// entityPeers maps entities to selectors (entity.go EntitySelectorMapping,
// InitEntities for "cluster").
func (ctx *evalCtx) entityPeers(entities []string) []peer {
	var out []peer
	for _, e := range entities {
		for _, sel := range ctx.entitySelectors(e) {
			out = append(out, peer{kind: peerSelector, sel: sel})
		}
	}
	return out
}

func reservedSelector(name string) selector {
	s := selector{matchLabels: map[string]string{}}
	s.addMatch("reserved", name, "")
	return s
}

func (ctx *evalCtx) entitySelectors(e string) []selector {
	switch e {
	case "all":
		return []selector{{matchLabels: map[string]string{}}}
	case "world":
		return []selector{reservedSelector("world"), reservedSelector("world-ipv4"), reservedSelector("world-ipv6")}
	case "cluster":
		out := []selector{}
		for _, n := range []string{"host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver"} {
			out = append(out, reservedSelector(n))
		}
		cl := selector{matchLabels: map[string]string{}}
		cl.addMatch("k8s", "io.cilium.k8s.policy.cluster", ctx.clusterName)
		return append(out, cl)
	}
	return []selector{reservedSelector(e)}
}

// knownEntities is the CRD enum of entity.go.
var knownEntities = map[string]bool{
	"all": true, "world": true, "world-ipv4": true, "world-ipv6": true, "cluster": true, "host": true,
	"init": true, "ingress": true, "unmanaged": true, "remote-node": true, "health": true, "none": true,
	"kube-apiserver": true,
}

// keptVersion: the agent's policy watcher logs a rejected update and keeps
// the rules it had for the object (observed on Cilium v1.20.2: a valid CCNP
// replaced in place by an invalid one kept denying). An object whose
// generation shows an update may therefore still enforce an unknown earlier
// version over its scope: the namespace, or every pod for a CCNP ("").
func (ctx *evalCtx) keptVersion(ns, name string, generation int64) {
	if generation <= 1 {
		return
	}
	if ctx.unknownScopes == nil {
		ctx.unknownScopes = map[string]string{}
	}
	ctx.unknownScopes[ns] = name + " was updated into a rejected spec; the agent may keep an earlier version"
}
