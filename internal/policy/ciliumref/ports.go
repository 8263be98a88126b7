package ciliumref

// L4 matching: toPorts (port, endPort, named port, protocol) and icmps.
//
// Sources:
//   - pkg/policy/api/l4.go, rule_validation.go (newest): Port is a number
//     ("0" = every port) or an IANA service name, lower-cased by Sanitize;
//     EndPort makes a range; Protocol "" means ANY.
//   - pkg/policy/rule.go mergeIngress (older, same logic): a PortRule is
//     iterated over its ports; ANY expands to TCP, UDP and SCTP (ICMP is not
//     a port protocol: ping is allowed by an L3-only rule or an icmps rule,
//     deny.rst table "ping server").
//   - pkg/policy/types named ports (newest): named ports resolve per
//     destination identity; ingress uses the selected pod's own container
//     ports; "u8proto.ANY does not match named ports" (ANY is expanded to
//     the concrete protocols first).
//   - pkg/policy/api/icmp.go: icmps fields {family IPv4|IPv6, type number or
//     name}; EchoRequest is type 8 for IPv4.

import "strings"

// ciliumPorts flattens toPorts. A PortRule with no ports contributes no
// port (it allows nothing at L4).
func ciliumPorts(rules []portRule) ([]portProto, error) {
	var out []portProto
	for _, r := range rules {
		l7 := len(l7Kinds(r.Rules)) > 0 || len(r.ServerNames) > 0 || r.Listener != nil
		for _, p := range r.Ports {
			port, name, err := parsePort(p.Port.s)
			if err != nil {
				return nil, err
			}
			proto, err := parseProto(p.Protocol)
			if err != nil {
				return nil, err
			}
			out = append(out, portProto{port: port, endPort: p.EndPort, name: name, proto: proto, l7: l7})
		}
	}
	return out, nil
}

// matchL4 matches the L4 part of an entry. The second result is true when
// every port that matches carries an L7 rule. side.go then clears L7 when
// any other allow without L7 matches the same connection:
//   - same port: mergePortProto merges the L4-only selector into the L7
//     filter as an empty (allow-all) L7 rule (repository_test.go
//     TestMinikubeGettingStarted @3e1bfb8f: HTTP rules [{GET /}, {}]);
//   - wildcard port (an L3-only allow, "0/ANY"): the port-specific redirect
//     entry does win the datapath lookup (pkg/policy/mapstate.go
//     @a7a445a15abad685b3fcebb21a9ce2711fe6b338 denyPreferredInsertWithChanges:
//     "We do not delete redundant allow entries"; the policy map is an LPM on
//     identity/proto/port), so the request reaches the proxy, but the proxy
//     allows it through the wildcard-port rules too: cilium/proxy
//     cilium/network_policy.cc @f26fc7b3f5e1be83ace50b84d91bde3ff2bfea75
//     PortPolicy::for_range ("will need to check both port-specific and
//     wildcard-port rules", allowed if any rule list allows; older versions'
//     PortNetworkPolicy::Matches: "Check for any rules that wildcard the
//     port"), and pkg/envoy/server.go sends the port-0 filter as a rule
//     whose remote policies are the L3-only selector's identities, without
//     L7. Cilium's own test says as much: repository_test.go
//     TestWildcardL3RulesEgress @3e1bfb8f "if it is [forwarded to the
//     proxy] ... the "0/ANY" rule should allow such traffic through", and
//     TestWildcardCIDRRulesEgress keeps the HTTP rules only because "HTTP
//     rules can have side-effects" (header rewrites, logging), not because
//     they filter. So no request is filtered: l7=false (FORMAT.md).
func (e entry) matchL4(conn connection) (tri, bool) {
	if !e.hasL4 {
		return yes, false
	}
	if conn.proto == "ICMP" {
		return e.matchICMP(), false
	}
	best, l7 := no, true
	for _, p := range e.ports {
		m := p.match(conn)
		if m == yes && !p.l7 {
			l7 = false
		}
		best = or(best, m)
	}
	return best, best == yes && l7
}

func (e entry) matchICMP() tri {
	best := no
	for _, f := range e.icmps {
		if f.family != "" && !strings.EqualFold(f.family, "IPv4") {
			continue
		}
		if f.typ == "8" || strings.EqualFold(f.typ, "EchoRequest") {
			best = yes
		}
	}
	for _, p := range e.ports {
		if p.proto == "ICMP" {
			best = or(best, maybe)
		}
	}
	return best
}

func protoMatches(rule, conn string) bool {
	if rule == "ANY" {
		return conn == "TCP" || conn == "UDP" || conn == "SCTP"
	}
	return rule == conn
}

func (p portProto) match(conn connection) tri {
	if !protoMatches(p.proto, conn.proto) {
		return no
	}
	if p.name != "" {
		return triOf(namedPortMatches(p.name, conn))
	}
	if p.port == 0 {
		return yes
	}
	if p.endPort > p.port {
		return triOf(conn.port >= p.port && conn.port <= p.endPort)
	}
	return triOf(conn.port == p.port)
}

// namedPortMatches resolves the name against the destination pod's ports
// (for ingress the destination is the selected pod; for egress the peer).
// Non-pod destinations have no named ports.
func namedPortMatches(name string, conn connection) bool {
	if conn.dst == nil || conn.dst.pod == nil {
		return false
	}
	for _, np := range conn.dst.pod.Ports {
		proto := strings.ToUpper(np.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		if strings.EqualFold(np.Name, name) && proto == conn.proto && np.Port == conn.port && np.Port != 0 {
			return true
		}
	}
	return false
}
