package cmd

import (
	"fmt"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// streamMatrix writes a matrix verdict by verdict: memory is that of the
// model whatever the number of verdicts. A table is measured in a first
// pass that keeps only the column widths.
func (o *ExplainOptions) streamMatrix(engine *policy.Engine, pods []*model.Pod, warnings []string) error {
	var widths output.TableWidths
	if o.Output == "table" || o.Output == "wide" {
		_ = engine.MatrixEachOf(o.groups(engine, pods), o.ports, func(x policy.Explanation) error {
			if o.Only == "" || string(x.Verdict) == o.Only {
				widths.Measure(x)
			}
			return nil
		})
	}
	vw := output.NewVerdictWriter(o.Out, o.Output, widths, o.NoHeaders, warnings)
	expect := newExpectations(o.Expect)
	if err := engine.MatrixEachOf(o.groups(engine, pods), o.ports, func(x policy.Explanation) error {
		expect.see(x)
		if o.Only != "" && string(x.Verdict) != o.Only {
			return nil
		}
		return vw.Write(x)
	}); err != nil {
		return err
	}
	if err := vw.Close(); err != nil {
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
func (o *ExplainOptions) namespaceMatrix(engine *policy.Engine, pods []*model.Pod) error {
	agg := policy.NewNamespaces()
	if o.GroupBy == "workload" {
		agg = policy.NewWorkloads()
	}
	expect := newExpectations(o.Expect)
	if err := engine.MatrixEachOf(o.groups(engine, pods), o.ports, func(x policy.Explanation) error {
		expect.see(x)
		if o.Only != "" && string(x.Verdict) != o.Only {
			return nil
		}
		return agg.Add(x)
	}); err != nil {
		return err
	}
	flows := agg.Flows()
	var err error
	switch o.Output {
	case "table":
		err = output.NamespaceMatrixTable(o.Out, flows, o.NoHeaders)
	case "mermaid", "dot":
		err = output.NamespaceGraph(o.Out, o.Output, flows)
	default:
		doc := output.NewNamespaceMatrix(flows)
		if o.GroupBy == "workload" {
			doc.Kind = "WorkloadMatrix"
		}
		err = output.WriteDocument(o.Out, o.Output, doc)
	}
	if err != nil {
		return err
	}
	return expect.result()
}

// groups are the matrix's rows: groups of pods alike (labels, workload,
// namespace), or every pod (pod).
func (o *ExplainOptions) groups(engine *policy.Engine, pods []*model.Pod) []policy.Group {
	if o.GroupBy == "pod" {
		return engine.PodGroups(pods)
	}
	return engine.Groups(pods)
}

// graphGroupLimit is where a graph of every group stops being readable
// (Graphviz and Mermaid both give up well before a few hundred nodes).
const graphGroupLimit = 40

// autoAggregate: a graph of more groups than that, unless --group-by was
// given, is drawn per namespace.
func (o *ExplainOptions) autoAggregate(engine *policy.Engine, pods []*model.Pod) bool {
	if (o.Output != "mermaid" && o.Output != "dot") || o.groupBySet {
		return false
	}
	return len(engine.Groups(pods)) > graphGroupLimit
}

// gridColumns is as wide as a terminal grid stays readable.
const gridColumns = 60

// gridMatrix prints the matrix as a truth table (-o grid).
func (o *ExplainOptions) gridMatrix(engine *policy.Engine, pods []*model.Pod) error {
	groups := o.groups(engine, pods)
	grid := output.NewGrid(groups)
	if grid.Columns() > gridColumns {
		fmt.Fprintf(o.ErrOut, "Warning: %d columns are wider than a terminal reads well (%d): --group-by namespace or workload summarises, fewer namespaces narrow it\n", grid.Columns(), gridColumns)
	}
	expect := newExpectations(o.Expect)
	if err := engine.MatrixEachOf(groups, o.ports, func(x policy.Explanation) error {
		expect.see(x)
		if o.Only != "" && string(x.Verdict) != o.Only {
			return nil
		}
		return grid.Add(x)
	}); err != nil {
		return err
	}
	what := "each cell over every port the destination declares"
	if len(o.ports) > 0 {
		var ps []string
		for _, p := range o.ports {
			ps = append(ps, p.String())
		}
		what = "each cell on " + strings.Join(ps, ", ")
	}
	if err := grid.Write(o.Out, what); err != nil {
		return err
	}
	return expect.result()
}
