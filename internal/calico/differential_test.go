package calico

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// diffQuery and diffAnswer are the JSON lines exchanged with the oracle in
// hack/calico-selector-diff, which runs Calico's own selector parser.
type diffQuery struct {
	Selector string     `json:"selector"`
	Labels   []LabelMap `json:"labels"`
}

type diffAnswer struct {
	OK       bool   `json:"ok"`
	String   string `json:"string,omitempty"`
	Restring string `json:"restring,omitempty"`
	Matches  []bool `json:"matches,omitempty"`
}

// diffCounts is what the differential test reports.
type diffCounts struct {
	selectors, accepted, rejected, evaluations, matched, mismatches int
	// doubleNegations counts the selectors whose canonical form differs
	// from Calico's only by the negated negation Calico prints.
	doubleNegations int
}

const labelSetsPerSelector = 8

// TestDifferentialAgainstCalico compares ParseSelector and Matches with
// Calico's own code on random selectors and label sets: both must accept
// and reject the same strings, print the same canonical form and match the
// same labels. It needs Calico's module in the module cache, so it runs only
// when NB_CALICO_SELECTOR_DIFF names the number of selectors (make
// calico-selector-diff); NB_CALICO_SELECTOR_DIFF_SEED picks the seed.
func TestDifferentialAgainstCalico(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("NB_CALICO_SELECTOR_DIFF"))
	if err != nil || n <= 0 {
		t.Skip("set NB_CALICO_SELECTOR_DIFF=<selectors> to compare with Calico's parser (make calico-selector-diff)")
	}
	seed, _ := strconv.ParseUint(os.Getenv("NB_CALICO_SELECTOR_DIFF_SEED"), 10, 64)
	oracle := buildOracle(t)
	queries := randomQueries(n, seed)
	answers := askOracle(t, oracle, queries)
	counts := compareWithCalico(t, queries, answers)
	t.Logf("seed %d: %d selectors (%d accepted, %d rejected by both), %d evaluations (%d matched), %d mismatches; "+
		"%d canonical forms without the negated negation Calico prints",
		seed, counts.selectors, counts.accepted, counts.rejected, counts.evaluations, counts.matched, counts.mismatches,
		counts.doubleNegations)
}

func buildOracle(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "calico-selector-diff")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "..", "hack", "calico-selector-diff")
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the Calico oracle: %v\n%s", err, out)
	}
	return bin
}

func randomQueries(n int, seed uint64) []diffQuery {
	g := &selectorGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	queries := make([]diffQuery, n)
	for i := range queries {
		queries[i].Selector = g.selector()
		for range labelSetsPerSelector {
			queries[i].Labels = append(queries[i].Labels, g.labels())
		}
	}
	return queries
}

// askOracle streams the queries to the oracle and reads its answers, in
// order; writing happens in its own goroutine so neither pipe fills up.
func askOracle(t *testing.T, oracle string, queries []diffQuery) []diffAnswer {
	t.Helper()
	cmd := exec.Command(oracle)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	writeErr := make(chan error, 1)
	go func() { writeErr <- writeQueries(stdin, queries) }()
	answers := readAnswers(t, stdout, len(queries))
	if err := <-writeErr; err != nil {
		t.Fatalf("writing to the oracle: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("oracle: %v", err)
	}
	return answers
}

func writeQueries(stdin interface {
	Write([]byte) (int, error)
	Close() error
}, queries []diffQuery) error {
	w := bufio.NewWriterSize(stdin, 1<<20)
	enc := json.NewEncoder(w)
	for _, q := range queries {
		if err := enc.Encode(q); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return stdin.Close()
}

func readAnswers(t *testing.T, stdout interface{ Read([]byte) (int, error) }, n int) []diffAnswer {
	t.Helper()
	dec := json.NewDecoder(bufio.NewReaderSize(stdout, 1<<20))
	answers := make([]diffAnswer, n)
	for i := range answers {
		if err := dec.Decode(&answers[i]); err != nil {
			t.Fatalf("reading answer %d from the oracle: %v", i, err)
		}
	}
	return answers
}

func compareWithCalico(t *testing.T, queries []diffQuery, answers []diffAnswer) diffCounts {
	t.Helper()
	var c diffCounts
	for i, q := range queries {
		c.selectors++
		if !agreesWithCalico(t, q, answers[i], &c) {
			c.mismatches++
			if c.mismatches >= 20 {
				t.Fatalf("stopping after %d mismatches", c.mismatches)
			}
		}
	}
	return c
}

// agreesWithCalico checks one selector and counts what it compared.
func agreesWithCalico(t *testing.T, q diffQuery, want diffAnswer, c *diffCounts) bool {
	t.Helper()
	sel, err := ParseSelector(q.Selector)
	if (err == nil) != want.OK {
		t.Errorf("selector %q: we accept=%v (err %v), Calico accept=%v", q.Selector, err == nil, err, want.OK)
		return false
	}
	if err != nil {
		c.rejected++
		return true
	}
	c.accepted++
	if !sameCanonicalForm(sel.String(), want, c) {
		t.Errorf("selector %q: canonical form %q, Calico's %q (re-read: %q)", q.Selector, sel, want.String, want.Restring)
		return false
	}
	got := make([]bool, len(q.Labels))
	for j, l := range q.Labels {
		got[j] = sel.Matches(l)
		c.evaluations++
		if got[j] {
			c.matched++
		}
	}
	if !slices.Equal(got, want.Matches) {
		t.Errorf("selector %q on %v: matches %v, Calico %v", q.Selector, q.Labels, got, want.Matches)
		return false
	}
	return true
}

// sameCanonicalForm accepts Calico's own canonical form or, where Calico
// prints a negated negation ("!!x"), the form Calico reads that back as.
func sameCanonicalForm(ours string, want diffAnswer, c *diffCounts) bool {
	if ours == want.String {
		return true
	}
	if ours == want.Restring && strings.Contains(want.String, "!!") {
		c.doubleNegations++
		return true
	}
	return false
}
