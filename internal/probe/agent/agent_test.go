package agent

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func base64Encode(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestPlanRoundTripAndValidation(t *testing.T) {
	p := Plan{DeadlineMS: 5000, Checks: []Check{{ID: "0", Kind: KindTCP, Target: "10.0.0.1", Port: 80, TimeoutMS: 1000}, {ID: "1", Kind: KindDNS, Name: "x.y", Transport: "tcp", TimeoutMS: 1000}}}
	s, err := EncodePlan(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePlan(s)
	p.Version = protocolVersion
	if err != nil || !cmp.Equal(got, p) {
		t.Errorf("round trip: %v %+v", err, got)
	}
	bad := []Plan{
		{Version: 2, DeadlineMS: 1},
		{DeadlineMS: 0},
		{DeadlineMS: 1, Checks: []Check{{ID: "0", Kind: "icmp", TimeoutMS: 1}}},
		{DeadlineMS: 1, Checks: []Check{{ID: "0", Kind: KindTCP, Target: "x", Port: 0, TimeoutMS: 1}}},
		{DeadlineMS: 1, Checks: []Check{{ID: "0", Kind: KindDNS, TimeoutMS: 1}}},
		{DeadlineMS: 1, Checks: []Check{{ID: "0", Kind: KindTCP, Target: "x", Port: 1}}},
	}
	for i, b := range bad {
		s, _ := EncodePlan(b)
		if b.Version == 2 {
			// EncodePlan forces the current version; write another by hand.
			s = base64Encode(`{"version":2,"deadlineMs":1000,"checks":[]}`)
		}
		if _, err := DecodePlan(s); err == nil {
			t.Errorf("bad plan %d accepted", i)
		}
	}
	if _, err := DecodePlan("not base64!"); err == nil {
		t.Error("accepted garbage")
	}
}

// The agent on loopback only: connected, refused, HTTP status, UDP silence.
func TestAgentOnLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/health" {
			return
		}
		if r.URL.Path == "/moved" { // to a closed port: never followed
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	port := int32(ln.Addr().(*net.TCPAddr).Port)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := int32(closed.Addr().(*net.TCPAddr).Port)
	closed.Close()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	udpPort := int32(silent.LocalAddr().(*net.UDPAddr).Port)

	plan := Plan{DeadlineMS: 5000, Checks: []Check{
		{ID: "tcp", Kind: KindTCP, Target: "127.0.0.1", Port: port, TimeoutMS: 2000},
		{ID: "refused", Kind: KindTCP, Target: "127.0.0.1", Port: closedPort, TimeoutMS: 2000},
		{ID: "health", Kind: KindHTTP, Target: "127.0.0.1", Port: port, Path: "/api/health", TimeoutMS: 2000},
		{ID: "503", Kind: KindHTTP, Target: "127.0.0.1", Port: port, Path: "/other", ExpectStatus: 200, TimeoutMS: 2000},
		{ID: "redirect", Kind: KindHTTP, Target: "127.0.0.1", Port: port, Path: "/moved", TimeoutMS: 2000},
		{ID: "redirect-expected", Kind: KindHTTP, Target: "127.0.0.1", Port: port, Path: "/moved", ExpectStatus: 302, TimeoutMS: 2000},
		{ID: "udp", Kind: KindUDP, Target: "127.0.0.1", Port: udpPort, TimeoutMS: 300},
		{ID: "badname", Kind: KindTCP, Target: "no-such-host.invalid", Port: 80, TimeoutMS: 2000},
	}}
	results := RunPlan(context.Background(), plan)
	got := map[string]string{}
	for _, r := range results {
		got[r.ID] = r.Outcome
	}
	want := map[string]string{"tcp": Connected, "refused": Refused, "health": Connected, "503": HTTPStatus,
		"redirect": HTTPStatus, "redirect-expected": Connected, "udp": Timeout, "badname": DNSError}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s\n%+v", diff, results)
	}
	if results[3].Detail != "/other 503 (want 200)" {
		t.Errorf("detail = %q", results[3].Detail)
	}
	if results[4].Detail != "/moved 302 (want 200)" {
		t.Errorf("redirect detail = %q", results[4].Detail)
	}
	if !strings.Contains(Summary(results), "8 checks: 3 connected, 2 http-status, 1 refused, 1 timeout, 1 dns-error") {
		t.Errorf("summary = %q", Summary(results))
	}
}

func TestAgentDeadlineBoundsEverything(t *testing.T) {
	silent, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer silent.Close()
	port := int32(silent.LocalAddr().(*net.UDPAddr).Port)
	plan := Plan{DeadlineMS: 200, Checks: []Check{{ID: "0", Kind: KindUDP, Target: "127.0.0.1", Port: port, TimeoutMS: 60000}}}
	r := RunPlan(context.Background(), plan)
	if r[0].Outcome != Timeout || r[0].MS > 5000 {
		t.Errorf("the plan deadline did not stop a long check: %+v", r[0])
	}
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Serve answers on several TCP ports and echoes UDP, and the agent's own
// checks see each as connected; an unused port is refused.
func TestServeTCPAndUDP(t *testing.T) {
	tcp1, tcp2, udp := freePort(t, "tcp"), freePort(t, "tcp"), freePort(t, "udp")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, fmt.Sprintf("tcp:%d,:%d,udp:%d", tcp1, tcp2, udp)) }()
	plan := Plan{DeadlineMS: 5000, Checks: []Check{
		{ID: "0", Kind: KindTCP, Target: "127.0.0.1", Port: int32(tcp1), TimeoutMS: 1000},
		{ID: "1", Kind: KindHTTP, Target: "127.0.0.1", Port: int32(tcp2), Path: "/", ExpectStatus: 200, TimeoutMS: 1000},
		{ID: "2", Kind: KindUDP, Target: "127.0.0.1", Port: int32(udp), TimeoutMS: 1000},
	}}
	var got []string
	for attempt := 0; attempt < 50; attempt++ { // the listeners start asynchronously
		got = nil
		for _, r := range RunPlan(context.Background(), plan) {
			got = append(got, r.Outcome)
		}
		if cmp.Equal(got, []string{Connected, Connected, Connected}) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !cmp.Equal(got, []string{Connected, Connected, Connected}) {
		t.Errorf("outcomes %v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if err := Serve(context.Background(), fmt.Sprintf("tcp:%d,tcp:%d", tcp1, tcp1)); err == nil || !strings.Contains(err.Error(), "tcp :") {
		t.Errorf("a port served twice should fail: %v", err)
	}
}
