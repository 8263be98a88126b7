// Package output renders every document for people and machines: tables,
// Markdown, graphs (Mermaid, Graphviz dot), JSON and YAML documents, JUnit.
package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// ExplainResult is the document explain prints with -o json|yaml.
type ExplainResult struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Verdicts   []policy.Explanation `json:"verdicts"`
	// Warnings say what could not be read; absent when all was read.
	Warnings []string `json:"warnings,omitempty"`
}

// NewExplainResult wraps explanations in the versioned document.
func NewExplainResult(xs []policy.Explanation, warnings []string) ExplainResult {
	if xs == nil {
		xs = []policy.Explanation{}
	}
	return ExplainResult{APIVersion: ownership.APIVersion, Kind: "ExplainResult", Verdicts: xs, Warnings: warnings}
}

// PortLabel is "3001/TCP", or "http (3001/TCP)" for a named port.
func PortLabel(x policy.Explanation) string {
	p := fmt.Sprintf("%d/%s", x.Port, x.Protocol)
	if x.PortName != "" {
		p = x.PortName + " (" + p + ")"
	}
	if x.RequestedPort != "" {
		p = x.RequestedPort + " -> " + p
	}
	return p
}

// reason summarizes why, in a few words per side.
func reason(x policy.Explanation) string {
	var parts []string
	if x.Verdict == policy.Unspecified {
		for _, h := range x.Hints {
			switch h.Code {
			case policy.HintHostNetwork, policy.HintOtherPolicyLayers, policy.HintPoliciesUnreadable, policy.HintClusterPoliciesUnreadable, "NotAnIP":
				return h.Message
			}
		}
	}
	for _, s := range []struct {
		name string
		side *policy.Side
	}{{"egress", x.Egress}, {"ingress", x.Ingress}} {
		if s.side != nil {
			parts = append(parts, s.name+": "+SideReason(s.side))
		}
	}
	return strings.Join(parts, "; ")
}

// SideReason says in a few words which tier and rule decided a side:
// "admin: deny by guardrails[2] (priority 10)", "pass by guardrails[0]
// (priority 10) → allowed by allow-dns[0]", "baseline: deny by default[0]".
func SideReason(s *policy.Side) string {
	if s.Verdict == policy.Unspecified && s.Undecided != "" {
		return "unspecified (" + s.Undecided + ")"
	}
	prefix := ""
	if s.Admin != nil && s.Tier != policy.TierAdmin {
		prefix = s.Admin.String() + " → "
	}
	switch s.Tier {
	case policy.TierAdmin:
		return "admin: " + s.Admin.String()
	case policy.TierBaseline:
		return prefix + "baseline: " + s.Baseline.String()
	case policy.TierNetworkPolicy:
		if len(s.AllowedBy) > 0 {
			return prefix + "allowed by " + refs(s.AllowedBy)
		}
		return prefix + "denied (isolated by " + strings.Join(s.IsolatedBy, ", ") + "; no rule matches)"
	}
	if s.Baseline != nil {
		prefix += "baseline: " + s.Baseline.String() + " → "
	}
	return prefix + "not isolated"
}

func refs(rs []policy.RuleRef) string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%s[%d]", r.Name, r.Rule)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// ExplainTable prints FROM, TO, PORT, VERDICT, REASON; wide adds the
// groups and the hint codes; noHeaders drops the header line.
func ExplainTable(w io.Writer, xs []policy.Explanation, wide, noHeaders bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	switch {
	case noHeaders:
	case wide:
		fmt.Fprintln(tw, "FROM\tFROM GROUP\tTO\tTO GROUP\tPORT\tVERDICT\tREASON\tHINTS")
	default:
		fmt.Fprintln(tw, "FROM\tTO\tPORT\tVERDICT\tREASON")
	}
	for _, x := range xs {
		if wide {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.From, dash(x.FromGroup), x.To, dash(x.ToGroup), PortLabel(x), x.Verdict, reason(x), dash(hintCodes(x.Hints)))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.From, x.To, PortLabel(x), x.Verdict, reason(x))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !wide {
		return printHints(w, xs, "")
	}
	return nil
}

