package output

import (
	"fmt"
	"slices"
	"strings"
)

// Document is what a command prints. Every output format registers once,
// below, with the documents it can print: a command's -o flag (its help,
// its completion, its validation) is derived from the registry.
type Document string

// The documents.
const (
	// Verdicts are explain's answers to SOURCE DEST.
	Verdicts Document = "verdicts"
	// Queries are explain --queries' answers.
	Queries Document = "queries"
	// Matrix is explain --matrix by group or by pod.
	Matrix Document = "matrix"
	// Flows is explain --matrix --group-by namespace|workload.
	Flows    Document = "flows"
	Doctor   Document = "doctor"
	Probe    Document = "probe"
	Report   Document = "report"
	Discover Document = "discover"
	// Audit is audit's exposure, entry points, findings and scores.
	Audit Document = "audit"
)

// describe names a document in messages.
var describe = map[Document]string{
	Verdicts: "a question (SOURCE DEST)", Queries: "--queries", Matrix: "--matrix", Flows: "--matrix --group-by namespace|workload",
	Doctor: "doctor", Probe: "probe", Report: "report", Discover: "discover", Audit: "audit",
}

// Format is one -o format.
type Format struct {
	// Name is the -o value; one ending in "=" takes an argument.
	Name string
	// Docs are the documents it prints.
	Docs []Document
	// Streams: a matrix is written verdict by verdict as the engine
	// decides, never held (only a table's column widths are measured
	// first); otherwise the verdicts are collected.
	Streams bool
	// Needs says, where it is given for a document it cannot print,
	// what it is for.
	Needs string
}

var everyDocument = []Document{Verdicts, Queries, Matrix, Flows, Doctor, Probe, Report, Discover, Audit}

// Formats is the registry, in the order help lists them.
var Formats = []Format{
	{Name: "table", Docs: []Document{Verdicts, Queries, Matrix, Flows, Doctor, Probe, Audit}, Streams: true},
	{Name: "wide", Docs: []Document{Verdicts, Queries, Matrix, Doctor, Probe, Report, Audit}, Streams: true},
	{Name: "json", Docs: everyDocument, Streams: true},
	{Name: "jsonl", Docs: []Document{Verdicts, Queries, Matrix}, Streams: true},
	{Name: "csv", Docs: []Document{Verdicts, Matrix}, Streams: true},
	{Name: "yaml", Docs: everyDocument, Streams: true},
	{Name: "md", Docs: []Document{Verdicts, Matrix, Report, Audit}, Streams: true},
	{Name: "junit", Docs: []Document{Audit}, Needs: "is audit's findings as JUnit XML"},
	{Name: "sarif", Docs: []Document{Audit}, Needs: "is audit's findings as SARIF 2.1.0"},
	{Name: "mermaid", Docs: []Document{Verdicts, Matrix, Flows}, Streams: true},
	{Name: "dot", Docs: []Document{Verdicts, Matrix, Flows}, Streams: true},
	{Name: "grid", Docs: []Document{Matrix}, Needs: "draws a --matrix, one row per group or pod"},
	{Name: "html", Docs: []Document{Matrix}, Needs: "is the page of a --matrix by group or pod (explain --matrix -A -o html > matrix.html)"},
	{Name: "custom-columns=", Docs: []Document{Verdicts, Matrix, Doctor, Probe}},
	{Name: "jsonpath=", Docs: everyDocument},
	{Name: "jsonpath-file=", Docs: everyDocument},
	{Name: "go-template=", Docs: everyDocument},
	{Name: "go-template-file=", Docs: everyDocument},
}

// lookup finds the format of an -o value ("custom-columns=NAME:.from" is
// custom-columns=).
func lookup(value string) (Format, bool) {
	for _, f := range Formats {
		if value == f.Name || (strings.HasSuffix(f.Name, "=") && strings.HasPrefix(value, f.Name)) {
			return f, true
		}
	}
	return Format{}, false
}

// FormatNames are the formats that print any of the documents, for a
// command's help and completion.
func FormatNames(docs ...Document) []string {
	var out []string
	for _, f := range Formats {
		if slices.ContainsFunc(docs, func(d Document) bool { return slices.Contains(f.Docs, d) }) {
			out = append(out, f.Name)
		}
	}
	return out
}

// CheckFormat says whether -o value prints doc; command lists every
// document of the command (for the list of formats an unknown one gets).
func CheckFormat(value string, doc Document, command ...Document) error {
	f, ok := lookup(value)
	if !ok || !slices.ContainsFunc(command, func(d Document) bool { return slices.Contains(f.Docs, d) }) {
		return fmt.Errorf("unknown output format %q: use one of %s", value, strings.Join(FormatNames(command...), ", "))
	}
	if slices.Contains(f.Docs, doc) {
		return nil
	}
	name := strings.TrimSuffix(f.Name, "=")
	if doc == Flows && slices.Contains(f.Docs, Matrix) {
		return fmt.Errorf("-o %s prints a --matrix by group or pod: use --group-by labels or pod; %s prints %s", name, describe[doc], strings.Join(FormatNames(doc), ", "))
	}
	if f.Needs != "" {
		return fmt.Errorf("-o %s %s; %s prints %s", name, f.Needs, describe[doc], strings.Join(FormatNames(doc), ", "))
	}
	return fmt.Errorf("-o %s: %s prints %s", name, describe[doc], strings.Join(FormatNames(doc), ", "))
}

// WritesVerdicts reports whether a VerdictWriter writes the format.
func WritesVerdicts(value string) bool {
	f, ok := lookup(value)
	return ok && (f.Streams || isTemplate(value))
}
