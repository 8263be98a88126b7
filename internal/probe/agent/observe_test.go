package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readFixture(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

func notExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func TestParseSocketTable(t *testing.T) {
	data, _ := readFixture("tcp")
	socks, err := ParseSocketTable(strings.NewReader(string(data)), ProtocolTCP)
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 12 {
		t.Fatalf("%d rows", len(socks))
	}
	want := []Socket{
		{ProtocolTCP, netip.MustParseAddrPort("0.0.0.0:3001"), netip.MustParseAddrPort("0.0.0.0:0"), TCPListen},
		{ProtocolTCP, netip.MustParseAddrPort("198.18.0.15:3001"), netip.MustParseAddrPort("198.18.0.16:41716"), TCPEstablished},
		{ProtocolTCP, netip.MustParseAddrPort("198.18.0.15:54948"), netip.MustParseAddrPort("198.51.100.10:80"), TCPTimeWait},
		{ProtocolTCP, netip.MustParseAddrPort("198.18.0.15:54950"), netip.MustParseAddrPort("198.51.100.10:443"), TCPSynSent},
	}
	if diff := cmp.Diff(want, socks[:4], cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Error(diff)
	}

	data, _ = readFixture("tcp6")
	socks, err = ParseSocketTable(strings.NewReader(string(data)), ProtocolTCP)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, s := range socks {
		got = append(got, s.Local.String()+" "+s.Remote.String())
	}
	// IPv4-mapped addresses come out as IPv4
	wantText := []string{"[::]:8080 [::]:0", "198.18.0.15:8080 198.18.0.20:50000", "[fd00::2]:45056 [fd00::1]:80", "[::1]:8081 [::]:0"}
	if diff := cmp.Diff(wantText, got); diff != "" {
		t.Error(diff)
	}

	// a table with only its header (udp6 with no sockets)
	data, _ = readFixture("udp6")
	if socks, err := ParseSocketTable(strings.NewReader(string(data)), ProtocolUDP); err != nil || len(socks) != 0 {
		t.Errorf("empty table: %v %v", socks, err)
	}

	for name, row := range map[string]string{
		"short":       "   0: 00000000:0BB9 00000000:0000",
		"no sl":       "   00000000:0BB9 00000000:0000 0A",
		"bad address": "   0: 0000000G:0BB9 00000000:0000 0A",
		"odd length":  "   0: 000000000:0BB9 00000000:0000 0A",
		"no port":     "   0: 00000000 00000000:0000 0A",
		"bad port":    "   0: 00000000:10000 00000000:0000 0A",
		"bad state":   "   0: 00000000:0BB9 00000000:0000 XY",
	} {
		if _, err := ParseSocketTable(strings.NewReader(row), ProtocolTCP); err == nil {
			t.Errorf("%s: no error for %q", name, row)
		}
	}
}

// Every TCP state, UDP, IPv6 and IPv4-mapped addresses through the
// observer: direction from the listening ports, loopback left out,
// closing connections counted, unanswered ones as attempts.
func TestObserverOnFixtures(t *testing.T) {
	socks, err := ReadSockets(readFixture, notExist)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	o := NewObserver()
	o.Add(socks, at)
	o.Add(socks, at.Add(time.Second)) // the same connections again: not counted twice
	obs := o.Report()
	wantListening := []Listener{{ProtocolTCP, 3001}, {ProtocolTCP, 8080}, {ProtocolUDP, 53}}
	if diff := cmp.Diff(wantListening, obs.Listening); diff != "" {
		t.Errorf("listening (-want +got):\n%s", diff)
	}
	type row struct {
		dir, proto, remote string
		port               uint16
		conns, attempts    int
	}
	var got []row
	for _, f := range obs.Flows {
		got = append(got, row{f.Direction, f.Protocol, f.Remote, f.Port, f.Connections, f.Attempts})
		if !f.FirstSeen.Equal(at) || !f.LastSeen.Equal(at.Add(time.Second)) {
			t.Errorf("%s %s: seen %v–%v", f.Direction, f.Remote, f.FirstSeen, f.LastSeen)
		}
	}
	want := []row{
		{Inbound, ProtocolTCP, "198.18.0.17", 3001, 4, 0}, // FIN_WAIT1, FIN_WAIT2, LAST_ACK, CLOSING (SYN_RECV is not through yet)
		{Inbound, ProtocolTCP, "198.18.0.16", 3001, 1, 0},
		{Inbound, ProtocolTCP, "198.18.0.20", 8080, 1, 0},  // IPv4-mapped, on the dual-stack listener
		{Outbound, ProtocolTCP, "198.19.0.1", 443, 1, 0},   // CLOSE_WAIT
		{Outbound, ProtocolUDP, "198.19.0.10", 53, 1, 0},   // a connected UDP socket
		{Outbound, ProtocolTCP, "198.51.100.10", 80, 1, 0}, // TIME_WAIT
		{Outbound, ProtocolTCP, "fd00::1", 80, 1, 0},
		{Outbound, ProtocolTCP, "198.51.100.10", 443, 0, 1}, // SYN_SENT only
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(row{})); diff != "" {
		t.Errorf("flows (-want +got):\n%s", diff)
	}
	if obs.Samples != 2 || !obs.Start.Equal(at) || obs.Dropped != 0 {
		t.Errorf("samples %d start %v dropped %d", obs.Samples, obs.Start, obs.Dropped)
	}
}

func TestObserverAttemptThatConnects(t *testing.T) {
	local, remote := netip.MustParseAddrPort("198.18.0.15:50000"), netip.MustParseAddrPort("198.18.0.16:3001")
	o := NewObserver()
	at := time.Unix(0, 0).UTC()
	o.Add([]Socket{{ProtocolTCP, local, remote, TCPSynSent}}, at)
	if f := o.Report().Flows; len(f) != 1 || f[0].Attempts != 1 || f[0].Connections != 0 {
		t.Fatalf("after SYN_SENT: %+v", f)
	}
	o.Add([]Socket{{ProtocolTCP, local, remote, TCPEstablished}}, at.Add(time.Second))
	o.Add([]Socket{{ProtocolTCP, local, remote, TCPTimeWait}}, at.Add(2*time.Second))
	if f := o.Report().Flows; len(f) != 1 || f[0].Attempts != 0 || f[0].Connections != 1 {
		t.Fatalf("after ESTABLISHED and TIME_WAIT: %+v", f)
	}
}

func TestObserverBoundsItsSummary(t *testing.T) {
	o := NewObserver()
	var socks []Socket
	for i := 0; i < MaxObservedFlows+25; i++ {
		remote := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 250)}), uint16(1000+i))
		socks = append(socks, Socket{ProtocolTCP, netip.MustParseAddrPort("198.18.0.15:40000"), remote, TCPEstablished})
	}
	o.Add(socks, time.Unix(0, 0))
	obs := o.Report()
	if len(obs.Flows) != MaxObservedFlows || obs.Dropped != 25 {
		t.Errorf("%d flows, %d dropped", len(obs.Flows), obs.Dropped)
	}
}

