package launch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// notFoundWithoutName is what the API server answers when the
// ephemeralcontainers subresource does not exist.
func notFoundWithoutName() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 404, Reason: metav1.StatusReasonNotFound, Details: &metav1.StatusDetails{}}}
}

func TestRunnerErrors(t *testing.T) {
	running := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	plan := probe.Plan{DeadlineMS: 1000, Checks: []probe.Check{{ID: "0", Kind: probe.KindTCP, Target: "x", Port: 1, TimeoutMS: 100}}}

	mirror := running.DeepCopy()
	mirror.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
	r := &Runner{Client: fake.NewClientset(mirror), Image: "i", Wait: time.Second}
	if _, err := r.Run(context.Background(), "a", "web", plan); err == nil || !strings.Contains(err.Error(), "static (mirror) pod") {
		t.Errorf("mirror pod: %v", err)
	}

	// The image cannot be pulled: an error naming the reason, never a verdict.
	cs := fake.NewClientset(running)
	cs.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "ephemeralcontainers" {
			return false, nil, nil
		}
		pod := running.DeepCopy()
		pod.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: probe.ContainerPrefix + "zzzzz",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "pull access denied"}}}}
		_ = cs.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), pod, "a")
		return true, pod, nil
	})
	r = &Runner{Client: cs, Image: "missing:1", Wait: 5 * time.Second, Suffix: func() string { return "zzzzz" }}
	_, err := r.Run(context.Background(), "a", "web", plan)
	if err == nil || !strings.Contains(err.Error(), "ErrImagePull: pull access denied (image missing:1; set --image or NETBASELINE_PROBE_IMAGE; an image in a private registry is pulled with the source pod's imagePullSecrets)") {
		t.Errorf("image pull: %v", err)
	}
	patched := false
	for _, a := range cs.Actions() {
		if a.GetVerb() == "patch" && a.GetSubresource() == "ephemeralcontainers" {
			patched = true
		}
	}
	if !patched {
		t.Error("no patch of pods/ephemeralcontainers")
	}

	// A cluster without the subresource.
	cs = fake.NewClientset(running)
	cs.PrependReactor("patch", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, notFoundWithoutName()
	})
	r = &Runner{Client: cs, Image: "i", Wait: time.Second}
	if _, err := r.Run(context.Background(), "a", "web", plan); err == nil || !strings.Contains(err.Error(), "ephemeral containers are not supported") {
		t.Errorf("unsupported: %v", err)
	}
}

type recordedProgress struct {
	updates  []string
	finished bool
}

func (p *recordedProgress) Update(done, total int, _ time.Duration, slowest string) {
	p.updates = append(p.updates, strings.TrimSpace(fmt.Sprintf("%d/%d %s", done, total, slowest)))
}
func (p *recordedProgress) Finish() { p.finished = true }

// RunPlans reports progress as sources start and end; a source that cannot
// run still counts as done, with error observations.
func TestRunPlansReportsProgress(t *testing.T) {
	progress := &recordedProgress{}
	r := &Runner{Client: fake.NewClientset(), Image: "i", Wait: time.Second, Progress: progress}
	plans := []probe.SourcePlan{
		{Pod: &model.Pod{Namespace: "a", Name: "gone"}, Checks: []probe.Planned{{Check: probe.Check{ID: "0", Kind: probe.KindTCP, Target: "x", Port: 1}}}},
	}
	obs := r.RunPlans(context.Background(), plans, probe.Drop, 1, time.Second)
	if len(obs) != 1 || obs[0].Result != probe.ResultError {
		t.Errorf("observations = %+v", obs)
	}
	if want := []string{"0/1 a/gone", "1/1"}; !cmp.Equal(progress.updates, want) || !progress.finished {
		t.Errorf("progress = %v (finished %v), want %v", progress.updates, progress.finished, want)
	}
}

