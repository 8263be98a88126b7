package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// The other end of a probe's connection, as a mesh's REDIRECT, a direct
// connection and a Service hairpin leave it in the pod's socket table.
func TestLocalPeer(t *testing.T) {
	client, dest := ap("198.18.0.7:40000"), ap("198.18.0.9:3001")
	tests := []struct {
		name     string
		sockets  []Socket
		listener string
		dest     string // dest when empty
	}{
		{"istio REDIRECT to 15001", []Socket{
			{Protocol: ProtocolTCP, Local: ap("0.0.0.0:15001"), State: TCPListen},
			{Protocol: ProtocolTCP, Local: client, Remote: dest, State: TCPEstablished},
			{Protocol: ProtocolTCP, Local: ap("127.0.0.1:15001"), Remote: client, State: TCPEstablished},
		}, "127.0.0.1:15001", ""},
		{"linkerd REDIRECT to 4140, not yet accepted", []Socket{
			{Protocol: ProtocolTCP, Local: ap("127.0.0.1:4140"), Remote: client, State: TCPSynRecv},
		}, "127.0.0.1:4140", ""},
		{"left the pod: no local peer", []Socket{
			{Protocol: ProtocolTCP, Local: client, Remote: dest, State: TCPEstablished},
			{Protocol: ProtocolTCP, Local: ap("198.18.0.7:8080"), Remote: ap("198.18.0.1:5555"), State: TCPEstablished},
		}, "", ""},
		{"to the pod itself", []Socket{
			{Protocol: ProtocolTCP, Local: ap("198.18.0.7:3001"), Remote: client, State: TCPEstablished},
		}, "", "198.18.0.7:3001"},
		{"a Service hairpinning back into the pod", []Socket{
			{Protocol: ProtocolTCP, Local: ap("198.18.0.7:8080"), Remote: client, State: TCPEstablished},
		}, "", ""},
		{"a proxy that already hung up", []Socket{
			{Protocol: ProtocolTCP, Local: ap("127.0.0.1:15001"), Remote: client, State: TCPFinWait2},
		}, "127.0.0.1:15001", ""},
		{"UDP rows do not count", []Socket{
			{Protocol: ProtocolUDP, Local: ap("127.0.0.1:15053"), Remote: client, State: TCPEstablished},
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := dest
			if tt.dest != "" {
				to = ap(tt.dest)
			}
			listener, redirected := LocalPeer(tt.sockets, client, to)
			if redirected != (tt.listener != "") || (redirected && listener != ap(tt.listener)) {
				t.Errorf("LocalPeer = %v, %v; want listener %q", listener, redirected, tt.listener)
			}
		})
	}
}

// An IPv4 client on a dual-stack socket: the tables and the conn agree
// once both are unmapped.
func TestLocalPeerUnmapsAddresses(t *testing.T) {
	client := ap("[::ffff:198.18.0.7]:40000")
	socks := []Socket{{Protocol: ProtocolTCP, Local: ap("127.0.0.1:15001"), Remote: ap("198.18.0.7:40000"), State: TCPEstablished}}
	if _, redirected := LocalPeer(socks, client, ap("[::ffff:198.18.0.9]:80")); !redirected {
		t.Error("a mapped client address was not matched")
	}
}

// redirectingTables reads the real tables and makes the accepting end of
// every connection to port look like a mesh proxy's (127.0.0.53:15001),
// which is what a nat OUTPUT REDIRECT leaves in the table.
func redirectingTables(port uint16) TCPSockets {
	return func() ([]Socket, error) {
		socks, err := procTCPSockets()
		for i, s := range socks {
			if s.Local.Port() == port && s.State != TCPListen {
				socks[i].Local = ap("127.0.0.53:15001")
			}
		}
		return socks, err
	}
}

// TCP and HTTP checks through a redirected connect report Redirected with
// the listener's port; the same checks on the real tables connect.
func TestAgentReportsRedirectedConnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).AddrPort().Port()
	plan := Plan{DeadlineMS: 5000, Checks: []Check{
		{ID: "tcp", Kind: KindTCP, Target: "127.0.0.1", Port: int32(port), TimeoutMS: 2000},
		{ID: "http", Kind: KindHTTP, Target: "127.0.0.1", Port: int32(port), Path: "/", TimeoutMS: 2000},
	}}
	for _, r := range RunPlanWith(context.Background(), plan, redirectingTables(port)) {
		if r.Outcome != Redirected || !strings.Contains(r.Detail, "port 15001") {
			t.Errorf("%s through a redirect: %s %q", r.ID, r.Outcome, r.Detail)
		}
	}
	for _, r := range RunPlanWith(context.Background(), plan, procTCPSockets) {
		if r.Outcome != Connected {
			t.Errorf("%s straight to the listener: %s %q", r.ID, r.Outcome, r.Detail)
		}
	}
	unreadable := func() ([]Socket, error) { return nil, errors.New("permission denied") }
	for _, r := range RunPlanWith(context.Background(), plan, unreadable) {
		if r.Outcome != Error || !strings.Contains(r.Detail, "rule out a local redirect") {
			t.Errorf("%s without socket tables: %s %q", r.ID, r.Outcome, r.Detail)
		}
	}
	if s := Summary(RunPlanWith(context.Background(), plan, redirectingTables(port))); !strings.Contains(s, "2 redirected") {
		t.Errorf("summary = %q", s)
	}
}

// A DNS lookup over TCP whose connect a local listener took is reported
// as redirected, not as the resolver's garbled answer.
func TestDNSOverTCPThroughARedirect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a proxy holds what it accepts
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, h := range held {
					_ = h.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).AddrPort().Port()
	plan := Plan{DeadlineMS: 5000, Checks: []Check{{ID: "dns", Kind: KindDNS, Name: "backend.example", Target: "127.0.0.1", Port: int32(port), Transport: "tcp", TimeoutMS: 2000}}}
	r := RunPlanWith(context.Background(), plan, redirectingTables(port))[0]
	if r.Outcome != Redirected || !strings.Contains(r.Detail, "port 15001") {
		t.Errorf("dns over tcp through a redirect: %s %q", r.Outcome, r.Detail)
	}
}
