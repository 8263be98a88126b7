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
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	yes, no := true, false
	restricted := &corev1.SecurityContext{RunAsNonRoot: &yes, AllowPrivilegeEscalation: &no,
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	running := func(name, app string, sc *corev1.SecurityContext) {
		p, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "lab.local/sampleapp:1", SecurityContext: sc}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "198.18.0.30", PodIPs: []corev1.PodIP{{IP: "198.18.0.30"}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	running("good", "good", restricted)
	running("loose", "loose", nil) // created before the namespace enforced "restricted"
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
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
