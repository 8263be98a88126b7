package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -o jsonpath= and go-template= run on every JSON document explain
// prints: a question's verdicts, a matrix, its namespace view, --queries.
func TestExplainTemplates(t *testing.T) {
	files := sampleFiles(t)
	explain := func(args ...string) result {
		return run(t, append(append([]string{"explain"}, files...), args...)...)
	}
	tmpl := filepath.Join(t.TempDir(), "verdicts.tmpl")
	if err := os.WriteFile(tmpl, []byte(`{{range .verdicts}}{{.from}} {{.verdict}}{{"\n"}}{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"monitoring", "backend-dev:3001", "-o", "jsonpath={.verdicts[*].verdict}"}, "denied"},
		{[]string{"monitoring", "backend-dev:3001", "-o", "jsonpath={.kind}"}, "ExplainResult"},
		{[]string{"monitoring", "backend-dev:3001", "-o", `go-template={{range .verdicts}}{{.verdict}}{{end}}`}, "denied"},
		{[]string{"monitoring", "backend-dev:3001", "-o", "go-template-file=" + tmpl}, " denied\n"},
		{[]string{"--matrix", "-A", "--port", "3001", "-o", "jsonpath={.verdicts[0].kind}{.kind}"}, "ExplainResult"},
		{[]string{"--matrix", "-A", "--group-by", "namespace", "-o", "jsonpath={.kind}"}, "NamespaceMatrix"},
	}
	for _, tt := range tests {
		r := explain(tt.args...)
		if r.code != 0 || !strings.Contains(r.stdout, tt.want) {
			t.Errorf("explain %v: exit %d, stdout %q, stderr %q; want %q", tt.args, r.code, r.stdout, r.stderr, tt.want)
		}
	}
}

func badTemplate(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "bad.jsonpath")
	if err := os.WriteFile(p, []byte("{.verdicts["), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func emptyFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A bad template, a missing file, a format for another document: exit 2
// before anything is read.
func TestOutputFormatsRefused(t *testing.T) {
	files := sampleFiles(t)
	bad := badTemplate(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"explain", "monitoring", "backend-dev:3001", "-o", "jsonpath={.verdicts["}, "-o jsonpath:"},
		{[]string{"explain", "monitoring", "backend-dev:3001", "-o", "go-template={{.verdicts"}, "-o go-template:"},
		{[]string{"explain", "monitoring", "backend-dev:3001", "-o", "jsonpath="}, "-o jsonpath: no template given"},
		{[]string{"explain", "monitoring", "backend-dev:3001", "-o", "go-template-file=-"}, "-o go-template-file=-: a template is read from a file"},
		{[]string{"explain", "monitoring", "backend-dev:3001", "-o", "jsonpath-file=" + bad}, "-o jsonpath-file=" + bad + ": unterminated array"},
		{[]string{"explain", "monitoring", "backend-dev:3001", "-o", "jsonpath-file=" + emptyFile(t)}, "the file is empty"},
		{[]string{"explain", "monitoring", "backend-dev:3001", "-o", "jsonpath-file=/nonexistent/t"}, "-o jsonpath-file=/nonexistent/t"},
		{[]string{"explain", "monitoring", "backend-dev:3001", "-o", "grid"}, "-o grid draws a --matrix, one row per group or pod; a question (SOURCE DEST) prints"},
		{[]string{"explain", "--matrix", "-A", "--group-by", "workload", "-o", "csv"}, "-o csv prints a --matrix by group or pod: use --group-by labels or pod; --matrix --group-by namespace|workload prints table, json, yaml, mermaid, dot"},
		{[]string{"report", "-o", "table"}, `unknown output format "table": use one of wide, json, yaml, md`},
		{[]string{"doctor", "-o", "jsonl"}, `unknown output format "jsonl"`},
	}
	for _, tt := range tests {
		args := tt.args
		if args[0] == "explain" {
			args = append(append([]string{"explain"}, files...), args[1:]...)
		}
		r := run(t, args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}
