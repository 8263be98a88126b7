//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// foreignDNS are foreign allow-dns policies, as a platform team might have
// them, under which the frontend's calls to the backend are allowed, so
// that the connection is allowed before the takeover, under the baseline
// and after the rollback, and no state in between may deny it. (The usual
// allow-dns, every pod's egress to DNS only, denies it before and after:
// a loss there is no transition's fault.) The default, opt-in, differs
// from the baseline's allow-dns in the pods it selects, so kube-router's
// ipset of the policy's pods (named after the policy) changes content in
// place on the takeover and on the restore.
var foreignDNS = map[string]string{
	// Ingress only: the namespace's pods accept DNS queries (a node-local
	// resolver sidecar); their egress stays open. The flows into the
	// frontend are denied under it, so they are not watched.
	"ingress": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: frontend-dev, labels: {team: platform}}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
`,
	// Egress of every pod to DNS, and to the backend's namespace: the
	// connection is allowed after the rollback by the restored policy
	// itself.
	"egress": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: frontend-dev, labels: {team: platform}}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: backend-dev}}}]
`,
	// Egress to DNS only, for the pods that opt in (none here): it
	// isolates nothing in frontend-dev.
	"opt-in": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: frontend-dev, labels: {team: platform}}
spec:
  podSelector: {matchLabels: {egress.platform/dns-only: "true"}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
`,
}

// timedLine is a line of the plugin's progress and when it arrived.
type timedLine struct {
	at   time.Time
	text string
}

// pluginTimed runs the plugin and timestamps each line of its progress
// (stderr) as it arrives, so a lost request can be placed between two of
// the transition's writes.
func pluginTimed(t *testing.T, args ...string) (stdout string, code int, lines []timedLine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, plugin, args...)
	var o strings.Builder
	cmd.Stdout = &o
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		lines = append(lines, timedLine{time.Now(), sc.Text()})
	}
	if err := cmd.Wait(); err != nil {
		code = exitCode(err)
	}
	return o.String(), code, lines
}

// cyclePhase is one stretch of a takeover/rollback cycle.
type cyclePhase struct {
	cycle      int
	name       string
	start, end time.Time
	steps      []timedLine
}

// Takeover and rollback of a foreign allow-dns, again and again, under
// live traffic (issue 32, item 6): each cycle is apply -n frontend-dev
// --force-conflicts (the foreign allow-dns becomes the baseline's, in
// place) and rollback -n frontend-dev (it becomes the foreign policy
// again, in place, from the backup). No request of a
// connection allowed throughout may fail. NETBASELINE_TAKEOVER_CYCLES
// (default 10), NETBASELINE_TAKEOVER_FOREIGN (opt-in, ingress, egress;
// default opt-in), NETBASELINE_TAKEOVER_SETTLE (the pause after each
// command, default 2s), NETBASELINE_TAKEOVER_RECREATE (delete and create
// the foreign policy again before each cycle), NETBASELINE_TAKEOVER_TRACE
// (on a loss, log the plugin's timed writes and kube-router's syncs).
// Before the fix (no wait for the bridge before an in-place change),
// opt-in lost 3 DNS lookups in 20 cycles, each within kube-router's first
// sync after the rollback, between its ipset restore and its
// iptables-restore.
func TestLiveTrafficTakeoverRollbackCycles(t *testing.T) {
	cycles := 10
	if s := os.Getenv("NETBASELINE_TAKEOVER_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("NETBASELINE_TAKEOVER_CYCLES=%q", s)
		}
		cycles = n
	}
	variant := os.Getenv("NETBASELINE_TAKEOVER_FOREIGN")
	if variant == "" {
		variant = "opt-in"
	}
	foreign, ok := foreignDNS[variant]
	if !ok {
		t.Fatalf("NETBASELINE_TAKEOVER_FOREIGN=%q: want opt-in, ingress or egress", variant)
	}
	settle := 2 * time.Second
	if s := os.Getenv("NETBASELINE_TAKEOVER_SETTLE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("NETBASELINE_TAKEOVER_SETTLE=%q: %v", s, err)
		}
		settle = d
	}

	deploySampleApp(t)
	foreignFile := writeFile(t, t.TempDir(), "allow-dns.yaml", foreign)
	kube(t, "apply", "-f", foreignFile)
	all := sampleAppFlows(t)
	flows := all
	if variant == "ingress" {
		// The foreign policy isolates the frontend's ingress to DNS only:
		// the ingress controller and Prometheus reach it under the
		// baseline, not under the foreign policy.
		flows = nil
		for _, f := range all {
			if !strings.Contains(f.name, "-> frontend") {
				flows = append(flows, f)
			}
		}
	}
	// Clients name the Service: a DNS lookup through kube-dns before each
	// request, which every state allows too.
	flows = append(flows, &liveFlow{name: "frontend -> backend /api/health (Service by name, DNS each request)", fromNS: "frontend-dev", fromSel: "app=frontend",
		target: "backend.backend-dev.svc.cluster.local:80", path: "/api/health", dns: serviceIP(t, "kube-system", "kube-dns") + ":53"})
	stop := startFlows(t, flows...)
	defer stop()
	time.Sleep(2 * time.Second)
	for _, f := range flows {
		f.reset()
	}
	start := time.Now()

	var phases []*cyclePhase
	run := func(cycle int, name string, args ...string) {
		t.Helper()
		p := &cyclePhase{cycle: cycle, name: name, start: time.Now()}
		stdout, code, lines := pluginTimed(t, args...)
		p.end, p.steps = time.Now(), lines
		phases = append(phases, p)
		if code != 0 {
			var b strings.Builder
			for _, l := range lines {
				b.WriteString(l.text + "\n")
			}
			t.Fatalf("cycle %d: %s: exit %d\n%s\n%s", cycle, name, code, stdout, b.String())
		}
		time.Sleep(settle) // the enforcer catches up while traffic flows
		phases = append(phases, &cyclePhase{cycle: cycle, name: "after " + name, start: p.end, end: time.Now()})
	}
	recreate := os.Getenv("NETBASELINE_TAKEOVER_RECREATE") != ""
	for c := 1; c <= cycles; c++ {
		if recreate && c > 1 {
			p := &cyclePhase{cycle: c, name: "recreate foreign", start: time.Now()}
			kube(t, "-n", "frontend-dev", "delete", "networkpolicy", "allow-dns")
			kube(t, "apply", "-f", foreignFile)
			p.end = time.Now()
			time.Sleep(settle)
			phases = append(phases, p, &cyclePhase{cycle: c, name: "after recreate foreign", start: p.end, end: time.Now()})
		}
		run(c, "apply", "apply", "-n", "frontend-dev", "--force-conflicts")
		run(c, "rollback", "rollback", "-n", "frontend-dev")
	}
	stop()
	if got := strings.TrimSpace(kube(t, "-n", "frontend-dev", "get", "networkpolicy", "-o", "name")); got != "networkpolicy.networking.k8s.io/allow-dns" {
		t.Errorf("after the last rollback frontend-dev has %q, want the foreign allow-dns alone", got)
	}

	// Place every lost request in its cycle and phase, after the last
	// write of the plugin that preceded it.
	type loss struct {
		flow string
		at   time.Time
	}
	var losses []loss
	total, lost := 0, 0
	for _, f := range flows {
		f.mu.Lock()
		t.Logf("%s: %d requests, %d failed", f.name, f.ok+f.failed, f.failed)
		total += f.ok + f.failed
		lost += f.failed
		for _, at := range f.failedAt {
			losses = append(losses, loss{f.name, at})
		}
		if f.ok < 100 {
			t.Errorf("%s: only %d requests went through; the client did not run", f.name, f.ok)
		}
		f.mu.Unlock()
	}
	sort.Slice(losses, func(i, j int) bool { return losses[i].at.Before(losses[j].at) })
	byPhase := map[string]int{}
	for _, l := range losses {
		where := "outside the cycles"
		var last *timedLine
		var in *cyclePhase
		for _, p := range phases {
			if !l.at.Before(p.start) && l.at.Before(p.end) {
				in = p
			}
			for i := range p.steps {
				if !p.steps[i].at.After(l.at) {
					last = &p.steps[i]
				}
			}
		}
		if in != nil {
			where = fmt.Sprintf("cycle %d, %s +%s", in.cycle, in.name, l.at.Sub(in.start).Round(time.Millisecond))
			byPhase[in.name]++
		}
		after := ""
		if last != nil {
			after = fmt.Sprintf(", %s after the plugin's %q", l.at.Sub(last.at).Round(time.Millisecond), last.text)
		}
		t.Logf("lost: %s sent %s (%s%s)", l.flow, l.at.Format("15:04:05.000"), where, after)
	}
	if lost > 0 {
		if os.Getenv("NETBASELINE_TAKEOVER_TRACE") != "" {
			logTransitions(t, phases, losses[0].at)
			logKubeRouter(t, start, func() []time.Time {
				var ts []time.Time
				for _, l := range losses {
					ts = append(ts, l.at)
				}
				return ts
			}())
		}
		t.Errorf("%d of %d requests lost in %d takeover -> rollback cycles (foreign allow-dns %s, engine %s, deny mode %s), by phase: %v",
			lost, total, cycles, variant, enforcerName(), denyMode(), byPhase)
	}
	t.Logf("takeover -> rollback under live traffic: %d cycles, foreign allow-dns %s, engine %s, deny mode %s: %d requests on %d flows, %d lost",
		cycles, variant, enforcerName(), denyMode(), total, len(flows), lost)
}

// logTransitions prints the plugin's timed writes of the phase holding at.
func logTransitions(t *testing.T, phases []*cyclePhase, at time.Time) {
	for _, p := range phases {
		if len(p.steps) == 0 || p.end.Before(at.Add(-10*time.Second)) || p.start.After(at) {
			continue
		}
		t.Logf("cycle %d %s, started %s:", p.cycle, p.name, p.start.Format("15:04:05.000"))
		for _, l := range p.steps {
			t.Logf("  %s %s", l.at.Format("15:04:05.000"), l.text)
		}
	}
}

// logKubeRouter prints kube-router's log lines around each loss.
func logKubeRouter(t *testing.T, since time.Time, at []time.Time) {
	if enforcerName() != "kube-router" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := runCmd(ctx, "", kubectl, "-n", "kube-system", "logs", "ds/kube-router", "--timestamps",
		"--since-time="+since.UTC().Format(time.RFC3339))
	var b strings.Builder
	for _, line := range strings.Split(o.stdout, "\n") {
		ts, _, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		when, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		for _, a := range at {
			if when.After(a.Add(-3*time.Second)) && when.Before(a.Add(time.Second)) {
				fmt.Fprintf(&b, "  %s %s\n", when.Local().Format("15:04:05.000"), strings.TrimPrefix(line, ts+" "))
				break
			}
		}
	}
	t.Logf("kube-router around the losses:\n%s", b.String())
}

// lookupA asks server (ip:port) for name's A record over UDP, on the
// calling thread (so in its network namespace: Go's resolver would ask
// from other threads), with a 1 s budget.
func lookupA(server, name string) (string, error) {
	conn, err := net.DialTimeout("udp", server, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	id := uint16(time.Now().UnixNano())
	q := []byte{byte(id >> 8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		q = append(q, byte(len(label)))
		q = append(q, label...)
	}
	q = append(q, 0, 0, 1, 0, 1) // root, type A, class IN
	if _, err := conn.Write(q); err != nil {
		return "", err
	}
	buf := make([]byte, 1500)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return "", fmt.Errorf("dns %s: %w", name, err)
		}
		m := buf[:n]
		if n < 12 || uint16(m[0])<<8|uint16(m[1]) != id {
			continue // not our answer
		}
		if rcode := m[3] & 0x0f; rcode != 0 {
			return "", fmt.Errorf("dns %s: rcode %d", name, rcode)
		}
		answers := int(m[6])<<8 | int(m[7])
		off := 12
		skipName := func() bool {
			for off < len(m) {
				l := int(m[off])
				switch {
				case l == 0:
					off++
					return true
				case l&0xc0 == 0xc0:
					off += 2
					return true
				default:
					off += 1 + l
				}
			}
			return false
		}
		if !skipName() {
			return "", fmt.Errorf("dns %s: short answer", name)
		}
		off += 4 // question's type and class
		for i := 0; i < answers; i++ {
			if !skipName() || off+10 > len(m) {
				break
			}
			typ, rdlen := int(m[off])<<8|int(m[off+1]), int(m[off+8])<<8|int(m[off+9])
			off += 10
			if off+rdlen > len(m) {
				break
			}
			if typ == 1 && rdlen == 4 {
				return net.IP(m[off : off+4]).String(), nil
			}
			off += rdlen
		}
		return "", fmt.Errorf("dns %s: no A record", name)
	}
}
