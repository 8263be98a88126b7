package doctor

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// checkRollout: the apps' Deployments finished rolling out, with the image
// each runs. A Deployment is found by its pod template
// carrying the app's labels, so the check follows the policies' selectors
// rather than Deployment names (ROLLOUT-*).
func checkRollout(s *Snapshot, cfg *config.Config) []Finding {
	if why, ok := s.UnreadableOf("deployments"); ok {
		return []Finding{couldNotCheck("ROLLOUT-001", "deployments", why)}
	}
	var out []Finding
	for _, ns := range cfg.Namespaces {
		for _, app := range ns.Apps {
			deps := deploymentsFor(s, ns.Name, app.Labels)
			if len(deps) == 0 {
				out = append(out, Finding{ID: "ROLLOUT-001", Severity: Info, Subject: ns.Name + " " + labels.Set(app.Labels).String(),
					Message: fmt.Sprintf("app %s: no Deployment in %s whose pods carry %s (StatefulSets and DaemonSets are not checked)", app.Name, ns.Name, labels.Set(app.Labels))})
				continue
			}
			for _, d := range deps {
				out = append(out, rolloutFinding(d)...)
			}
		}
	}
	return out
}

func deploymentsFor(s *Snapshot, namespace string, want map[string]string) []appsv1.Deployment {
	var out []appsv1.Deployment
	for _, d := range s.Deployments {
		if d.Namespace == namespace && len(want) > 0 && policy.HasLabels(d.Spec.Template.Labels, want) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// rolloutFinding mirrors `kubectl rollout status`: the controller has seen
// the latest spec, every replica is updated and available, and progress
// has not timed out.
func rolloutFinding(d appsv1.Deployment) []Finding {
	subject := d.Namespace + "/deploy/" + d.Name
	images := containerImages(d.Spec.Template.Spec.Containers)
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	counts := fmt.Sprintf("%d/%d updated, %d available", st.UpdatedReplicas, want, st.AvailableReplicas)
	f := Finding{ID: "ROLLOUT-001", Subject: subject}
	switch {
	case progressDeadlineExceeded(d):
		f.Severity = Fail
		f.Message = fmt.Sprintf("deployment %s exceeded its progress deadline (%s), image %s", d.Name, counts, images)
		f.Fix = fmt.Sprintf("kubectl -n %s rollout status deploy/%s; kubectl -n %s describe deploy/%s (image pull, readiness, quota)", d.Namespace, d.Name, d.Namespace, d.Name)
	case d.Generation > st.ObservedGeneration:
		f.Severity = Warn
		f.Message = fmt.Sprintf("deployment %s: the controller has not yet seen generation %d, image %s", d.Name, d.Generation, images)
		f.Fix = fmt.Sprintf("kubectl -n %s rollout status deploy/%s", d.Namespace, d.Name)
	case st.UpdatedReplicas < want || st.Replicas > st.UpdatedReplicas || st.AvailableReplicas < st.UpdatedReplicas:
		f.Severity = Warn
		f.Message = fmt.Sprintf("deployment %s is still rolling out (%s), image %s", d.Name, counts, images)
		f.Fix = fmt.Sprintf("kubectl -n %s rollout status deploy/%s", d.Namespace, d.Name)
	default:
		f.Severity = Pass
		f.Message = fmt.Sprintf("deployment %s rolled out (%s), image %s", d.Name, counts, images)
	}
	out := []Finding{f}
	for _, c := range d.Spec.Template.Spec.Containers {
		if tag := imageTag(c.Image); !strings.Contains(c.Image, "@") && (tag == "" || tag == "latest") {
			out = append(out, Finding{ID: "ROLLOUT-002", Severity: Warn, Subject: subject,
				Message: fmt.Sprintf("container %s runs %s: a mutable tag, so a rollout may not change what runs and the image cannot be traced", c.Name, c.Image),
				Fix:     "pin an immutable tag or a digest (the runbook bumps image.tag per build)"})
		}
	}
	return out
}

func progressDeadlineExceeded(d appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return true
		}
	}
	return false
}

func containerImages(cs []corev1.Container) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Image)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
