// Package endpoint is the one parser of the SOURCE/DEST grammar shared by
// explain, probe and completion (docs/design.md), and resolves endpoints
// against the read model.
package endpoint

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Kind says what an endpoint names.
type Kind string

// The kinds of endpoint the grammar has (docs/design.md, "Endpoints").
const (
	Namespace Kind = "namespace" // NS
	Pod       Kind = "pod"       // NS/POD
	Workload  Kind = "workload"  // NS/KIND/NAME
	Service   Kind = "service"   // NS/svc/NAME
	IP        Kind = "ip"        // 203.0.113.7, [2001:db8::1]
	CIDR      Kind = "cidr"      // 203.0.113.0/24, [2001:db8::/64]
	DNSName   Kind = "dns"       // api.example.com (probe DEST only)
	Local     Kind = "local"     // the plugin's own machine (probe SOURCE only)
	URL       Kind = "url"       // a URL, DEST of a local source
)

// Role is where an endpoint appears.
type Role string

// Which side of a flow an endpoint is on.
const (
	Source      Role = "source"
	Destination Role = "destination"
)

// Endpoint is one parsed SOURCE or DEST.
type Endpoint struct {
	Raw       string
	Kind      Kind
	Namespace string
	Name      string
	// WorkloadKind is the canonical lower-case kind for Workload endpoints
	// (deployment, statefulset, daemonset, replicaset, job, cronjob).
	WorkloadKind string
	Addr         netip.Addr
	Prefix       netip.Prefix
	Host         string // DNS name
	URL          *url.URL
	// Port is a number or a port name; empty when none was given.
	Port string
	// Protocol is TCP, UDP or SCTP; empty when none was given (TCP).
	Protocol corev1.Protocol
}

// HasPort reports whether the endpoint carries a port.
func (e Endpoint) HasPort() bool { return e.Port != "" }

// PortNumber returns the port as a number, or false for a name.
func (e Endpoint) PortNumber() (int32, bool) {
	n, err := strconv.Atoi(e.Port)
	return int32(n), err == nil
}

// EffectiveProtocol is the protocol, TCP by default.
func (e Endpoint) EffectiveProtocol() corev1.Protocol {
	if e.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return e.Protocol
}

// String renders the endpoint back in the grammar.
func (e Endpoint) String() string { return e.Raw }

var kindAliases = map[string]string{
	"deploy": "deployment", "deployment": "deployment", "deployments": "deployment",
	"sts": "statefulset", "statefulset": "statefulset", "statefulsets": "statefulset",
	"ds": "daemonset", "daemonset": "daemonset", "daemonsets": "daemonset",
	"rs": "replicaset", "replicaset": "replicaset", "replicasets": "replicaset",
	"job": "job", "jobs": "job",
	"cronjob": "cronjob", "cronjobs": "cronjob", "cj": "cronjob",
	"svc": "service", "service": "service", "services": "service",
}

// podWords name a pod in NS/pod/NAME and pod/NAME, as kubectl writes it.
var podWords = map[string]bool{"pod": true, "pods": true, "po": true}

func isKindWord(w string) bool {
	w = strings.ToLower(w)
	_, ok := kindAliases[w]
	return ok || podWords[w]
}

// clip keeps error messages readable whatever was typed (or pasted).
func clip(s string) string {
	const most = 200
	if len(s) <= most {
		return s
	}
	return s[:most] + "…"
}

// kindNames lists the KIND words NS/KIND/NAME accepts, for completion.
func kindNames() []string {
	return []string{"deploy", "deployment", "sts", "statefulset", "ds", "daemonset", "rs", "replicaset", "job", "cronjob", "svc", "service"}
}

var portSuffix = regexp.MustCompile(`^(.*):([^:/\[\]]+)(?:/([A-Za-z]+))?$`)

// Parse reads one SOURCE or DEST whose namespace is written out.
func Parse(s string, role Role) (Endpoint, error) {
	return ParseIn(s, role, "")
}