// The parser against the kernel of this machine: a listener and a
// connection this test makes are in /proc/self/net/tcp as they are.
func TestParseTheKernelsTable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("socket tables are Linux's")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	server := netip.MustParseAddrPort(ln.Addr().String())
	client := netip.MustParseAddrPort(conn.LocalAddr().String())
	data, err := os.ReadFile("/proc/self/net/tcp")
	if err != nil {
		t.Skipf("no socket table here: %v", err)
	}
	socks, err := ParseSocketTable(strings.NewReader(string(data)), ProtocolTCP)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, s := range socks {
		switch {
		case s.Local == server && s.State == TCPListen:
			found["listen"] = true
		case s.Local == client && s.Remote == server && s.State == TCPEstablished:
			found["client"] = true
		}
	}
	if !found["listen"] || !found["client"] {
		t.Errorf("not found in the kernel's table: %v (listener %v, client %v)", found, server, client)
	}
}

// Observe samples until its context ends and reads the namespace's
// ephemeral port range next to the tables.
func TestObserveLoop(t *testing.T) {
	root := t.TempDir()
	procNet := filepath.Join(root, "net")
	if err := os.MkdirAll(filepath.Join(root, "sys", "net", "ipv4"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(procNet, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tcp", "udp"} {
		data, _ := readFixture(name)
		if err := os.WriteFile(filepath.Join(procNet, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// a range that makes UDP 40000 a server port
	if err := os.WriteFile(filepath.Join(root, "sys", "net", "ipv4", "ip_local_port_range"), []byte("50000\t60999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var snapshots []Observation
	obs := Observe(ctx, procNet, 10*time.Millisecond, 20*time.Millisecond, func(o Observation) { snapshots = append(snapshots, o) })
	if obs.Samples < 1 || len(obs.Errors) != 0 {
		t.Fatalf("samples %d errors %v", obs.Samples, obs.Errors)
	}
	got := fmt.Sprint(obs.Listening)
	if got != "[{TCP 3001} {UDP 53} {UDP 40000}]" {
		t.Errorf("listening %s", got)
	}
	if len(snapshots) == 0 || !snapshots[0].Partial || obs.Partial {
		t.Errorf("%d snapshots; final partial %v", len(snapshots), obs.Partial)
	}
	if ObservationSummary(obs) == "" {
		t.Error("no summary")
	}
}
