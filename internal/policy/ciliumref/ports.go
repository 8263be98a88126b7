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
// every port that matches carries an L7 rule (an L4-only match on the same
// port wins: Cilium merges it into an allow-all L7 filter).
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
