package read

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pods are most of a cluster file, and the reflection of the generic
// converter most of their cost; the engine reads a dozen fields of them.
// podFields copies exactly those from a decoded document when every one
// has the JSON type the API gives it, and otherwise reports false so that
// the generic converter decodes the whole object and names any type error
// (TestPodFieldsSameAsConverter holds the two to the same model).

// podFields fills pod with what model.PodFromAPI reads: name, namespace,
// labels, deletion and controller reference; host networking and container ports;
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
	if !stringField(m, "name", &out.Name) || !stringField(m, "namespace", &out.Namespace) {
		return false
	}
	if out.Labels, ok = stringMap(m, "labels"); !ok {
		return false
	}
	if v, present := m["deletionTimestamp"]; present && v != nil {
		var t metav1.Time
		str, isString := v.(string)
		if !isString || t.UnmarshalQueryParameter(str) != nil {
			return false
		}
		out.DeletionTimestamp = &t
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
		if !stringField(rm, "apiVersion", &ref.APIVersion) || !stringField(rm, "kind", &ref.Kind) ||
			!stringField(rm, "name", &ref.Name) || !stringField(rm, "uid", &ref.UID) {
			return false
		}
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
	// Calico policies select on it.
	if !stringField(m, "serviceAccountName", &out.ServiceAccountName) || !stringField(m, "serviceAccount", &out.DeprecatedServiceAccount) {
		return false
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
			if !stringField(pm, "name", &port.Name) || !stringField(pm, "protocol", &port.Protocol) {
				return false
			}
			if port.ContainerPort, ok = optionalInt32(pm, "containerPort"); !ok {
				return false
			}
			container.Ports = append(container.Ports, port)
		}
		out.Containers = append(out.Containers, container)
	}
	return true
}

func podStatus(m map[string]any, out *corev1.PodStatus) bool {
	if !stringField(m, "phase", &out.Phase) || !stringField(m, "podIP", &out.PodIP) {
		return false
	}
	ips, ok := optionalList(m, "podIPs")
	if !ok {
		return false
	}
	for _, ip := range ips {
		im, isMap := ip.(map[string]any)
		var podIP corev1.PodIP
		if !isMap || !stringField(im, "ip", &podIP.IP) {
			return false
		}
		out.PodIPs = append(out.PodIPs, podIP)
	}
	conditions, ok := optionalList(m, "conditions")
	if !ok {
		return false
	}
	for _, c := range conditions {
		cm, isMap := c.(map[string]any)
		var cond corev1.PodCondition
		if !isMap || !stringField(cm, "type", &cond.Type) || !stringField(cm, "status", &cond.Status) {
			return false
		}
		out.Conditions = append(out.Conditions, cond)
	}
	return true
}

// The field helpers read a field that may be absent or null; ok is false
// when it has another JSON type than the API's.

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

// stringField sets *dst from a string field (of any string type: names,
// UIDs, protocols, phases).
func stringField[S ~string](m map[string]any, key string, dst *S) bool {
	v, present := m[key]
	if !present || v == nil {
		return true
	}
	s, ok := v.(string)
	*dst = S(s)
	return ok
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
