package output

import (
	"encoding/xml"
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

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// ProbeJUnit writes one test case per observation: mismatches and failed
// app checks are failures, probes that could not run are errors.
func ProbeJUnit(w io.Writer, obs []probe.Observation) error {
	s := junitSuite{Name: "kubectl-netbaseline probe", Tests: len(obs)}
	for _, o := range obs {
		c := junitCase{Name: fmt.Sprintf("%s -> %s %s", o.From, o.To, o.Port), ClassName: o.FromGroup, Time: fmt.Sprintf("%.3f", float64(o.MS)/1000)}
		msg := fmt.Sprintf("expected %s, observed %s (%s)", o.Expected, o.Observed, o.Outcome)
		switch {
		case o.Failed():
			s.Failures++
			c.Failure = &junitProblem{Message: msg, Text: o.Detail}
		case o.Result == probe.ResultError:
			s.Errors++
			c.Error = &junitProblem{Message: msg, Text: o.Detail}
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
