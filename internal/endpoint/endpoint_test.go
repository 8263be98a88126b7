package endpoint

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		role Role
		want string // Kind ns name workloadKind addr/prefix host port proto
	}{
		{"frontend-dev", Source, "namespace frontend-dev"},
		{"backend-dev:3001", Destination, "namespace backend-dev port=3001"},
		{"backend-dev:http", Destination, "namespace backend-dev port=http"},
		{"backend-dev/backend-5f4b:3001/TCP", Destination, "pod backend-dev/backend-5f4b port=3001/TCP"},
		{"backend-dev/deploy/backend", Source, "workload backend-dev/backend deployment"},
		{"ns/Deployment/web", Source, "workload ns/web deployment"},
		{"ns/sts/db", Source, "workload ns/db statefulset"},
		{"ns/ds/agent", Source, "workload ns/agent daemonset"},
		{"ns/rs/web-abc", Source, "workload ns/web-abc replicaset"},
		{"ns/job/once", Source, "workload ns/once job"},
		{"ns/cronjob/nightly", Source, "workload ns/nightly cronjob"},
		{"kube-system/svc/kube-dns:53/udp", Destination, "service kube-system/kube-dns port=53/UDP"},
		{"ns/service/web:http/sctp", Destination, "service ns/web port=http/SCTP"},
		{"203.0.113.7", Source, "ip 203.0.113.7"},
		{"203.0.113.7:443", Destination, "ip 203.0.113.7 port=443"},
		{"203.0.113.0/24", Destination, "cidr 203.0.113.0/24"},
		{"203.0.113.0/24:443/tcp", Destination, "cidr 203.0.113.0/24 port=443/TCP"},
		{"[2001:db8::1]", Destination, "ip 2001:db8::1"},
		{"[2001:db8::1]:443/tcp", Destination, "ip 2001:db8::1 port=443/TCP"},
		{"[2001:db8::/64]:53/UDP", Destination, "cidr 2001:db8::/64 port=53/UDP"},
		{"api.example.com:443", Destination, "dns api.example.com port=443"},
		{"local", Source, "local"},
		{"https://example.com/api/health", Destination, "url https://example.com/api/health"},
		{"y", Source, "namespace y"},
	}
	for _, tt := range tests {
		ep, err := Parse(tt.in, tt.role)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := describe(ep); got != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func describe(ep Endpoint) string {
	parts := []string{string(ep.Kind)}
	switch ep.Kind {
	case Namespace:
		parts = append(parts, ep.Namespace)
	case Pod, Service:
		parts = append(parts, ep.Namespace+"/"+ep.Name)
	case Workload:
		parts = append(parts, ep.Namespace+"/"+ep.Name, ep.WorkloadKind)
	case IP:
		parts = append(parts, ep.Addr.String())
	case CIDR:
		parts = append(parts, ep.Prefix.String())
	case DNSName:
		parts = append(parts, ep.Host)
	case URL:
		parts = append(parts, ep.URL.String())
	}
	if ep.Port != "" {
		p := "port=" + ep.Port
		if ep.Protocol != "" {
			p += "/" + string(ep.Protocol)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		in   string
		role Role
		want string
	}{
		{"", Source, "empty"},
		{"frontend-dev:3001", Source, "a SOURCE takes no port"},
		{"backend-dev:0", Destination, "between 1 and 65535"},
		{"backend-dev:70000", Destination, "between 1 and 65535"},
		{"backend-dev:3001/icmp", Destination, `protocol "icmp"`},
		{"backend-dev:not_a_port_name", Destination, "neither a number nor a port name"},
		{"2001:db8::1", Destination, "brackets"},
		{"2001:db8::1:443", Destination, "brackets"},
		{"[203.0.113.7]", Destination, "only IPv6 goes in brackets"},
		{"[2001:db8::1", Destination, "missing ]"},
		{"[2001:db8::1]443", Destination, "only :PORT[/PROTO]"},
		{"ns/widget/x", Source, `unknown kind "widget"`},
		{"a/b/c/d", Source, "expected NS"},
		{"Bad_NS", Source, "not a namespace name"},
		{"ns/Bad_Pod", Source, "not a pod name"},
		{"203.0.113.7/24", Destination, "host bits are set; did you mean 203.0.113.0/24?"},
		{"local", Destination, "only a SOURCE"},
		{"ftp://example.com", Destination, "http:// or https://"},
		{"https://example.com", Source, "only be a DEST"},
		{"backend-dev:+80", Destination, "without a sign or leading zeros"},
		{"backend-dev:0080", Destination, "without a sign or leading zeros"},
		{"backend-dev:-1", Destination, "without a sign or leading zeros"},
		{"[::ffff:10.0.2.20]", Destination, "an IPv4 address written as IPv6: write 10.0.2.20"},
		{"deploy/frontend", Source, "deploy/NAME needs a namespace: write NS/deploy/NAME, or give -n"},
		{strings.Repeat("a", 5000) + ":80", Destination, "…"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in, tt.role)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q, %s) error = %v, want %q", tt.in, tt.role, err, tt.want)
		}
	}
}

