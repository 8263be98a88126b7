package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
)

// readQuestions parses every line of --queries before anything is read
// from the cluster: a bad line is exit 2, naming it.
func (o *ExplainOptions) readQuestions() error {
	qs, err := readQuestions(o.Inputs(), o.Queries, o.DefaultNamespace())
	o.questions = qs
	return err
}

// readQuestions reads a questions file (explain and probe --queries).
func readQuestions(in *input.Reader, path string, defaultNamespace string) ([]queries.Question, error) {
	text, err := in.Text(path)
	if err != nil {
		return nil, usageErrorf("--queries %v", err)
	}
	qs, err := queries.Parse(bytes.NewReader(text), input.Source(path), defaultNamespace)
	if err != nil {
		return nil, usageErrorf("--queries %v", err)
	}
	return qs, nil
}

// answer resolves every question (an unknown pod or namespace names its
// line, exit 2, before any verdict), then writes the verdicts and a
// summary on stderr; exit 3 when an expectation is not met.
func (o *ExplainOptions) answer(engine *policy.Engine, snapshot *model.Model) error {
	source := o.Queries
	if source == "-" {
		source = "stdin"
	}
	resolved, err := queries.Resolve(snapshot, source, o.questions, false)
	if err != nil {
		var unreadable *model.UnreadableError
		if errors.As(err, &unreadable) {
			return &ExitError{Code: ExitFailed, Err: err}
		}
		return usageErrorf("--queries %v", err)
	}
	var all []policy.Explanation
	var unmet []string
	verdicts := 0
	for _, r := range resolved {
		a, err := r.Answer(engine, source)
		if err != nil {
			return usageErrorf("--queries %v", err)
		}
		verdicts += len(a.Verdicts)
		if !a.Met() {
			unmet = append(unmet, fmt.Sprintf("line %d: %s -> %s expected %s, got %s", a.Line, a.From.Raw, a.To.Raw, a.Expect, verdictList(a.Verdicts)))
		}
		if o.Output != "jsonl" {
			all = append(all, a.Verdicts...)
			continue
		}
		for _, x := range a.Verdicts {
			line := output.VerdictLine{Query: a.Line, Expect: a.Expect, Explanation: x}
			if a.Expect != "" {
				met := x.Verdict == a.Expect
				line.Met = &met
			}
			if err := output.WriteJSONLine(o.Out, line); err != nil {
				return err
			}
		}
	}
	if o.Output != "jsonl" {
		if err := o.print(all, snapshot.Warnings); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.ErrOut, "%d question(s), %d verdict(s): %d expectation(s) not met\n", len(resolved), verdicts, len(unmet))
	if len(unmet) > 0 {
		return &ExitError{Code: ExitUnmet, Err: fmt.Errorf("%d of %d question(s) did not get the verdict they expect:\n  %s", len(unmet), len(resolved), strings.Join(unmet, "\n  "))}
	}
	return nil
}

func verdictList(xs []policy.Explanation) string {
	if len(xs) == 0 {
		return "no verdict (nothing to evaluate)"
	}
	counts := map[policy.Verdict]int{}
	for _, x := range xs {
		counts[x.Verdict]++
	}
	var parts []string
	for _, v := range []policy.Verdict{policy.Allowed, policy.Denied, policy.Unspecified} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	return strings.Join(parts, ", ")
}
