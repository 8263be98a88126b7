//go:build integration

package cmd

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

// discover against a real API server (no kubelet: containers never start):
// pods that are not Running and host-network pods are skipped and named;
// a user without pods/ephemeralcontainers is refused with the verb and
// resource, and no --mode=pod is suggested (a new pod cannot see another
// pod's sockets); an admission refusal is named as such; nothing is
// printed on stdout when nothing could be observed.
func TestIntegrationDiscoverFaults(t *testing.T) {
	env := testenv.Require(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	const ns = "discover-faults"
	scratchNamespace(t, cs, ns)
	for _, p := range []struct {
		name        string
		phase       corev1.PodPhase
		hostNetwork bool
		sc          *corev1.SecurityContext
	}{{"web", corev1.PodRunning, false, restrictedContext()}, {"loose", corev1.PodRunning, false, nil},
		{"starting", corev1.PodPending, false, restrictedContext()}, {"node-agent", corev1.PodRunning, true, restrictedContext()}} {
		fakeRunningPod(t, cs, ns, p.name, p.phase, corev1.PodSpec{HostNetwork: p.hostNetwork, Containers: sampleContainer(p.sc)})
	}
	img := "--image=registry.example/netbaseline-probe@sha256:" + strings.Repeat("e", 64)
	args := []string{"discover", "-n", ns, img, "--duration=1s", "--interval=100ms", "--wait-timeout=2s"}

	// A reader: everything is read, the ephemeral container is refused.
	installRoles(t, cs, "read.yaml")
	bind(t, cs, "discover-reader", "netbaseline-read", "")
	r := runUntil(t, as(t, env, "discover-reader"), func(r result) bool { return strings.Contains(r.stderr, "pods/ephemeralcontainers") }, args...)
	for _, want := range []string{
		"Skipping " + ns + "/starting: it is Pending, not Running",
		"Skipping " + ns + "/node-agent: it uses the host network",
		"Observing 2 pod(s)",
		`RBAC does not allow "patch" on "pods/ephemeralcontainers"`,
		"no pod could be observed",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("reader: missing %q in\n%s", want, r.stderr)
		}
	}
	if r.code != ExitFailed || r.stdout != "" || strings.Contains(r.stderr, "--mode=pod") {
		t.Errorf("reader: exit %d, stdout %q, stderr\n%s", r.code, r.stdout, r.stderr)
	}

	// Pod Security "restricted" from now on: the loose pod's container is
	// refused by admission, and said so; the compliant one is added (and,
	// without a kubelet, never starts: the wait ends with --wait-timeout).
	enforceRestricted(t, cs, ns)
	r = runWithClients(t, clientsFor(t, env.Config), args...)
	if r.code != ExitFailed || r.stdout != "" || !strings.Contains(r.stderr, "violates PodSecurity") || !strings.Contains(r.stderr, "discover needs ephemeral containers: exempt these pods") ||
		!strings.Contains(r.stderr, "no pod could be observed") {
		t.Errorf("admission: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	web, err := cs.CoreV1().Pods(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(web.Spec.EphemeralContainers) != 1 || !strings.Contains(strings.Join(web.Spec.EphemeralContainers[0].Args, " "), "--observe=1s") {
		t.Errorf("the compliant pod's observing container: %+v", web.Spec.EphemeralContainers)
	}
	loose, err := cs.CoreV1().Pods(ns).Get(ctx, "loose", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(loose.Spec.EphemeralContainers) != 0 {
		t.Errorf("admission refused it, yet the loose pod holds %d ephemeral containers", len(loose.Spec.EphemeralContainers))
	}
}
