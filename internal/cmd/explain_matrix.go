package cmd

import (
	"fmt"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// streamMatrix writes a matrix verdict by verdict: memory is that of the
// model whatever the number of verdicts. A table is measured in a first
// pass that keeps only the column widths.
func (o *ExplainOptions) streamMatrix(engine *policy.Engine, m matrixGroups, warnings []string) error {
	opts := output.StreamOptions{NoHeaders: o.NoHeaders, Warnings: warnings, OnlyAllowed: true}
	if o.Output == "table" || o.Output == "wide" {
		_ = engine.MatrixBetween(m.sources, m.destinations, o.ports, func(x policy.Explanation) error {
			if o.Only == "" || string(x.Verdict) == o.Only {
				opts.Widths.Measure(x)
			}
			return nil
		})
	}
	vw := output.NewVerdictWriter(o.Out, o.Output, opts)
	return o.feed(engine.MatrixBetween, m, vw.Write, vw.Close, true)
}

// feed streams the matrix into write, then calls done: every verdict
// counts for --expect; only those --only keeps are written, unless
// filtered is false (the page filters itself). It returns --expect's
// verdict once done succeeded.
func (o *ExplainOptions) feed(matrix func(sources, destinations []policy.Group, ports []policy.PortSpec, yield func(policy.Explanation) error) error,
	m matrixGroups, write func(policy.Explanation) error, done func() error, filtered bool) error {
	expect := newExpectations(o.Expect)
	if err := matrix(m.sources, m.destinations, o.ports, func(x policy.Explanation) error {
		expect.see(x)
		if filtered && o.Only != "" && string(x.Verdict) != o.Only {
			return nil
		}
		return write(x)
	}); err != nil {
		return err
	}
	if err := done(); err != nil {
		return err
	}
	return expect.result()
}

// expectations tracks --expect over a stream, keeping the first misses.
type expectations struct {
	want  string
	seen  int
	unmet []string
	more  int
}

func newExpectations(want string) *expectations { return &expectations{want: want} }

const shownMisses = 20

func (e *expectations) see(x policy.Explanation) {
	if e.want == "" {
		return
	}
	e.seen++
	if string(x.Verdict) == e.want {
		return
	}
	if len(e.unmet) < shownMisses {
		e.unmet = append(e.unmet, fmt.Sprintf("%s -> %s %s is %s", x.From, x.To, output.PortLabel(x), x.Verdict))
	} else {
		e.more++
	}
}

func (e *expectations) result() error {
	if e.want == "" || len(e.unmet) == 0 {
		return nil
	}
	msg := strings.Join(e.unmet, "\n  ")
	if e.more > 0 {
		msg += fmt.Sprintf("\n  … and %d more", e.more)
	}
	return &ExitError{Code: ExitUnmet, Err: fmt.Errorf("expected %s, but %d of %d verdict(s) differ:\n  %s", e.want, len(e.unmet)+e.more, e.seen, msg)}
}

// namespaceMatrix aggregates the matrix per namespace pair and port as the
// engine streams it.
func (o *ExplainOptions) namespaceMatrix(engine *policy.Engine, m matrixGroups) error {
	if o.GroupBy == "namespace" && o.Only == "" && o.Expect == "" {
		// Summed with sets of sources when only NetworkPolicy decides.
		if flows, ok := engine.NamespaceSums(m.sources, m.destinations, o.ports); ok {
			return o.printFlows(flows)
		}
	}
	agg := policy.NewNamespaces()
	if o.GroupBy == "workload" {
		agg = policy.NewWorkloads()
	}
	return o.feed(engine.MatrixVerdicts, m, agg.Add, func() error { return o.printFlows(agg.Flows()) }, true)
}

// printFlows prints the namespace or workload view.
func (o *ExplainOptions) printFlows(flows []policy.NamespaceFlow) error {
	switch o.Output {
	case "table":
		return output.NamespaceMatrixTable(o.Out, flows, o.NoHeaders)
	case "mermaid", "dot":
		return output.NamespaceGraph(o.Out, o.Output, flows)
	}
	doc := output.NewNamespaceMatrix(flows)
	if o.GroupBy == "workload" {
		doc.Kind = "WorkloadMatrix"
	}
	return output.WriteListDocument(o.Out, o.Output, doc.Kind, "flows", doc.Flows)
}

// matrixGroups are a matrix's rows (sources) and columns (destinations).
type matrixGroups struct {
	sources, destinations []policy.Group
}

// distinct counts the groups that appear as a row or a column.
func (m matrixGroups) distinct() int {
	seen := map[string]bool{}
	for _, gs := range [][]policy.Group{m.sources, m.destinations} {
		for _, g := range gs {
			seen[g.Name] = true
		}
	}
	return len(seen)
}

// matrixGroups groups the pods of the namespaces asked (labels, or one per
// pod with --group-by pod); --from keeps as rows only the groups holding
// one of its pods, --to does the same for the columns. Groups are made
// over every pod involved at once, so a group has one name in both.
func (o *ExplainOptions) matrixGroups(engine *policy.Engine, snapshot *model.Model) (matrixGroups, error) {
	pods, err := o.matrixPods(snapshot)
	if err != nil {
		return matrixGroups{}, err
	}
	fromPods, err := focusPods(snapshot, "--from", o.fromFocus)
	if err != nil {
		return matrixGroups{}, err
	}
	toPods, err := focusPods(snapshot, "--to", o.toFocus)
	if err != nil {
		return matrixGroups{}, err
	}
	inNamespaces := podSet(pods)
	all := pods
	for _, p := range append(append([]*model.Pod{}, fromPods...), toPods...) {
		if !inNamespaces[p] {
			inNamespaces[p] = true
			all = append(all, p)
		}
	}
	var groups []policy.Group
	if o.GroupBy == "pod" {
		groups = engine.PodGroups(all)
	} else {
		groups = engine.Groups(all)
	}
	asked := podSet(pods)
	rows, columns := asked, asked
	if o.fromFocus != nil {
		rows = podSet(fromPods)
	}
	if o.toFocus != nil {
		columns = podSet(toPods)
	}
	return matrixGroups{sources: groupsHolding(groups, rows), destinations: groupsHolding(groups, columns)}, nil
}

// focusPods resolves --from or --to to their pods.
func focusPods(snapshot *model.Model, flag string, eps []endpoint.Endpoint) ([]*model.Pod, error) {
	var pods []*model.Pod
	for _, ep := range eps {
		t, err := endpoint.Resolve(snapshot, ep)
		if err != nil {
			return nil, resolveError(flag+" "+ep.Raw, err)
		}
		pods = append(pods, t.Pods...)
	}
	return pods, nil
}

func podSet(pods []*model.Pod) map[*model.Pod]bool {
	set := make(map[*model.Pod]bool, len(pods))
	for _, p := range pods {
		set[p] = true
	}
	return set
}

func groupsHolding(groups []policy.Group, pods map[*model.Pod]bool) []policy.Group {
	var out []policy.Group
	for _, g := range groups {
		for _, p := range g.Pods {
			if pods[p] {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// parseFocus parses --from and --to: names of pods, never addresses or
// ports (a matrix evaluates every port the destinations declare, or --port).
func (o *ExplainOptions) parseFocus() error {
	parse := func(flag string, values []string, role endpoint.Role) ([]endpoint.Endpoint, error) {
		var out []endpoint.Endpoint
		for _, v := range values {
			ep, err := endpoint.ParseIn(v, role, o.DefaultNamespace())
			if err != nil {
				return nil, usageErrorf("%s %v", flag, err)
			}
			switch {
			case ep.HasPort():
				return nil, usageErrorf("%s %q: give ports with --port", flag, v)
			case ep.Kind == endpoint.Service && role == endpoint.Source:
				return nil, usageErrorf("%s %q: a Service is a destination; name its pods' workload", flag, v)
			case ep.Kind != endpoint.Namespace && ep.Kind != endpoint.Pod && ep.Kind != endpoint.Workload && ep.Kind != endpoint.Service:
				return nil, usageErrorf("%s %q: a matrix focuses on pods: NS, NS/POD or NS/KIND/NAME", flag, v)
			}
			out = append(out, ep)
		}
		return out, nil
	}
	var err error
	if o.fromFocus, err = parse("--from", o.Sources, endpoint.Source); err != nil {
		return err
	}
	o.toFocus, err = parse("--to", o.Destinations, endpoint.Destination)
	return err
}

// graphGroupLimit is where a graph of every group stops being readable
// (Graphviz and Mermaid both give up well before a few hundred nodes).
const graphGroupLimit = 40

// autoAggregate: a graph of more groups than that, unless --group-by was
// given, is drawn per namespace.
func (o *ExplainOptions) autoAggregate(groups int) bool {
	if (o.Output != "mermaid" && o.Output != "dot") || o.groupBySet {
		return false
	}
	return groups > graphGroupLimit
}

// htmlHintsLimit is the largest matrix (group pairs) whose page carries
// each verdict's hints: they cost a single question's time per verdict.
const htmlHintsLimit = 20000

// htmlMatrix writes the interactive page (-o html). --only sets the
// filter the page opens with; every verdict is in the page.
func (o *ExplainOptions) htmlMatrix(engine *policy.Engine, m matrixGroups, warnings []string) error {
	hints := len(m.sources)*len(m.destinations) <= htmlHintsLimit
	title := "kubectl netbaseline explain --matrix " + strings.Join(o.args, " ")
	if o.AllNamespaces {
		title = "kubectl netbaseline explain --matrix -A"
	}
	page := output.NewHTMLMatrix(o.Out, m.sources, m.destinations, output.HTMLOptions{Title: title, Only: o.Only, Warnings: warnings, Hints: hints})
	matrix := engine.MatrixBetween
	if hints {
		matrix = engine.MatrixWithHints
	}
	return o.feed(matrix, m, page.Write, page.Close, false)
}

// gridColumns is as wide as a terminal grid stays readable.
const gridColumns = 60

// gridMatrix prints the matrix as a truth table (-o grid).
func (o *ExplainOptions) gridMatrix(engine *policy.Engine, m matrixGroups) error {
	grid := output.NewGrid(m.sources, m.destinations)
	if grid.Columns() > gridColumns {
		fmt.Fprintf(o.ErrOut, "Warning: %d columns are wider than a terminal reads well (%d): --group-by namespace or workload summarises, fewer namespaces narrow it\n", grid.Columns(), gridColumns)
	}
	what := "each cell over every port the destination declares"
	if len(o.ports) > 0 {
		var ps []string
		for _, p := range o.ports {
			ps = append(ps, p.String())
		}
		what = "each cell on " + strings.Join(ps, ", ")
	}
	return o.feed(engine.MatrixVerdicts, m, grid.Add, func() error { return grid.Write(o.Out, what) }, true)
}
