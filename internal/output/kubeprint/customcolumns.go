package kubeprint

// -o custom-columns, as kubectl get prints it, without importing kubectl's
// get command: its package initialisers cost about 40 ms of every start
// (GODEBUG=inittrace=1), for this one printer. The logic follows
// k8s.io/kubectl/pkg/cmd/get/customcolumn.go (Apache-2.0), and
// TestCustomColumnsAsKubectlPrintsThem holds it to kubectl's output.

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/util/jsonpath"
)

// column is one HEADER:FIELDSPEC of a spec.
type column struct {
	header string
	parser *jsonpath.JSONPath
}

// relaxedPath accepts name1.name2, .name1.name2, {name1.name2} and
// {.name1.name2}, as kubectl's RelaxedJSONPathExpression.
var relaxedPath = regexp.MustCompile(`^\{\.?([^{}]+)\}$|^\.?([^{}]+)$`)

// parseCustomColumns reads a comma-separated list of HEADER:FIELDSPEC.
func parseCustomColumns(spec string) ([]column, error) {
	if spec == "" {
		return nil, fmt.Errorf("custom-columns format specified but no custom columns given")
	}
	parts := strings.Split(spec, ",")
	columns := make([]column, len(parts))
	for i, part := range parts {
		header, path, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", part)
		}
		expr := path
		if path != "" {
			m := relaxedPath.FindStringSubmatch(path)
			if m == nil {
				return nil, fmt.Errorf("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'")
			}
			expr = "{." + m[1] + m[2] + "}"
		}
		p := jsonpath.New(fmt.Sprintf("column%d", i)).AllowMissingKeys(true)
		if err := p.Parse(expr); err != nil {
			return nil, err
		}
		columns[i] = column{header: header, parser: p}
	}
	return columns, nil
}

// printCustomColumns prints one row per object: each column's values
// joined by commas, <none> when it has none, aligned as kubectl aligns
// them.
func printCustomColumns(out io.Writer, columns []column, objects []map[string]any, noHeaders bool) error {
	w := printers.GetNewTabWriter(out)
	if !noHeaders {
		headers := make([]string, len(columns))
		for i, c := range columns {
			headers[i] = c.header
		}
		fmt.Fprintln(w, strings.Join(headers, "\t"))
	}
	for _, obj := range objects {
		cells := make([]string, len(columns))
		for i, c := range columns {
			values, err := c.parser.FindResults(obj)
			if err != nil {
				return err
			}
			var parts []string
			if len(values) == 0 || len(values[0]) == 0 {
				parts = append(parts, "<none>")
			}
			for _, vs := range values {
				for _, v := range vs {
					parts = append(parts, printers.EscapeTerminal(fmt.Sprint(v.Interface())))
				}
			}
			cells[i] = strings.Join(parts, ",")
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	return w.Flush()
}
