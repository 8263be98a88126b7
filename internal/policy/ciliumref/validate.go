package ciliumref

// Cilium's rule validation: a CNP/CCNP with an invalid rule is rejected as a
// whole and enforces nothing.
//
// Source: pkg/policy/api/rule_validation.go (newest version, with
// EnableExtendedIPProtocols): Rule.Validate ("rule must have at least one of
// Ingress, IngressDeny, Egress, EgressDeny", exactly one of
// EndpointSelector/NodeSelector), IngressCommonRule.Validate /
// EgressCommonRule.Validate ("combining %s and %s is not supported yet" for
// two different L3 members in one rule), errUnsupportedICMPWithToPorts, L7
// rules only with an explicit TCP protocol (DNS excepted), DNS rules not on
// ingress and only with ports, PortProtocol.Validate, CIDRRule.Validate
// (except inside cidr), entities from EntitySelectorMapping.

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

func (ctx *evalCtx) validateRule(r cnpRule, clusterwide bool) error {
	if len(r.Ingress)+len(r.IngressDeny)+len(r.Egress)+len(r.EgressDeny) == 0 {
		return errors.New("rule must have at least one of Ingress, IngressDeny, Egress, EgressDeny")
	}
	if (r.EndpointSelector == nil) == (r.NodeSelector == nil) {
		return errors.New("rule must have exactly one of EndpointSelector or NodeSelector")
	}
	if r.NodeSelector != nil && !clusterwide {
		return errors.New("nodeSelector can only be used in CiliumClusterwideNetworkPolicy")
	}
	for _, sel := range []*rawLabelSelector{r.EndpointSelector, r.NodeSelector} {
		if _, err := ciliumSelector(sel); err != nil {
			return err
		}
	}
	for dir, rules := range [][]cnpPeerRule{r.Ingress, r.Egress} {
		for _, pr := range rules {
			if err := validatePeerRule(pr, direction(dir), false); err != nil {
				return err
			}
		}
	}
	for dir, rules := range [][]cnpPeerRule{r.IngressDeny, r.EgressDeny} {
		for _, pr := range rules {
			if err := validatePeerRule(pr, direction(dir), true); err != nil {
				return err
			}
		}
	}
	return nil
}

func validatePeerRule(pr cnpPeerRule, dir direction, deny bool) error {
	if err := validateL3(pr, dir); err != nil {
		return err
	}
	if len(pr.ICMPs) > 0 && len(pr.ToPorts) > 0 {
		return errors.New("the ICMPs block may only be present without ToPorts")
	}
	for _, e := range append(append([]string{}, pr.FromEntities...), pr.ToEntities...) {
		if !knownEntities[e] {
			return fmt.Errorf("unsupported entity: %s", e)
		}
	}
	sels := append(append([]rawLabelSelector{}, pr.FromEndpoints...), pr.ToEndpoints...)
	sels = append(append(sels, pr.FromRequires...), pr.ToRequires...) // Sanitize checks requirement selectors too
	for _, s := range sels {
		if _, err := ciliumSelector(&s); err != nil {
			return err
		}
	}
	if err := validateCIDRs(append(append([]string{}, pr.FromCIDR...), pr.ToCIDR...),
		append(append([]cidrRule{}, pr.FromCIDRSet...), pr.ToCIDRSet...)); err != nil {
		return err
	}
	for _, port := range pr.ToPorts {
		if err := validatePortRule(port, dir, deny); err != nil {
			return err
		}
	}
	return nil
}

// validateL3 rejects two different L3 members in one rule.
func validateL3(pr cnpPeerRule, dir direction) error {
	var members map[string]int
	if dir == dirIngress {
		members = map[string]int{
			"FromEndpoints": len(pr.FromEndpoints), "FromCIDR": len(pr.FromCIDR), "FromCIDRSet": len(pr.FromCIDRSet),
			"FromEntities": len(pr.FromEntities), "FromNodes": len(pr.FromNodes), "FromGroups": len(pr.FromGroups),
		}
	} else {
		members = map[string]int{
			"ToEndpoints": len(pr.ToEndpoints), "ToCIDR": len(pr.ToCIDR), "ToCIDRSet": len(pr.ToCIDRSet),
			"ToEntities": len(pr.ToEntities), "ToNodes": len(pr.ToNodes), "ToGroups": len(pr.ToGroups),
			"ToServices": len(pr.ToServices), "ToFQDNs": len(pr.ToFQDNs),
		}
	}
	var set []string
	for name, n := range members {
		if n > 0 {
			set = append(set, name)
		}
	}
	if len(set) > 1 {
		return fmt.Errorf("combining %s is not supported yet", strings.Join(sortedCopy(set), " and "))
	}
	return nil
}

