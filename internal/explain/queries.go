package explain

import (
	"fmt"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/queries"
)

// answer resolves every question (an unknown pod or namespace names its
// line, exit 2, before any verdict), then writes the verdicts and a
// summary on stderr; exit 3 when an expectation is not met.
func (c Config) answer(engine *policy.Engine, snapshot *model.Model) error {
	resolved, source, err := queries.ResolveFile(snapshot, c.QuestionsFrom, c.Questions, false)
	if err != nil {
		return err
	}
	var all []policy.Explanation
	var unmet []string
	verdicts := 0
	for _, r := range resolved {
		a, err := r.Answer(engine, source)
		if err != nil {
			return exit.Usagef("--queries %v", err)
		}
		verdicts += len(a.Verdicts)
		if !a.Met() {
			unmet = append(unmet, fmt.Sprintf("line %d: %s -> %s expected %s, got %s", a.Line, a.From.Raw, a.To.Raw, a.Expect, verdictList(a.Verdicts)))
		}
		if c.Output != "jsonl" {
			all = append(all, a.Verdicts...)
			continue
		}
		for _, x := range a.Verdicts {
			line := output.VerdictLine{Query: a.Line, Expect: a.Expect, Explanation: x}
			if a.Expect != "" {
				met := x.Verdict == a.Expect
				line.Met = &met
			}
			if err := output.WriteJSONLine(c.Out, line); err != nil {
				return err
			}
		}
	}
	if c.Output != "jsonl" {
		if err := c.print(all, snapshot.Warnings); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.ErrOut, "%d question(s), %d verdict(s): %d expectation(s) not met\n", len(resolved), verdicts, len(unmet))
	if len(unmet) > 0 {
		return exit.Unmetf("%d of %d question(s) did not get the verdict they expect:\n  %s", len(unmet), len(resolved), strings.Join(unmet, "\n  "))
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
