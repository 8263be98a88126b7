package probe

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

func int64p(v int64) *int64 { return &v }

func TestDetectMesh(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	tests := []struct {
		name       string
		pod        corev1.Pod
		mesh, mode string
		uid, gid   int64 // 0: no bypass
	}{
		{"no mesh", corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}, "", "", 0, 0},
		{"istio sidecar container", corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "istio-proxy"}}}}, MeshIstio, MeshSidecar, 1337, 1337},
		{"istio native sidecar with its own user", corev1.Pod{Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "istio-proxy", RestartPolicy: &always,
			SecurityContext: &corev1.SecurityContext{RunAsUser: int64p(1400), RunAsGroup: int64p(1401)}}}}}, MeshIstio, MeshSidecar, 1400, 1401},
		{"istio by annotation", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"sidecar.istio.io/status": "{}"}}}, MeshIstio, MeshSidecar, 1337, 1337},
		{"istio by label", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"security.istio.io/tlsMode": "istio"}}}, MeshIstio, MeshSidecar, 1337, 1337},
		{"istio-init only", corev1.Pod{Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "istio-init"}}}}, MeshIstio, MeshSidecar, 1337, 1337},
		{"istio ambient", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"istio.io/dataplane-mode": "ambient"}}}, MeshIstio, MeshAmbient, 0, 0},
		{"istio ambient by the CNI's annotation", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"ambient.istio.io/redirection": "enabled"}}}, MeshIstio, MeshAmbient, 0, 0},
		{"linkerd proxy", corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "linkerd-proxy"}}}}, MeshLinkerd, MeshSidecar, 2102, 2102},
		{"linkerd with its proxy-uid annotation", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"linkerd.io/proxy-version": "edge", "config.linkerd.io/proxy-uid": "3000"}}}, MeshLinkerd, MeshSidecar, 3000, 3000},
		{"linkerd native sidecar's runAsUser wins", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"config.linkerd.io/proxy-uid": "3000"}},
			Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "linkerd-init"}, {Name: "linkerd-proxy", RestartPolicy: &always, SecurityContext: &corev1.SecurityContext{RunAsUser: int64p(2500)}}}}}, MeshLinkerd, MeshSidecar, 2500, 2500},
		{"linkerd.io/inject disabled is no mesh", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"linkerd.io/inject": "disabled"}}}, "", "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := DetectMesh(&tt.pod)
			if tt.mesh == "" {
				if m != nil {
					t.Errorf("found %+v", m)
				}
				return
			}
			if m == nil || m.Name != tt.mesh || m.Mode != tt.mode {
				t.Fatalf("DetectMesh = %+v, want %s %s", m, tt.mesh, tt.mode)
			}
			if tt.uid == 0 {
				if m.BypassUID != nil {
					t.Errorf("ambient has no bypass user, got %d", *m.BypassUID)
				}
				return
			}
			if m.BypassUID == nil || *m.BypassUID != tt.uid || *m.BypassGID != tt.gid {
				t.Errorf("bypass = %v/%v, want %d/%d", m.BypassUID, m.BypassGID, tt.uid, tt.gid)
			}
		})
	}
}

func TestWithMeshBypass(t *testing.T) {
	istio := DetectMesh(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "istio-proxy"}}}})
	ec := BuildContainer("probe", "img", corev1.PullIfNotPresent, "plan")
	WithMeshBypass(ec, istio)
	if *ec.SecurityContext.RunAsUser != 1337 || *ec.SecurityContext.RunAsGroup != 1337 || !istio.Bypassed || !istio.RunsAs(ec) {
		t.Errorf("bypass: %+v, mesh %+v", ec.SecurityContext, istio)
	}
	ambient := &Mesh{Name: MeshIstio, Mode: MeshAmbient}
	ec = BuildContainer("probe", "img", corev1.PullIfNotPresent, "plan")
	WithMeshBypass(ec, ambient)
	if *ec.SecurityContext.RunAsUser != probeUID || ambient.Bypassed || ambient.RunsAs(ec) {
		t.Errorf("ambient changed the container: %+v, mesh %+v", ec.SecurityContext, ambient)
	}
}

// A redirected connect is inconclusive for the mesh whatever was expected;
// a DNS answer from an Istio pod the probe did not bypass likewise; with
// the bypass, or under Linkerd (TCP only), DNS is judged as usual.
func TestInterpretFromAMeshedPod(t *testing.T) {
	tcp := Planned{Check: Check{Kind: KindTCP, Port: 3001}, Expected: policy.Denied}
	dns := Planned{Check: Check{Kind: KindDNS}, Expected: policy.Allowed}
	uid := int64(1337)
	bypassed := &Mesh{Name: MeshIstio, Mode: MeshSidecar, BypassUID: &uid, BypassGID: &uid, Bypassed: true}
	notBypassed := &Mesh{Name: MeshIstio, Mode: MeshAmbient}
	linkerd := &Mesh{Name: MeshLinkerd, Mode: MeshSidecar}
	tests := []struct {
		name             string
		p                Planned
		outcome          string
		mesh             *Mesh
		observed, result string
		meshInconclusive bool
	}{
		{"redirected, expected denied", tcp, Redirected, bypassed, ObservedRedirected, ResultInconclusive, true},
		{"redirected, expected allowed", Planned{Check: tcp.Check, Expected: policy.Allowed}, Redirected, nil, ObservedRedirected, ResultInconclusive, true},
		{"bypassed and timed out: denied", tcp, Timeout, bypassed, ObservedDenied, ResultOK, false},
		{"dns through istio's capture", dns, Connected, notBypassed, ObservedMeshDNS, ResultInconclusive, true},
		{"dns on udp/53 through istio's capture", Planned{Check: Check{Kind: KindUDP, Port: 53}, Expected: policy.Denied}, Timeout, notBypassed, ObservedMeshDNS, ResultInconclusive, true},
		{"dns bypassing istio", dns, Connected, bypassed, ObservedAllowed, ResultOK, false},
		{"dns under linkerd", dns, Connected, linkerd, ObservedAllowed, ResultOK, false},
		{"an agent error stays an error", dns, Error, notBypassed, "error", ResultError, false},
		{"reject mode's refusal stays the deny mode's inconclusive", Planned{Check: tcp.Check, Expected: policy.Allowed}, Refused, bypassed, ObservedRefused, ResultInconclusive, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := InterpretFrom(tt.p, Result{Outcome: tt.outcome}, Reject, tt.mesh)
			if o.Observed != tt.observed || o.Result != tt.result || o.MeshInconclusive() != tt.meshInconclusive || o.Mesh != tt.mesh {
				t.Errorf("got %q %q mesh-inconclusive %v (mesh %v)", o.Observed, o.Result, o.MeshInconclusive(), o.Mesh)
			}
			if o.Failed() {
				t.Error("a mesh observation counted as failed")
			}
		})
	}
}
