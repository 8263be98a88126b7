package read

import (
	"math/rand/v2"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// randomPodDocument is a decoded Pod document with every field podFields
// reads, sometimes absent, null or of the wrong JSON type, and fields it
// does not read.
func randomPodDocument(r *rand.Rand) map[string]any {
	pick := func(vs ...any) any { return vs[r.IntN(len(vs))] }
	str := func() any { return pick("a", "web-0", "", nil, int64(3), true) }
	meta := map[string]any{"name": pick("web-0", "api-1"), "namespace": pick("shop", nil, ""), "resourceVersion": "12",
		"annotations": map[string]any{"note": "x"}}
	if r.IntN(4) > 0 {
		meta["labels"] = pick(map[string]any{"app": "web", "version": "v2"}, map[string]any{}, nil, map[string]any{"n": int64(1)}, "app=web")
	}
	if r.IntN(4) == 0 {
		meta["deletionTimestamp"] = pick("2026-12-03T07:30:00Z", nil, "yesterday", int64(1))
	}
	if r.IntN(2) == 0 {
		meta["ownerReferences"] = []any{map[string]any{"apiVersion": "apps/v1", "kind": pick("ReplicaSet", "StatefulSet", int64(1)), "name": pick("web-abc123", "web"),
			"uid": pick("u", int64(5)), "controller": pick(true, false, nil, "yes"), "blockOwnerDeletion": true}}
	}
	ports := []any{}
	for range r.IntN(3) {
		ports = append(ports, map[string]any{"name": str(), "containerPort": pick(int64(8080), int64(80), 8080.0, "http", int64(1)<<40, nil), "protocol": pick("TCP", "UDP", "SCTP", nil, "")})
	}
	spec := map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app:1", "ports": pick(ports, nil, "80")}},
		"hostNetwork": pick(true, false, nil, "true"), "nodeName": "n1"}
	status := map[string]any{"phase": pick("Running", "Pending", nil, int64(1)), "podIP": pick("198.18.0.5", nil, "not-an-ip"),
		"podIPs":     pick([]any{map[string]any{"ip": "198.18.0.5"}, map[string]any{"ip": "fd00::5"}}, nil, []any{"198.18.0.5"}),
		"conditions": pick([]any{map[string]any{"type": "Ready", "status": pick("True", "False"), "lastTransitionTime": "2026-01-01T00:00:00Z"}}, nil)}
	doc := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta}
	if r.IntN(8) > 0 {
		doc["spec"] = spec
	}
	if r.IntN(8) > 0 {
		doc["status"] = status
	}
	return doc
}

// podFields and the generic converter give the same model whenever
// podFields reads a document, and podFields declines what the converter
// refuses.
func TestPodFieldsSameAsConverter(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	read, declined := 0, 0
	for i := range 5000 {
		doc := randomPodDocument(r)
		var slow corev1.Pod
		slowErr := runtime.DefaultUnstructuredConverter.FromUnstructured(doc, &slow)
		var fast corev1.Pod
		if !podFields(doc, &fast) {
			declined++
			continue
		}
		read++
		if slowErr != nil {
			t.Fatalf("case %d: podFields read a document the converter refuses (%v): %#v", i, slowErr, doc)
		}
		want, got := model.PodFromAPI(&slow, "shop"), model.PodFromAPI(&fast, "shop")
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("case %d: podFields %#v\nconverter %#v\nfrom %#v", i, got, want, doc)
		}
	}
	if read < 500 || declined < 500 {
		t.Fatalf("read %d, declined %d: the cases do not exercise both paths", read, declined)
	}
}

// Workloads: the pod that stands for the template is the same.
func TestWorkloadFieldsSameAsConverter(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := range 2000 {
		pod := randomPodDocument(r)
		tmpl := map[string]any{"metadata": pod["metadata"], "spec": pod["spec"]}
		kind := []string{"Deployment", "CronJob", "Job"}[i%3]
		spec := map[string]any{"replicas": int64(3), "template": tmpl}
		if kind == "CronJob" {
			spec = map[string]any{"schedule": "* * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": tmpl}}}
		}
		doc := map[string]any{"apiVersion": "apps/v1", "kind": kind, "metadata": map[string]any{"name": "w", "namespace": "shop"}, "spec": spec}
		fast := &docSink{defaultNamespace: "default"}
		fastErr := fast.object(doc, "f:1")
		l := &fileLoader{model: &model.Model{}, byKey: map[string]*entry{}}
		fast.replay(l)
		for _, e := range l.entries {
			e.add(l.model)
		}
		// The reference: the generic converter alone.
		var slowPod *model.Pod
		var slowErr error
		if kind == "CronJob" {
			var w batchv1.CronJob
			if slowErr = runtime.DefaultUnstructuredConverter.FromUnstructured(doc, &w); slowErr == nil {
				slowPod = templatePod(kind, &w.ObjectMeta, &w.Spec.JobTemplate.Spec.Template, "shop")
			}
		} else {
			var w appsv1.Deployment // Job's template sits where a Deployment's does
			if slowErr = runtime.DefaultUnstructuredConverter.FromUnstructured(doc, &w); slowErr == nil {
				slowPod = templatePod(kind, &w.ObjectMeta, &w.Spec.Template, "shop")
			}
		}
		if (fastErr != nil) != (slowErr != nil) {
			if fastErr == nil {
				t.Fatalf("case %d: read a %s the converter refuses (%v): %#v", i, kind, slowErr, doc)
			}
			continue // refused by both, or declined by podFields and then refused
		}
		if fastErr != nil {
			continue
		}
		if len(l.model.Pods) != 1 || !reflect.DeepEqual(l.model.Pods[0], slowPod) {
			t.Fatalf("case %d: %#v\nconverter %#v", i, l.model.Pods, slowPod)
		}
	}
}
