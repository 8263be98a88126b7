package output

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// FlowDiff is the document diff --flows prints with -o json.
type FlowDiff struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Changes    []policy.FlowChange `json:"changes"`
}

// NewFlowDiff wraps the changes in the versioned document.
func NewFlowDiff(changes []policy.FlowChange) FlowDiff {
	if changes == nil {
		changes = []policy.FlowChange{}
	}
	return FlowDiff{APIVersion: ownership.APIVersion, Kind: "FlowDiff", Changes: changes}
}

// FlowDiffTable prints FROM, TO, PORT and the verdict before and after
// (headed before and after: NOW and AFTER APPLY, or OLD and NEW).
func FlowDiffTable(w io.Writer, changes []policy.FlowChange, before, after string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "FROM\tTO\tPORT\t%s\t%s\n", before, after)
	for _, c := range changes {
		port := fmt.Sprintf("%d/%s", c.Port, c.Protocol)
		if c.PortName != "" {
			port = c.PortName + " (" + port + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.FromGroup, c.ToGroup, port, c.Before, c.After)
	}
	return tw.Flush()
}

// NamespaceMatrix is the document explain --matrix --group-by namespace
// prints with -o json|yaml.
type NamespaceMatrix struct {
	APIVersion string                 `json:"apiVersion"`
	Kind       string                 `json:"kind"`
	Flows      []policy.NamespaceFlow `json:"flows"`
}

// NewNamespaceMatrix wraps the aggregated flows in the versioned document.
func NewNamespaceMatrix(flows []policy.NamespaceFlow) NamespaceMatrix {
	if flows == nil {
		flows = []policy.NamespaceFlow{}
	}
	return NamespaceMatrix{APIVersion: ownership.APIVersion, Kind: "NamespaceMatrix", Flows: flows}
}

// NamespaceMatrixTable prints FROM, TO, PORT, ALLOWED (all/some/none with
// counts of group pairs) and an example of an allowed and a denied pair.
func NamespaceMatrixTable(w io.Writer, flows []policy.NamespaceFlow, noHeaders bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if !noHeaders {
		fmt.Fprintln(tw, "FROM\tTO\tPORT\tALLOWED\tEXAMPLE ALLOWED\tEXAMPLE DENIED")
	}
	for _, f := range flows {
		total := f.Allowed + f.Denied + f.Unspecified
		allowed := fmt.Sprintf("%s (%d/%d)", f.Reach, f.Allowed, total)
		if f.Unspecified > 0 {
			allowed += fmt.Sprintf(", %d unspecified", f.Unspecified)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%s\t%s\t%s\t%s\n", f.From, f.To, f.Port, f.Protocol, allowed, dash(f.Examples.Allowed), dash(f.Examples.Denied))
	}
	return tw.Flush()
}

// NamespaceGraph draws the namespace (or workload) view: an arrow where
// every group pair is allowed on a port, dashed where some are; with
// denied, the pairs denied on a port too, red and crossed (--only denied
// asks for them). Pairs with nothing to draw are left out.
func NamespaceGraph(w io.Writer, format string, flows []policy.NamespaceFlow, denied bool) error {
	type pair struct{ from, to string }
	var order []pair
	labels := map[pair]map[string][]string{} // pair -> "all"/"some"/"denied" -> ports
	nodes := map[string]bool{}
	add := func(p pair, kind, label string) {
		if labels[p] == nil {
			labels[p] = map[string][]string{}
			order = append(order, p)
		}
		labels[p][kind] = append(labels[p][kind], label)
	}
	for _, f := range flows {
		nodes[f.From], nodes[f.To] = true, true
		p, port := pair{f.From, f.To}, fmt.Sprintf("%d/%s", f.Port, f.Protocol)
		total := f.Allowed + f.Denied + f.Unspecified
		switch f.Reach {
		case "all":
			add(p, "all", port)
		case "some":
			add(p, "some", fmt.Sprintf("%s %d/%d", port, f.Allowed, total))
		}
		if denied && f.Denied > 0 {
			add(p, "denied", fmt.Sprintf("%s %d/%d denied", port, f.Denied, total))
		}
	}
	g := newGraph(false)
	for n := range nodes {
		g.node(n)
		g.boxed = g.boxed || strings.Contains(n, "/") // workloads, boxed per namespace
	}
	for _, p := range order {
		g.edge(p.from, p.to, labels[p]["all"], "", solidEdge)
		g.edge(p.from, p.to, labels[p]["some"], " (some)", dashedEdge)
		g.edge(p.from, p.to, labels[p]["denied"], "", deniedEdge)
	}
	return g.write(w, format)
}

// FlowDiffGraph draws only the changes as a Mermaid flowchart or a
// Graphviz digraph, groups boxed by namespace: connections that open as
// solid (green in dot) arrows, those that close as crossed (red, dashed),
// others (to or from unspecified) dotted; labels say port and before → after.
func FlowDiffGraph(w io.Writer, format string, changes []policy.FlowChange) error {
	type pair struct{ from, to string }
	var order []pair
	kinds := map[pair]map[string][]string{} // pair -> opens|closes|other -> labels
	for _, c := range changes {
		p := pair{nodeName(c.FromGroup, c.From), nodeName(c.ToGroup, c.To)}
		if kinds[p] == nil {
			kinds[p] = map[string][]string{}
			order = append(order, p)
		}
		kind := "other"
		switch {
		case c.After == policy.Allowed && c.Before == policy.Denied:
			kind = "opens"
		case c.After == policy.Denied && c.Before == policy.Allowed:
			kind = "closes"
		}
		kinds[p][kind] = append(kinds[p][kind], fmt.Sprintf("%d/%s %s→%s", c.Port, c.Protocol, c.Before, c.After))
	}
	g := newGraph(true)
	style := map[string]edgeStyle{"opens": {"color=darkgreen", "-->"}, "closes": {"color=red, style=dashed", "--x"}, "other": {"color=gray, style=dotted", "-.->"}}
	for _, p := range order {
		for _, kind := range []string{"opens", "closes", "other"} {
			g.edge(p.from, p.to, kinds[p][kind], "", style[kind])
		}
	}
	return g.write(w, format)
}