// ParseIn reads one SOURCE or DEST; KIND/NAME without a namespace
// (deploy/frontend, svc/backend:80, pod/web-1) means that object in
// defaultNamespace (-n, or the context's namespace), as kubectl resolves
// names. With defaultNamespace "" such an argument is an error.
func ParseIn(s string, role Role, defaultNamespace string) (Endpoint, error) {
	ep := Endpoint{Raw: s}
	shown := clip(s)
	switch {
	case strings.TrimSpace(s) == "":
		return ep, fmt.Errorf("empty %s", role)
	case s == "local":
		if role != Source {
			return ep, fmt.Errorf("%q is only a SOURCE (checks from this machine)", shown)
		}
		ep.Kind = Local
		return ep, nil
	case strings.Contains(s, "://"):
		err := ep.parseURL(s, shown, role)
		return ep, err
	case strings.HasPrefix(s, "["):
		err := ep.parseBracketed(s, shown, role)
		return ep, err
	}
	host, err := ep.parseHostPort(s, shown, role)
	if err != nil {
		return ep, err
	}
	if err := ep.setAddress(host, false); err == nil {
		return ep, nil
	} else if _, perr := netip.ParsePrefix(host); perr == nil {
		return ep, fmt.Errorf("%q: %w", shown, err)
	}
	parts := strings.Split(host, "/")
	switch {
	case len(parts) == 2 && isKindWord(parts[0]):
		if defaultNamespace == "" {
			return ep, fmt.Errorf("%q: %s/NAME needs a namespace: write NS/%s/NAME, or give -n", shown, parts[0], parts[0])
		}
		return ParseIn(defaultNamespace+"/"+s, role, "")
	case len(parts) == 3 && podWords[strings.ToLower(parts[1])]:
		return ParseIn(parts[0]+"/"+parts[2]+strings.TrimPrefix(s, host), role, "")
	}
	err = ep.parseNamed(host, parts, shown, role)
	return ep, err
}

// parseURL reads http(s)://HOST[:PORT]/..., a DEST only.
func (e *Endpoint) parseURL(s, shown string, role Role) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q: a URL must be http:// or https:// with a host", shown)
	}
	if role != Destination {
		return fmt.Errorf("%q: a URL can only be a DEST", shown)
	}
	e.Kind, e.URL = URL, u
	return nil
}

// parseBracketed reads [IPv6] or [IPv6/LEN], then :PORT[/PROTO].
func (e *Endpoint) parseBracketed(s, shown string, role Role) error {
	end := strings.Index(s, "]")
	if end < 0 {
		return fmt.Errorf("%q: missing ] after the IPv6 address", shown)
	}
	host, rest := s[1:end], s[end+1:]
	if rest != "" {
		m := portSuffix.FindStringSubmatch("x" + rest)
		if m == nil || m[1] != "x" {
			return fmt.Errorf("%q: after ] only :PORT[/PROTO] may follow", shown)
		}
		if err := e.setPort(m[2], m[3], role); err != nil {
			return err
		}
	}
	return e.setAddress(host, true)
}

// parseHostPort takes :PORT[/PROTO] off the end, and returns what is
// before it.
func (e *Endpoint) parseHostPort(s, shown string, role Role) (string, error) {
	if m := portSuffix.FindStringSubmatch(s); m != nil {
		if strings.Contains(m[1], ":") {
			return "", fmt.Errorf("%q: write IPv6 addresses in brackets, e.g. [2001:db8::1]:443", shown)
		}
		return m[1], e.setPort(m[2], m[3], role)
	}
	if strings.Contains(s, ":") {
		if _, err := netip.ParseAddr(s); err == nil {
			return "", fmt.Errorf("%q: write IPv6 addresses in brackets, e.g. [%s]", shown, shown)
		}
		return "", fmt.Errorf("%q: expected NS, NS/POD, NS/KIND/NAME or an IP, then :PORT[/PROTO]", shown)
	}
	return s, nil
}

// parseNamed reads a DNS name, NS, NS/POD or NS/KIND/NAME.
func (e *Endpoint) parseNamed(host string, parts []string, shown string, role Role) error {
	switch len(parts) {
	case 1:
		if strings.Contains(host, ".") {
			return e.parseDNSName(host, shown, role)
		}
		e.Kind, e.Namespace = Namespace, host
	case 2:
		e.Kind, e.Namespace, e.Name = Pod, parts[0], parts[1]
		if errs := validation.IsDNS1123Subdomain(e.Name); len(errs) > 0 {
			return fmt.Errorf("%q: %q is not a pod name: %s", shown, e.Name, errs[0])
		}
	case 3:
		if err := e.parseKindName(parts, shown); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%q: expected NS, NS/POD or NS/KIND/NAME", shown)
	}
	if errs := validation.IsDNS1123Label(e.Namespace); len(errs) > 0 {
		return fmt.Errorf("%q: %q is not a namespace name: %s", shown, e.Namespace, errs[0])
	}
	return nil
}

