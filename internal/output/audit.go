package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/audit/posture"
	"github.com/netbaseline/kubectl-netbaseline/internal/version"
)

// AuditTables are audit's tables, in the order they print: the scores,
// the exposure (one row per workload, direction, port and way in or out),
// the entry points, the findings.
func AuditTables(doc *posture.Document) []Table {
	return []Table{auditScores(doc), auditExposure(doc), auditEntryPoints(doc), auditFindings(doc)}
}

func auditScores(doc *posture.Document) Table {
	t := Table{Columns: []Column{{Name: "Namespace"}, {Name: "Score"}, {Name: "Pods"}, {Name: "Ingress-Isolated"}, {Name: "Egress-Isolated"}, {Name: "High"}, {Name: "Medium"}, {Name: "Low"}, {Name: "Open-To-World", Wide: true}}}
	row := func(name string, s posture.Score) []any {
		return []any{name, s.Score, s.Pods, percent(s.IngressIsolated), percent(s.EgressIsolated), s.FindingsHigh, s.FindingsMedium, s.FindingsLow, s.OpenPortsToWorld}
	}
	for _, ns := range doc.Namespaces {
		t.Rows = append(t.Rows, row(ns.Namespace, ns.Score))
		t.Objects = append(t.Objects, ns)
	}
	t.Rows = append(t.Rows, row("(cluster)", doc.Cluster))
	t.Objects = append(t.Objects, doc.Cluster)
	return t
}

func percent(x float64) string { return fmt.Sprintf("%.0f%%", x*100) }

func auditExposure(doc *posture.Document) Table {
	t := Table{Columns: []Column{{Name: "Workload"}, {Name: "Direction"}, {Name: "Port"}, {Name: "Reach"}, {Name: "Who"}, {Name: "Evidence"}, {Name: "By", Wide: true}}}
	for _, w := range doc.Workloads {
		for _, dir := range []struct {
			name  string
			ports []posture.Port
		}{{"ingress", w.Ingress}, {"egress", w.Egress}} {
			for _, p := range dir.ports {
				addPortRows(&t, w.Name, dir.name, p)
			}
		}
	}
	return t
}

// addPortRows adds one row per way in (or out) of a port, or one "none"
// row when nothing gets through.
func addPortRows(t *Table, workload, direction string, p posture.Port) {
	port := portLabel(p)
	if len(p.Peers) == 0 {
		t.Rows = append(t.Rows, []any{workload, direction, port, p.Reach, "nobody", "-", "-"})
		t.Objects = append(t.Objects, p)
		return
	}
	for _, e := range p.Peers {
		who := e.Who
		if e.Verdict != "allowed" {
			who = string(e.Verdict) + ": " + who
		}
		t.Rows = append(t.Rows, []any{workload, direction, port, p.Reach, who, evidence(e.Evidence, e.EvidenceCount, e.Future), e.By})
		t.Objects = append(t.Objects, e)
	}
}

func portLabel(p posture.Port) string {
	if p.PortName == "other" {
		return fmt.Sprintf("other(%d)/%s", p.Port, p.Protocol)
	}
	return fmt.Sprintf("%d/%s", p.Port, p.Protocol)
}

// evidence lists the first existing peers of count, and says when future
// ones are admitted too.
func evidence(xs []string, count int, future bool) string {
	const shown = 3
	s := strings.Join(xs[:min(len(xs), shown)], ",")
	if count > shown {
		s += fmt.Sprintf(",+%d", count-shown)
	}
	if future {
		s = strings.TrimPrefix(s+",future namespaces", ",")
	}
	return dash(s)
}

func auditEntryPoints(doc *posture.Document) Table {
	t := Table{Columns: []Column{{Name: "Entry-Point"}, {Name: "Type"}, {Name: "Port"}, {Name: "Verdict"}, {Name: "Path"}}}
	// Kind is Service or Ingress: svc/NAME, ingress/NAME.
	for _, e := range doc.EntryPoints {
		t.Rows = append(t.Rows, []any{e.Namespace + "/" + strings.ToLower(e.Kind) + "/" + e.Name, e.Type, e.Port, string(e.Verdict), e.Path})
		t.Objects = append(t.Objects, e)
	}
	return t
}

