// Package canary measures whether NetworkPolicy enforcement is real: in a
// scratch namespace a client reaches a server, then, after a deny-all on
// the server, must not (doctor --canary, apply --verify --canary).
package canary

import (
	"context"
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

// Options are the probe image and how long to wait for each pod.
type Options struct {
	Image      string
	PullPolicy corev1.PullPolicy
	Wait       time.Duration
	// Log receives progress and warnings (stderr in the CLI).
	Log io.Writer
}

// Run measures enforcement and reports it as finding CANARY-001.
// Everything it creates goes with its namespace, even on Ctrl-C.
func Run(ctx context.Context, cs kubernetes.Interface, o Options) doctor.Finding {
	if o.Log == nil {
		o.Log = io.Discard
	}
	f := doctor.Finding{ID: "CANARY-001", Subject: "canary"}
	defer interrupt.Hold()() // the canary's namespace is removed, interrupted or not
	ns := "netbaseline-canary-" + utilrand.String(5)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{ownership.ManagedByLabel: ownership.ManagedByValue}}}, metav1.CreateOptions{}); err != nil {
		f.Severity, f.Message, f.Fix = doctor.Info, "could not run the canary: "+err.Error(), "it needs create on namespaces, pods and networkpolicies"
		return f
	}
	fmt.Fprintf(o.Log, "Canary: namespace %s (deleted afterwards)\n", ns)
	defer func() {
		cleanup, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(cleanup, ns, metav1.DeleteOptions{}); err != nil {
			fmt.Fprintf(o.Log, "Warning: could not delete canary namespace %s: %v\n", ns, err)
		}
	}()
	pull := o.PullPolicy
	server := probe.ServerPod(ns, o.Image, pull, 8080, map[string]string{"app": "canary-server"})
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, server, metav1.CreateOptions{}); err != nil {
		f.Severity, f.Message = doctor.Info, "could not run the canary: "+err.Error()
		return f
	}
	var ip string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, o.Wait, true, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, server.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Waiting != nil && (s.State.Waiting.Reason == "ErrImagePull" || s.State.Waiting.Reason == "ImagePullBackOff" || s.State.Waiting.Reason == "ErrImageNeverPull") {
				return false, fmt.Errorf("the canary image cannot be pulled: %s (set --image)", s.State.Waiting.Message)
			}
		}
		ip = p.Status.PodIP
		return p.Status.Phase == corev1.PodRunning && ip != "", nil
	})
	if err != nil {
		f.Severity, f.Message = doctor.Info, "could not run the canary: the server pod did not start: "+err.Error()
		return f
	}
	runner := &launch.Runner{Client: cs, Image: o.Image, PullPolicy: pull, Wait: o.Wait, Log: o.Log}
	check := func() (probe.Result, error) {
		plan := probe.Plan{DeadlineMS: 6000, StartDelayMS: 1000, Checks: []probe.Check{{ID: "0", Kind: probe.KindTCP, Target: ip, Port: 8080, TimeoutMS: 3000}}}
		res, err := runner.RunStandalone(ctx, ns, map[string]string{"app": "canary-client"}, plan)
		if err != nil {
			return probe.Result{}, err
		}
		return res[0], nil
	}
	before, err := check()
	if err != nil || before.Outcome != probe.Connected {
		f.Severity = doctor.Warn
		f.Message = fmt.Sprintf("canary inconclusive: without any policy the client could not reach the server (%s %v)", before.Outcome, err)
		f.Fix = "check pod networking itself first"
		return f
	}
	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "canary-server"}}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	if _, err := cs.NetworkingV1().NetworkPolicies(ns).Create(ctx, deny, metav1.CreateOptions{}); err != nil {
		f.Severity, f.Message = doctor.Info, "could not run the canary: "+err.Error()
		return f
	}
	time.Sleep(2 * time.Second) // enforcers take a moment to program a new policy
	after, err := check()
	switch {
	case err != nil:
		f.Severity, f.Message = doctor.Warn, "canary inconclusive: "+err.Error()
	case after.Outcome == probe.Connected:
		f.Severity = doctor.Fail
		f.Message = "enforcement is NOT real: a deny-all NetworkPolicy was created and the client still connected"
		f.Fix = "install or enable a NetworkPolicy engine (see ENGINE-001)"
	default:
		f.Severity = doctor.Pass
		f.Message = fmt.Sprintf("enforcement is real: the client connected without a policy (%d ms) and got %s under deny-all", before.MS, after.Outcome)
	}
	return f
}