func TestParsePortFlag(t *testing.T) {
	for in, want := range map[string]string{"53/udp": "53 UDP", "http": "http ", "443/TCP": "443 TCP", "9/Sctp": "9 SCTP"} {
		port, proto, err := ParsePortFlag(in)
		if err != nil || port+" "+string(proto) != want {
			t.Errorf("ParsePortFlag(%q) = %q %q %v, want %q", in, port, proto, err, want)
		}
	}
	if _, _, err := ParsePortFlag("53/icmp"); err == nil {
		t.Error("accepted icmp")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"ns", "ns/pod:80/tcp", "[::1]:53/udp", "10.0.0.0/8", "a.b.c:1", "ns/svc/x:http", "local", "http://x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, role := range []Role{Source, Destination} {
			ep, err := Parse(s, role)
			if err != nil {
				continue
			}
			if ep.Kind == "" {
				t.Fatalf("Parse(%q) returned no kind", s)
			}
			if ep.HasPort() {
				if _, _, err := parsePort(ep.Port, string(ep.Protocol)); err != nil {
					t.Fatalf("Parse(%q) accepted port %q: %v", s, ep.Port, err)
				}
			}
		}
	})
}

// KIND/NAME without a namespace is that object in -n's namespace, as
// kubectl resolves names; NS/pod/NAME is NS/NAME.
func TestParseInDefaultNamespace(t *testing.T) {
	for _, tt := range []struct {
		in   string
		role Role
		want Endpoint
	}{
		{"deploy/frontend", Source, Endpoint{Kind: Workload, WorkloadKind: "deployment", Namespace: "shop", Name: "frontend"}},
		{"svc/backend:80", Destination, Endpoint{Kind: Service, Namespace: "shop", Name: "backend", Port: "80"}},
		{"pod/web-1:http/udp", Destination, Endpoint{Kind: Pod, Namespace: "shop", Name: "web-1", Port: "http", Protocol: "UDP"}},
		{"other/pod/web-1", Source, Endpoint{Kind: Pod, Namespace: "other", Name: "web-1"}},
		{"other/web-1", Source, Endpoint{Kind: Pod, Namespace: "other", Name: "web-1"}},
		{"other", Source, Endpoint{Kind: Namespace, Namespace: "other"}},
	} {
		got, err := ParseIn(tt.in, tt.role, "shop")
		if err != nil {
			t.Errorf("ParseIn(%q): %v", tt.in, err)
			continue
		}
		got.Raw = ""
		if got != tt.want {
			t.Errorf("ParseIn(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// Error messages quote at most about 200 characters of what was typed.
func TestErrorsAreClipped(t *testing.T) {
	_, err := Parse(strings.Repeat("x", 100000)+"/a/b/c", Source)
	if err == nil || len(err.Error()) > 400 {
		t.Errorf("error of %d bytes", len(err.Error()))
	}
}
