package read

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Cilium's policy kinds (cilium.io/v2): decoded into model.CiliumPolicy
// and checked the way the agent checks them before it imports a rule
// (pkg/policy/api/rule_validation.go: Rule.Sanitize): a policy Cilium
// refuses is kept with its problems, and the engine says it is ignored.

// isCiliumPolicy reports whether apiVersion/kind is one of Cilium's
// policy kinds.
func isCiliumPolicy(apiVersion, kind string) bool {
	return strings.HasPrefix(apiVersion, model.CiliumGroup+"/") &&
		(kind == model.CiliumNetworkPolicyKind || kind == model.CiliumClusterwideNetworkPolicyKind)
}

// decodeCiliumPolicy converts a decoded object; unknown lists the fields
// the kind does not have (warned about, dropped as the CRD's structural
// schema prunes them).
func decodeCiliumPolicy(obj map[string]any, defaultNamespace string) (p *model.CiliumPolicy, unknown []string, err error) {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	p = &model.CiliumPolicy{Kind: kind, Name: name, Generation: metadataGeneration(meta)}
	if kind == model.CiliumNetworkPolicyKind {
		if ns == "" {
			ns = defaultNamespace
		}
		p.Namespace = ns
	}
	if name == "" {
		return nil, nil, fmt.Errorf("%s without metadata.name", kind)
	}
	for key := range obj {
		switch key {
		case "apiVersion", "kind", "metadata", "spec", "specs", "status":
		default:
			unknown = append(unknown, "unknown field "+key)
		}
	}
	if spec, ok := obj["spec"]; ok && spec != nil {
		r, u, err := decodeCiliumRule(spec, "spec")
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p.Ref(), err)
		}
		unknown = append(unknown, u...)
		p.Rules = append(p.Rules, r)
	}
	if specs, ok := obj["specs"].([]any); ok {
		for i, spec := range specs {
			r, u, err := decodeCiliumRule(spec, fmt.Sprintf("specs[%d]", i))
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p.Ref(), err)
			}
			unknown = append(unknown, u...)
			p.Rules = append(p.Rules, r)
		}
	}
	if len(p.Rules) == 0 {
		// pkg/k8s/apis/cilium.io/v2/cnp_types.go Parse: "empty policy".
		p.Problems = append(p.Problems, "neither spec nor specs holds a rule")
	}
	for i := range p.Rules {
		for _, problem := range validateCiliumRule(&p.Rules[i], p.Clusterwide()) {
			p.Problems = append(p.Problems, fmt.Sprintf("rule %d: %s", i, problem))
		}
	}
	return p, unknown, nil
}

