// Package launch runs the probe agent in the cluster: in an ephemeral
// container added to each source pod, or in a short-lived pod that carries
// the source's labels (--mode=pod). What the agent reports is read from
// its log; interpreting it is package probe's.
package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/netbaseline/kubectl-netbaseline/internal/interrupt"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// ManyEphemeralContainers is when a pod's ephemeral containers are worth a
// warning: they cannot be removed, and each one weighs on the pod object.
const ManyEphemeralContainers = 10

// Runner runs plans in ephemeral containers.
type Runner struct {
	Client     kubernetes.Interface
	Image      string
	PullPolicy corev1.PullPolicy
	// Wait bounds the whole run of one source (container start included).
	Wait time.Duration
	// Mode is probe.ModeEphemeral (default) or probe.ModePod.
	Mode string
	// Log receives warnings (stderr in the CLI); nil discards them.
	Log io.Writer
	// Suffix makes probe container names unique (probe.RandomSuffix when nil).
	Suffix func() string
	// Progress, when set, hears how RunPlans goes (stderr in the CLI).
	Progress Progress
	// Keep > 0 keeps each new probe container alive that long after its
	// plan; a later plan for the same pod within that time runs in it
	// through Exec instead of adding another container.
	Keep time.Duration
	// Exec runs a command in a container and returns its stdout
	// (RemoteExec in the CLI); needed for Keep.
	Exec func(ctx context.Context, namespace, pod, container string, command []string) ([]byte, error)
	// Now is the clock of progress reports (time.Now when nil).
	Now func() time.Time
	// Observing: the agent must share the pod's network namespace
	// (discover), so refusals do not point at --mode=pod.
	Observing bool
}

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

func (r *Runner) log() io.Writer {
	if r.Log == nil {
		return io.Discard
	}
	return r.Log
}

// RunError is a probe that could not run; it never becomes a verdict.
type RunError struct {
	Pod string
	Msg string
}

func (e *RunError) Error() string { return fmt.Sprintf("probe in %s: %s", e.Pod, e.Msg) }

// Run adds the container to the pod, waits for it to finish and reads its
// results from the log.
func (r *Runner) Run(ctx context.Context, namespace, name string, plan probe.Plan) ([]probe.Result, error) {
	res, _, err := r.run(ctx, namespace, name, plan, false)
	return res, err
}

// RunFrom is Run that also says what it found about the pod's service
// mesh and whether the agent bypassed it (nil: no mesh, or --mode=pod,
// whose pod is not the source's netns).
func (r *Runner) RunFrom(ctx context.Context, namespace, name string, plan probe.Plan) ([]probe.Result, *probe.Mesh, error) {
	return r.run(ctx, namespace, name, plan, false)
}

// DryRun submits what Run would create — the ephemeral-container patch,
// or the probe pod with --mode=pod — as a server dry run: RBAC and
// admission (Pod Security, Kyverno, …) answer, and nothing is created.
func (r *Runner) DryRun(ctx context.Context, namespace, name string, plan probe.Plan) error {
	_, _, err := r.run(ctx, namespace, name, plan, true)
	return err
}

// source reads the pod an agent is to run in and refuses what cannot
// take one: a gone pod, a static pod, a pod that is not Running.
func (r *Runner) source(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	key := namespace + "/" + name
	pod, err := r.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &RunError{Pod: key, Msg: "the pod is gone"}
		}
		return nil, &RunError{Pod: key, Msg: rbacHint(err, "get", "pods")}
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return nil, &RunError{Pod: key, Msg: "a static (mirror) pod cannot get ephemeral containers; choose another source"}
	}
	if pod.Status.Phase != corev1.PodRunning {
		return nil, &RunError{Pod: key, Msg: fmt.Sprintf("the pod is %s, not Running", pod.Status.Phase)}
	}
	return pod, nil
}

// addEphemeral patches the container into the pod (as a server dry run
// when asked); a refusal says whose it was.
func (r *Runner) addEphemeral(ctx context.Context, pod *corev1.Pod, ec *corev1.EphemeralContainer, dryRun bool) error {
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []any{ec}}})
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := r.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, opts, "ephemeralcontainers"); err != nil {
		msg := launchError(err)
		if r.Observing {
			msg = strings.ReplaceAll(msg, "(use --mode=pod if ephemeral containers are blocked)", "(discover needs ephemeral containers: exempt these pods from the rule, or observe other namespaces)")
			msg = strings.ReplaceAll(msg, "use --mode=pod", "discover needs them: a pod of its own cannot see another pod's sockets, so there is no --mode=pod here")
		}
		return &RunError{Pod: pod.Namespace + "/" + pod.Name, Msg: msg}
	}
	return nil
}

