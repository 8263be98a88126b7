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
)

// Redirected is the outcome of a connect that a local listener answered
// instead of the destination: the netns's own NAT (a service mesh's
// init container: nat OUTPUT REDIRECT to Istio's 15001, Linkerd's 4140)
// sent it there, so it proves nothing about the NetworkPolicy.
const Redirected = "redirected"

// TCPSockets reads the TCP socket tables of the agent's network
// namespace (/proc/net/tcp and tcp6). Tests replace it.
type TCPSockets func() ([]Socket, error)

// procTCPSockets reads /proc/net/{tcp,tcp6}: the agent shares the pod's
// network namespace, so these are the pod's sockets, the mesh proxy's
// included.
func procTCPSockets() ([]Socket, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join("/proc/net", name)) }
	return readTables(read, func(err error) bool { return errors.Is(err, fs.ErrNotExist) }, tcpTables)
}

// RedirectedError is a connect that reached a local listener.
type RedirectedError struct {
	Listener netip.AddrPort
}

func (e *RedirectedError) Error() string {
	return fmt.Sprintf("redirected to a local listener on port %d (%s), not the destination", e.Listener.Port(), e.Listener)
}

// LocalPeer finds the socket of this network namespace at the other end
// of the connection local → remote: the one whose remote address is the
// client's local address, in any state of a connection (SYN_RECV before
// the proxy accepted it, FIN_WAIT or TIME_WAIT if it already hung up: the
// client's address and port are its own until it closes). It is the destination itself only when its
// local address is the one the client dialled; anything else means the
// netns rewrote the destination on the way out (REDIRECT maps it to
// 127.0.0.1 or ::1 and the proxy's port). ok is false when no socket of
// the netns is the other end (the connection left the pod, as it should),
// or when the other end is this pod reached through the network (a
// Service hairpinning back: the peer then holds the client's own
// address, which a REDIRECT never gives it).
func LocalPeer(sockets []Socket, local, remote netip.AddrPort) (listener netip.AddrPort, redirected bool) {
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	for _, s := range sockets {
		if s.Protocol != ProtocolTCP || s.Remote != local || s.State == TCPListen || s.State == TCPClose {
			continue
		}
		if s.Local == remote || s.Local.Addr() == local.Addr() {
			return netip.AddrPort{}, false
		}
		return s.Local, true
	}
	return netip.AddrPort{}, false
}

// redirectDialer dials TCP and refuses a connection that a local listener
// took over, so no check ever reports such a connect as "connected".
type redirectDialer struct {
	sockets TCPSockets
}

func (d redirectDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if err := d.check(conn); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// check looks for the connection's other end in the netns while it is
// still open (after close it would linger only in TIME_WAIT).
func (d redirectDialer) check(conn net.Conn) error {
	local, lok := conn.LocalAddr().(*net.TCPAddr)
	remote, rok := conn.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok {
		return nil
	}
	sockets, err := d.sockets()
	if err != nil {
		// Without the tables nothing can be proven either way: an error,
		// never a verdict.
		return fmt.Errorf("reading the pod's socket tables to rule out a local redirect: %w", err)
	}
	if listener, redirected := LocalPeer(sockets, local.AddrPort(), remote.AddrPort()); redirected {
		return &RedirectedError{Listener: listener}
	}
	return nil
}
