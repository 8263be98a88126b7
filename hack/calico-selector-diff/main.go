// Command calico-selector-diff is the oracle of the differential test of
// internal/calico (TestDifferentialAgainstCalico): it evaluates selectors
// with Calico's own parser, libcalico-go/lib/selector at the release-v3.28
// commit the test bed runs.
//
// It reads JSON lines {"selector": s, "labels": [{k: v}, ...]} on stdin and
// writes one JSON line per input: {"ok": bool, "string": canonical form,
// "restring": the canonical form of the canonical form, "matches": [bool per
// label set]}. The two forms differ when Calico prints a negated negation
// ("!(!x)" as "!!x"), which internal/calico drops. It lives in its own module so that the
// plugin's go.mod never requires Calico.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/projectcalico/calico/libcalico-go/lib/selector"
	"github.com/sirupsen/logrus"
)

type query struct {
	Selector string              `json:"selector"`
	Labels   []map[string]string `json:"labels"`
}

type answer struct {
	OK       bool   `json:"ok"`
	String   string `json:"string,omitempty"`
	Restring string `json:"restring,omitempty"`
	Matches  []bool `json:"matches,omitempty"`
}

func main() {
	// Calico's parser logs every parse at debug level; keep stderr quiet.
	logrus.SetLevel(logrus.WarnLevel)
	if err := serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "calico-selector-diff:", err)
		os.Exit(1)
	}
}

func serve(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReaderSize(in, 1<<20))
	w := bufio.NewWriterSize(out, 1<<20)
	enc := json.NewEncoder(w)
	for {
		var q query
		if err := dec.Decode(&q); err == io.EOF {
			return w.Flush()
		} else if err != nil {
			return err
		}
		if err := enc.Encode(evaluate(q)); err != nil {
			return err
		}
	}
}

func evaluate(q query) answer {
	sel, err := selector.Parse(q.Selector)
	if err != nil {
		return answer{}
	}
	a := answer{OK: true, String: sel.String(), Restring: sel.String()}
	if again, err := selector.Parse(a.String); err == nil {
		a.Restring = again.String()
	}
	for _, l := range q.Labels {
		a.Matches = append(a.Matches, sel.Evaluate(l))
	}
	return a
}