func (r *Runner) run(ctx context.Context, namespace, name string, plan probe.Plan, dryRun bool) ([]probe.Result, *probe.Mesh, error) {
	key := namespace + "/" + name
	pod, err := r.source(ctx, namespace, name)
	if err != nil {
		return nil, nil, err
	}
	if n := len(pod.Spec.EphemeralContainers); n >= ManyEphemeralContainers && r.Mode != probe.ModePod && !dryRun {
		fmt.Fprintf(r.log(), "Warning: pod %s already holds %d ephemeral containers; each probe adds one and they stay until the pod is replaced (--mode=pod adds none)\n", key, n)
	}
	encoded, err := probe.EncodePlan(plan)
	if err != nil {
		return nil, nil, err
	}
	if r.Mode == probe.ModePod {
		plan.DeadlineMS += probe.PodModeStartDelay.Milliseconds()
		if dryRun {
			return nil, nil, r.dryRunPod(ctx, pod, plan)
		}
		res, err := r.runPod(ctx, pod, plan)
		return res, nil, err
	}
	mesh := probe.DetectMesh(pod)
	if r.Keep > 0 && r.Exec != nil && !dryRun {
		if kept := r.keptContainer(pod, mesh); kept != nil {
			if mesh != nil {
				mesh.Bypassed = mesh.RunsAs(kept)
			}
			out, err := r.Exec(ctx, namespace, name, kept.Name, []string{AgentPath, "--plan=" + encoded, "--termination-log=/dev/null"})
			if err != nil {
				return nil, mesh, &RunError{Pod: key, Msg: fmt.Sprintf("running the plan in the kept probe container %s: %s", kept.Name, rbacHint(err, "create", "pods/exec"))}
			}
			res, err := probe.ParseResults(bytes.NewReader(out), plan)
			return res, mesh, err
		}
	}
	ec := probe.BuildContainer(probe.ContainerName(pod, r.suffix()), r.Image, r.PullPolicy, encoded)
	probe.WithMeshBypass(ec, mesh)
	if r.Keep > 0 {
		ec.Args = append(ec.Args, keepUntilArg+r.now().Add(r.Keep).UTC().Format(time.RFC3339))
	}
	if err := r.addEphemeral(ctx, pod, ec, dryRun); err != nil {
		return nil, mesh, err
	}
	if dryRun {
		return nil, mesh, nil
	}
	res, err := r.results(ctx, namespace, name, ec.Name, plan)
	return res, mesh, err
}

// results waits for the agent in container and reads what it reported.
func (r *Runner) results(ctx context.Context, namespace, name, container string, plan probe.Plan) ([]probe.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Wait)
	defer cancel()
	if r.Keep > 0 {
		// The container stays: its results are in once every check is.
		return r.waitResults(ctx, namespace, name, container, plan)
	}
	if err := r.waitTerminated(ctx, namespace, name, container); err != nil {
		return nil, &RunError{Pod: namespace + "/" + name, Msg: err.Error()}
	}
	return r.readResults(ctx, namespace, name, container, plan)
}

func launchError(err error) string {
	var status *apierrors.StatusError
	switch {
	case errors.As(err, &status) && apierrors.IsNotFound(err) && (status.ErrStatus.Details == nil || status.ErrStatus.Details.Name == ""):
		// A 404 without a name: the subresource itself is missing.
		return "ephemeral containers are not supported by this cluster (no pods/ephemeralcontainers subresource); use --mode=pod"
	case apierrors.IsForbidden(err) && (strings.Contains(err.Error(), "admission") || strings.Contains(err.Error(), "violates PodSecurity")):
		return "an admission policy refused the ephemeral container: " + err.Error() + " (use --mode=pod if ephemeral containers are blocked)"
	case apierrors.IsForbidden(err):
		return rbacHint(err, "patch", "pods/ephemeralcontainers")
	}
	return "adding the ephemeral container failed: " + err.Error()
}

func rbacHint(err error, verb, resource string) string {
	if apierrors.IsForbidden(err) {
		return read.WrapAPI(err, verb, resource, "").Error()
	}
	return err.Error()
}

