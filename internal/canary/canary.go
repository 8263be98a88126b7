// Package canary measures whether NetworkPolicy enforcement is real: in a
// scratch namespace a client reaches a server, then, after a deny-all on
// the server, must not (doctor --canary, apply --verify --canary). The
// clientset, the prober and the clock are injected, as verify's are.
package canary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/interrupt"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe/launch"
)

const (
	serverPort = 8080
	// settle: enforcers take a moment to program a new policy.
	settle              = 2 * time.Second
	defaultPollInterval = 500 * time.Millisecond
	cleanupTimeout      = 30 * time.Second
	couldNotRun         = "could not run the canary: "
)

// The client's labels must not match the deny-all's selector: only the
// server is isolated. Fresh maps each time: the objects built own them.
func serverLabels() map[string]string { return map[string]string{"app": "canary-server"} }
func clientLabels() map[string]string { return map[string]string{"app": "canary-client"} }

// Prober runs one plan from a throw-away client pod with podLabels in
// namespace and returns a result per check. *launch.Runner is the real one.
type Prober interface {
	RunStandalone(ctx context.Context, namespace string, podLabels map[string]string, plan probe.Plan) ([]probe.Result, error)
}

// Options are the probe image and how long to wait for each pod, and the
// seams (nil or zero: the real ones).
type Options struct {
	Image      string
	PullPolicy corev1.PullPolicy
	Wait       time.Duration
	// Log receives progress and warnings (stderr in the CLI).
	Log io.Writer
	// Prober runs the client's checks (nil: a launch.Runner with the
	// fields above).
	Prober Prober
	// Sleep is the clock of the settle wait after the deny-all; it must
	// return once ctx is cancelled (nil: a timer that does).
	Sleep func(ctx context.Context, d time.Duration)
	// PollInterval is how often the server pod is read until it runs
	// (zero: 500 ms).
	PollInterval time.Duration
}

func (o Options) withDefaults(cs kubernetes.Interface) Options {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Prober == nil {
		o.Prober = &launch.Runner{Client: cs, Image: o.Image, PullPolicy: o.PullPolicy, Wait: o.Wait, Log: o.Log}
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.PollInterval <= 0 {
		o.PollInterval = defaultPollInterval
	}
	return o
}

// sleep waits d or until ctx is cancelled, whichever comes first.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Run measures enforcement and reports it as finding CANARY-001.
// Everything it creates goes with its namespace, even on Ctrl-C.
func Run(ctx context.Context, cs kubernetes.Interface, o Options) doctor.Finding {
	o = o.withDefaults(cs)
	defer interrupt.Hold()() // the canary's namespace is removed, interrupted or not
	ns := "netbaseline-canary-" + utilrand.String(5)
	if err := createNamespace(ctx, cs, ns); err != nil {
		f := finding(doctor.Info, couldNotRun+err.Error())
		f.Fix = "it needs create on namespaces, pods and networkpolicies"
		return f
	}
	fmt.Fprintf(o.Log, "Canary: namespace %s (deleted afterwards)\n", ns)
	defer deleteNamespace(cs, ns, o.Log)
	c := &canary{cs: cs, ns: ns, o: o}
	return c.measure(ctx)
}

func finding(sev doctor.Severity, msg string) doctor.Finding {
	return doctor.Finding{ID: "CANARY-001", Subject: "canary", Severity: sev, Message: msg}
}

func createNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{ownership.ManagedByLabel: ownership.ManagedByValue}}}, metav1.CreateOptions{})
	return err
}

// deleteNamespace uses its own context: the run's may be the one that
// was cancelled.
func deleteNamespace(cs kubernetes.Interface, ns string, log io.Writer) {
	cleanup, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := cs.CoreV1().Namespaces().Delete(cleanup, ns, metav1.DeleteOptions{}); err != nil {
		fmt.Fprintf(log, "Warning: could not delete canary namespace %s: %v\n", ns, err)
	}
}

// canary is one run in its scratch namespace.
type canary struct {
	cs kubernetes.Interface
	ns string
	o  Options
}

