package record

import (
	"sort"

	"github.com/netbaseline/kubectl-netbaseline/internal/audit/posture"
)

// PostureRecord is audit's exposure and posture of the configured
// namespaces: the scores, the findings by severity (highest first) and
// the entry points from outside with their verdicts. Unknown says why it
// could not be worked out (then everything else is empty: unknown, never
// "no finding").
type PostureRecord struct {
	Unknown       string                   `json:"unknown,omitempty"`
	Cluster       posture.Score            `json:"cluster"`
	Namespaces    []posture.NamespaceScore `json:"namespaces"`
	FindingCounts map[posture.Severity]int `json:"findingCounts"`
	Findings      []posture.Finding        `json:"findings"`
	EntryPoints   []posture.EntryPoint     `json:"entryPoints"`
	Warnings      []string                 `json:"warnings,omitempty"`
}

// severityOrder ranks the severities for the record, highest first.
var severityOrder = map[posture.Severity]int{posture.High: 0, posture.Medium: 1, posture.Low: 2}

// postureRecord is the record of an audit document (nil when none was
// made), or of why it is unknown.
func postureRecord(doc *posture.Document, unknown string) *PostureRecord {
	if doc == nil && unknown == "" {
		return nil
	}
	r := &PostureRecord{Unknown: unknown, Namespaces: []posture.NamespaceScore{}, FindingCounts: map[posture.Severity]int{},
		Findings: []posture.Finding{}, EntryPoints: []posture.EntryPoint{}}
	if doc == nil {
		return r
	}
	r.Cluster, r.Warnings = doc.Cluster, doc.Warnings
	r.Namespaces = append(r.Namespaces, doc.Namespaces...)
	r.EntryPoints = append(r.EntryPoints, doc.EntryPoints...)
	r.Findings = append(r.Findings, doc.Findings...)
	sort.SliceStable(r.Findings, func(i, j int) bool {
		return severityOrder[r.Findings[i].Severity] < severityOrder[r.Findings[j].Severity]
	})
	for _, f := range r.Findings {
		r.FindingCounts[f.Severity]++
	}
	return r
}
