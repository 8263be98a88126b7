package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Grid is explain --matrix -o grid: a truth table with one row per source
// group and one column per destination group, a cell a mark. Over several
// ports a cell says whether the group pair connects on all, some or none
// of them. It holds one byte per cell, never the verdicts.
type Grid struct {
	rows, columns []string
	rowOf, colOf  map[string]int
	// same: rows and columns are the same groups, numbered alike.
	same bool
	// cells[row*len(columns)+column] accumulates what was seen:
	// gridAllowed, gridDenied, gridUnspecified bits.
	cells []uint8
}

const (
	gridAllowed uint8 = 1 << iota
	gridDenied
	gridUnspecified
)

// GridMarks explain the cells, in the legend and the docs.
const GridMarks = "+ allowed (on every port)   - denied (on every port)   ~ allowed on some ports   ? unspecified   (blank: no port to reach)"

// NewGrid makes an empty grid, rows the source groups and columns the
// destination groups, in their order (the same groups for a whole matrix).
func NewGrid(rows, columns []policy.Group) *Grid {
	g := &Grid{same: len(rows) == len(columns)}
	g.rows, g.rowOf = gridNames(rows)
	g.columns, g.colOf = gridNames(columns)
	for i := range g.rows {
		if g.same && g.rows[i] != g.columns[i] {
			g.same = false
		}
	}
	g.cells = make([]uint8, len(rows)*len(columns))
	return g
}

func gridNames(groups []policy.Group) ([]string, map[string]int) {
	names := make([]string, len(groups))
	index := make(map[string]int, len(groups))
	for i, gr := range groups {
		names[i] = gr.Name
		index[gr.Name] = i
	}
	return names, index
}

// Columns is how many destination columns the grid has.
func (g *Grid) Columns() int { return len(g.columns) }

// Add records one verdict.
func (g *Grid) Add(x policy.Explanation) error {
	from, ok1 := g.rowOf[x.FromGroup]
	to, ok2 := g.colOf[x.ToGroup]
	if !ok1 || !ok2 {
		return fmt.Errorf("grid: unknown group in %s -> %s", x.FromGroup, x.ToGroup)
	}
	bit := gridDenied
	switch x.Verdict {
	case policy.Allowed:
		bit = gridAllowed
	case policy.Unspecified:
		bit = gridUnspecified
	}
	g.cells[from*len(g.columns)+to] |= bit
	return nil
}

func gridMark(c uint8) byte {
	switch {
	case c == 0:
		return ' '
	case c&gridUnspecified != 0:
		return '?'
	case c == gridAllowed:
		return '+'
	case c == gridDenied:
		return '-'
	}
	return '~'
}

// Write prints the table: numbered columns, each row's number, its marks
// and its group; then the legend naming the columns when they are not the
// rows.
func (g *Grid) Write(w io.Writer, what string) error {
	n := len(g.columns)
	width := len(fmt.Sprint(max(n, len(g.rows))))
	var b strings.Builder
	pad := strings.Repeat(" ", width+2)
	// Column numbers, written vertically so that every column is one
	// character wide whatever the number of groups.
	for d := 0; d < width; d++ {
		b.WriteString(pad)
		for c := 1; c <= n; c++ {
			s := fmt.Sprintf("%*d", width, c)
			b.WriteByte(s[d])
		}
		b.WriteByte('\n')
	}
	for r := range g.rows {
		fmt.Fprintf(&b, "%*d  ", width, r+1)
		for c := 0; c < n; c++ {
			b.WriteByte(gridMark(g.cells[r*n+c]))
		}
		fmt.Fprintf(&b, "  %s\n", g.rows[r])
	}
	if g.same {
		fmt.Fprintf(&b, "\nRows are sources, columns destinations (the same %d groups, numbered as the rows); %s.\n%s\n", n, what, GridMarks)
	} else {
		fmt.Fprintf(&b, "\nRows are sources (%s), columns destinations (%s):\n", plural(len(g.rows), "group"), plural(n, "group"))
		for c, name := range g.columns {
			fmt.Fprintf(&b, "%*d  %s\n", width, c+1, name)
		}
		fmt.Fprintf(&b, "%s.\n%s\n", upperFirst(what), GridMarks)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