func decodeCiliumRule(spec any, where string) (model.CiliumRule, []string, error) {
	var r model.CiliumRule
	b, err := json.Marshal(spec)
	if err != nil {
		return r, nil, fmt.Errorf("%s: %w", where, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err = dec.Decode(&r)
	if err == nil {
		return r, nil, nil
	}
	if !strings.Contains(err.Error(), "unknown field") {
		return r, nil, fmt.Errorf("%s: %w", where, err)
	}
	unknown := []string{where + ": " + strings.TrimPrefix(err.Error(), "json: ")}
	r = model.CiliumRule{}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, nil, fmt.Errorf("%s: %w", where, err)
	}
	return r, unknown, nil
}

// ciliumEntities are the entities Cilium knows (pkg/policy/api/entity.go,
// EntitySelectorMapping); another is refused.
var ciliumEntities = map[string]bool{
	"all": true, "world": true, "world-ipv4": true, "world-ipv6": true, "cluster": true, "host": true,
	"init": true, "ingress": true, "unmanaged": true, "remote-node": true, "health": true, "none": true,
	"kube-apiserver": true,
}

var ciliumPortName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$`)

// validateCiliumRule is Rule.Sanitize's checks that refuse a rule
// (pkg/policy/api/rule_validation.go): exactly one of endpointSelector and
// nodeSelector, at least one section, L3 kinds not combined within a
// rule, well-formed CIDRs, entities, ports and protocols, L7 rules on a
// specific port, ICMP rules not combined with toPorts.
func validateCiliumRule(r *model.CiliumRule, _ bool) []string {
	var out []string
	switch {
	case r.EndpointSelector == nil && r.NodeSelector == nil:
		out = append(out, "rule must have one of EndpointSelector or NodeSelector")
	case r.EndpointSelector != nil && r.NodeSelector != nil:
		out = append(out, "rule cannot have both EndpointSelector and NodeSelector")
	}
	if r.EndpointSelector != nil {
		out = append(out, validateCiliumSelector(r.EndpointSelector, "endpointSelector")...)
	}
	if r.NodeSelector != nil {
		out = append(out, validateCiliumSelector(r.NodeSelector, "nodeSelector")...)
	}
	if len(r.Ingress)+len(r.IngressDeny)+len(r.Egress)+len(r.EgressDeny) == 0 &&
		r.Ingress == nil && r.IngressDeny == nil && r.Egress == nil && r.EgressDeny == nil {
		out = append(out, "rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny")
	}
	for i := range r.Ingress {
		out = append(out, validateCiliumPeerRule(&r.Ingress[i], true, false, fmt.Sprintf("ingress[%d]", i))...)
	}
	for i := range r.IngressDeny {
		out = append(out, validateCiliumPeerRule(&r.IngressDeny[i], true, true, fmt.Sprintf("ingressDeny[%d]", i))...)
	}
	for i := range r.Egress {
		out = append(out, validateCiliumPeerRule(&r.Egress[i], false, false, fmt.Sprintf("egress[%d]", i))...)
	}
	for i := range r.EgressDeny {
		out = append(out, validateCiliumPeerRule(&r.EgressDeny[i], false, true, fmt.Sprintf("egressDeny[%d]", i))...)
	}
	return out
}

func validateCiliumPeerRule(pr *model.CiliumPeerRule, ingress, deny bool, where string) []string {
	var out []string
	type member struct {
		name string
		n    int
	}
	var members []member
	if ingress {
		members = []member{{"FromEndpoints", len(pr.FromEndpoints)}, {"FromCIDR", len(pr.FromCIDR)}, {"FromCIDRSet", len(pr.FromCIDRSet)},
			{"FromEntities", len(pr.FromEntities)}, {"FromNodes", len(pr.FromNodes)}, {"FromGroups", len(pr.FromGroups)}}
		if len(pr.ToEndpoints)+len(pr.ToCIDR)+len(pr.ToCIDRSet)+len(pr.ToEntities)+len(pr.ToServices)+len(pr.ToFQDNs)+len(pr.ToRequires)+len(pr.ToNodes)+len(pr.ToGroups) > 0 {
			out = append(out, where+": an ingress rule has to* peer fields (pruned by the CRD schema; the rule is read without them)")
		}
	} else {
		members = []member{{"ToEndpoints", len(pr.ToEndpoints)}, {"ToCIDR", len(pr.ToCIDR)}, {"ToCIDRSet", len(pr.ToCIDRSet)},
			{"ToEntities", len(pr.ToEntities)}, {"ToServices", len(pr.ToServices)}, {"ToFQDNs", len(pr.ToFQDNs)},
			{"ToNodes", len(pr.ToNodes)}, {"ToGroups", len(pr.ToGroups)}}
		if len(pr.FromEndpoints)+len(pr.FromCIDR)+len(pr.FromCIDRSet)+len(pr.FromEntities)+len(pr.FromRequires)+len(pr.FromNodes)+len(pr.FromGroups) > 0 {
			out = append(out, where+": an egress rule has from* peer fields (pruned by the CRD schema; the rule is read without them)")
		}
	}
	for i, m1 := range members {
		for _, m2 := range members[i+1:] {
			if m1.n > 0 && m2.n > 0 {
				out = append(out, fmt.Sprintf("%s: combining %s and %s is not supported yet", where, m1.name, m2.name))
			}
		}
	}
	for _, group := range [][]metav1.LabelSelector{pr.FromEndpoints, pr.ToEndpoints, pr.FromRequires, pr.ToRequires, pr.FromNodes, pr.ToNodes} {
		for i := range group {
			out = append(out, validateCiliumSelector(&group[i], where)...)
		}
	}
	cidrs, sets := pr.FromCIDR, pr.FromCIDRSet
	entities := pr.FromEntities
	if !ingress {
		cidrs, sets, entities = pr.ToCIDR, pr.ToCIDRSet, pr.ToEntities
	}
	for _, c := range cidrs {
		if _, err := parseCiliumCIDR(c); err != nil {
			out = append(out, fmt.Sprintf("%s: %v", where, err))
		}
	}
	for _, s := range sets {
		if s.CIDR == "" {
			if s.CIDRGroupRef == "" && s.CIDRGroupSelector == nil {
				out = append(out, where+": a CIDR set needs one of cidr, cidrGroupRef, cidrGroupSelector")
			}
			continue
		}
		// CIDRRule.sanitize: only <address>/<length>, every except inside.
		prefix, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: unable to parse CIDRRule %q", where, s.CIDR))
			continue
		}
		for _, e := range s.Except {
			except, err := netip.ParsePrefix(e)
			if err != nil || !prefix.Contains(except.Addr()) {
				out = append(out, fmt.Sprintf("%s: allow CIDR prefix %s does not contain exclude CIDR prefix %s", where, s.CIDR, e))
			}
		}
	}
	for _, e := range entities {
		if !ciliumEntities[e] {
			out = append(out, fmt.Sprintf("%s: unsupported entity: %s", where, e))
		}
	}
	if len(pr.ToServices) > 0 && len(pr.ToPorts) > 0 {
		out = append(out, where+": combining ToServices and ToPorts is not supported yet")
	}
	if len(pr.ICMPs) > 0 && len(pr.ToPorts) > 0 {
		out = append(out, where+": the ICMPs and ToPorts fields cannot be combined")
	}
	for i := range pr.ToPorts {
		out = append(out, validateCiliumPortRule(&pr.ToPorts[i], ingress, deny, fmt.Sprintf("%s.toPorts[%d]", where, i))...)
	}
	return out
}

func validateCiliumPortRule(pr *model.CiliumPortRule, ingress, deny bool, where string) []string {
	var out []string
	l7 := !deny && pr.HasL7()
	dns := l7 && strings.Contains(string(pr.Rules), `"dns"`)
	if ingress && dns {
		out = append(out, where+": DNS rules are not allowed on ingress")
	}
	if len(pr.Ports) > 40 {
		out = append(out, where+": too many ports, the max is 40")
	}
	zero := false
	for _, p := range pr.Ports {
		n, named, ok := p.Port.Number()
		switch {
		case p.Port == "":
			out = append(out, where+": port must be specified")
		case !ok:
			out = append(out, fmt.Sprintf("%s: unable to parse port %q", where, p.Port))
		case named && !ciliumPortName.MatchString(strings.ToLower(string(p.Port))):
			out = append(out, fmt.Sprintf("%s: port %q is neither a number nor a valid port name", where, p.Port))
		case !named && n == 0:
			zero = true
		}
		if p.EndPort < 0 || (p.EndPort > 0 && !named && n > 0 && p.EndPort < n) {
			out = append(out, fmt.Sprintf("%s: endPort %d is below port %s", where, p.EndPort, p.Port))
		}
		proto := strings.ToUpper(p.Protocol)
		if l7 && !dns && proto != "TCP" {
			out = append(out, fmt.Sprintf("%s: L7 rules can only apply to TCP (not %s) except for DNS rules", where, p.Protocol))
		}
		switch proto {
		case "", "ANY", "TCP", "UDP", "SCTP":
		default:
			out = append(out, fmt.Sprintf("%s: invalid protocol %q, must be { tcp | udp | sctp | any }", where, p.Protocol))
		}
	}
	if l7 && zero {
		out = append(out, where+": L7 rules can not be used when a port is 0")
	}
	return out
}

// parseCiliumCIDR reads a CIDR or a bare address (a /32 or /128), as
// api.CIDR does.
func parseCiliumCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("unable to parse CIDR %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("unable to parse CIDR %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ciliumConfig records the cilium-config ConfigMap's keys that change
// verdicts.
func ciliumConfig(data map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range model.CiliumConfigKeys {
		if v, ok := data[k]; ok {
			out[k] = v
		}
	}
	return out
}

// ciliumImageVersion is the version in a cilium agent image reference
// ("quay.io/cilium/cilium:v1.16.5@sha256:…" → "1.16.5"), "" when it has
// no tag.
func ciliumImageVersion(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash {
		return ""
	}
	return strings.TrimPrefix(image[colon+1:], "v")
}

// validateCiliumSelector is EndpointSelector.sanitize
// (pkg/policy/api/selector.go): the label selector's operators and their
// values as Kubernetes validates them (In/NotIn need values,
// Exists/DoesNotExist take none).
func validateCiliumSelector(ls *metav1.LabelSelector, where string) []string {
	var out []string
	for _, e := range ls.MatchExpressions {
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				out = append(out, fmt.Sprintf("%s: selector key %q: operator %s needs values", where, e.Key, e.Operator))
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) > 0 {
				out = append(out, fmt.Sprintf("%s: selector key %q: operator %s takes no values", where, e.Key, e.Operator))
			}
		default:
			out = append(out, fmt.Sprintf("%s: selector key %q: unknown operator %q", where, e.Key, e.Operator))
		}
	}
	return out
}

// cilium reads a CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy.
// A policy the agent would refuse is kept (the CRD accepts it) and said:
// the engine decides as if it were not there.
func (d *docSink) cilium(obj map[string]any, where string) error {
	p, unknown, err := decodeCiliumPolicy(obj, d.defaultNamespace)
	if err != nil {
		return err
	}
	for _, u := range unknown {
		d.warn(fmt.Sprintf("%s: %s: %s, ignored", where, p.Ref(), u))
	}
	if len(p.Problems) > 0 {
		d.warn(fmt.Sprintf("%s: %s is refused by Cilium's agent (%s): it is not enforced", where, p.Ref(), strings.Join(p.Problems, "; ")))
	}
	d.put(p.Ref(), where, func(m *model.Model) { m.CiliumPolicies = append(m.CiliumPolicies, p) })
	return nil
}

// ciliumConfigMap reads the cilium-config ConfigMap of kube-system: Cilium
// enforces, with these settings.
func (d *docSink) ciliumConfigMap(obj map[string]any) {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if name != model.CiliumConfigMapName || (ns != "" && ns != model.CiliumConfigMapNamespace) {
		return
	}
	raw, _ := obj["data"].(map[string]any)
	data := map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			data[k] = s
		}
	}
	cfg := ciliumConfig(data)
	d.ops = append(d.ops, func(l *fileLoader) {
		if l.model.Cilium == nil {
			l.model.Cilium = &model.CiliumInfo{Source: "the cilium-config ConfigMap in the input"}
		}
		l.model.Cilium.Config, l.model.Cilium.ConfigRead = cfg, true
	})
}

// metadataGeneration reads metadata.generation as JSON or YAML decoding
// left it (0 when absent or not a number).
func metadataGeneration(meta map[string]any) int64 {
	switch g := meta["generation"].(type) {
	case int64:
		return g
	case int:
		return int64(g)
	case float64:
		return int64(g)
	case uint64:
		return int64(g)
	}
	return 0
}