func printHints(w io.Writer, xs []policy.Explanation, bullet string) error {
	seen := map[string]bool{}
	var lines []string
	for _, x := range xs {
		for _, h := range x.Hints {
			line := fmt.Sprintf("%s%s: %s", bullet, h.Code, h.Message)
			if !seen[line] {
				seen[line] = true
				lines = append(lines, line)
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\nHints:\n%s\n", strings.Join(lines, "\n"))
	return err
}

func hintCodes(hs []policy.Hint) string {
	var codes []string
	seen := map[string]bool{}
	for _, h := range hs {
		if !seen[h.Code] {
			seen[h.Code] = true
			codes = append(codes, h.Code)
		}
	}
	return strings.Join(codes, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ExplainMarkdown prints a Markdown table and the hints as a list.
func ExplainMarkdown(w io.Writer, xs []policy.Explanation) error {
	fmt.Fprintln(w, "| from | to | port | verdict | why |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, x := range xs {
		fmt.Fprintf(w, "| %s | %s | %s | **%s** | %s |\n", mdEscape(x.From), mdEscape(x.To), mdEscape(PortLabel(x)), x.Verdict, mdEscape(reason(x)))
	}
	return printHints(w, xs, "- ")
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// edge is one arrow of a graph: group to group with its ports.
type edge struct {
	from, to string
	// allowed by a policy; open: allowed because nothing isolates it.
	allowed, open []string
	denied        []string
}

// namespaceNodes are the nodes of one namespace, for its box.
type namespaceNodes struct {
	name  string
	nodes []string
}

// byNamespace groups sorted node names ("ns/kind/name") by namespace.
func byNamespace(nodes []string) []namespaceNodes {
	var out []namespaceNodes
	for _, n := range nodes {
		ns, _, _ := strings.Cut(n, "/")
		if len(out) == 0 || out[len(out)-1].name != ns {
			out = append(out, namespaceNodes{name: ns})
		}
		out[len(out)-1].nodes = append(out[len(out)-1].nodes, n)
	}
	return out
}

// open: allowed because no tier decides either side.
func open(x policy.Explanation) bool {
	decided := func(s *policy.Side) bool { return s != nil && s.Tier != policy.TierNone }
	return x.Verdict == policy.Allowed && !decided(x.Egress) && !decided(x.Ingress)
}

func edges(xs []policy.Explanation) ([]string, []*edge) {
	nodes := map[string]bool{}
	index := map[string]*edge{}
	var out []*edge
	for _, x := range xs {
		from, to := nodeName(x.FromGroup, x.From), nodeName(x.ToGroup, x.To)
		nodes[from], nodes[to] = true, true
		key := from + "\x00" + to
		e, ok := index[key]
		if !ok {
			e = &edge{from: from, to: to}
			index[key] = e
			out = append(out, e)
		}
		label := fmt.Sprintf("%d/%s", x.Port, x.Protocol)
		switch {
		case open(x):
			e.open = append(e.open, label)
		case x.Verdict == policy.Allowed:
			e.allowed = append(e.allowed, label)
		default:
			e.denied = append(e.denied, label+" "+string(x.Verdict))
		}
	}
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, out
}

func nodeName(group, name string) string {
	if group != "" {
		return group
	}
	return name
}

// ExplainMermaid draws a flowchart, one box per namespace: connections a
// policy allows as arrows, those allowed because nothing isolates them as
// dotted arrows; with onlyAllowed false, denied ones as crossed arrows.
func ExplainMermaid(w io.Writer, xs []policy.Explanation, onlyAllowed bool) error {
	nodes, es := edges(xs)
	id := map[string]string{}
	fmt.Fprintln(w, "flowchart LR")
	for i, n := range nodes {
		id[n] = fmt.Sprintf("n%d", i)
	}
	for i, ns := range byNamespace(nodes) {
		fmt.Fprintf(w, "  subgraph ns%d [\"%s\"]\n", i, ns.name)
		for _, n := range ns.nodes {
			fmt.Fprintf(w, "    %s[\"%s\"]\n", id[n], n)
		}
		fmt.Fprintln(w, "  end")
	}
	for _, e := range es {
		if len(e.allowed) > 0 {
			fmt.Fprintf(w, "  %s -->|\"%s\"| %s\n", id[e.from], strings.Join(e.allowed, ", "), id[e.to])
		}
		if len(e.open) > 0 {
			fmt.Fprintf(w, "  %s -.->|\"%s (not isolated)\"| %s\n", id[e.from], strings.Join(e.open, ", "), id[e.to])
		}
		if len(e.denied) > 0 && !onlyAllowed {
			fmt.Fprintf(w, "  %s --x|\"%s\"| %s\n", id[e.from], strings.Join(e.denied, ", "), id[e.to])
		}
	}
	return nil
}

// ExplainDot draws a Graphviz digraph, one cluster box per namespace:
// edges a policy allows solid, those allowed because nothing isolates them
// dotted, denied ones red and dashed (unless onlyAllowed).
func ExplainDot(w io.Writer, xs []policy.Explanation, onlyAllowed bool) error {
	nodes, es := edges(xs)
	fmt.Fprintln(w, "digraph netbaseline {")
	fmt.Fprintln(w, "  rankdir=LR;")
	fmt.Fprintln(w, "  node [shape=box];")
	for i, ns := range byNamespace(nodes) {
		fmt.Fprintf(w, "  subgraph cluster_%d {\n    label=%q;\n", i, ns.name)
		for _, n := range ns.nodes {
			fmt.Fprintf(w, "    %q;\n", n)
		}
		fmt.Fprintln(w, "  }")
	}
	for _, e := range es {
		if len(e.allowed) > 0 {
			fmt.Fprintf(w, "  %q -> %q [label=%q];\n", e.from, e.to, strings.Join(e.allowed, ", "))
		}
		if len(e.open) > 0 {
			fmt.Fprintf(w, "  %q -> %q [label=%q, style=dotted];\n", e.from, e.to, strings.Join(e.open, ", ")+" (not isolated)")
		}
		if len(e.denied) > 0 && !onlyAllowed {
			fmt.Fprintf(w, "  %q -> %q [label=%q, color=red, style=dashed];\n", e.from, e.to, strings.Join(e.denied, ", "))
		}
	}
	fmt.Fprintln(w, "}")
	return nil
}

// WriteExplainJSON streams the document verdict by verdict, so a matrix of
// a large cluster never sits in memory twice. The bytes equal
// json.MarshalIndent(result, "", "  ").
func WriteExplainJSON(w io.Writer, r ExplainResult) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	header, err := json.Marshal(struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}{r.APIVersion, r.Kind})
	if err != nil {
		return err
	}
	var head bytes.Buffer
	if err := json.Indent(&head, header, "", "  "); err != nil {
		return err
	}
	// Drop the closing brace to continue the object.
	fmt.Fprintf(bw, "%s,\n  \"verdicts\": [", strings.TrimSuffix(strings.TrimSpace(head.String()), "\n}"))
	for i, v := range r.Verdicts {
		b, err := json.MarshalIndent(v, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		bw.Write(b)
	}
	if len(r.Verdicts) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]")
	if len(r.Warnings) > 0 {
		b, err := json.MarshalIndent(r.Warnings, "  ", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(bw, ",\n  \"warnings\": %s", b)
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// VerdictLine is one line of explain -o jsonl: a verdict in the verdict
// schema and, for explain --queries, the question's line, what it
// expected and whether that was met.
type VerdictLine struct {
	Query  int            `json:"query,omitempty"`
	Expect policy.Verdict `json:"expect,omitempty"`
	Met    *bool          `json:"met,omitempty"`
	policy.Explanation
}

// WriteJSONLine writes v as one compact JSON line (JSON Lines).
func WriteJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
