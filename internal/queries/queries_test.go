package queries

import (
	"errors"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

func TestParseEveryForm(t *testing.T) {
	in := `# comments and blank lines are skipped

{"from": "frontend-dev", "to": "backend-dev/svc/backend", "port": "80", "expect": "allowed"}
{"from": "frontend-dev/deploy/frontend", "to": "backend-dev:3001"}
{"from": "deploy/frontend", "to": "svc/backend:http/tcp", "expect": "Denied"}
{"from": "monitoring/prometheus-0", "to": "backend-dev", "port": "metrics"}
{"from": "198.18.0.7", "to": "kube-system/svc/kube-dns", "port": "53", "protocol": "udp"}
{"from": "backend-dev", "to": "[2001:db8::1]:443"}
{"from": "backend-dev", "to": "203.0.113.0/24"}
`
	qs, err := Parse(strings.NewReader(in), "q.jsonl", "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 7 {
		t.Fatalf("%d questions", len(qs))
	}
	for i, want := range []struct {
		line       int
		from, to   endpoint.Kind
		ns         string
		port       string
		proto      string
		expect     policy.Verdict
		noPortSpec bool
	}{
		{3, endpoint.Namespace, endpoint.Service, "frontend-dev", "80", "TCP", policy.Allowed, false},
		{4, endpoint.Workload, endpoint.Namespace, "frontend-dev", "3001", "TCP", "", false},
		{5, endpoint.Workload, endpoint.Service, "shop", "http", "TCP", policy.Denied, false},
		{6, endpoint.Pod, endpoint.Namespace, "monitoring", "metrics", "TCP", "", false},
		{7, endpoint.IP, endpoint.Service, "", "53", "UDP", "", false},
		{8, endpoint.Namespace, endpoint.IP, "backend-dev", "443", "TCP", "", false},
		{9, endpoint.Namespace, endpoint.CIDR, "backend-dev", "", "", "", true},
	} {
		q := qs[i]
		if q.Line != want.line || q.From.Kind != want.from || q.To.Kind != want.to || q.From.Namespace != want.ns || q.Expect != want.expect {
			t.Errorf("question %d: %+v", i, q)
		}
		if want.noPortSpec {
			if len(q.Ports) != 0 {
				t.Errorf("question %d: ports %v, want every declared port", i, q.Ports)
			}
		} else if len(q.Ports) != 1 || q.Ports[0].Port != want.port || string(q.Ports[0].Protocol) != want.proto {
			t.Errorf("question %d: ports %v, want %s/%s", i, q.Ports, want.port, want.proto)
		}
	}
}

func TestParseNamesTheBadLine(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"from": "a", "to": "b:80"}` + "\n" + `{"from": "a", "too": "b"}`, `q.jsonl:2: not a question`},
		{`{"from": "a"}`, `q.jsonl:1: "from" and "to" are required`},
		{`{"from": "a", "to": "b:80", "port": "80"}`, `q.jsonl:1: give the port either in "to"`},
		{`{"from": "a", "to": "b", "protocol": "udp"}`, `"protocol" needs a "port"`},
		{`{"from": "a", "to": "b", "port": "+80"}`, `port: port "+80": write the number without a sign or leading zeros`},
		{`{"from": "a", "to": "b:80", "expect": "maybe"}`, `expect "maybe": use allowed or denied`},
		{`{"from": "local", "to": "b:80"}`, `questions start at pods or IP addresses`},
		{`{"from": "a", "to": "https://example.com"}`, `a URL is for probe local`},
		{`{"from": "a", "to": "b:80"} {"from": "a", "to": "b:80"}`, `more than one JSON value`},
		{`[1, 2]`, `q.jsonl:1: not a question`},
		{"# nothing but a comment\n", `no questions`},
	} {
		_, err := Parse(strings.NewReader(tt.in), "q.jsonl", "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n  error %v\n  want %q", tt.in, err, tt.want)
		}
	}
	_, err := Parse(strings.NewReader(`{"from": "a", "to": "b:80"}`+"\n"+strings.Repeat("x", 70000)), "q.jsonl", "")
	var qe *Error
	if !errors.As(err, &qe) || qe.Line != 2 || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("long line: %v", err)
	}
}
