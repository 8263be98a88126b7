//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// meshRedirect is the rule a sidecar mesh's init container writes into
// the pod's network namespace (Istio's ISTIO_OUTPUT, Linkerd's
// PROXY_INIT_OUTPUT, reduced to what matters here): outbound TCP of every
// user but the proxy's goes to the proxy's port on loopback.
var meshRedirect = []string{"OUTPUT", "-p", "tcp", "!", "-d", "127.0.0.1/32", "-m", "owner", "!", "--uid-owner", "1337", "-j", "REDIRECT", "--to-ports", "15001"}

// redirectLikeAMesh writes meshRedirect into the pod's netns from the
// node, as root (the init container of a mesh needs NET_ADMIN, which no
// image of the test bed carries along with iptables); it goes with the pod.
func redirectLikeAMesh(t *testing.T, ns, pod string) {
	t.Helper()
	ip := strings.TrimSpace(kube(t, "-n", ns, "get", "pod", pod, "-o", "jsonpath={.status.podIP}"))
	netns := podNetns(t, ip)
	args := append([]string{"--net=" + netns, "iptables", "-w", "5", "-t", "nat", "-A"}, meshRedirect...)
	if o := runCmd(context.Background(), "", "nsenter", args...); o.err != nil {
		t.Fatalf("nsenter %v: %v %s", args, o.err, o.stderr)
	}
	t.Cleanup(func() {
		// The pod outlives the test (the sample app's): the rule must go,
		// or every later probe from it meets the redirect. iptables may
		// lose the race for its lock to the enforcer's syncs: retry until
		// -C no longer finds the rule.
		check := append([]string(nil), args...)
		check[6] = "-C"
		del := append([]string(nil), args...)
		del[6] = "-D"
		for i := 0; i < 30; i++ {
			if o := runCmd(context.Background(), "", "nsenter", check...); o.err != nil {
				return // gone (or the pod with it)
			}
			runCmd(context.Background(), "", "nsenter", del...)
			time.Sleep(time.Second)
		}
		t.Errorf("the mesh redirect in %s/%s could not be removed", ns, pod)
	})
}

// proxyInNetns listens on 15001 in the pod's netns from this process, as a
// mesh proxy would (for a pod of the sample app, whose spec stays as it is).
func proxyInNetns(t *testing.T, ns, selector string) {
	t.Helper()
	netns := podNetns(t, podIP(t, ns, selector))
	ready := make(chan error, 1)
	var ln net.Listener
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends in the netns with the goroutine
		if err := enterNetns(netns); err != nil {
			ready <- err
			return
		}
		var err error
		ln, err = net.Listen("tcp", ":15001")
		ready <- err
		if err != nil {
			return
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { time.Sleep(5 * time.Second); _ = c.Close() }()
		}
	}()
	if err := <-ready; err != nil {
		t.Fatalf("proxy in %s: %v", netns, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
}

type meshObservation struct {
	observation
	Reason string
	Mesh   *struct {
		Name, Mode string
		BypassUID  *int64
		Bypassed   bool
	}
}

func meshProbe(t *testing.T, args ...string) ([]meshObservation, int, string) {
	t.Helper()
	stdout, code, stderr := pluginRun(t, append([]string{"probe", "-o", "json"}, args...)...)
	var doc struct{ Observations []meshObservation }
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Observations) != 1 {
		t.Fatalf("probe %v: exit %d, %v\n%s\n%s", args, code, err, stdout, stderr)
	}
	return doc.Observations, code, stderr
}

const meshPods = `apiVersion: v1
kind: Namespace
metadata: {name: mesh-e2e}
---
apiVersion: v1
kind: Namespace
metadata: {name: mesh-e2e-dst}
---
apiVersion: v1
kind: Pod
metadata: {name: target, namespace: mesh-e2e-dst, labels: {app: target}}
spec:
  containers:
  - {name: app, image: PROBE, args: ["--serve=tcp:3001"]}
---
apiVersion: v1
kind: Pod
metadata: {name: istio-app, namespace: mesh-e2e, labels: {app: istio-app}}
spec:
  containers:
  - {name: app, image: PROBE, args: ["--serve=tcp:8080"]}
  - name: istio-proxy
    image: PROBE
    args: ["--serve=tcp:15001"]
    securityContext: {runAsUser: 1337, runAsGroup: 1337}
---
apiVersion: v1
kind: Pod
metadata: {name: unknown-app, namespace: mesh-e2e, labels: {app: unknown-app}}
spec:
  containers:
  - {name: app, image: PROBE, args: ["--serve=tcp:8080"]}
  - name: proxy
    image: PROBE
    args: ["--serve=tcp:15001"]
    securityContext: {runAsUser: 1337, runAsGroup: 1337}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: mesh-e2e-dst}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`