func auditFindings(doc *posture.Document) Table {
	t := Table{Columns: []Column{{Name: "ID"}, {Name: "Severity"}, {Name: "Namespace"}, {Name: "Objects"}, {Name: "Message"}, {Name: "Fix", Wide: true}}}
	for _, f := range doc.Findings {
		t.Rows = append(t.Rows, []any{f.ID, string(f.Severity), dash(f.Namespace), evidence(f.Objects, len(f.Objects), false), f.Message, f.Fix})
		t.Objects = append(t.Objects, f)
	}
	return t
}

// AuditMarkdown writes the audit for a report: scores, findings, entry
// points and exposure.
func AuditMarkdown(w io.Writer, doc *posture.Document) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Network exposure audit\n\nCluster score: **%d**/100 (%d pods; ingress isolated %s, egress isolated %s)\n\n", doc.Cluster.Score, doc.Cluster.Pods, percent(doc.Cluster.IngressIsolated), percent(doc.Cluster.EgressIsolated))
	for _, t := range []struct {
		title string
		table Table
	}{{"Scores", auditScores(doc)}, {"Findings", auditFindings(doc)}, {"Entry points", auditEntryPoints(doc)}, {"Exposure", auditExposure(doc)}} {
		fmt.Fprintf(&b, "## %s\n\n", t.title)
		markdownTable(&b, t.table)
	}
	for _, warning := range doc.Warnings {
		fmt.Fprintf(&b, "> Warning: %s\n", warning)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownTable writes every column of a table (wide ones included).
func markdownTable(b *strings.Builder, t Table) {
	if len(t.Rows) == 0 {
		b.WriteString("None.\n\n")
		return
	}
	var head, rule []string
	for _, c := range t.Columns {
		head, rule = append(head, c.Name), append(rule, "---")
	}
	fmt.Fprintf(b, "| %s |\n| %s |\n", strings.Join(head, " | "), strings.Join(rule, " | "))
	for _, r := range t.Rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = cell(fmt.Sprint(c))
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")
}

// AuditJUnit writes one test case per finding, failed at or above the
// severity given (every finding when ""), skipped below it.
func AuditJUnit(w io.Writer, doc *posture.Document, failOn posture.Severity) error {
	cases := make([]testCase, 0, len(doc.Findings))
	for _, f := range doc.Findings {
		c := testCase{Name: f.ID + " " + f.Namespace + " " + strings.Join(f.Objects, ","), ClassName: f.ID}
		problem := &caseProblem{Message: f.Message, Text: f.Why + "\nFix: " + f.Fix}
		if posture.AtLeast(f.Severity, failOn) {
			c.Failure = problem
		} else {
			c.Skipped = problem
		}
		cases = append(cases, c)
	}
	return writeJUnit(w, "kubectl-netbaseline audit", cases)
}

// sarifLevel maps a severity to SARIF's levels.
var sarifLevel = map[posture.Severity]string{posture.High: "error", posture.Medium: "warning", posture.Low: "note"}

// AuditSARIF writes the findings as a SARIF 2.1.0 log for code scanning:
// one rule per finding ID, one result per finding, its objects as
// logical locations (the cluster has no files).
func AuditSARIF(w io.Writer, doc *posture.Document) error {
	rules := []map[string]any{}
	seen := map[string]bool{}
	results := []map[string]any{}
	for _, f := range doc.Findings {
		if !seen[f.ID] {
			seen[f.ID] = true
			rules = append(rules, map[string]any{"id": f.ID, "shortDescription": map[string]string{"text": f.Message}, "fullDescription": map[string]string{"text": f.Why}, "help": map[string]string{"text": f.Fix}})
		}
		results = append(results, sarifResult(f))
	}
	log := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []map[string]any{{
			"tool":    map[string]any{"driver": map[string]any{"name": "kubectl-netbaseline audit", "version": version.Get().Version, "informationUri": "https://github.com/netbaseline/kubectl-netbaseline", "rules": rules}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func sarifResult(f posture.Finding) map[string]any {
	locations := []map[string]any{}
	for _, o := range f.Objects {
		name := o // workloads are named with their namespace already
		if f.Namespace != "" && !strings.HasPrefix(o, f.Namespace+"/") {
			name = f.Namespace + "/" + o
		}
		locations = append(locations, map[string]any{"logicalLocations": []map[string]string{{"fullyQualifiedName": name, "kind": "resource"}}})
	}
	return map[string]any{"ruleId": f.ID, "level": sarifLevel[f.Severity], "message": map[string]string{"text": f.Message + ": " + f.Why + " Fix: " + f.Fix}, "locations": locations}
}