func validateCIDRs(cidrs []string, sets []cidrRule) error {
	for _, c := range cidrs {
		if _, ok := parseCIDR(c); !ok {
			return fmt.Errorf("unable to parse CIDR %q", c)
		}
	}
	for _, s := range sets {
		n := 0
		if s.Cidr != "" {
			n++
		}
		if s.CIDRGroupRef != "" {
			n++
		}
		if s.CIDRGroupSelector != nil {
			n++
		}
		if n != 1 {
			return errors.New("exactly one of cidr, cidrGroupRef, or cidrGroupSelector is required")
		}
		if s.Cidr == "" {
			continue
		}
		p, err := netip.ParsePrefix(s.Cidr)
		if err != nil {
			return fmt.Errorf("unable to parse CIDRRule %q: %w", s.Cidr, err)
		}
		for _, x := range s.Except {
			xp, err := netip.ParsePrefix(x)
			if err != nil {
				return err
			}
			if p.Bits() > xp.Bits() || !p.Contains(xp.Addr()) {
				return fmt.Errorf("allow CIDR prefix %s does not contain exclude CIDR prefix %s", s.Cidr, x)
			}
		}
	}
	return nil
}

// extendedIPProtocols is the agent option enable-extended-ip-protocols (off
// by default); when on, a port may be omitted.
var extendedIPProtocols = false

func validatePortRule(pr portRule, dir direction, deny bool) error {
	kinds := l7Kinds(pr.Rules)
	if deny && len(kinds) > 0 {
		return errors.New("deny rules cannot have L7 rules")
	}
	if dir == dirIngress && kinds["dns"] {
		return errors.New("DNS rules are not allowed on ingress")
	}
	if len(kinds) > 1 {
		return errors.New("multiple L7 protocol rule types specified in single rule")
	}
	if kinds["dns"] && len(pr.Ports) == 0 {
		return errors.New("port 53 must be specified for DNS rules")
	}
	for _, p := range pr.Ports {
		if p.Port.s == "" && !extendedIPProtocols {
			return errors.New("port must be specified")
		}
		n, _, err := parsePort(p.Port.s)
		if err != nil {
			return err
		}
		if _, err := parseProto(p.Protocol); err != nil {
			return err
		}
		if len(kinds) > 0 && !kinds["dns"] && strings.ToUpper(p.Protocol) != "TCP" {
			return fmt.Errorf("L7 rules can only apply to TCP (not %q) except for DNS rules", p.Protocol)
		}
		if len(kinds) > 0 && n == 0 && p.Port.s != "" && !isSvcName(p.Port.s) {
			return errors.New("L7 rules can not be used when a port is 0")
		}
	}
	return nil
}

// l7Kinds lists the non-empty L7 rule types of a port rule (L7Rules.IsEmpty).
func l7Kinds(rules map[string]any) map[string]bool {
	out := map[string]bool{}
	for k, v := range rules {
		switch t := v.(type) {
		case []any:
			if len(t) > 0 {
				out[k] = true
			}
		case string:
			if t != "" {
				out["l7proto"] = true
			}
		case nil:
		default:
			out[k] = true
		}
	}
	if out["l7"] {
		delete(out, "l7")
		out["l7proto"] = true
	}
	return out
}

// parsePort parses a Cilium port: a number (0 = every port) or an IANA
// service name (named port). PortProtocol.Validate uses ParseUint(s, 0, 16).
func parsePort(s string) (int32, string, error) {
	if s == "" {
		return 0, "", nil
	}
	if isSvcName(s) {
		return 0, strings.ToLower(s), nil
	}
	n, err := strconv.ParseUint(s, 0, 16)
	if err != nil {
		return 0, "", fmt.Errorf("unable to parse port %q: %w", s, err)
	}
	return int32(n), "", nil
}

// isSvcName is iana.IsSvcName: 1-15 characters of [a-z0-9-], at least one
// letter, no leading/trailing or double hyphen.
func isSvcName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	letter := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return letter
}

// parseProto is ParseL4Proto: empty means ANY.
func parseProto(s string) (string, error) {
	p := strings.ToUpper(s)
	switch p {
	case "":
		return "ANY", nil
	case "TCP", "UDP", "SCTP", "ANY", "ICMP", "ICMPV6", "VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH":
		return p, nil
	}
	return "", fmt.Errorf("invalid protocol %q", s)
}

func sortedCopy(in []string) []string {
	out := append([]string{}, in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
