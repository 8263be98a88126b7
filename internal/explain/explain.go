// Package explain is explain's use case: read the model once through an
// injected loader, compile the engine, and answer one question, a file of
// questions or a matrix, writing the verdicts in the format asked. The
// command only turns flags into a Config.
package explain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/gctune"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
)

// Config is one run of explain. Exactly one of a question (From, To), a
// file of questions (Questions) or a matrix (Matrix) is asked.
type Config struct {
	From, To endpoint.Endpoint
	// Ports are the destination ports asked (none: every declared port).
	Ports   []policy.PortSpec
	AllPods bool

	Questions []queries.Question
	// QuestionsFrom names the questions' file in messages ("-" is stdin).
	QuestionsFrom string

	Matrix *Matrix

	// Staged previews Calico's staged policies as if promoted.
	Staged    bool
	Only      string // allowed, denied, unspecified or "" (every verdict)
	Expect    string // allowed, denied or "" (no expectation)
	Output    string
	NoHeaders bool

	// Load reads the model (files or the cluster).
	Load func(ctx context.Context) (*model.Model, error)
	// PrintTable prints kubectl's tables and custom columns.
	PrintTable  func(io.Writer, output.Table, output.TableOptions) error
	Out, ErrOut io.Writer
	// Progress shows a long matrix's progress (nil: quiet); Now is its
	// clock (nil: the wall clock).
	Progress *Progress
	Now      func() time.Time
}

// Matrix asks every group of some namespaces against every group.
type Matrix struct {
	// Namespaces asked; none with AllNamespaces, or with a focus and no
	// namespace (every namespace then).
	Namespaces    []string
	AllNamespaces bool
	// CurrentNamespace is -n when given: the namespace of a matrix that
	// names none.
	CurrentNamespace string
	// From and To focus the rows and the columns (nil: not focused).
	From, To []endpoint.Endpoint
	// GroupBy: labels, pod, workload or namespace. GroupBySet: it was
	// asked for, so a large graph is not aggregated.
	GroupBy    string
	GroupBySet bool
}

// Run reads the model once and answers.
func Run(ctx context.Context, c Config) error {
	snapshot, engine, err := c.build(ctx)
	if err != nil {
		return err
	}
	for _, w := range snapshot.Warnings {
		fmt.Fprintf(c.ErrOut, "Warning: %s\n", w)
	}
	for _, p := range engine.Problems {
		fmt.Fprintf(c.ErrOut, "Warning: %s\n", p)
	}
	switch {
	case c.QuestionsFrom != "":
		return c.answer(engine, snapshot)
	case c.Matrix != nil:
		return c.matrix(engine, snapshot)
	}
	return c.question(engine, snapshot)
}

// question answers SOURCE DEST.
func (c Config) question(engine *policy.Engine, snapshot *model.Model) error {
	from, err := endpoint.Resolve(snapshot, c.From)
	if err != nil {
		return endpoint.ResolveExit("SOURCE", err)
	}
	to, err := endpoint.Resolve(snapshot, c.To)
	if err != nil {
		return endpoint.ResolveExit("DEST", err)
	}
	xs, err := engine.Explain(policy.Query{From: from, To: to, Ports: c.Ports, AllPods: c.AllPods})
	if err != nil {
		var qe *policy.QueryError
		if errors.As(err, &qe) {
			return exit.Usagef("%v", err)
		}
		return err
	}
	if err := c.print(xs, snapshot.Warnings); err != nil {
		return err
	}
	return expectAll(c.Expect, xs)
}

// build reads the model and compiles the engine, with the collector tuned
// for that burst of short-lived allocations (gctune.Roomy).
func (c Config) build(ctx context.Context) (*model.Model, *policy.Engine, error) {
	defer gctune.Roomy()()
	snapshot, err := c.Load(ctx)
	if err != nil {
		return nil, nil, err
	}
	if c.Staged {
		fmt.Fprintf(c.ErrOut, "Previewing %d staged Calico policies as if promoted\n", snapshot.StagedCount())
		snapshot = snapshot.WithStaged()
	}
	return snapshot, policy.New(snapshot), nil
}

// ReadNamespaces are the namespaces to read one by one when cluster-wide
// lists are forbidden.
func (c Config) ReadNamespaces() []string {
	if c.QuestionsFrom != "" {
		return queries.Namespaces(c.Questions)
	}
	if c.Matrix != nil {
		if len(c.Matrix.Namespaces) == 0 && c.Matrix.CurrentNamespace != "" {
			return []string{c.Matrix.CurrentNamespace}
		}
		return c.Matrix.Namespaces
	}
	var out []string
	seen := map[string]bool{}
	for _, ep := range []endpoint.Endpoint{c.From, c.To} {
		if ep.Namespace != "" && !seen[ep.Namespace] {
			seen[ep.Namespace] = true
			out = append(out, ep.Namespace)
		}
	}
	return out
}

// print writes verdicts held in memory (a question, the questions of a
// file, a small matrix).
func (c Config) print(xs []policy.Explanation, warnings []string) error {
	if c.Only != "" {
		kept := xs[:0:0]
		for _, x := range xs {
			if string(x.Verdict) == c.Only {
				kept = append(kept, x)
			}
		}
		xs = kept
	}
	if spec, ok := strings.CutPrefix(c.Output, "custom-columns="); ok {
		rows := make([]any, 0, len(xs))
		for _, x := range xs {
			rows = append(rows, x)
		}
		return c.PrintTable(c.Out, output.Table{Objects: rows}, output.TableOptions{CustomColumns: spec, NoHeaders: c.NoHeaders})
	}
	if !output.WritesVerdicts(c.Output) {
		return exit.Usagef("-o %s: not an explain format", c.Output)
	}
	opts := output.StreamOptions{NoHeaders: c.NoHeaders, Warnings: warnings, OnlyAllowed: c.Matrix != nil && !c.drawsDenied()}
	for _, x := range xs {
		opts.Widths.Measure(x)
	}
	vw := output.NewVerdictWriter(c.Out, c.Output, opts)
	for _, x := range xs {
		if err := vw.Write(x); err != nil {
			return err
		}
	}
	return vw.Close()
}
