//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// liveFlow is a client that sends one HTTP request every 100 ms (a new
// connection each, 1 s timeout) from inside a pod's network namespace, so
// that every request is decided by the policies in force at that moment.
type liveFlow struct {
	name       string
	fromNS     string
	fromSel    string
	target     string // host:port
	path       string
	dns        string // when set, target's host is a name resolved through this server on every request
	mu         sync.Mutex
	ok, failed int
	failures   []string
	failedAt   []time.Time // when each failed request was sent
}

func (f *liveFlow) record(err error, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		f.ok++
		return
	}
	f.failed++
	f.failedAt = append(f.failedAt, at)
	if len(f.failures) < 5 {
		f.failures = append(f.failures, at.Format("15:04:05.000")+" "+err.Error())
	}
}

func (f *liveFlow) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ok, f.failed, f.failures, f.failedAt = 0, 0, nil, nil
}

// podNetns finds the CNI network namespace holding the pod's address.
func podNetns(t *testing.T, ip string) string {
	t.Helper()
	paths, _ := filepath.Glob("/var/run/netns/cni-*")
	for _, p := range paths {
		found := make(chan bool, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			if enterNetns(p) != nil {
				found <- false
				return
			}
			addrs, _ := net.InterfaceAddrs()
			for _, a := range addrs {
				if strings.HasPrefix(a.String(), ip+"/") {
					found <- true
					return
				}
			}
			found <- false
		}()
		if <-found {
			return p
		}
	}
	t.Fatalf("no network namespace holds pod address %s", ip)
	return ""
}

func enterNetns(path string) error {
	fd, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fd.Close()
	return unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET)
}

// run sends requests until ctx ends, from a thread inside the netns.
// sampleAppFlows are the sample app's own calls: the frontend to the
// backend through its Service, the ingress controller to both apps,
// Prometheus scraping both.
func sampleAppFlows(t *testing.T) []*liveFlow {
	t.Helper()
	backendSvc, frontendSvc := serviceIP(t, "backend-dev", "backend"), serviceIP(t, "frontend-dev", "frontend")
	fe, be := podIP(t, "frontend-dev", "app=frontend"), podIP(t, "backend-dev", "app=backend")
	return []*liveFlow{
		{name: "frontend -> backend /api/health (Service)", fromNS: "frontend-dev", fromSel: "app=frontend", target: backendSvc + ":80", path: "/api/health"},
		{name: "ingress -> frontend /healthz (Service)", fromNS: "ingress", fromSel: "app.kubernetes.io/name=ingress-nginx", target: frontendSvc + ":80", path: "/healthz"},
		{name: "ingress -> backend /api/health (Service)", fromNS: "ingress", fromSel: "app.kubernetes.io/name=ingress-nginx", target: backendSvc + ":80", path: "/api/health"},
		{name: "prometheus -> frontend /metrics", fromNS: "monitoring", fromSel: "app.kubernetes.io/name=prometheus", target: fe + ":8080", path: "/metrics"},
		{name: "prometheus -> backend /metrics", fromNS: "monitoring", fromSel: "app.kubernetes.io/name=prometheus", target: be + ":8080", path: "/metrics"},
	}
}

// startFlows runs each flow from its source pod's network namespace and
// waits until every one has succeeded once (a minute at most); the
// returned function stops them.
func startFlows(t *testing.T, flows ...*liveFlow) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, f := range flows {
		f.run(ctx, podNetns(t, podIP(t, f.fromNS, f.fromSel)), &wg)
	}
	stop = func() { cancel(); wg.Wait() }
	deadline := time.Now().Add(60 * time.Second)
	for _, f := range flows {
		for {
			f.mu.Lock()
			ok := f.ok
			f.mu.Unlock()
			if ok > 0 {
				break
			}
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("%s never worked: %v", f.name, f.failures)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return stop
}

func (f *liveFlow) run(ctx context.Context, netns string, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := enterNetns(netns); err != nil {
			f.record(err, time.Now())
			return
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case at := <-tick.C:
				f.record(f.request(), at)
			}
		}
	}()
}

// request is one request of the flow: a fresh DNS lookup first when the
// flow names its target.
func (f *liveFlow) request() error {
	if f.dns == "" {
		return httpGet(f.target, f.path)
	}
	host, port, err := net.SplitHostPort(f.target)
	if err != nil {
		return err
	}
	ip, err := lookupA(f.dns, host)
	if err != nil {
		return err
	}
	return httpGet(net.JoinHostPort(ip, port), f.path)
}

// httpGet is one request on a fresh connection, dialled on the calling
// thread (so in its network namespace), with a 1 s budget.
func httpGet(target, path string) error {
	conn, err := net.DialTimeout("tcp", target, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, target); err != nil {
		return err
	}
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.Contains(status, " 200 ") {
		return fmt.Errorf("status %q", strings.TrimSpace(status))
	}
	return nil
}

func serviceIP(t *testing.T, ns, name string) string {
	return strings.TrimSpace(kube(t, "-n", ns, "get", "svc", name, "-o", "jsonpath={.spec.clusterIP}"))
}

