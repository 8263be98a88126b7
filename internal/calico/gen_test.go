package calico

import (
	"math/rand/v2"
	"strings"
)

// selectorGen writes random selectors for the differential and property
// tests: well-formed ones built from the grammar, with Calico's odd corners
// (keyword-like keys, gaps inside keywords, trailing commas, 512-character
// keys), and broken ones made by mutating those. Keys and values come from
// small alphabets so that random label sets match often.
type selectorGen struct {
	r *rand.Rand
}

var (
	genKeys = []string{
		"a", "b", "c", "a/b", "x.y", "k-1", "_", "A9", "has", "all", "in", "not",
		"contains", "global", "starts", "with", "ends", "allx", "notin", "in-x",
	}
	genValues = []string{"", "v", "w", "vw", "wv", "vwv", "a'b", `a"b`, " ", "v w", "V", "{", "&&"}
	// genGaps separate tokens, which in Calico only space and tab may do;
	// genInnerGaps go inside keywords ("has( k )", "not in"), where any of
	// regexp's \s is allowed. Each has a rare wrong one.
	genGaps      = []string{" ", "", "  ", "\t", " \t ", " ", " ", " ", " ", "\n"}
	genInnerGaps = []string{" ", "", "\t", "\n", "\r", "\f", " \n ", "\v"}
	// genNoise is what mutations insert. JSON carries the selectors to
	// Calico's parser, so the noise is valid UTF-8 (JSON would replace an
	// invalid byte), with one non-ASCII letter.
	genNoise  = []string{"(", ")", "{", "}", ",", "=", "!", "&", "|", "'", `"`, " ", "\t", "\n", "x", "a", "_", ".", "/", "-", "\x00", "é", "%"}
	genSuffix = []string{"in", "contains", "startswith", "ends with", "not in", "== 'v'", "x"}
)

func (g *selectorGen) pick(list []string) string {
	return list[g.r.IntN(len(list))]
}

func (g *selectorGen) gap() string {
	if g.r.IntN(4) > 0 {
		return " "
	}
	if g.r.IntN(15) > 0 {
		return g.pick(genGaps[:len(genGaps)-1])
	}
	return g.pick(genGaps)
}

func (g *selectorGen) innerGap() string {
	if g.r.IntN(2) == 0 {
		return " "
	}
	return g.pick(genInnerGaps)
}

// selector is a random selector; a quarter of them are mutated, most of
// those into invalid ones.
func (g *selectorGen) selector() string {
	var s string
	switch g.r.IntN(20) {
	case 0:
		s = g.pick([]string{"", " ", "\t", "\n", "()", "all()", "global()", "!"})
	case 1:
		s = g.longKeyComparison()
	default:
		s = g.gap() + g.expr(3) + g.gap()
	}
	if g.r.IntN(4) == 0 {
		s = g.mutate(s)
	}
	return s
}

func (g *selectorGen) expr(depth int) string {
	if depth == 0 {
		return g.leaf()
	}
	switch g.r.IntN(7) {
	case 0:
		return strings.Repeat("!", 1+g.r.IntN(3)) + g.gap() + g.expr(depth-1)
	case 1:
		return "(" + g.gap() + g.expr(depth-1) + g.gap() + ")"
	case 2:
		return g.expr(depth-1) + g.gap() + "&&" + g.gap() + g.expr(depth-1)
	case 3:
		return g.expr(depth-1) + g.gap() + "||" + g.gap() + g.expr(depth-1)
	}
	return g.leaf()
}

func (g *selectorGen) leaf() string {
	switch g.r.IntN(8) {
	case 0:
		return "has(" + g.innerGap() + g.pick(genKeys) + g.innerGap() + ")"
	case 1:
		return g.pick([]string{"all(", "global("}) + g.innerGap() + ")"
	case 2, 3:
		return g.pick(genKeys) + g.gap() + g.setOperator() + g.gap() + g.set()
	}
	return g.pick(genKeys) + g.gap() + g.stringOperator() + g.gap() + g.literal()
}

func (g *selectorGen) stringOperator() string {
	switch g.r.IntN(6) {
	case 0:
		return "starts" + g.innerGap() + "with"
	case 1:
		return "ends" + g.innerGap() + "with"
	}
	return g.pick([]string{"==", "!=", "contains", "=="})
}

func (g *selectorGen) setOperator() string {
	if g.r.IntN(2) == 0 {
		return "in"
	}
	return "not" + g.innerGap() + "in"
}

func (g *selectorGen) set() string {
	var b strings.Builder
	b.WriteString("{")
	n := g.r.IntN(4)
	for i := range n {
		if i > 0 {
			b.WriteString("," + g.gap())
		}
		b.WriteString(g.literal())
	}
	if n > 0 && g.r.IntN(5) == 0 {
		b.WriteString(",") // Calico accepts a trailing comma
	}
	b.WriteString(g.gap() + "}")
	return b.String()
}

// literal quotes a value with a quote it does not contain, or now and then
// with the wrong one.
func (g *selectorGen) literal() string {
	v := g.pick(genValues)
	q := `"`
	if strings.Contains(v, `"`) != (g.r.IntN(30) == 0) {
		q = `'`
	}
	return q + v + q
}

// longKeyComparison exercises the 512-character limit of a key token: a
// longer run of key characters is split into two tokens, so a key that ends
// in an operator word can turn into a different comparison.
func (g *selectorGen) longKeyComparison() string {
	key := strings.Repeat("k", maxKeyLen-2+g.r.IntN(5)) + g.pick([]string{"", "", "in", "contains"})
	if g.r.IntN(2) == 0 {
		return "has(" + key + ")"
	}
	return key + g.pick(genSuffix) + " {'v'}"
}

// mutate breaks s in one of a few ways: a byte dropped, inserted or
// replaced, or the string cut short.
func (g *selectorGen) mutate(s string) string {
	i := 0
	if len(s) > 0 {
		i = g.r.IntN(len(s))
	}
	c := g.pick(genNoise)
	switch {
	case len(s) == 0:
		return c
	case g.r.IntN(4) == 0:
		return s[:i] + s[i+1:]
	case g.r.IntN(3) == 0:
		return s[:i]
	case g.r.IntN(2) == 0:
		return s[:i] + c + s[i+1:]
	}
	return s[:i] + c + s[i:]
}

// labels is a random label set over the generator's keys (plus a long key
// now and then) and values.
func (g *selectorGen) labels() LabelMap {
	l := LabelMap{}
	for range g.r.IntN(6) {
		l[g.pick(genKeys)] = g.pick(genValues)
	}
	if g.r.IntN(10) == 0 {
		l[strings.Repeat("k", maxKeyLen)] = g.pick(genValues)
	}
	return l
}
