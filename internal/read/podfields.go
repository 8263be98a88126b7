package read

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Pods are most of a cluster file, and the reflection of the generic
// converter most of their cost; the engine reads a dozen fields of them.
// podFields copies exactly those from a decoded document when every one
// has the JSON type the API gives it, and otherwise reports false so that
// the generic converter decodes the whole object and names any type error
// (TestPodFieldsSameAsConverter holds the two to the same model).

// podFields fills pod with what model.PodFromAPI reads: name, namespace,
// labels and controller reference; host networking and container ports;
// phase, addresses and readiness.
func podFields(obj map[string]any, pod *corev1.Pod) bool {
	meta, ok := optionalMap(obj, "metadata")
	if !ok || !objectMeta(meta, &pod.ObjectMeta) {
		return false
	}
	spec, ok := optionalMap(obj, "spec")
	if !ok || !podSpec(spec, &pod.Spec) {
		return false
	}
	status, ok := optionalMap(obj, "status")
	if !ok {
		return false
	}
	return podStatus(status, &pod.Status)
}

// templateFields fills a pod template's metadata and spec.
func templateFields(tmpl map[string]any, out *corev1.PodTemplateSpec) bool {
	meta, ok := optionalMap(tmpl, "metadata")
	if !ok || !objectMeta(meta, &out.ObjectMeta) {
		return false
	}
	spec, ok := optionalMap(tmpl, "spec")
	return ok && podSpec(spec, &out.Spec)
}

// workloadFields fills a workload's metadata and pod template (a
// CronJob's is under spec.jobTemplate.spec).
func workloadFields(kind string, obj map[string]any, meta *metav1.ObjectMeta, tmpl *corev1.PodTemplateSpec) bool {
	m, ok := optionalMap(obj, "metadata")
	if !ok || !objectMeta(m, meta) {
		return false
	}
	spec, ok := optionalMap(obj, "spec")
	if ok && kind == "CronJob" {
		var job map[string]any
		if job, ok = optionalMap(spec, "jobTemplate"); ok {
			spec, ok = optionalMap(job, "spec")
		}
	}
	if !ok {
		return false
	}
	t, ok := optionalMap(spec, "template")
	return ok && templateFields(t, tmpl)
}

func objectMeta(m map[string]any, out *metav1.ObjectMeta) bool {
	var ok bool
	if out.Name, ok = optionalString(m, "name"); !ok {
		return false
	}
	if out.Namespace, ok = optionalString(m, "namespace"); !ok {
		return false
	}
	if out.Labels, ok = stringMap(m, "labels"); !ok {
		return false
	}
	refs, ok := optionalList(m, "ownerReferences")
	if !ok {
		return false
	}
	for _, r := range refs {
		rm, isMap := r.(map[string]any)
		if !isMap {
			return false
		}
		var ref metav1.OwnerReference
		var uid string
		if ref.APIVersion, ok = optionalString(rm, "apiVersion"); !ok {
			return false
		}
		if ref.Kind, ok = optionalString(rm, "kind"); !ok {
			return false
		}
		if ref.Name, ok = optionalString(rm, "name"); !ok {
			return false
		}
		if uid, ok = optionalString(rm, "uid"); !ok {
			return false
		}
		ref.UID = types.UID(uid)
		if ref.Controller, ok = optionalBool(rm, "controller"); !ok {
			return false
		}
		out.OwnerReferences = append(out.OwnerReferences, ref)
	}
	return true
}

func podSpec(m map[string]any, out *corev1.PodSpec) bool {
	if v, present := m["hostNetwork"]; present && v != nil {
		b, isBool := v.(bool)
		if !isBool {
			return false
		}
		out.HostNetwork = b
	}
	containers, ok := optionalList(m, "containers")
	if !ok {
		return false
	}
	for _, c := range containers {
		cm, isMap := c.(map[string]any)
		if !isMap {
			return false
		}
		var container corev1.Container
		ports, ok := optionalList(cm, "ports")
		if !ok {
			return false
		}
		for _, p := range ports {
			pm, isMap := p.(map[string]any)
			if !isMap {
				return false
			}
			var port corev1.ContainerPort
			var proto string
			if port.Name, ok = optionalString(pm, "name"); !ok {
				return false
			}
			if port.ContainerPort, ok = optionalInt32(pm, "containerPort"); !ok {
				return false
			}
			if proto, ok = optionalString(pm, "protocol"); !ok {
				return false
			}
			port.Protocol = corev1.Protocol(proto)
			container.Ports = append(container.Ports, port)
		}
		out.Containers = append(out.Containers, container)
	}
	return true
}

func podStatus(m map[string]any, out *corev1.PodStatus) bool {
	phase, ok := optionalString(m, "phase")
	if !ok {
		return false
	}
	out.Phase = corev1.PodPhase(phase)
	if out.PodIP, ok = optionalString(m, "podIP"); !ok {
		return false
	}
	ips, ok := optionalList(m, "podIPs")
	if !ok {
		return false
	}
	for _, ip := range ips {
		im, isMap := ip.(map[string]any)
		if !isMap {
			return false
		}
		a, ok := optionalString(im, "ip")
		if !ok {
			return false
		}
		out.PodIPs = append(out.PodIPs, corev1.PodIP{IP: a})
	}
	conditions, ok := optionalList(m, "conditions")
	if !ok {
		return false
	}
	for _, c := range conditions {
		cm, isMap := c.(map[string]any)
		if !isMap {
			return false
		}
		t, ok1 := optionalString(cm, "type")
		s, ok2 := optionalString(cm, "status")
		if !ok1 || !ok2 {
			return false
		}
		out.Conditions = append(out.Conditions, corev1.PodCondition{Type: corev1.PodConditionType(t), Status: corev1.ConditionStatus(s)})
	}
	return true
}

// The optional* helpers read a field that may be absent or null; ok is
// false when it has another JSON type than the API's.

func optionalMap(m map[string]any, key string) (map[string]any, bool) {
	v, present := m[key]
	if !present || v == nil {
		return nil, true
	}
	out, ok := v.(map[string]any)
	return out, ok
}

func optionalList(m map[string]any, key string) ([]any, bool) {
	v, present := m[key]
	if !present || v == nil {
		return nil, true
	}
	out, ok := v.([]any)
	return out, ok
}

func optionalString(m map[string]any, key string) (string, bool) {
	v, present := m[key]
	if !present || v == nil {
		return "", true
	}
	out, ok := v.(string)
	return out, ok
}

func optionalBool(m map[string]any, key string) (*bool, bool) {
	v, present := m[key]
	if !present || v == nil {
		return nil, true
	}
	out, ok := v.(bool)
	return &out, ok
}

func optionalInt32(m map[string]any, key string) (int32, bool) {
	v, present := m[key]
	if !present || v == nil {
		return 0, true
	}
	n, ok := v.(int64)
	if !ok || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, false
	}
	return int32(n), true
}

func stringMap(m map[string]any, key string) (map[string]string, bool) {
	v, present := m[key]
	if !present || v == nil {
		return nil, true
	}
	in, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(in))
	for k, e := range in {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}
