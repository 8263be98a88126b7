package output

import (
	"fmt"
	"io"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// ProbeTable is FROM, TO, PORT, EXPECTED, OBSERVED, RESULT; -o wide adds
// the check, the agent's outcome, the time and the detail.
func ProbeTable(obs []probe.Observation) Table {
	t := Table{Columns: []Column{{Name: "From"}, {Name: "To"}, {Name: "Port"}, {Name: "Check", Wide: true}, {Name: "Expected"},
		{Name: "Outcome", Wide: true}, {Name: "Observed"}, {Name: "Result"}, {Name: "MS", Wide: true}, {Name: "Detail", Wide: true}}}
	for _, o := range obs {
		t.Rows = append(t.Rows, []any{o.From, o.To, o.Port, o.Kind, string(o.Expected), o.Outcome, o.Observed, o.Result, fmt.Sprint(o.MS), dash(o.Detail)})
		t.Objects = append(t.Objects, o)
	}
	return t
}

// ProbeJUnit writes one test case per observation: mismatches and failed
// app checks are failures, probes that could not run are errors.
func ProbeJUnit(w io.Writer, obs []probe.Observation) error {
	cases := make([]testCase, 0, len(obs))
	for _, o := range obs {
		c := testCase{Name: fmt.Sprintf("%s -> %s %s", o.From, o.To, o.Port), ClassName: o.FromGroup, Seconds: float64(o.MS) / 1000}
		msg := fmt.Sprintf("expected %s, observed %s (%s)", o.Expected, o.Observed, o.Outcome)
		switch {
		case o.Failed():
			c.Failure = &caseProblem{Message: msg, Text: o.Detail}
		case o.Result == probe.ResultError:
			c.Error = &caseProblem{Message: msg, Text: o.Detail}
		}
		cases = append(cases, c)
	}
	return writeJUnit(w, "kubectl-netbaseline probe", cases)
}

// MeshNotes are one line per source pod in a service mesh: which mesh,
// whether the probe bypassed its proxy, and what that means for the rows
// from that pod (printed under the table).
func MeshNotes(obs []probe.Observation) []string {
	seen := map[string]bool{}
	var notes []string
	for _, o := range obs {
		if o.Mesh == nil || seen[o.From] {
			continue
		}
		seen[o.From] = true
		notes = append(notes, fmt.Sprintf("%s: %s", o.From, o.Mesh.Note()))
	}
	return notes
}
