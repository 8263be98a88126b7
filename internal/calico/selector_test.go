package calico

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Calico's corners, each checked against Calico v3.28 by the differential
// test; here they are spelled out so that a change is caught without it.
func TestCalicoQuirks(t *testing.T) {
	cases := []struct {
		sel       string
		canonical string // "" means the selector is rejected
	}{
		{"", "all()"},
		{" \t ", "all()"},
		{"\n", ""}, // only space and tab separate tokens
		{"a == 'v'\n", ""},
		{"has(\n a \f)", "has(a)"}, // but keywords take any regexp \s inside
		{"a not\r\nin {'v'}", `a not in {"v"}`},
		{"a starts\twith 'v'", `a starts with "v"`},
		{"a notin{'v'}", `a not in {"v"}`},
		{"a inx {'v'}", ""}, // "in" needs a word boundary after it
		{"a containsx 'v'", ""},
		{"a contains'v'", `a contains "v"`},
		{"a in {'v',}", `a in {"v"}`}, // a trailing comma is fine
		{"a in {,}", ""},
		{"a in {}", `a in {}`},
		{"!!a == 'v'", `a == "v"`}, // leading "!"s collapse to their parity
		{"!!!a == 'v'", `!a == "v"`},
		{"!(!a == 'v')", `a == "v"`}, // Calico prints "!!a == \"v\"", read back as this
		{"!(!(!has(a)))", `!has(a)`},
		{"((a == 'v'))", `a == "v"`},
		{"a == 'v' && b == 'w' && c == 'x'", `(a == "v" && b == "w" && c == "x")`},
		{"(a == 'v' && b == 'w') && c == 'x'", `((a == "v" && b == "w") && c == "x")`},
		{"has == 'v' || all == 'w' || in == 'x'", `(has == "v" || all == "w" || in == "x")`},
		{"all( ) && global()", "(all() && global())"},
		{"a=='v'", `a == "v"`},
		{"a = 'v'", ""},
		{"a == \"it's\"", `a == "it's"`},
		{"a == 'say \"hi\"'", `a == 'say "hi"'`},
		{"a == 'é'", `a == "é"`}, // literals take any bytes
		{"é == 'v'", ""},         // keys do not
		{"x.y/z_-1 == 'v'", `x.y/z_-1 == "v"`},
		{strings.Repeat("k", 512) + " == 'v'", strings.Repeat("k", 512) + ` == "v"`},
		{strings.Repeat("k", 513) + " == 'v'", ""},
		// A 514-character key ending in "in" is a 512-character key and in.
		{strings.Repeat("k", 512) + "in {'v'}", strings.Repeat("k", 512) + ` in {"v"}`},
		{"has(" + strings.Repeat("k", 513) + ")", ""},
	}
	for _, c := range cases {
		sel, err := ParseSelector(c.sel)
		switch {
		case c.canonical == "" && err == nil:
			t.Errorf("ParseSelector(%q) = %q, want an error", c.sel, sel)
		case c.canonical != "" && err != nil:
			t.Errorf("ParseSelector(%q): %v", c.sel, err)
		case err == nil && sel.String() != c.canonical:
			t.Errorf("ParseSelector(%q).String() = %q, want %q", c.sel, sel, c.canonical)
		}
	}
}

func TestAbsentLabels(t *testing.T) {
	none := LabelMap{}
	for sel, want := range map[string]bool{
		"a != 'v'": true, "a not in {'v'}": true, "!has(a)": true, "!a == 'v'": true,
		"a == 'v'": false, "a in {'v'}": false, "has(a)": false, "a contains ''": false,
		"a starts with ''": false, "a ends with ''": false, "global()": true, "all()": true,
	} {
		if got := MustParseSelector(sel).Matches(none); got != want {
			t.Errorf("%q on no labels = %v, want %v", sel, got, want)
		}
	}
}

func TestKeys(t *testing.T) {
	sel := MustParseSelector("b == 'v' && (has(a) || !c in {'x'}) && b != 'w' && all()")
	if got, want := sel.Keys(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v", got, want)
	}
	sel.Keys()[0] = "changed"
	if sel.Keys()[0] != "a" {
		t.Error("Keys() hands out the selector's own slice")
	}
	if keys := MustParseSelector("all()").Keys(); len(keys) != 0 {
		t.Errorf("Keys() of all() = %v, want none", keys)
	}
}

