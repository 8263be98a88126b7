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

// probe --dry-run=server submits the ephemeral container as a server dry
// run: Pod Security admission answers on the real API server, and nothing
// is added to the pod.
func TestIntegrationProbeServerDryRun(t *testing.T) {
	env := testenv.Require(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	ns := "probe-dry-run"
	scratchNamespace(t, cs, ns)
	fakeRunningPod(t, cs, ns, "good", corev1.PodRunning, corev1.PodSpec{Containers: sampleContainer(restrictedContext())})
	fakeRunningPod(t, cs, ns, "loose", corev1.PodRunning, corev1.PodSpec{Containers: sampleContainer(nil)}) // created before the namespace enforced "restricted"
	enforceRestricted(t, cs, ns)
	clients := clientsFor(t, env.Config)

	r := runWithClients(t, clients, "probe", ns+"/good", "198.51.100.10:80", "--dry-run=server", "--deny-mode=drop", "--image=lab.local/netbaseline-probe:1")
	if r.code != 0 || !strings.Contains(r.stdout, "pod/"+ns+"/good: ephemeral container accepted (server dry run)") {
		t.Errorf("restricted-compliant probe: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runWithClients(t, clients, "probe", ns+"/loose", "198.51.100.10:80", "--dry-run=server", "--deny-mode=drop", "--image=lab.local/netbaseline-probe:1")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "violates PodSecurity") || !strings.Contains(r.stderr, "would refuse 1 of 1") {
		t.Errorf("pod that violates restricted: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runWithClients(t, clients, "probe", ns+"/good", "198.51.100.10:80", "--dry-run=server", "--mode=pod", "--deny-mode=drop", "--image=lab.local/netbaseline-probe:1")
	if r.code != 0 || !strings.Contains(r.stdout, "probe pod accepted (server dry run)") {
		t.Errorf("--mode=pod: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Errorf("a dry run created pods: %d", len(pods.Items))
	}
	for _, p := range pods.Items {
		if len(p.Spec.EphemeralContainers) > 0 {
			t.Errorf("a dry run added an ephemeral container to %s", p.Name)
		}
	}
}
