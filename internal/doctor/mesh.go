package doctor

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// checkMeshes finds service meshes in the namespaces doctor reads and says
// what they mean for probe and apply --verify (MESH-*): a sidecar mesh
// redirects a pod's outbound TCP to its proxy, which probe bypasses by
// running as the proxy's user (MESH-001); Istio's ambient mode redirects
// with nothing to bypass, so probes from there are inconclusive and
// apply --verify stops unverified (MESH-002); a namespace set for
// injection gives new pods a sidecar (MESH-003). Nothing is reported for
// a cluster without a mesh.
func checkMeshes(s *Snapshot) []Finding {
	if why, ok := s.UnreadableOf("pods"); ok {
		return []Finding{couldNotCheck("MESH-001", "service mesh sidecars", why)}
	}
	sidecars, ambient := meshedPods(s)
	var out []Finding
	for _, ns := range slices.Sorted(maps.Keys(sidecars)) {
		out = append(out, sidecarFinding(ns, sidecars[ns]))
	}
	for _, ns := range ambientNamespaces(s, ambient) {
		out = append(out, Finding{ID: "MESH-002", Severity: Warn, Subject: ns,
			Message: fmt.Sprintf("Istio ambient mode in %s (%s): the pods' traffic is redirected to ztunnel with no user a probe could run as to bypass it, so probes from these pods are inconclusive (reason mesh) and apply --verify stops there without verifying or undoing", ns, describeAmbient(ns, ambient[ns])),
			Fix:     "verify these namespaces' policies from pods outside the mesh (a pod labelled istio.io/dataplane-mode=none), or rely on explain for them"})
	}
	out = append(out, injectionFindings(s, sidecars)...)
	return out
}

// meshedPods groups the pods with a sidecar mesh by namespace, and counts
// the pods in ambient mode per namespace.
func meshedPods(s *Snapshot) (map[string][]*probe.Mesh, map[string]int) {
	sidecars, ambient := map[string][]*probe.Mesh{}, map[string]int{}
	for i := range s.Pods {
		m := probe.DetectMesh(&s.Pods[i])
		switch {
		case m == nil:
		case m.Mode == probe.MeshAmbient:
			ambient[s.Pods[i].Namespace]++
		default:
			sidecars[s.Pods[i].Namespace] = append(sidecars[s.Pods[i].Namespace], m)
		}
	}
	return sidecars, ambient
}

func sidecarFinding(ns string, meshes []*probe.Mesh) Finding {
	users := map[string]int{}
	for _, m := range meshes {
		users[fmt.Sprintf("%s (uid %d)", m.Name, *m.BypassUID)]++
	}
	var parts []string
	for _, u := range slices.Sorted(maps.Keys(users)) {
		parts = append(parts, fmt.Sprintf("%d pod(s) %s", users[u], u))
	}
	return Finding{ID: "MESH-001", Severity: Info, Subject: ns,
		Message: fmt.Sprintf("sidecar mesh in %s: %s; probe runs its agent as the proxy's user, which the mesh does not redirect, so probes from these pods see the NetworkPolicy; a connect the proxy still takes is reported as inconclusive (reason mesh), never as allowed", ns, strings.Join(parts, ", "))}
}

// ambientNamespaces are the namespaces with ambient pods or labelled for
// ambient mode.
func ambientNamespaces(s *Snapshot, pods map[string]int) []string {
	set := map[string]bool{}
	for ns := range pods {
		set[ns] = true
	}
	for _, ns := range s.Namespaces {
		if ns.Labels["istio.io/dataplane-mode"] == "ambient" {
			set[ns.Name] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func describeAmbient(ns string, pods int) string {
	if pods == 0 {
		return "namespace label istio.io/dataplane-mode=ambient"
	}
	return fmt.Sprintf("%d pod(s)", pods)
}

// injectionFindings: namespaces set for sidecar injection where no pod has
// a sidecar yet — the next pods will, and probes will bypass it.
func injectionFindings(s *Snapshot, sidecars map[string][]*probe.Mesh) []Finding {
	var out []Finding
	for _, ns := range s.Namespaces {
		mesh, how := injectionOf(&ns)
		if mesh == "" || len(sidecars[ns.Name]) > 0 {
			continue
		}
		out = append(out, Finding{ID: "MESH-003", Severity: Info, Subject: ns.Name,
			Message: fmt.Sprintf("%s is set for %s sidecar injection (%s) but none of its pods has a sidecar yet: pods created from now on get one, and probe will then run as its proxy's user", ns.Name, mesh, how)})
	}
	return out
}

// injectionOf names the mesh a namespace asks to inject, and the label or
// annotation that asks for it.
func injectionOf(ns *corev1.Namespace) (mesh, how string) {
	switch {
	case ns.Labels["istio-injection"] == "enabled":
		return probe.MeshIstio, "label istio-injection=enabled"
	case ns.Labels["istio.io/rev"] != "":
		return probe.MeshIstio, "label istio.io/rev=" + ns.Labels["istio.io/rev"]
	case ns.Labels["linkerd.io/inject"] == "enabled":
		return probe.MeshLinkerd, "label linkerd.io/inject=enabled"
	case ns.Annotations["linkerd.io/inject"] == "enabled":
		return probe.MeshLinkerd, "annotation linkerd.io/inject=enabled"
	}
	return "", ""
}
