// Package output renders every document for people and machines: tables,
// Markdown, graphs (Mermaid, Graphviz dot), JSON and YAML documents, JUnit.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

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

// Reason is the REASON column of explain: in a few words per side, which
// tier, policy and rule decided, or why the verdict is unspecified.
func Reason(x policy.Explanation) string {
	var parts []string
	if x.Verdict == policy.Unspecified {
		for _, h := range x.Hints {
			switch h.Code {
			case policy.HintHostNetwork, policy.HintOtherPolicyLayers, policy.HintPoliciesUnreadable, policy.HintClusterPoliciesUnreadable, policy.HintNamespaceLabelsUnknown, "NotAnIP":
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
	case policy.TierCilium:
		if s.Cilium == nil {
			return "cilium: " + string(s.Verdict)
		}
		return s.Cilium.String()
	case policy.TierCalico:
		if s.Calico == nil {
			return "calico: " + string(s.Verdict)
		}
		return "calico: " + s.Calico.String()
	case policy.TierAdmin:
		return "admin: " + s.Admin.String()
	case policy.TierStrictMode:
		return prefix + "strict mode: denied (the EKS agent's strict mode; no NetworkPolicy selects the pod)"
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

// edgeSet gathers a graph's edges as verdicts arrive: one edge per group
// pair, never the verdicts themselves.
type edgeSet struct {
	nodes map[string]bool
	index map[string]*edge
	out   []*edge
}

func newEdgeSet() *edgeSet {
	return &edgeSet{nodes: map[string]bool{}, index: map[string]*edge{}}
}

func (s *edgeSet) add(x policy.Explanation) {
	from, to := nodeName(x.FromGroup, x.From), nodeName(x.ToGroup, x.To)
	s.nodes[from], s.nodes[to] = true, true
	key := from + "\x00" + to
	e, ok := s.index[key]
	if !ok {
		e = &edge{from: from, to: to}
		s.index[key] = e
		s.out = append(s.out, e)
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

func nodeName(group, name string) string {
	if group != "" {
		return group
	}
	return name
}

// drawEdges draws a matrix, one box per namespace: connections a policy
// allows solid, those allowed because nothing isolates them dotted, and,
// unless onlyAllowed, denied ones red and crossed or dashed.
func drawEdges(w io.Writer, format string, es *edgeSet, onlyAllowed bool) error {
	g := newGraph(true)
	for n := range es.nodes {
		g.node(n)
	}
	for _, e := range es.out {
		g.edge(e.from, e.to, e.allowed, "", solidEdge)
		g.edge(e.from, e.to, e.open, " (not isolated)", dottedEdge)
		if !onlyAllowed {
			g.edge(e.from, e.to, e.denied, "", deniedEdge)
		}
	}
	return g.write(w, format)
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
	if line, ok := v.(VerdictLine); ok {
		if b, ok := appendVerdictLine(nil, &line); ok {
			_, err := w.Write(append(b, '\n'))
			return err
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
