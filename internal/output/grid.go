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
	names []string
	index map[string]int
	// cells[from*n+to] accumulates what was seen: gridAllowed, gridDenied,
	// gridUnspecified bits.
	cells []uint8
}

const (
	gridAllowed uint8 = 1 << iota
	gridDenied
	gridUnspecified
)

// GridMarks explain the cells, in the legend and the docs.
const GridMarks = "+ allowed (on every port)   - denied (on every port)   ~ allowed on some ports   ? unspecified   (blank: no port to reach)"

// NewGrid makes an empty grid over the groups, in their order.
func NewGrid(groups []policy.Group) *Grid {
	g := &Grid{index: make(map[string]int, len(groups))}
	for i, gr := range groups {
		g.names = append(g.names, gr.Name)
		g.index[gr.Name] = i
	}
	g.cells = make([]uint8, len(groups)*len(groups))
	return g
}

// Columns is how many destination columns the grid has.
func (g *Grid) Columns() int { return len(g.names) }

// Add records one verdict.
func (g *Grid) Add(x policy.Explanation) error {
	from, ok1 := g.index[x.FromGroup]
	to, ok2 := g.index[x.ToGroup]
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
	g.cells[from*len(g.names)+to] |= bit
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
// and its group; then the legend naming every column.
func (g *Grid) Write(w io.Writer, what string) error {
	n := len(g.names)
	width := len(fmt.Sprint(n))
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
	for r := 0; r < n; r++ {
		fmt.Fprintf(&b, "%*d  ", width, r+1)
		for c := 0; c < n; c++ {
			b.WriteByte(gridMark(g.cells[r*n+c]))
		}
		fmt.Fprintf(&b, "  %s\n", g.names[r])
	}
	fmt.Fprintf(&b, "\nRows are sources, columns destinations (the same %d groups, numbered as the rows); %s.\n%s\n", n, what, GridMarks)
	_, err := io.WriteString(w, b.String())
	return err
}
