package explain

import (
	"fmt"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// streamMatrix writes a matrix verdict by verdict: memory is that of the
// model whatever the number of verdicts. A table is measured in a first
// pass that keeps only the column widths.
func (c Config) streamMatrix(engine *policy.Engine, m matrixGroups, warnings []string) error {
	opts := output.StreamOptions{NoHeaders: c.NoHeaders, Warnings: warnings, OnlyAllowed: !c.drawsDenied()}
	if c.Output == "table" || c.Output == "wide" {
		_ = engine.MatrixBetween(m.sources, m.destinations, c.Ports, func(x policy.Explanation) error {
			if c.Only == "" || string(x.Verdict) == c.Only {
				opts.Widths.Measure(x)
			}
			return nil
		})
	}
	vw := output.NewVerdictWriter(c.Out, c.Output, opts)
	return c.feed(engine.MatrixBetween, m, vw.Write, vw.Close, true)
}

// feed streams the matrix into write, then calls done: every verdict
// counts for --expect; only those --only keeps are written, unless
// filtered is false (the page filters itself). It returns --expect's
// verdict once done succeeded.
func (c Config) feed(matrix func(sources, destinations []policy.Group, ports []policy.PortSpec, yield func(policy.Explanation) error) error,
	m matrixGroups, write func(policy.Explanation) error, done func() error, filtered bool) error {
	expect := newExpectations(c.Expect)
	progress := c.progress(len(m.destinations))
	err := matrix(m.sources, m.destinations, c.Ports, func(x policy.Explanation) error {
		progress.see(x)
		expect.see(x)
		if filtered && c.Only != "" && string(x.Verdict) != c.Only {
			return nil
		}
		return write(x)
	})
	progress.finish()
	if err != nil {
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

// expectAll is --expect over verdicts held in memory.
func expectAll(want string, xs []policy.Explanation) error {
	expect := newExpectations(want)
	for _, x := range xs {
		expect.see(x)
	}
	return expect.result()
}

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
	return exit.Unmetf("expected %s, but %d of %d verdict(s) differ:\n  %s", e.want, len(e.unmet)+e.more, e.seen, msg)
}

// namespaceMatrix aggregates the matrix per namespace pair and port as the
// engine streams it.
func (c Config) namespaceMatrix(engine *policy.Engine, m matrixGroups) error {
	if c.Matrix.GroupBy == "namespace" && c.Only == "" && c.Expect == "" {
		// Summed with sets of sources when only NetworkPolicy decides.
		if flows, ok := engine.NamespaceSums(m.sources, m.destinations, c.Ports); ok {
			return c.printFlows(flows)
		}
	}
	agg := policy.NewNamespaces()
	if c.Matrix.GroupBy == "workload" {
		agg = policy.NewWorkloads()
	}
	return c.feed(engine.MatrixVerdicts, m, agg.Add, func() error { return c.printFlows(agg.Flows()) }, true)
}

// printFlows prints the namespace or workload view.
func (c Config) printFlows(flows []policy.NamespaceFlow) error {
	switch c.Output {
	case "table":
		return output.NamespaceMatrixTable(c.Out, flows, c.NoHeaders)
	case "mermaid", "dot":
		return output.NamespaceGraph(c.Out, c.Output, flows, c.drawsDenied())
	}
	doc := output.NewNamespaceMatrix(flows)
	if c.Matrix.GroupBy == "workload" {
		doc.Kind = "WorkloadMatrix"
	}
	return output.WriteListDocument(c.Out, c.Output, doc.Kind, "flows", doc.Flows)
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
func (c Config) matrixGroups(engine *policy.Engine, snapshot *model.Model) (matrixGroups, error) {
	pods, err := c.matrixPods(snapshot)
	if err != nil {
		return matrixGroups{}, err
	}
	fromPods, err := focusPods(snapshot, "--from", c.Matrix.From)
	if err != nil {
		return matrixGroups{}, err
	}
	toPods, err := focusPods(snapshot, "--to", c.Matrix.To)
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
	if c.Matrix.GroupBy == "pod" {
		groups = engine.PodGroups(all)
	} else {
		groups = engine.Groups(all)
	}
	asked := podSet(pods)
	rows, columns := asked, asked
	if c.Matrix.From != nil {
		rows = podSet(fromPods)
	}
	if c.Matrix.To != nil {
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
			return nil, endpoint.ResolveExit(flag+" "+ep.Raw, err)
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

// drawsDenied: graphs leave denied connections out unless --only asks
// for them (a graph of a whole matrix would be mostly red).
func (c Config) drawsDenied() bool { return c.Only == "denied" || c.Only == "unspecified" }

// graphGroupLimit is where a graph of every group stops being readable
// (Graphviz and Mermaid both give up well before a few hundred nodes).
const graphGroupLimit = 40

// autoAggregate: a graph of more groups than that, unless --group-by was
// given, is drawn per namespace.
func (c Config) autoAggregate(groups int) bool {
	if (c.Output != "mermaid" && c.Output != "dot") || c.Matrix.GroupBySet {
		return false
	}
	return groups > graphGroupLimit
}

// htmlHintsLimit is the largest matrix (group pairs) whose page carries
// each verdict's hints: they cost a single question's time per verdict.
const htmlHintsLimit = 20000

// htmlMatrix writes the interactive page (-o html). --only sets the
// filter the page opens with; every verdict is in the page.
func (c Config) htmlMatrix(engine *policy.Engine, m matrixGroups, warnings []string) error {
	hints := len(m.sources)*len(m.destinations) <= htmlHintsLimit
	title := "kubectl netbaseline explain --matrix " + strings.Join(c.Matrix.Namespaces, " ")
	if c.Matrix.AllNamespaces {
		title = "kubectl netbaseline explain --matrix -A"
	}
	page := output.NewHTMLMatrix(c.Out, m.sources, m.destinations, output.HTMLOptions{Title: title, Only: c.Only, Warnings: warnings, Hints: hints})
	matrix := engine.MatrixBetween
	if hints {
		matrix = engine.MatrixWithHints
	}
	return c.feed(matrix, m, page.Write, page.Close, false)
}

// gridColumns is as wide as a terminal grid stays readable.
const gridColumns = 60

// gridMatrix prints the matrix as a truth table (-o grid).
func (c Config) gridMatrix(engine *policy.Engine, m matrixGroups) error {
	grid := output.NewGrid(m.sources, m.destinations)
	if grid.Columns() > gridColumns {
		fmt.Fprintf(c.ErrOut, "Warning: %d columns are wider than a terminal reads well (%d): --group-by namespace or workload summarises, fewer namespaces narrow it\n", grid.Columns(), gridColumns)
	}
	what := "each cell over every port the destination declares"
	if len(c.Ports) > 0 {
		var ps []string
		for _, p := range c.Ports {
			ps = append(ps, p.String())
		}
		what = "each cell on " + strings.Join(ps, ", ")
	}
	return c.feed(engine.MatrixVerdicts, m, grid.Add, func() error { return grid.Write(c.Out, what) }, true)
}

// matrix answers --matrix: streamed, drawn or summed per namespace.
func (c Config) matrix(engine *policy.Engine, snapshot *model.Model) error {
	m, err := c.matrixGroups(engine, snapshot)
	if err != nil {
		return err
	}
	if n := m.distinct(); c.autoAggregate(n) {
		fmt.Fprintf(c.ErrOut, "%d groups of pods are more than a readable graph holds (%d): drawing one node per namespace (--group-by labels draws every group, --group-by workload one per workload)\n", n, graphGroupLimit)
		matrix := *c.Matrix
		matrix.GroupBy = "namespace"
		c.Matrix = &matrix
	}
	switch {
	case c.Matrix.GroupBy == "namespace" || c.Matrix.GroupBy == "workload":
		return c.namespaceMatrix(engine, m)
	case c.Output == "grid":
		return c.gridMatrix(engine, m)
	case c.Output == "html":
		return c.htmlMatrix(engine, m, snapshot.Warnings)
	case output.WritesVerdicts(c.Output):
		return c.streamMatrix(engine, m, snapshot.Warnings)
	}
	var xs []policy.Explanation
	_ = engine.MatrixBetween(m.sources, m.destinations, c.Ports, func(x policy.Explanation) error {
		xs = append(xs, x)
		return nil
	})
	if err := c.print(xs, snapshot.Warnings); err != nil {
		return err
	}
	return expectAll(c.Expect, xs)
}

// matrixPods are the pods a matrix is drawn between; pods that could not
// be listed make the matrix unknown (exit 1), never an empty or partial
// one that looks complete.
func (c Config) matrixPods(m *model.Model) ([]*model.Pod, error) {
	pods, scope, err := c.matrixScope(m)
	if err != nil {
		return nil, err
	}
	if missing := m.Refusals([]string{"pods"}, scope); len(missing) > 0 {
		return nil, exit.Failedf("the matrix is unknown: %s", strings.Join(missing, "; "))
	}
	return pods, nil
}

// matrixScope is the matrix's pods and the namespaces they come from (nil
// for every namespace).
func (c Config) matrixScope(m *model.Model) ([]*model.Pod, []string, error) {
	namespaces := c.Matrix.Namespaces
	focused := len(c.Matrix.From)+len(c.Matrix.To) > 0
	switch {
	case c.Matrix.AllNamespaces:
		return m.Pods, nil, nil
	case len(namespaces) > 0:
	case focused:
		return m.Pods, nil, nil // a focused matrix looks at every namespace unless told
	case c.Matrix.CurrentNamespace != "":
		namespaces = []string{c.Matrix.CurrentNamespace}
	default:
		return nil, nil, exit.Usagef("--matrix needs namespaces: give them as arguments, with -n, or -A for all")
	}
	var pods []*model.Pod
	for _, ns := range namespaces {
		if m.CouldNotRead("pods", ns) {
			continue // matrixPods says so
		}
		if _, err := endpoint.Resolve(m, endpoint.Endpoint{Kind: endpoint.Namespace, Namespace: ns, Raw: ns}); err != nil {
			return nil, nil, exit.Usagef("%v", err)
		}
		pods = append(pods, m.PodsIn(ns)...)
	}
	return pods, namespaces, nil
}
