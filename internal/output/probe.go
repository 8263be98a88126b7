package output

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// ProbeTable prints FROM, TO, PORT, EXPECTED, OBSERVED, RESULT (wide adds
// the check, the agent's outcome, the time and the detail).
func ProbeTable(w io.Writer, obs []probe.Observation, wide bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if wide {
		fmt.Fprintln(tw, "FROM\tTO\tPORT\tCHECK\tEXPECTED\tOUTCOME\tOBSERVED\tRESULT\tMS\tDETAIL")
	} else {
		fmt.Fprintln(tw, "FROM\tTO\tPORT\tEXPECTED\tOBSERVED\tRESULT")
	}
	for _, o := range obs {
		if wide {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", o.From, o.To, o.Port, o.Kind, o.Expected, o.Outcome, o.Observed, o.Result, o.MS, dash(o.Detail))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.From, o.To, o.Port, o.Expected, o.Observed, o.Result)
		}
	}
	return tw.Flush()
}

// ProbeJUnit writes one test case per observation: mismatches and failed
// app checks are failures, probes that could not run are errors.
func ProbeJUnit(w io.Writer, obs []probe.Observation) error {
	cases := make([]testCase, 0, len(obs))
	for _, o := range obs {
		c := testCase{Name: fmt.Sprintf("%s -> %s %s", o.From, o.To, o.Port), ClassName: o.FromGroup, Seconds: float64(o.MS) / 1000}
		msg := fmt.Sprintf("expected %s, observed %s (%s)", o.Expected, o.Observed, o.Outcome)
		switch {
		case o.Failed():
			c.Failure = &caseProblem{Message: msg, Text: o.Detail}
		case o.Result == probe.ResultError:
			c.Error = &caseProblem{Message: msg, Text: o.Detail}
		}
		cases = append(cases, c)
	}
	return writeJUnit(w, "kubectl-netbaseline probe", cases)
}
