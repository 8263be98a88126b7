package probe

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
)

// ContainerPrefix names every probe container, so they are recognisable
// in pod specs.
const ContainerPrefix = "netbaseline-probe-"

// probeUID is the numeric non-root user the agent runs as.
const probeUID = 65534

// BuildContainer is the ephemeral container for one source pod (name from
// ContainerName): kubectl's
// restricted debug profile (runAsNonRoot, no privilege escalation, every
// capability dropped, RuntimeDefault seccomp) plus an explicit numeric
// runAsUser, so it passes Pod Security "restricted" whatever the image.
func BuildContainer(name, image string, pull corev1.PullPolicy, plan string) *corev1.EphemeralContainer {
	yes, no := true, false
	uid := int64(probeUID)
	return &corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name:                     name,
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

// ContainerName picks a name no container, init container or ephemeral
// container of the pod has; suffix makes the candidates (RandomSuffix).
func ContainerName(pod *corev1.Pod, suffix func() string) string {
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
		name := ContainerPrefix + suffix()
		if !used[name] {
			return name
		}
	}
}

// RandomSuffix is five random lower-case letters and digits.
func RandomSuffix() string { return utilrand.String(5) }

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
const PodModeStartDelay = 2 * time.Second

// neverReady is the readiness gate that keeps probe pods out of every
// Service's endpoints: nothing ever sets the condition.
const neverReady corev1.PodConditionType = "netbaseline.io/probe-never-ready"

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
	ec := BuildContainer("probe", image, pull, plan)
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
			ReadinessGates:                []corev1.PodReadinessGate{{ConditionType: neverReady}},
			TerminationGracePeriodSeconds: new(int64),
			SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "probe", Image: ec.Image, ImagePullPolicy: ec.ImagePullPolicy, Args: ec.Args,
				TerminationMessagePolicy: ec.TerminationMessagePolicy, SecurityContext: ec.SecurityContext,
			}},
		},
	}
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
