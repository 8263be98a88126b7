package agent

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Protocols of a socket table.
const (
	ProtocolTCP = "TCP"
	ProtocolUDP = "UDP"
)

// TCP states as the kernel numbers them in /proc/net/tcp (include/net/tcp_states.h).
const (
	TCPEstablished = 0x01
	TCPSynSent     = 0x02
	TCPSynRecv     = 0x03
	TCPFinWait1    = 0x04
	TCPFinWait2    = 0x05
	TCPTimeWait    = 0x06
	TCPClose       = 0x07 // also an unconnected UDP socket
	TCPCloseWait   = 0x08
	TCPLastAck     = 0x09
	TCPListen      = 0x0A
	TCPClosing     = 0x0B
	TCPNewSynRecv  = 0x0C
)

// Socket is one row of /proc/net/{tcp,tcp6,udp,udp6}.
type Socket struct {
	Protocol      string
	Local, Remote netip.AddrPort
	State         int
}

// ParseSocketTable reads one /proc/net socket table. Addresses come out
// unmapped (::ffff:10.0.0.1 is 10.0.0.1), so a dual-stack listener and
// an IPv4 peer compare equal.
func ParseSocketTable(r io.Reader, protocol string) ([]Socket, error) {
	var out []Socket
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if line == 1 && len(fields) > 0 && fields[0] == "sl" {
			continue // the header
		}
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 4 || !strings.HasSuffix(fields[0], ":") {
			return nil, fmt.Errorf("line %d: not a socket row: %q", line, sc.Text())
		}
		local, err := parseAddrPort(fields[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: local address: %w", line, err)
		}
		remote, err := parseAddrPort(fields[2])
		if err != nil {
			return nil, fmt.Errorf("line %d: remote address: %w", line, err)
		}
		state, err := strconv.ParseUint(fields[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("line %d: state %q: %w", line, fields[3], err)
		}
		out = append(out, Socket{Protocol: protocol, Local: local, Remote: remote, State: int(state)})
	}
	return out, sc.Err()
}

// parseAddrPort reads "0100007F:1F90" (IPv4) or a 32-digit IPv6 address
// and a port. The kernel prints each 32-bit word of the address in host
// byte order; the agent's platforms (amd64, arm64) are little-endian.
func parseAddrPort(s string) (netip.AddrPort, error) {
	addrHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%q has no port", s)
	}
	raw, err := hex.DecodeString(addrHex)
	if err != nil || len(raw) != 4 && len(raw) != 16 {
		return netip.AddrPort{}, fmt.Errorf("%q is not an address", addrHex)
	}
	var addr [16]byte
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(addr[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", portHex, err)
	}
	var ip netip.Addr
	if len(raw) == 4 {
		ip = netip.AddrFrom4([4]byte(addr[:4]))
	} else {
		ip = netip.AddrFrom16(addr).Unmap()
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// socketTables are the files one sample reads, with their protocol.
var socketTables = []struct{ name, protocol string }{
	{"tcp", ProtocolTCP}, {"tcp6", ProtocolTCP}, {"udp", ProtocolUDP}, {"udp6", ProtocolUDP},
}

// ReadSockets reads every socket table through read (a file of /proc/net
// by name); a table that does not exist (IPv6 off) is skipped.
func ReadSockets(read func(name string) ([]byte, error), missing func(error) bool) ([]Socket, error) {
	return readTables(read, missing, socketTables)
}

// tcpTables are the tables the redirect check reads after a connect.
var tcpTables = socketTables[:2]

func readTables(read func(name string) ([]byte, error), missing func(error) bool, tables []struct{ name, protocol string }) ([]Socket, error) {
	var all []Socket
	for _, t := range tables {
		data, err := read(t.name)
		if err != nil {
			if missing(err) {
				continue
			}
			return nil, err
		}
		socks, err := ParseSocketTable(bytes.NewReader(data), t.protocol)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		all = append(all, socks...)
	}
	return all, nil
}
