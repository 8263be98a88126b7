package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
	"github.com/netbaseline/kubectl-netbaseline/internal/record"
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

// The report's probe section carries the same notes as probe's table.
func TestRecordMarkdownNotesMeshes(t *testing.T) {
	uid := int64(2102)
	doc := probe.NewDocument(probe.Drop, "img", []probe.Observation{{From: "a/web", To: "b/api", Port: "80/TCP", Result: probe.ResultOK,
		Mesh: &probe.Mesh{Name: probe.MeshLinkerd, Mode: probe.MeshSidecar, BypassUID: &uid, BypassGID: &uid, Bypassed: true}}})
	var md bytes.Buffer
	if err := WriteMarkdown(&md, record.Record{Probe: &doc, ProbeSource: "probe.json"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "Note: a/web: linkerd sidecar: probed as the proxy's user (uid 2102)") {
		t.Errorf("no mesh note in the report:\n%s", md.String())
	}
}