// Live traffic on every flow the baseline keeps (frontend to backend
// through its Service, the ingress controller to both apps, Prometheus
// scraping both) loses no request while apply, rollback, apply --verify
// and a forced verification mismatch with its undo run.
func TestLiveTrafficDuringApplyAndRollback(t *testing.T) {
	deploySampleApp(t)
	flows := sampleAppFlows(t)
	// Every flow works before anything is applied.
	stop := startFlows(t, flows...)
	defer stop()
	time.Sleep(time.Second)
	for _, f := range flows {
		f.reset()
	}

	both := []string{"-n", "frontend-dev", "-n", "backend-dev"}
	verify := []string{"--verify", "--settle-timeout", settleTimeout()}
	step := func(what string, wantCode int, args ...string) {
		t.Helper()
		stdout, code, stderr := pluginRun(t, args...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s\n%s", what, code, wantCode, stdout, stderr)
		}
		time.Sleep(3 * time.Second) // let the enforcer catch up while traffic flows
	}
	step("apply", 0, append([]string{"apply"}, both...)...)
	step("rollback", 0, append([]string{"rollback"}, both...)...)

	// A verification that fails: a raw-table DROP of the frontend's
	// direct connections to the backend pod (the Service path the client
	// uses is translated later, so it is untouched) makes the probe
	// disagree with the policies; the run is undone.
	fe, be := podIP(t, "frontend-dev", "app=frontend"), podIP(t, "backend-dev", "app=backend")
	rule := []string{"PREROUTING", "-s", fe, "-d", be, "-p", "tcp", "--dport", "3001", "-j", "DROP", "-m", "comment", "--comment", "netbaseline-e2e-live"}
	remove := insertDrop(t, rule)
	// Cilium translates the Service in the pod's own datapath (bpf_lxc),
	// before netfilter: there the drop also cuts the clients' frontend ->
	// backend requests, which this step's count leaves out (the other flows
	// still count).
	cut := excludeLossesOnCilium(flows, "frontend -> backend")
	step("apply --verify with a mismatch", 3, append(append([]string{"apply"}, both...), verify...)...)
	remove()
	cut()

	step("apply --verify", 0, append(append([]string{"apply"}, both...), verify...)...)
	step("rollback after verify", 0, append([]string{"rollback"}, both...)...)

	// The control: the clients do see a cut. A deny-all alone in
	// backend-dev for a few seconds (the runbook's first phase, held) must
	// fail the frontend's requests; it is then removed.
	failedBefore := map[*liveFlow]int{}
	for _, f := range flows {
		f.mu.Lock()
		failedBefore[f] = f.failed
		f.mu.Unlock()
	}
	deny := writeFile(t, t.TempDir(), "deny.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: e2e-control-deny-all, namespace: backend-dev}
spec: {podSelector: {}, policyTypes: [Ingress]}
`)
	kube(t, "apply", "-f", deny)
	time.Sleep(5 * time.Second)
	kube(t, "delete", "-f", deny)
	time.Sleep(3 * time.Second)
	control := 0
	for _, f := range flows {
		f.mu.Lock()
		control += f.failed - failedBefore[f]
		f.failed = failedBefore[f] // the control's losses are not the run's
		f.mu.Unlock()
	}
	if control == 0 {
		t.Errorf("control: a deny-all held in backend-dev cut no request: the clients cannot see a cut")
	}
	t.Logf("control: a deny-all held for 5 s in backend-dev failed %d requests", control)

	stop()
	total, lost := 0, 0
	for _, f := range flows {
		t.Logf("%s: %d requests, %d failed", f.name, f.ok+f.failed, f.failed)
		total += f.ok + f.failed
		lost += f.failed
		if f.failed > 0 {
			t.Errorf("%s lost %d of %d requests (deny mode %s): %v", f.name, f.failed, f.ok+f.failed, denyMode(), f.failures)
		}
		if f.ok < 100 {
			t.Errorf("%s: only %d requests went through; the client did not run", f.name, f.ok)
		}
	}
	t.Logf("live traffic, deny mode %s: %d requests on %d flows, %d failed", denyMode(), total, len(flows), lost)
}

// excludeLossesOnCilium returns a function that forgets the failures of the
// flows named with prefix since the call, on Cilium only (see the
// mismatch step of TestLiveTrafficDuringApplyAndRollback).
func excludeLossesOnCilium(flows []*liveFlow, prefix string) func() {
	if engine, _ := clusterEngine(); engine != "Cilium" {
		return func() {}
	}
	before := map[*liveFlow]int{}
	for _, f := range flows {
		if strings.HasPrefix(f.name, prefix) {
			f.mu.Lock()
			before[f] = f.failed
			f.mu.Unlock()
		}
	}
	return func() {
		time.Sleep(3 * time.Second) // the requests in flight when the drop went
		for f, n := range before {
			f.mu.Lock()
			f.failed = n
			f.mu.Unlock()
		}
	}
}
