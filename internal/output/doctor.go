package output

import (
	"io"

	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// DoctorReport is the document doctor prints with -o json|yaml.
type DoctorReport struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Engines    []doctor.Engine  `json:"engines"`
	Findings   []doctor.Finding `json:"findings"`
}

// NewDoctorReport wraps doctor's result in the versioned document.
func NewDoctorReport(r doctor.Result) DoctorReport {
	d := DoctorReport{APIVersion: ownership.APIVersion, Kind: "DoctorReport", Engines: r.Engines, Findings: r.Findings}
	if d.Engines == nil {
		d.Engines = []doctor.Engine{}
	}
	if d.Findings == nil {
		d.Findings = []doctor.Finding{}
	}
	return d
}

// DoctorTable is ID, SEVERITY, SUBJECT, MESSAGE, and with -o wide FIX.
func DoctorTable(fs []doctor.Finding) Table {
	t := Table{Columns: []Column{{Name: "ID"}, {Name: "Severity"}, {Name: "Subject"}, {Name: "Message"}, {Name: "Fix", Wide: true}}}
	for _, f := range fs {
		t.Rows = append(t.Rows, []any{f.ID, string(f.Severity), dash(f.Subject), f.Message, dash(f.Fix)})
		t.Objects = append(t.Objects, f)
	}
	return t
}

// DoctorJUnit writes one test case per finding: failures fail, info
// findings (including checks that could not run) are skipped.
func DoctorJUnit(w io.Writer, fs []doctor.Finding) error {
	cases := make([]testCase, 0, len(fs))
	for _, f := range fs {
		c := testCase{Name: f.ID + " " + f.Subject, ClassName: f.ID}
		switch f.Severity {
		case doctor.Fail:
			c.Failure = &caseProblem{Message: f.Message, Text: f.Fix}
		case doctor.Info:
			c.Skipped = &caseProblem{Message: f.Message}
		}
		cases = append(cases, c)
	}
	return writeJUnit(w, "kubectl-netbaseline doctor", cases)
}
