package agent

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Flow directions of an observation.
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// MaxObservedFlows bounds one summary (about 150 bytes a flow); the least
// used flows beyond it are counted in Observation.Dropped.
const MaxObservedFlows = 2000

// maxTrackedConnections bounds the memory of distinct connections.
const maxTrackedConnections = 200_000

// Observation is what the agent prints at the end of --observe: the
// pod's listening ports and its connections aggregated per direction,
// protocol, remote address and port (the local port for inbound, the
// remote one for outbound). docs/design.md, "Probe agent".
type Observation struct {
	Version   int        `json:"version"`
	Start     time.Time  `json:"start"`
	End       time.Time  `json:"end"`
	Samples   int        `json:"samples"`
	Listening []Listener `json:"listening"`
	Flows     []Flow     `json:"flows"`
	// Dropped flows did not fit in MaxObservedFlows.
	Dropped int `json:"dropped,omitempty"`
	// Errors are samples that could not be read (at most a few kept).
	Errors []string `json:"errors,omitempty"`
	// Partial marks a snapshot printed before the end of the window.
	Partial bool `json:"partial,omitempty"`
}

// Listener is a port the pod serves on an address other pods can reach.
type Listener struct {
	Protocol string `json:"protocol"`
	Port     uint16 `json:"port"`
}

