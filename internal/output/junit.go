package output

import (
	"encoding/xml"
	"io"
	"strconv"
)

// testCase is one test case of a JUnit report: a finding, a probe.
type testCase struct {
	Name, ClassName string
	// Seconds is the time the case took (omitted when zero).
	Seconds float64
	// At most one of these is set: a failed expectation, a case that
	// could not run, a case that was not checked.
	Failure, Error, Skipped *caseProblem
}

// caseProblem is why a case failed, errored or was skipped.
type caseProblem struct {
	Message, Text string
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func (p *caseProblem) xml() *junitProblem {
	if p == nil {
		return nil
	}
	return &junitProblem{Message: p.Message, Text: p.Text}
}

// writeJUnit writes one test suite in the JUnit XML format CI systems
// read (the Ant schema: testsuite, testcase, failure, error, skipped).
func writeJUnit(w io.Writer, suite string, cases []testCase) error {
	s := junitSuite{Name: suite, Tests: len(cases)}
	for _, c := range cases {
		jc := junitCase{Name: c.Name, ClassName: c.ClassName, Failure: c.Failure.xml(), Error: c.Error.xml(), Skipped: c.Skipped.xml()}
		if c.Seconds > 0 {
			jc.Time = formatSeconds(c.Seconds)
		}
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
		s.Cases = append(s.Cases, jc)
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

func formatSeconds(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