// A kept container is reused only while it runs, with the same image, and
// long enough for one more plan.
func TestKeptContainer(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	r := &Runner{Image: "img:1", Wait: time.Minute, Now: func() time.Time { return now }}
	c := func(name, image string, until time.Time) corev1.EphemeralContainer {
		return corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: name, Image: image,
			Args: []string{"--plan=x", keepUntilArg + until.Format(time.RFC3339)}}}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	pod := &corev1.Pod{
		Spec: corev1.PodSpec{EphemeralContainers: []corev1.EphemeralContainer{
			c(probe.ContainerPrefix+"short", "img:1", now.Add(30*time.Second)), // ends before a plan could finish
			c(probe.ContainerPrefix+"other", "img:2", now.Add(time.Hour)),      // another image
			c(probe.ContainerPrefix+"ended", "img:1", now.Add(time.Hour)),      // not running
			c(probe.ContainerPrefix+"good", "img:1", now.Add(10*time.Minute)),
		}},
		Status: corev1.PodStatus{EphemeralContainerStatuses: []corev1.ContainerStatus{
			{Name: probe.ContainerPrefix + "short", State: running}, {Name: probe.ContainerPrefix + "other", State: running},
			{Name: probe.ContainerPrefix + "ended", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}},
			{Name: probe.ContainerPrefix + "good", State: running},
		}},
	}
	if got := r.keptContainer(pod, nil); got == nil || got.Name != probe.ContainerPrefix+"good" {
		t.Errorf("keptContainer = %v", got)
	}
	// In a meshed pod only a container started as the proxy's user will
	// do: any other one's traffic would go through the proxy.
	uid, gid := int64(1337), int64(1337)
	mesh := &probe.Mesh{Name: probe.MeshIstio, Mode: probe.MeshSidecar, BypassUID: &uid, BypassGID: &gid}
	if got := r.keptContainer(pod, mesh); got != nil {
		t.Errorf("keptContainer in a meshed pod picked %s, which does not run as uid 1337", got.Name)
	}
	pod.Spec.EphemeralContainers[3].SecurityContext = &corev1.SecurityContext{RunAsUser: &uid}
	if got := r.keptContainer(pod, mesh); got == nil || got.Name != probe.ContainerPrefix+"good" {
		t.Errorf("keptContainer in a meshed pod = %v, want the one running as uid 1337", got)
	}
	pod.Status.EphemeralContainerStatuses = pod.Status.EphemeralContainerStatuses[:3]
	if got := r.keptContainer(pod, nil); got != nil {
		t.Errorf("keptContainer without a running fit = %q", got.Name)
	}
}

// In a pod with a sidecar mesh the agent's container runs as the proxy's
// user (the proxy container's runAsUser), which the mesh does not redirect.
func TestEphemeralContainerRunsAsTheMeshProxyUser(t *testing.T) {
	proxyUID := int64(1500)
	meshed := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "istio-init"}},
			Containers:     []corev1.Container{{Name: "app"}, {Name: "istio-proxy", SecurityContext: &corev1.SecurityContext{RunAsUser: &proxyUID}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	plain := meshed.DeepCopy()
	plain.Name, plain.Spec = "plain", corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}
	cs := fake.NewClientset(meshed, plain)
	patches := map[string]string{}
	cs.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchAction)
		patches[p.GetName()] = string(p.GetPatch())
		return true, meshed, nil
	})
	r := &Runner{Client: cs, Image: "i", Wait: time.Second}
	plan := probe.Plan{DeadlineMS: 1000, Checks: []probe.Check{{ID: "0", Kind: probe.KindTCP, Target: "x", Port: 1, TimeoutMS: 100}}}
	for _, name := range []string{"web", "plain"} {
		if err := r.DryRun(context.Background(), "a", name, plan); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(patches["web"], `"runAsUser":1500`) || !strings.Contains(patches["web"], `"runAsGroup":1500`) {
		t.Errorf("meshed pod's probe container does not run as the proxy's user: %s", patches["web"])
	}
	if !strings.Contains(patches["plain"], `"runAsUser":65534`) {
		t.Errorf("plain pod's probe container: %s", patches["plain"])
	}
}