// waitTerminated watches the pod until the container ends; a container
// that cannot start (image pull, config) is an error, never a verdict.
func (r *Runner) waitTerminated(ctx context.Context, namespace, name, container string) error {
	pods := r.Client.CoreV1().Pods(namespace)
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return pods.Watch(ctx, o)
		},
	}
	var failure error
	_, err := watchtools.UntilWithSync(ctx, cache.ToListWatcherWithWatchListSemantics(lw, r.Client), &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			failure = errors.New("the pod was deleted while probing")
			return true, nil
		}
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok || pod.Name != name {
			return false, nil
		}
		for _, s := range append(pod.Status.EphemeralContainerStatuses, pod.Status.ContainerStatuses...) {
			if s.Name != container {
				continue
			}
			if s.State.Terminated != nil {
				return true, nil
			}
			if w := s.State.Waiting; w != nil && cannotStart[w.Reason] {
				failure = errors.New(r.cannotStartMessage(w))
				return true, nil
			}
		}
		return false, nil
	})
	if failure != nil {
		return failure
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("the probe container did not finish within %s (--wait-timeout)", r.Wait)
		}
		return err
	}
	return nil
}

func (r *Runner) readResults(ctx context.Context, namespace, name, container string, plan probe.Plan) ([]probe.Result, error) {
	key := namespace + "/" + name
	stream, err := r.Client.CoreV1().Pods(namespace).GetLogs(name, &corev1.PodLogOptions{Container: container}).Stream(ctx)
	if err != nil {
		return nil, &RunError{Pod: key, Msg: rbacHint(err, "get", "pods/log")}
	}
	defer stream.Close()
	return probe.ParseResults(stream, plan)
}

func (r *Runner) suffix() func() string {
	if r.Suffix == nil {
		return probe.RandomSuffix
	}
	return r.Suffix
}

// runPod runs the plan from a pod standing in for src.
func (r *Runner) runPod(ctx context.Context, src *corev1.Pod, plan probe.Plan) ([]probe.Result, error) {
	key := src.Namespace + "/" + src.Name
	// A brand-new pod can be unenforced for a moment on some enforcers:
	// the agent waits before its first check.
	plan.StartDelayMS = probe.PodModeStartDelay.Milliseconds()
	encoded, err := probe.EncodePlan(plan)
	if err != nil {
		return nil, err
	}
	return r.runProbePod(ctx, key, probe.BuildPod(src, r.Image, r.PullPolicy, encoded), plan)
}

// dryRunPod submits the probe pod standing in for src as a server dry run.
func (r *Runner) dryRunPod(ctx context.Context, src *corev1.Pod, plan probe.Plan) error {
	plan.StartDelayMS = probe.PodModeStartDelay.Milliseconds()
	encoded, err := probe.EncodePlan(plan)
	if err != nil {
		return err
	}
	pod := probe.BuildPod(src, r.Image, r.PullPolicy, encoded)
	if _, err := r.Client.CoreV1().Pods(src.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		key := src.Namespace + "/" + src.Name
		if apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "admission") && !strings.Contains(err.Error(), "violates PodSecurity") {
			return &RunError{Pod: key, Msg: rbacHint(err, "create", "pods")}
		}
		return &RunError{Pod: key, Msg: "the probe pod was refused: " + err.Error()}
	}
	return nil
}

// RunStandalone runs a plan from a throw-away pod with these labels in
// the namespace (doctor's canary), and deletes the pod afterwards.
func (r *Runner) RunStandalone(ctx context.Context, namespace string, podLabels map[string]string, plan probe.Plan) ([]probe.Result, error) {
	encoded, err := probe.EncodePlan(plan)
	if err != nil {
		return nil, err
	}
	src := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Labels: podLabels}}
	pod := probe.BuildPod(src, r.Image, r.PullPolicy, encoded)
	pod.OwnerReferences = nil
	pod.Spec.ReadinessGates = nil
	return r.runProbePod(ctx, namespace+"/canary", pod, plan)
}

// runProbePod creates the pod, waits for the agent to finish, reads its
// log and deletes the pod, also when ctx is cancelled (Ctrl-C).
func (r *Runner) runProbePod(ctx context.Context, key string, pod *corev1.Pod, plan probe.Plan) ([]probe.Result, error) {
	defer interrupt.Hold()() // the probe pod is deleted, interrupted or not
	pods := r.Client.CoreV1().Pods(pod.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil, &RunError{Pod: key, Msg: rbacHint(err, "create", "pods")}
		}
		return nil, &RunError{Pod: key, Msg: "creating the probe pod failed: " + err.Error()}
	}
	defer func() {
		// Not the caller's context: it may be the one that was cancelled.
		cleanup, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := pods.Delete(cleanup, created.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			fmt.Fprintf(r.log(), "Warning: could not delete probe pod %s/%s: %v\n", pod.Namespace, created.Name, err)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, r.Wait)
	defer cancel()
	if err := r.waitTerminated(ctx, pod.Namespace, created.Name, "probe"); err != nil {
		return nil, &RunError{Pod: key, Msg: err.Error()}
	}
	return r.readResults(ctx, pod.Namespace, created.Name, "probe", plan)
}