// And must build the selector Calico parses from "(a) && (b)", which is how
// felix's conversion joins a policy's selector and its namespace.
func TestAnd(t *testing.T) {
	a := MustParseSelector("x == 'v' && has(y)")
	b := MustParseSelector("projectcalico.org/namespace == 'ns'")
	and := And(a, b)
	textual := MustParseSelector("(" + a.String() + ") && (" + b.String() + ")")
	if and.String() != textual.String() || !reflect.DeepEqual(and.root, textual.root) {
		t.Errorf("And = %q, parsed conjunction %q", and, textual)
	}
	if got, want := and.Keys(), []string{"projectcalico.org/namespace", "x", "y"}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %v, want %v", got, want)
	}
	g := &selectorGen{r: rand.New(rand.NewPCG(3, 4))}
	for range 2000 {
		l := g.labels()
		l["y"] = "" // so that a matches now and then
		if and.Matches(l) != (a.Matches(l) && b.Matches(l)) {
			t.Fatalf("And disagrees with a && b on %v", l)
		}
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	sel := MustParseSelector("(a in {'v', 'w'} || b not in {'x'}) && !c contains 'y' && d starts with 'z' && e ends with '' && has(f) && g != 'h'")
	var labels Labels = LabelMap{"a": "w", "d": "zz", "e": "e", "f": "", "g": "g"}
	if !sel.Matches(labels) {
		t.Fatal("the selector should match")
	}
	if allocs := testing.AllocsPerRun(1000, func() { sel.Matches(labels) }); allocs != 0 {
		t.Errorf("Matches allocates %v times per call", allocs)
	}
}

func TestConcurrentMatches(t *testing.T) {
	sel := MustParseSelector("a in {'v', 'w'} && b != 'x'")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := LabelMap{"a": "v", "b": string(rune('w' + i%2))}
			for range 1000 {
				if sel.Matches(l) != (i%2 == 0) {
					t.Error("wrong verdict under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestMustParseSelectorPanicsOnError(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseSelector accepted a malformed selector")
		}
	}()
	MustParseSelector("a ==")
}

// FuzzSelector checks that the canonical form of every accepted selector
// parses back to the same tree, prints the same and matches the same labels.
func FuzzSelector(f *testing.F) {
	for _, c := range calicoSelectorCases {
		f.Add(c.sel, "a", "v")
	}
	for _, s := range calicoBadSelectors {
		f.Add(s, "b", "")
	}
	g := &selectorGen{r: rand.New(rand.NewPCG(1, 2))}
	for range 200 {
		f.Add(g.selector(), g.pick(genKeys), g.pick(genValues))
	}
	f.Fuzz(func(t *testing.T, s, key, value string) {
		sel, err := ParseSelector(s)
		if err != nil {
			return
		}
		again, err := ParseSelector(sel.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", sel, s, err)
		}
		if again.String() != sel.String() || !reflect.DeepEqual(again.root, sel.root) {
			t.Fatalf("%q re-parses as %q", sel, again)
		}
		for _, l := range []LabelMap{{}, {key: value}, {key: value, "a": "v", "b": ""}} {
			if sel.Matches(l) != again.Matches(l) {
				t.Fatalf("%q and its canonical form %q disagree on %v", s, sel, l)
			}
		}
	})
}

func BenchmarkMatches(b *testing.B) {
	sel := MustParseSelector("app in {'frontend', 'backend', 'db'} && tier != 'test' && !has(skip) && projectcalico.org/namespace == 'prod'")
	var labels Labels = LabelMap{
		"app": "backend", "tier": "web", "version": "v2",
		"projectcalico.org/namespace": "prod", "pod-template-hash": "abc123",
	}
	b.ReportAllocs()
	for b.Loop() {
		sel.Matches(labels)
	}
}

func BenchmarkParseSelector(b *testing.B) {
	const s = "app in {'frontend', 'backend', 'db'} && tier != 'test' && !has(skip) && projectcalico.org/namespace == 'prod'"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSelector(s); err != nil {
			b.Fatal(err)
		}
	}
}