func (e *Endpoint) parseDNSName(host, shown string, role Role) error {
	if role != Destination {
		return fmt.Errorf("%q: a DNS name can only be a DEST", shown)
	}
	if errs := validation.IsDNS1123Subdomain(strings.ToLower(host)); len(errs) > 0 {
		return fmt.Errorf("%q: not a DNS name: %s", host, errs[0])
	}
	e.Kind, e.Host = DNSName, host
	return nil
}

// parseKindName reads NS/KIND/NAME of a Service or a workload.
func (e *Endpoint) parseKindName(parts []string, shown string) error {
	kind, ok := kindAliases[strings.ToLower(parts[1])]
	if !ok {
		return fmt.Errorf("%q: unknown kind %q; use one of %s", shown, parts[1], strings.Join(kindNames(), ", "))
	}
	e.Namespace, e.Name = parts[0], parts[2]
	if kind == "service" {
		e.Kind = Service
	} else {
		e.Kind, e.WorkloadKind = Workload, kind
	}
	if errs := validation.IsDNS1123Subdomain(e.Name); len(errs) > 0 {
		return fmt.Errorf("%q: %q is not a valid name: %s", shown, e.Name, errs[0])
	}
	return nil
}

func (e *Endpoint) setAddress(host string, bracketed bool) error {
	if strings.Contains(host, "/") {
		p, err := netip.ParsePrefix(host)
		if err != nil {
			if bracketed {
				return fmt.Errorf("%q: not an IPv6 CIDR", host)
			}
			return err
		}
		if bracketed != p.Addr().Is6() {
			return fmt.Errorf("%q: only IPv6 goes in brackets", host)
		}
		if p.Masked() != p {
			return fmt.Errorf("%q: host bits are set; did you mean %s?", host, p.Masked())
		}
		e.Kind, e.Prefix = CIDR, p
		return nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		if bracketed {
			return fmt.Errorf("%q: not an IPv6 address", host)
		}
		return err
	}
	if a.Is4In6() {
		return fmt.Errorf("%q is an IPv4 address written as IPv6: write %s", clip(host), a.Unmap())
	}
	if bracketed != a.Is6() {
		return fmt.Errorf("%q: only IPv6 goes in brackets", clip(host))
	}
	if a.Zone() != "" {
		return fmt.Errorf("%q: zones are not supported", host)
	}
	e.Kind, e.Addr = IP, a
	return nil
}

func (e *Endpoint) setPort(port, proto string, role Role) error {
	if role == Source {
		return fmt.Errorf("%q: a SOURCE takes no port", clip(e.Raw))
	}
	p, pr, err := parsePort(port, proto)
	if err != nil {
		return fmt.Errorf("%q: %w", clip(e.Raw), err)
	}
	e.Port, e.Protocol = p, pr
	return nil
}

var (
	signedNumber = regexp.MustCompile(`^[+-]?[0-9]+$`)
	plainNumber  = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)
)

// parsePort checks a PORT (number or name) and an optional PROTO.
func parsePort(port, proto string) (string, corev1.Protocol, error) {
	if signedNumber.MatchString(port) {
		if !plainNumber.MatchString(port) {
			return "", "", fmt.Errorf("port %q: write the number without a sign or leading zeros", clip(port))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("port %s: must be between 1 and 65535", clip(port))
		}
	} else if errs := validation.IsValidPortName(port); len(errs) > 0 {
		return "", "", fmt.Errorf("port %q is neither a number nor a port name: %s", clip(port), errs[0])
	}
	var protocol corev1.Protocol
	switch strings.ToLower(proto) {
	case "":
	case "tcp":
		protocol = corev1.ProtocolTCP
	case "udp":
		protocol = corev1.ProtocolUDP
	case "sctp":
		protocol = corev1.ProtocolSCTP
	default:
		return "", "", fmt.Errorf("protocol %q: use tcp, udp or sctp", clip(proto))
	}
	return port, protocol, nil
}

// ParsePortFlag reads a --port value: PORT[/PROTO].
func ParsePortFlag(s string) (string, corev1.Protocol, error) {
	port, proto, _ := strings.Cut(s, "/")
	return parsePort(port, proto)
}