// AgentPath is the agent's binary in the probe image.
const AgentPath = "/netbaseline-probe"

const keepUntilArg = "--keep-until="

// keptContainer is a running probe container of the pod, of this image,
// kept long enough for one more plan, and started as the mesh's bypass
// user when the pod has a mesh the agent can bypass; nil when there is none.
func (r *Runner) keptContainer(pod *corev1.Pod, mesh *probe.Mesh) *corev1.EphemeralContainer {
	running := map[string]bool{}
	for _, s := range pod.Status.EphemeralContainerStatuses {
		running[s.Name] = s.State.Running != nil
	}
	need := r.now().Add(r.Wait)
	bypass := mesh != nil && mesh.BypassUID != nil
	var best *corev1.EphemeralContainer
	var bestUntil time.Time
	for i := range pod.Spec.EphemeralContainers {
		c := &pod.Spec.EphemeralContainers[i]
		if !strings.HasPrefix(c.Name, probe.ContainerPrefix) || c.Image != r.Image || !running[c.Name] || bypass && !mesh.RunsAs(c) {
			continue
		}
		if until, ok := keptUntil(c); ok && until.After(need) && until.After(bestUntil) {
			best, bestUntil = c, until
		}
	}
	return best
}

// keptUntil is when a kept probe container ends (its --keep-until).
func keptUntil(c *corev1.EphemeralContainer) (time.Time, bool) {
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, keepUntilArg); ok {
			until, err := time.Parse(time.RFC3339, v)
			return until, err == nil
		}
	}
	return time.Time{}, false
}

// waitResults polls a kept container's log until every check of the plan
// is reported (the container keeps running, so it never terminates).
func (r *Runner) waitResults(ctx context.Context, namespace, name, container string, plan probe.Plan) ([]probe.Result, error) {
	key := namespace + "/" + name
	want := map[string]bool{}
	for _, c := range plan.Checks {
		want[c.ID] = true
	}
	for {
		if p, err := r.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{}); err == nil {
			for _, s := range p.Status.EphemeralContainerStatuses {
				if w := s.State.Waiting; s.Name == container && w != nil && cannotStart[w.Reason] {
					return nil, &RunError{Pod: key, Msg: r.cannotStartMessage(w)}
				}
			}
		}
		stream, err := r.Client.CoreV1().Pods(namespace).GetLogs(name, &corev1.PodLogOptions{Container: container}).Stream(ctx)
		if err == nil {
			data, readErr := io.ReadAll(stream)
			_ = stream.Close()
			if readErr == nil && reportsAll(data, want) {
				return probe.ParseResults(bytes.NewReader(data), plan)
			}
		}
		select {
		case <-ctx.Done():
			return nil, &RunError{Pod: key, Msg: fmt.Sprintf("the probe container did not report every check within %s (--wait-timeout)", r.Wait)}
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// reportsAll: the log holds a result line for every wanted check.
func reportsAll(log []byte, want map[string]bool) bool {
	seen := 0
	for _, line := range bytes.Split(log, []byte("\n")) {
		var res probe.Result
		if json.Unmarshal(line, &res) == nil && want[res.ID] {
			seen++
		}
	}
	return seen >= len(want)
}

// cannotStartMessage says why the agent will not start and what to change:
// for a pull failure the image, or the pod's credentials for it.
func (r *Runner) cannotStartMessage(w *corev1.ContainerStateWaiting) string {
	hint := "set --image or NETBASELINE_PROBE_IMAGE"
	switch w.Reason {
	case "ErrImagePull", "ImagePullBackOff":
		hint += "; an image in a private registry is pulled with the source pod's imagePullSecrets"
	}
	return fmt.Sprintf("the probe container cannot start: %s: %s (image %s; %s)", w.Reason, w.Message, r.Image, hint)
}

// cannotStart are the waiting reasons of a container that will not start
// by waiting longer: an error, never a verdict.
var cannotStart = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "ErrImageNeverPull": true}