// measure: the client must reach the server without a policy, then,
// once a deny-all has settled, must not.
func (c *canary) measure(ctx context.Context) doctor.Finding {
	ip, err := c.startServer(ctx)
	if err != nil {
		return finding(doctor.Info, couldNotRun+err.Error())
	}
	before, err := c.check(ctx, ip)
	if err != nil || before.Outcome != probe.Connected {
		f := finding(doctor.Warn, fmt.Sprintf("canary inconclusive: without any policy the client could not reach the server (%s %v)", before.Outcome, err))
		f.Fix = "check pod networking itself first"
		return f
	}
	if err := c.denyServer(ctx); err != nil {
		return finding(doctor.Info, couldNotRun+err.Error())
	}
	c.o.Sleep(ctx, settle)
	if ctx.Err() != nil {
		// A probe now would fail for the interrupt, not for the policy.
		return finding(doctor.Warn, fmt.Sprintf("canary inconclusive: interrupted while the deny-all settled (%v)", ctx.Err()))
	}
	after, err := c.check(ctx, ip)
	return verdict(before, after, err)
}

func verdict(before, after probe.Result, afterErr error) doctor.Finding {
	switch {
	case afterErr != nil:
		return finding(doctor.Warn, "canary inconclusive: "+afterErr.Error())
	case after.Outcome == probe.Connected:
		f := finding(doctor.Fail, "enforcement is NOT real: a deny-all NetworkPolicy was created and the client still connected")
		f.Fix = "install or enable a NetworkPolicy engine (see ENGINE-001)"
		return f
	}
	return finding(doctor.Pass, fmt.Sprintf("enforcement is real: the client connected without a policy (%d ms) and got %s under deny-all", before.MS, after.Outcome))
}

// startServer creates the server pod and returns its IP once it runs.
func (c *canary) startServer(ctx context.Context) (string, error) {
	server := probe.ServerPod(c.ns, c.o.Image, c.o.PullPolicy, serverPort, serverLabels())
	if _, err := c.cs.CoreV1().Pods(c.ns).Create(ctx, server, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	var ip string
	err := wait.PollUntilContextTimeout(ctx, c.o.PollInterval, c.o.Wait, true, func(ctx context.Context) (bool, error) {
		p, err := c.cs.CoreV1().Pods(c.ns).Get(ctx, server.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil // not there yet, or a passing error: read again
		}
		if err := pullError(p); err != nil {
			return false, err
		}
		ip = p.Status.PodIP
		return p.Status.Phase == corev1.PodRunning && ip != "", nil
	})
	if err != nil {
		return "", fmt.Errorf("the server pod did not start: %w", err)
	}
	return ip, nil
}

// pullError: a pod that cannot pull its image would only time out;
// say why at once.
func pullError(p *corev1.Pod) error {
	for _, s := range p.Status.ContainerStatuses {
		w := s.State.Waiting
		if w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "ErrImageNeverPull") {
			return fmt.Errorf("the canary image cannot be pulled: %s (set --image)", w.Message)
		}
	}
	return nil
}

// check connects from a new client pod to the server once.
func (c *canary) check(ctx context.Context, ip string) (probe.Result, error) {
	plan := probe.Plan{DeadlineMS: 6000, StartDelayMS: 1000, Checks: []probe.Check{{ID: "0", Kind: probe.KindTCP, Target: ip, Port: serverPort, TimeoutMS: 3000}}}
	res, err := c.o.Prober.RunStandalone(ctx, c.ns, clientLabels(), plan)
	if err != nil {
		return probe.Result{}, err
	}
	if len(res) == 0 {
		return probe.Result{}, errors.New("the probe reported no result")
	}
	return res[0], nil
}

// denyServer isolates the server for ingress only: the client's egress
// is not what is measured.
func (c *canary) denyServer(ctx context.Context) error {
	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: serverLabels()}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	_, err := c.cs.NetworkingV1().NetworkPolicies(c.ns).Create(ctx, deny, metav1.CreateOptions{})
	return err
}