// In a pod whose netns redirects outbound TCP to a local proxy, as a mesh
// does, a probe to a destination the policy denies is never "allowed":
// with the proxy named istio-proxy the agent runs as its UID, bypasses
// the redirect and sees the denial; with a proxy probe does not know, the
// agent's connect is taken by the proxy and reported as redirected
// (inconclusive, reason mesh) — where it used to read "connected".
func TestProbeThroughAMeshRedirect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	must(t, runCmd(ctx, strings.ReplaceAll(meshPods, "PROBE", probeImage), kubectl, "apply", "-f", "-"), "kubectl apply mesh pods")
	t.Cleanup(func() { kube(t, "delete", "namespace", "mesh-e2e", "mesh-e2e-dst", "--wait=true") })
	kube(t, "-n", "mesh-e2e", "wait", "pod", "--all", "--for=condition=Ready", "--timeout=120s")
	kube(t, "-n", "mesh-e2e-dst", "wait", "pod", "--all", "--for=condition=Ready", "--timeout=120s")
	redirectLikeAMesh(t, "mesh-e2e", "istio-app")
	redirectLikeAMesh(t, "mesh-e2e", "unknown-app")

	// (a) bypassed: the denial is seen, and the observation says how.
	var obs []meshObservation
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Second) {
		obs, _, _ = meshProbe(t, "mesh-e2e/istio-app", "mesh-e2e-dst/target:3001")
		if obs[0].Result == "ok" || time.Now().After(deadline) {
			break // the deny-all may take a moment to be enforced
		}
	}
	o := obs[0]
	wantObserved := "denied" // drop: a timeout
	if denyMode() == "reject" {
		wantObserved = "refused (denied or nothing listening)" // ok where the engine expects a denial
	}
	if o.Observed != wantObserved || o.Result != "ok" || o.Outcome == "connected" || o.Outcome == "redirected" {
		t.Errorf("bypassed probe: outcome %s, observed %s, result %s (%s)", o.Outcome, o.Observed, o.Result, o.Detail)
	}
	if o.Mesh == nil || o.Mesh.Name != "istio" || !o.Mesh.Bypassed || o.Mesh.BypassUID == nil || *o.Mesh.BypassUID != 1337 {
		t.Errorf("bypassed probe's mesh: %+v", o.Mesh)
	}
	_, _, stderr := pluginRun(t, "probe", "mesh-e2e/istio-app", "mesh-e2e-dst/target:3001")
	if !strings.Contains(stderr, "Note: mesh-e2e/istio-app: istio sidecar: probed as the proxy's user (uid 1337)") {
		t.Errorf("no mesh note under the table:\n%s", stderr)
	}

	t.Logf("bypassed: outcome %s, observed %s, result %s, mesh %s %s as uid %d (bypassed %v)", o.Outcome, o.Observed, o.Result, o.Mesh.Name, o.Mesh.Mode, *o.Mesh.BypassUID, o.Mesh.Bypassed)

	// (b) not bypassed: the proxy took the connect.
	obs, code, stderr := meshProbe(t, "mesh-e2e/unknown-app", "mesh-e2e-dst/target:3001")
	o = obs[0]
	if o.Outcome != "redirected" || o.Observed != "redirected to a local proxy (mesh)" || o.Result != "inconclusive" || o.Reason != "mesh" ||
		!strings.Contains(o.Detail, "port 15001") || code == 3 {
		t.Errorf("redirected probe: exit %d, outcome %s, observed %s, result %s, reason %s (%s)\n%s", code, o.Outcome, o.Observed, o.Result, o.Reason, o.Detail, stderr)
	}
	t.Logf("not bypassed: exit %d, outcome %s (%s), observed %s, result %s, reason %s", code, o.Outcome, o.Detail, o.Observed, o.Result, o.Reason)
}

// apply --verify from a pod whose outbound TCP a proxy takes (a mesh the
// probe does not know how to bypass) neither passes nor undoes: exit 1,
// "could not be verified", the baseline stays, and the message says how
// to roll back.
func TestApplyVerifyStopsUnverifiedThroughAMesh(t *testing.T) {
	deploySampleApp(t)
	pod := strings.TrimSpace(kube(t, "-n", "frontend-dev", "get", "pods", "-l", "app=frontend", "-o", "jsonpath={.items[0].metadata.name}"))
	proxyInNetns(t, "frontend-dev", "app=frontend")
	redirectLikeAMesh(t, "frontend-dev", pod)

	stdout, code, stderr := pluginRun(t, "apply", "-n", "frontend-dev", "--verify", "--settle-timeout", settleTimeout())
	if code != 1 || !strings.Contains(stderr, "the new state of frontend-dev could not be verified") || !strings.Contains(stderr, "went through a mesh proxy") ||
		!strings.Contains(stderr, "observed redirected to a local proxy (mesh)") || !strings.Contains(stderr, "to roll back: kubectl netbaseline rollback -n frontend-dev") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("apply --verify, exit %d:\n%s", code, stderr)
	if strings.Contains(stderr, "undoing what this run wrote") || strings.Contains(stderr, "Verified:") {
		t.Errorf("an unverifiable state was undone or passed:\n%s", stderr)
	}
	left := kube(t, "-n", "frontend-dev", "get", "networkpolicy", "-o", "name")
	for _, want := range []string{"networkpolicy.networking.k8s.io/deny-all", "networkpolicy.networking.k8s.io/allow-to-backend"} {
		if !strings.Contains(left, want) {
			t.Errorf("the baseline did not stay: %s missing from\n%s", want, left)
		}
	}
	if strings.Contains(left, "netbaseline-bridge") {
		t.Errorf("a bridge was left behind:\n%s", left)
	}
	pluginRun(t, "rollback", "-n", "frontend-dev")
}
