package output

import (
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// One note per meshed source, saying whether its proxy was bypassed.
func TestMeshNotes(t *testing.T) {
	uid := int64(1337)
	sidecar := &probe.Mesh{Name: probe.MeshIstio, Mode: probe.MeshSidecar, BypassUID: &uid, BypassGID: &uid, Bypassed: true}
	ambient := &probe.Mesh{Name: probe.MeshIstio, Mode: probe.MeshAmbient}
	obs := []probe.Observation{
		{From: "a/web", Mesh: sidecar}, {From: "a/web", Mesh: sidecar},
		{From: "b/plain"},
		{From: "c/amb", Mesh: ambient},
	}
	notes := MeshNotes(obs)
	if len(notes) != 2 || !strings.HasPrefix(notes[0], "a/web: istio sidecar: probed as the proxy's user (uid 1337)") ||
		!strings.HasPrefix(notes[1], "c/amb: istio ambient:") || !strings.Contains(notes[1], "inconclusive") {
		t.Errorf("notes = %q", notes)
	}
}
