package output

import (
	"strings"
	"testing"
)

// Every document is named in messages and printed by json and yaml, and
// the registry's answers follow its entries.
func TestFormatRegistry(t *testing.T) {
	for _, doc := range everyDocument {
		if describe[doc] == "" {
			t.Errorf("%s has no description", doc)
		}
		for _, format := range []string{"json", "yaml", "jsonpath={.kind}", "go-template={{.kind}}"} {
			if err := CheckFormat(format, doc, doc); err != nil {
				t.Errorf("-o %s for %s: %v", format, doc, err)
			}
		}
	}
	if err := CheckFormat("custom-columns=A:.from", Matrix, Verdicts, Matrix); err != nil {
		t.Error(err)
	}
	if err := CheckFormat("grid", Verdicts, Verdicts, Matrix); err == nil || !strings.Contains(err.Error(), "-o grid draws a --matrix") {
		t.Errorf("grid for a question: %v", err)
	}
	if err := CheckFormat("jsonl", Doctor, Doctor); err == nil || !strings.Contains(err.Error(), `unknown output format "jsonl": use one of table, wide, json, yaml, custom-columns=`) {
		t.Errorf("jsonl for doctor: %v", err)
	}
	if got := strings.Join(FormatNames(Report), ","); got != "wide,json,yaml,md,jsonpath=,jsonpath-file=,go-template=,go-template-file=" {
		t.Errorf("report's formats: %s", got)
	}
	if !WritesVerdicts("jsonpath={.kind}") || !WritesVerdicts("csv") || WritesVerdicts("grid") || WritesVerdicts("custom-columns=A:.from") {
		t.Error("WritesVerdicts")
	}
}
