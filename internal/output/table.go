package output

import (
	"strings"
)

// Column is one column of a table; Wide columns show with -o wide only.
type Column struct {
	Name string
	Wide bool
}

// Table is rows of cells plus, per row, the document it stands for (what
// -o custom-columns paths are evaluated on).
type Table struct {
	Columns []Column
	Rows    [][]any
	Objects []any
}

// TableOptions are kubectl's table flags.
type TableOptions struct {
	NoHeaders bool
	Wide      bool
	// CustomColumns is the spec of -o custom-columns=NAME:.path,...
	CustomColumns string
}

// ParseTableFormat splits -o into the table options: "" or "table", "wide",
// "custom-columns=SPEC"; ok is false for any other format.
func ParseTableFormat(format string, noHeaders bool) (TableOptions, bool) {
	opts := TableOptions{NoHeaders: noHeaders}
	switch {
	case format == "" || format == "table":
	case format == "wide":
		opts.Wide = true
	case strings.HasPrefix(format, "custom-columns="):
		opts.CustomColumns = strings.TrimPrefix(format, "custom-columns=")
	default:
		return opts, false
	}
	return opts, true
}
