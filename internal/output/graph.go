package output

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// graph is a drawing for -o dot and -o mermaid, whatever it shows (a
// matrix, its namespace sums, the changes of a flow diff): its nodes,
// boxed per namespace when their names carry one, and its edges in order.
type graph struct {
	nodes map[string]bool
	// boxed: one box per namespace (node names "ns/…").
	boxed bool
	edges []graphEdge
}

type graphEdge struct {
	from, to, label string
	style           edgeStyle
}

// edgeStyle is how each format draws an edge: Graphviz attributes after
// the label, and Mermaid's arrow.
type edgeStyle struct{ dot, mermaid string }

var (
	solidEdge  = edgeStyle{"", "-->"}
	dashedEdge = edgeStyle{"style=dashed", "-.->"}
	dottedEdge = edgeStyle{"style=dotted", "-.->"}
	deniedEdge = edgeStyle{"color=red, style=dashed", "--x"}
)

func newGraph(boxed bool) *graph { return &graph{nodes: map[string]bool{}, boxed: boxed} }

func (g *graph) node(name string) { g.nodes[name] = true }

// edge adds an arrow labelled with the joined labels, when there are any.
func (g *graph) edge(from, to string, labels []string, suffix string, style edgeStyle) {
	if len(labels) == 0 {
		return
	}
	g.node(from)
	g.node(to)
	g.edges = append(g.edges, graphEdge{from: from, to: to, label: strings.Join(labels, ", ") + suffix, style: style})
}

func (g *graph) sortedNodes() []string {
	names := make([]string, 0, len(g.nodes))
	for n := range g.nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// write draws the graph as format ("dot" or "mermaid").
func (g *graph) write(w io.Writer, format string) error {
	names := g.sortedNodes()
	boxes := []namespaceNodes{{nodes: names}}
	if g.boxed {
		boxes = byNamespace(names)
	}
	if format == "dot" {
		fmt.Fprintln(w, "digraph netbaseline {")
		fmt.Fprintln(w, "  rankdir=LR;")
		fmt.Fprintln(w, "  node [shape=box];")
		for i, box := range boxes {
			indent := "  "
			if g.boxed {
				fmt.Fprintf(w, "  subgraph cluster_%d {\n    label=%q;\n", i, box.name)
				indent = "    "
			}
			for _, n := range box.nodes {
				fmt.Fprintf(w, "%s%q;\n", indent, n)
			}
			if g.boxed {
				fmt.Fprintln(w, "  }")
			}
		}
		for _, e := range g.edges {
			attrs := ""
			if e.style.dot != "" {
				attrs = ", " + e.style.dot
			}
			fmt.Fprintf(w, "  %q -> %q [label=%q%s];\n", e.from, e.to, e.label, attrs)
		}
		_, err := fmt.Fprintln(w, "}")
		return err
	}
	id := make(map[string]string, len(names))
	for i, n := range names {
		id[n] = fmt.Sprintf("n%d", i)
	}
	fmt.Fprintln(w, "flowchart LR")
	for i, box := range boxes {
		indent := "  "
		if g.boxed {
			fmt.Fprintf(w, "  subgraph ns%d [\"%s\"]\n", i, box.name)
			indent = "    "
		}
		for _, n := range box.nodes {
			fmt.Fprintf(w, "%s%s[\"%s\"]\n", indent, id[n], n)
		}
		if g.boxed {
			fmt.Fprintln(w, "  end")
		}
	}
	for _, e := range g.edges {
		if _, err := fmt.Fprintf(w, "  %s %s|\"%s\"| %s\n", id[e.from], e.style.mermaid, e.label, id[e.to]); err != nil {
			return err
		}
	}
	return nil
}
