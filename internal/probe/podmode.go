package probe

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Modes of running the agent.
const (
	ModeEphemeral = "ephemeral"
	// ModePod runs the agent in a short-lived pod that carries the source's
	// labels, for clusters that block ephemeral containers.
	ModePod = "pod"
)

// controllerLabels tie a pod to its controller's current revision; the
// probe pod drops them so no ReplicaSet or StatefulSet selects it.
var controllerLabels = []string{"pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index"}

// PodModeStartDelay is how long a probe pod waits before its checks, for
// the enforcer to program the new pod's rules.
var PodModeStartDelay = 2 * time.Second

// NeverReady is the readiness gate that keeps probe pods out of every
// Service's endpoints: nothing ever sets the condition.
const NeverReady corev1.PodConditionType = "netbaseline.io/probe-never-ready"

// BuildPod is the short-lived probe pod standing in for src: the same
// namespace and labels (minus the controller-hash ones), so the policies
// select it as they select src; owned by src, so no controller adopts it
// and it goes away with src; never Ready, so no Service sends it traffic.
func BuildPod(src *corev1.Pod, image string, pull corev1.PullPolicy, plan string) *corev1.Pod {
	labels := map[string]string{}
	for k, v := range src.Labels {
		labels[k] = v
	}
	for _, k := range controllerLabels {
		delete(labels, k)
	}
	yes, no := true, false
	ec := BuildContainer(src, image, pull, plan)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: ContainerPrefix,
			Namespace:    src.Namespace,
			Labels:       labels,
			Annotations:  map[string]string{"netbaseline.io/probe-of": src.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Pod", Name: src.Name, UID: src.UID,
				Controller: &yes, BlockOwnerDeletion: &no,
			}},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  &no,
			ImagePullSecrets:              src.Spec.ImagePullSecrets,
			NodeSelector:                  src.Spec.NodeSelector,
			Tolerations:                   src.Spec.Tolerations,
			ReadinessGates:                []corev1.PodReadinessGate{{ConditionType: NeverReady}},
			TerminationGracePeriodSeconds: new(int64),
			SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "probe", Image: ec.Image, ImagePullPolicy: ec.ImagePullPolicy, Args: ec.Args,
				TerminationMessagePolicy: ec.TerminationMessagePolicy, SecurityContext: ec.SecurityContext,
			}},
		},
	}
}

// runPod runs the plan from a pod standing in for src.
func (r *Runner) runPod(ctx context.Context, src *corev1.Pod, plan Plan) ([]Result, error) {
	key := src.Namespace + "/" + src.Name
	// A brand-new pod can be unenforced for a moment on some enforcers:
	// the agent waits before its first check.
	plan.StartDelayMS = PodModeStartDelay.Milliseconds()
	encoded, err := EncodePlan(plan)
	if err != nil {
		return nil, err
	}
	return r.runProbePod(ctx, key, BuildPod(src, r.Image, r.PullPolicy, encoded), plan)
}

// RunStandalone runs a plan from a throw-away pod with these labels in
// the namespace (doctor's canary), and deletes the pod afterwards.
func (r *Runner) RunStandalone(ctx context.Context, namespace string, podLabels map[string]string, plan Plan) ([]Result, error) {
	encoded, err := EncodePlan(plan)
	if err != nil {
		return nil, err
	}
	src := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Labels: podLabels}}
	pod := BuildPod(src, r.Image, r.PullPolicy, encoded)
	pod.OwnerReferences = nil
	pod.Spec.ReadinessGates = nil
	return r.runProbePod(ctx, namespace+"/canary", pod, plan)
}

// ServerPod answers on port: the canary's target.
func ServerPod(namespace, image string, pull corev1.PullPolicy, port int32, podLabels map[string]string) *corev1.Pod {
	src := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Labels: podLabels}}
	pod := BuildPod(src, image, pull, "")
	pod.OwnerReferences, pod.Spec.ReadinessGates = nil, nil
	pod.GenerateName, pod.Name = "", "canary-server"
	pod.Spec.Containers[0].Args = []string{fmt.Sprintf("--serve=:%d", port)}
	return pod
}

// runProbePod creates the pod, waits for the agent to finish, reads its
// log and deletes the pod, also when ctx is cancelled (Ctrl-C).
func (r *Runner) runProbePod(ctx context.Context, key string, pod *corev1.Pod, plan Plan) ([]Result, error) {
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
