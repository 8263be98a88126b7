package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RunPlan executes every check concurrently, each within its own timeout
// and all within the plan's deadline, and returns results in plan order.
// It is the agent's whole job; cmd/netbaseline-probe wraps it. Every TCP
// connect is checked against the pod's socket tables (procTCPSockets):
// one a local listener took over is Redirected, never Connected.
func RunPlan(ctx context.Context, p Plan) []Result {
	return RunPlanWith(ctx, p, procTCPSockets)
}

// RunPlanWith is RunPlan reading the netns's TCP sockets through sockets.
func RunPlanWith(ctx context.Context, p Plan, sockets TCPSockets) []Result {
	dialer := redirectDialer{sockets: sockets}
	ctx, cancel := context.WithTimeout(ctx, p.Deadline())
	defer cancel()
	if p.StartDelayMS > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(p.StartDelayMS) * time.Millisecond):
		}
	}
	results := make([]Result, len(p.Checks))
	var wg sync.WaitGroup
	for i, c := range p.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runCheck(ctx, c, dialer)
		}()
	}
	wg.Wait()
	return results
}

func runCheck(ctx context.Context, c Check, dialer redirectDialer) Result {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.TimeoutMS)*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := Result{ID: c.ID, Kind: c.Kind, Target: c.Target, Port: c.Port}
	var err error
	switch c.Kind {
	case KindTCP:
		err = dialTCP(ctx, c, dialer)
		r.Outcome = Connected
	case KindHTTP:
		r.Outcome, r.Detail, err = httpGet(ctx, c, dialer)
	case KindDNS:
		r.Target = c.Name
		r.Detail, err = lookup(ctx, c, dialer)
		r.Outcome = Connected
	case KindUDP:
		r.Detail, err = udpExchange(ctx, c)
		r.Outcome = Connected
	}
	if err != nil {
		r.Outcome, r.Detail = classifyError(err, c.Kind)
	}
	r.MS = time.Since(start).Milliseconds()
	return r
}

func hostPort(c Check) string { return net.JoinHostPort(c.Target, strconv.Itoa(int(c.Port))) }

func dialTCP(ctx context.Context, c Check, d redirectDialer) error {
	conn, err := d.DialContext(ctx, "tcp", hostPort(c))
	if err != nil {
		return err
	}
	return conn.Close()
}

func httpGet(ctx context.Context, c Check, d redirectDialer) (string, string, error) {
	path := c.Path
	if path == "" {
		path = "/"
	}
	want := c.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostPort(c)+path, nil)
	if err != nil {
		return "", "", err
	}
	// No proxies, no keep-alive: one plain connection per check. No
	// redirects either: the answer of this target is the result (a
	// redirect is an answer), and the agent never contacts a host its
	// plan does not name.
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true, DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", "", err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	detail := fmt.Sprintf("%s %d", path, resp.StatusCode)
	if resp.StatusCode != want {
		return HTTPStatus, fmt.Sprintf("%s (want %d)", detail, want), nil
	}
	return Connected, detail, nil
}

// lookup resolves c.Name. Over TCP the connect to the server goes through
// the redirect check like any other; the resolver keeps only the text of a
// dial error, so a redirect is remembered here and reported as such.
func lookup(ctx context.Context, c Check, dialer redirectDialer) (string, error) {
	resolver := &net.Resolver{PreferGo: true}
	var mu sync.Mutex // the resolver dials A and AAAA queries concurrently
	var redirected error
	if c.Target != "" || c.Transport == "tcp" {
		server := c.Target
		port := c.Port
		if port == 0 {
			port = 53
		}
		resolver.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			if server == "" {
				server, _, _ = net.SplitHostPort(address)
			}
			target := net.JoinHostPort(server, strconv.Itoa(int(port)))
			if c.Transport != "tcp" {
				var d net.Dialer
				return d.DialContext(ctx, "udp", target)
			}
			conn, err := dialer.DialContext(ctx, "tcp", target)
			if errors.As(err, new(*RedirectedError)) {
				mu.Lock()
				redirected = err
				mu.Unlock()
			}
			return conn, err
		}
	}
	addrs, err := resolver.LookupHost(ctx, c.Name)
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		if redirected != nil {
			return "", redirected
		}
		return "", err
	}
	return strings.Join(addrs, ","), nil
}

// udpExchange sends one datagram and waits for any answer: an answer is
// "connected", an ICMP unreachable "refused", silence "timeout" (which
// for UDP may also mean a server that never answers).
func udpExchange(ctx context.Context, c Check) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", hostPort(c))
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("netbaseline-probe\n")); err != nil {
		return "", err
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d bytes back", n), nil
}

func classifyError(err error, kind string) (string, string) {
	var dnsErr *net.DNSError
	var redirected *RedirectedError
	switch {
	case errors.As(err, &redirected):
		return Redirected, redirected.Error()
	case errors.As(err, &dnsErr) && kind != KindDNS:
		return DNSError, dnsErr.Error()
	case kind == KindDNS:
		// The lookup itself failed: report how, so a dropped DNS packet
		// (timeout) differs from a refusal.
		if isTimeout(err) {
			return Timeout, err.Error()
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return Refused, err.Error()
		}
		return DNSError, err.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused, err.Error()
	case isTimeout(err):
		return Timeout, err.Error()
	}
	return Error, err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Summary is the short line for the termination message (4 KiB per
// container, 12 KiB per pod: never the full results).
func Summary(results []Result) string {
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Outcome]++
	}
	var parts []string
	for _, o := range []string{Connected, HTTPStatus, Redirected, Refused, Timeout, DNSError, Error} {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	return fmt.Sprintf("netbaseline-probe v%d: %d checks: %s", protocolVersion, len(results), strings.Join(parts, ", "))
}

// Serve answers on each address of a comma-separated list until ctx
// ends: "tcp:PORT" or ":PORT" with HTTP (any TCP connect succeeds),
// "udp:PORT" by echoing every datagram. It is the target of doctor's
// canary and of the differential test's pod fleet.
func Serve(ctx context.Context, addrs string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 1)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
		cancel()
	}
	var wg sync.WaitGroup
	for _, a := range strings.Split(addrs, ",") {
		network, addr := "tcp", strings.TrimSpace(a)
		if n, rest, ok := strings.Cut(addr, ":"); ok && (n == "tcp" || n == "udp") {
			network, addr = n, ":"+strings.TrimPrefix(rest, ":")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if network == "udp" {
				err = echoUDP(ctx, addr)
			} else {
				err = serveHTTP(ctx, addr)
			}
			if err != nil {
				fail(fmt.Errorf("%s %s: %w", network, addr, err))
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func serveHTTP(ctx context.Context, addr string) error {
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "netbaseline canary\n") })}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func echoUDP(ctx context.Context, addr string) error {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		_ = conn.Close()
	}()
	buf := make([]byte, 2048)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		_, _ = conn.WriteTo(buf[:n], from)
	}
}