// Flow is every connection seen between the pod and one remote address
// on one port.
type Flow struct {
	Direction string `json:"direction"`
	Protocol  string `json:"protocol"`
	Remote    string `json:"remote"`
	// Port is the served port: local for inbound, remote for outbound.
	Port uint16 `json:"port"`
	// Connections counts distinct connections (4-tuples) that got through
	// (established, or closing: TIME_WAIT, FIN_WAIT, CLOSE_WAIT, …).
	Connections int `json:"connections"`
	// Attempts counts outbound TCP connections seen only unanswered
	// (SYN_SENT): refused or dropped on the way, or still opening.
	Attempts  int       `json:"attempts,omitempty"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

type flowKey struct {
	direction, protocol string
	remote              netip.Addr
	port                uint16
}

type connKey struct {
	protocol      string
	local, remote netip.AddrPort
}

// Observer aggregates samples of the socket tables.
type Observer struct {
	// Ephemeral is the local port range of the pod's network namespace:
	// an unconnected UDP socket bound there is a client, not a server.
	EphemeralLow, EphemeralHigh uint16

	start, end time.Time
	samples    int
	listening  map[Listener]bool
	flows      map[flowKey]*Flow
	conns      map[connKey]int // last state seen
	overflow   bool
	errors     []string
}

// NewObserver is an Observer for the kernel's default ephemeral range.
func NewObserver() *Observer {
	return &Observer{EphemeralLow: 32768, EphemeralHigh: 60999,
		listening: map[Listener]bool{}, flows: map[flowKey]*Flow{}, conns: map[connKey]int{}}
}

// Error records a sample that could not be read.
func (o *Observer) Error(err error) {
	if len(o.errors) < 5 {
		o.errors = append(o.errors, err.Error())
	}
}

// Add takes one sample of the socket tables, made at t.
func (o *Observer) Add(socks []Socket, t time.Time) {
	if o.samples == 0 {
		o.start = t
	}
	o.samples++
	o.end = t
	// Listeners first: they decide the direction of every connection.
	for _, s := range socks {
		if l, ok := o.listener(s); ok {
			o.listening[l] = true
		}
	}
	for _, s := range socks {
		o.addConnection(s, t)
	}
}

func (o *Observer) listener(s Socket) (Listener, bool) {
	if s.Local.Addr().IsLoopback() {
		return Listener{}, false // reachable from inside the pod only
	}
	switch {
	case s.Protocol == ProtocolTCP && s.State == TCPListen:
		return Listener{ProtocolTCP, s.Local.Port()}, true
	case s.Protocol == ProtocolUDP && s.State == TCPClose && s.Remote.Port() == 0 && s.Local.Port() != 0 &&
		(s.Local.Port() < o.EphemeralLow || s.Local.Port() > o.EphemeralHigh):
		return Listener{ProtocolUDP, s.Local.Port()}, true
	}
	return Listener{}, false
}

func (o *Observer) addConnection(s Socket, t time.Time) {
	remote := s.Remote.Addr()
	if !remote.IsValid() || remote.IsUnspecified() || remote.IsLoopback() || s.Remote.Port() == 0 {
		return
	}
	through := false
	switch {
	case s.Protocol == ProtocolUDP:
		through = s.State == TCPEstablished // a connected UDP socket
	case s.State == TCPSynSent:
	case s.State == TCPListen || s.State == TCPNewSynRecv || s.State == TCPSynRecv || s.State == TCPClose:
		return // not a connection yet (or any more)
	default:
		through = true // established, or closing within the last minute
	}
	k := flowKey{protocol: s.Protocol, remote: remote}
	if o.listening[Listener{s.Protocol, s.Local.Port()}] {
		k.direction, k.port = Inbound, s.Local.Port()
	} else {
		k.direction, k.port = Outbound, s.Remote.Port()
	}
	if !through && k.direction == Inbound {
		return
	}
	ck := connKey{s.Protocol, s.Local, s.Remote}
	prev, seen := o.conns[ck]
	f := o.flows[k]
	if f == nil {
		f = &Flow{Direction: k.direction, Protocol: k.protocol, Remote: remote.String(), Port: k.port, FirstSeen: t}
		o.flows[k] = f
	}
	f.LastSeen = t
	switch {
	case !seen && len(o.conns) >= maxTrackedConnections:
		o.overflow = true
		if through {
			f.Connections++ // counted, but no longer told apart
		}
		return
	case !seen && through:
		f.Connections++
	case !seen:
		f.Attempts++
	case prev == TCPSynSent && through:
		f.Attempts--
		f.Connections++
	}
	o.conns[ck] = s.State
}

// Report is the summary so far: sorted, bounded to MaxObservedFlows.
func (o *Observer) Report() Observation {
	obs := Observation{Version: protocolVersion, Start: o.start, End: o.end, Samples: o.samples,
		Listening: []Listener{}, Flows: []Flow{}, Errors: o.errors}
	for l := range o.listening {
		obs.Listening = append(obs.Listening, l)
	}
	sort.Slice(obs.Listening, func(i, j int) bool {
		a, b := obs.Listening[i], obs.Listening[j]
		return a.Protocol < b.Protocol || a.Protocol == b.Protocol && a.Port < b.Port
	})
	for _, f := range o.flows {
		if f.Connections == 0 && f.Attempts == 0 {
			continue
		}
		obs.Flows = append(obs.Flows, *f)
	}
	sort.Slice(obs.Flows, func(i, j int) bool {
		a, b := obs.Flows[i], obs.Flows[j]
		if a.Connections != b.Connections {
			return a.Connections > b.Connections
		}
		if a.Direction != b.Direction {
			return a.Direction < b.Direction
		}
		if a.Remote != b.Remote {
			return a.Remote < b.Remote
		}
		return a.Protocol < b.Protocol || a.Protocol == b.Protocol && a.Port < b.Port
	})
	if len(obs.Flows) > MaxObservedFlows {
		obs.Dropped = len(obs.Flows) - MaxObservedFlows
		obs.Flows = obs.Flows[:MaxObservedFlows]
	}
	if o.overflow {
		obs.Errors = append(obs.Errors, "more than "+strconv.Itoa(maxTrackedConnections)+" distinct connections: later ones counted without telling repeats apart")
	}
	return obs
}

// Observe samples the socket tables under procNet (the pod's /proc/net)
// every interval until ctx ends, and returns the summary. Every
// snapshotEvery (0: never) it hands snapshot the summary so far, so that
// a reader that stops waiting early still has most of the window. The
// caller bounds ctx: the agent ends by its own deadline.
func Observe(ctx context.Context, procNet string, interval, snapshotEvery time.Duration, snapshot func(Observation)) Observation {
	o := NewObserver()
	if low, high, ok := ephemeralRange(filepath.Join(procNet, "..", "sys", "net", "ipv4", "ip_local_port_range")); ok {
		o.EphemeralLow, o.EphemeralHigh = low, high
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(procNet, name)) }
	missing := func(err error) bool { return errors.Is(err, fs.ErrNotExist) }
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var snapshots <-chan time.Time
	if snapshotEvery > 0 && snapshot != nil {
		t := time.NewTicker(snapshotEvery)
		defer t.Stop()
		snapshots = t.C
	}
	for {
		socks, err := ReadSockets(read, missing)
		if err != nil {
			o.Error(err)
		} else {
			o.Add(socks, time.Now().UTC())
		}
		select {
		case <-ctx.Done():
			return o.Report()
		case <-snapshots:
			partial := o.Report()
			partial.Partial = true
			snapshot(partial)
		case <-tick.C:
		}
	}
}

func ephemeralRange(path string) (uint16, uint16, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return 0, 0, false
	}
	low, err1 := strconv.ParseUint(f[0], 10, 16)
	high, err2 := strconv.ParseUint(f[1], 10, 16)
	if err1 != nil || err2 != nil || low > high {
		return 0, 0, false
	}
	return uint16(low), uint16(high), true
}

// ObservationSummary is the termination message of an observing agent.
func ObservationSummary(o Observation) string {
	return "observed " + strconv.Itoa(o.Samples) + " samples: " + strconv.Itoa(len(o.Listening)) + " listening ports, " +
		strconv.Itoa(len(o.Flows)) + " flows"
}
