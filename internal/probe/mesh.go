package probe

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Service meshes the probe knows, and how they capture a pod's traffic.
const (
	MeshIstio   = "istio"
	MeshLinkerd = "linkerd"

	MeshSidecar = "sidecar" // a proxy container and iptables in the pod's netns
	MeshAmbient = "ambient" // Istio's ztunnel: redirected by the node, no proxy UID in the pod
)

// The UIDs each mesh's iptables leave alone, so that its proxy's own
// traffic is not sent back to itself:
//   - Istio: tools/istio-iptables (pkg/capture/run.go) appends
//     `-A ISTIO_OUTPUT -m owner --uid-owner <proxy uid> -j RETURN` and the
//     same with --gid-owner, and RETURNs UDP/53 of that UID/GID in
//     ISTIO_OUTPUT_DNS before its DNS REDIRECT (testdata dns-uid-gid.golden);
//     the proxy runs as 1337:1337.
//   - Linkerd: linkerd2-proxy-init (iptables/iptables.go, makeIgnoreUserID)
//     appends `-A PROXY_INIT_OUTPUT -m owner --uid-owner <ProxyUID> -j RETURN`
//     before the REDIRECT to the outbound port (4140); the chart passes
//     --proxy-uid from proxy.uid, 2102 by default, and the injector takes
//     config.linkerd.io/proxy-uid. It matches no GID.
const (
	istioProxyUID   int64 = 1337
	linkerdProxyUID int64 = 2102
)

// Mesh is what the probe found about a source pod's service mesh, and
// whether its agent ran as the proxy's user so the mesh let its traffic
// through untouched (BypassUID).
type Mesh struct {
	Name string `json:"name"`
	Mode string `json:"mode"`
	// BypassUID/BypassGID: the user and group the agent runs as (sidecar
	// meshes only); nil when nothing lets the agent bypass the mesh.
	BypassUID *int64 `json:"bypassUID,omitempty"`
	BypassGID *int64 `json:"bypassGID,omitempty"`
	// Bypassed: the agent ran as BypassUID (false in --mode=pod, which
	// starts a pod of its own, or when the plan ran in a kept container
	// started otherwise).
	Bypassed bool `json:"bypassed"`
}

// Note is the human line for a probe table.
func (m *Mesh) Note() string {
	switch {
	case m == nil:
		return ""
	case m.Bypassed:
		return m.Name + " " + m.Mode + ": probed as the proxy's user (uid " + strconv.FormatInt(*m.BypassUID, 10) + "), which the mesh does not redirect"
	case m.Mode == MeshAmbient:
		return m.Name + " ambient: the node redirects the pod's traffic and nothing bypasses it, so connections through it are inconclusive"
	}
	return m.Name + " " + m.Mode + ": the probe did not bypass the proxy, so connections through it are inconclusive"
}

// DetectMesh reads a source pod's spec for a service mesh: Istio's or
// Linkerd's proxy (a container, or a native sidecar init container), their
// init containers, the annotations and labels their injectors set, and
// Istio's ambient mode. nil when there is none.
func DetectMesh(pod *corev1.Pod) *Mesh {
	if m := detectIstioSidecar(pod); m != nil {
		return m
	}
	if m := detectLinkerd(pod); m != nil {
		return m
	}
	if pod.Labels["istio.io/dataplane-mode"] == "ambient" || pod.Annotations["ambient.istio.io/redirection"] == "enabled" {
		return &Mesh{Name: MeshIstio, Mode: MeshAmbient}
	}
	return nil
}

func detectIstioSidecar(pod *corev1.Pod) *Mesh {
	proxy, found := podContainer(pod, "istio-proxy")
	_, init := podContainer(pod, "istio-init")
	_, status := pod.Annotations["sidecar.istio.io/status"]
	_, tlsMode := pod.Labels["security.istio.io/tlsMode"]
	if !found && !init && !status && !tlsMode {
		return nil
	}
	uid, gid := proxyUser(proxy, istioProxyUID)
	return &Mesh{Name: MeshIstio, Mode: MeshSidecar, BypassUID: &uid, BypassGID: &gid}
}

func detectLinkerd(pod *corev1.Pod) *Mesh {
	proxy, found := podContainer(pod, "linkerd-proxy")
	_, init := podContainer(pod, "linkerd-init")
	_, version := pod.Annotations["linkerd.io/proxy-version"]
	inject := pod.Annotations["linkerd.io/inject"] == "enabled"
	if !found && !init && !version && !inject {
		return nil
	}
	def := linkerdProxyUID
	if v, err := strconv.ParseInt(pod.Annotations["config.linkerd.io/proxy-uid"], 10, 64); err == nil && v > 0 {
		def = v
	}
	uid, gid := proxyUser(proxy, def)
	return &Mesh{Name: MeshLinkerd, Mode: MeshSidecar, BypassUID: &uid, BypassGID: &gid}
}

// podContainer finds a container or init container (a native sidecar is
// an init container that keeps running) by name.
func podContainer(pod *corev1.Pod, name string) (*corev1.Container, bool) {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i], true
			}
		}
	}
	return nil, false
}

// proxyUser is the user the proxy really runs as: its container's
// runAsUser when set (the injector renders the mesh's iptables with the
// same value), else the mesh's default; the group likewise, the user's
// number when none is set.
func proxyUser(proxy *corev1.Container, defaultUID int64) (uid, gid int64) {
	uid, gid = defaultUID, -1
	if proxy != nil && proxy.SecurityContext != nil {
		if proxy.SecurityContext.RunAsUser != nil && *proxy.SecurityContext.RunAsUser > 0 {
			uid = *proxy.SecurityContext.RunAsUser
		}
		if proxy.SecurityContext.RunAsGroup != nil && *proxy.SecurityContext.RunAsGroup > 0 {
			gid = *proxy.SecurityContext.RunAsGroup
		}
	}
	if gid < 0 {
		gid = uid
	}
	return uid, gid
}

// WithMeshBypass runs the agent's container as the proxy's user and group,
// whose traffic the mesh's iptables RETURN before any REDIRECT, and says
// so in m. A mesh without a proxy UID (ambient) is left as it is: the
// agent's redirect check still catches what it captures.
func WithMeshBypass(ec *corev1.EphemeralContainer, m *Mesh) {
	if m == nil || m.BypassUID == nil {
		return
	}
	uid, gid := *m.BypassUID, *m.BypassGID
	ec.SecurityContext.RunAsUser, ec.SecurityContext.RunAsGroup = &uid, &gid
	m.Bypassed = true
}

// RunsAs reports whether a container runs as the mesh's bypass user (a
// kept probe container started earlier is reused only as it was started).
func (m *Mesh) RunsAs(c *corev1.EphemeralContainer) bool {
	sc := c.SecurityContext
	return m != nil && m.BypassUID != nil && sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == *m.BypassUID
}
