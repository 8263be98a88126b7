package probe

import (
	"bufio"
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
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// ContainerPrefix names every probe container, so they are recognisable
// in pod specs.
const ContainerPrefix = "netbaseline-probe-"

// ProbeUID is the numeric non-root user the agent runs as.
const ProbeUID = 65534

// NameSuffix makes container names unique; tests replace it.
var NameSuffix = func() string { return utilrand.String(5) }

// BuildContainer is the ephemeral container for one source pod: kubectl's
// restricted debug profile (runAsNonRoot, no privilege escalation, every
// capability dropped, RuntimeDefault seccomp) plus an explicit numeric
// runAsUser, so it passes Pod Security "restricted" whatever the image.
func BuildContainer(pod *corev1.Pod, image string, pull corev1.PullPolicy, plan string) *corev1.EphemeralContainer {
	yes, no := true, false
	uid := int64(ProbeUID)
	return &corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name:                     uniqueName(pod),
		Image:                    image,
		ImagePullPolicy:          pull,
		Args:                     []string{"--plan=" + plan},
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             &yes,
			RunAsUser:                &uid,
			RunAsGroup:               &uid,
			AllowPrivilegeEscalation: &no,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}}
}

// uniqueName picks a name no container, init container or ephemeral
// container of the pod has.
func uniqueName(pod *corev1.Pod) string {
	used := map[string]bool{}
	for _, c := range pod.Spec.Containers {
		used[c.Name] = true
	}
	for _, c := range pod.Spec.InitContainers {
		used[c.Name] = true
	}
	for _, c := range pod.Spec.EphemeralContainers {
		used[c.Name] = true
	}
	for {
		name := ContainerPrefix + NameSuffix()
		if !used[name] {
			return name
		}
	}
}

// Runner runs plans in ephemeral containers.
type Runner struct {
	Client     kubernetes.Interface
	Image      string
	PullPolicy corev1.PullPolicy
	// Wait bounds the whole run of one source (container start included).
	Wait time.Duration
	// Mode is ModeEphemeral (default) or ModePod.
	Mode string
	// Log receives warnings (stderr in the CLI); nil discards them.
	Log io.Writer
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
func (r *Runner) Run(ctx context.Context, namespace, name string, plan Plan) ([]Result, error) {
	pods := r.Client.CoreV1().Pods(namespace)
	key := namespace + "/" + name
	pod, err := pods.Get(ctx, name, metav1.GetOptions{})
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
	encoded, err := EncodePlan(plan)
	if err != nil {
		return nil, err
	}
	if r.Mode == ModePod {
		plan.DeadlineMS += PodModeStartDelay.Milliseconds()
		return r.runPod(ctx, pod, plan)
	}
	ec := BuildContainer(pod, r.Image, r.PullPolicy, encoded)
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []any{ec}}})
	if err != nil {
		return nil, err
	}
	if _, err := pods.Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers"); err != nil {
		return nil, &RunError{Pod: key, Msg: launchError(err)}
	}
	ctx, cancel := context.WithTimeout(ctx, r.Wait)
	defer cancel()
	if err := r.waitTerminated(ctx, namespace, name, ec.Name); err != nil {
		return nil, &RunError{Pod: key, Msg: err.Error()}
	}
	return r.readResults(ctx, namespace, name, ec.Name, plan)
}

func launchError(err error) string {
	var status *apierrors.StatusError
	switch {
	case errors.As(err, &status) && apierrors.IsNotFound(err) && (status.ErrStatus.Details == nil || status.ErrStatus.Details.Name == ""):
		// A 404 without a name: the subresource itself is missing.
		return "ephemeral containers are not supported by this cluster (no pods/ephemeralcontainers subresource); use --mode=pod"
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "admission"):
		return "an admission policy refused the ephemeral container: " + err.Error() + " (use --mode=pod if ephemeral containers are blocked)"
	case apierrors.IsForbidden(err):
		return rbacHint(err, "patch", "pods/ephemeralcontainers")
	}
	return "adding the ephemeral container failed: " + err.Error()
}

func rbacHint(err error, verb, resource string) string {
	if apierrors.IsForbidden(err) {
		return fmt.Sprintf("forbidden: RBAC must allow %q on %q: %v", verb, resource, err)
	}
	return err.Error()
}

// waitTerminated watches the pod until the container ends; a container
// that cannot start (image pull, config) is an error, never a verdict.
func (r *Runner) waitTerminated(ctx context.Context, namespace, name, container string) error {
	pods := r.Client.CoreV1().Pods(namespace)
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return pods.List(ctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
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
			if w := s.State.Waiting; w != nil {
				switch w.Reason {
				case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "ErrImageNeverPull":
					failure = fmt.Errorf("the probe container cannot start: %s: %s (image %s; set --image or NETBASELINE_PROBE_IMAGE)", w.Reason, w.Message, r.Image)
					return true, nil
				}
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

func (r *Runner) readResults(ctx context.Context, namespace, name, container string, plan Plan) ([]Result, error) {
	key := namespace + "/" + name
	stream, err := r.Client.CoreV1().Pods(namespace).GetLogs(name, &corev1.PodLogOptions{Container: container}).Stream(ctx)
	if err != nil {
		return nil, &RunError{Pod: key, Msg: rbacHint(err, "get", "pods/log")}
	}
	defer stream.Close()
	return ParseResults(stream, plan)
}

// ParseResults reads the agent's JSON lines; a check the agent did not
// report becomes an error result, never a verdict.
func ParseResults(log io.Reader, plan Plan) ([]Result, error) {
	byID := map[string]Result{}
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var res Result
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil || res.ID == "" {
			continue // not a result line
		}
		byID[res.ID] = res
	}
	out := make([]Result, 0, len(plan.Checks))
	for _, c := range plan.Checks {
		res, ok := byID[c.ID]
		if !ok {
			res = Result{ID: c.ID, Kind: c.Kind, Target: c.Target, Port: c.Port, Outcome: Error, Detail: "the agent reported nothing for this check"}
		}
		out = append(out, res)
	}
	return out, sc.Err()
}
