package calico

import "testing"

// The tables in this file are ported from Calico's own selector tests,
// libcalico-go/lib/selector/parser/parser_test.go at the release-v3.28
// commit a0db560f0520 (github.com/projectcalico/calico, Apache License 2.0,
// Copyright (c) 2016-2019 Tigera, Inc.).

type calicoSelectorCase struct {
	sel        string
	matches    []LabelMap
	nonMatches []LabelMap
}

var calicoSelectorCases = []calicoSelectorCase{
	{`a == "b"`,
		[]LabelMap{{"a": "b"}, {"a": "b", "c": "d"}},
		[]LabelMap{{}, {"a": "c"}, {"c": "d"}}},
	{`a == "b" && c == "d"`,
		[]LabelMap{{"a": "b", "c": "d"}},
		[]LabelMap{{}, {"a": "b", "c": "e"}, {"a": "c", "c": "d"}, {"c": "d"}, {"a": "b"}}},
	{`a == "b" || c == "d"`,
		[]LabelMap{{"a": "b", "c": "d"}, {"a": "b"}, {"c": "d"}},
		[]LabelMap{{}, {"a": "e", "c": "e"}, {"c": "e"}, {"a": "e"}}},
	{`a in {"'", '"', "c"}`,
		[]LabelMap{{"a": "c"}, {"a": `"`}, {"a": `'`}},
		[]LabelMap{{}, {"a": "e"}}},
	{`a not in {"'", '"', "c"}`,
		[]LabelMap{{}, {"a": "e"}},
		[]LabelMap{{"a": "c"}, {"a": `"`}, {"a": `'`}}},

	{`a == 'a'`, []LabelMap{{"a": "a"}}, nil},
	{`a == "a"`, []LabelMap{{"a": "a"}}, nil},
	{`a != "b"`, []LabelMap{{"a": "a"}}, nil},
	{`a != "a"`, []LabelMap{{}}, nil},
	{`a contains "a"`,
		[]LabelMap{{"a": "a"}, {"a": "bab"}, {"a": "aaa", "b": "c"}},
		[]LabelMap{{}, {"a": "b"}, {"b": "aaa"}}},
	{`a starts with "a"`,
		[]LabelMap{{"a": "a"}, {"a": "abb"}, {"a": "aaa", "b": "c"}},
		[]LabelMap{{}, {"a": "b"}, {"a": "baa"}, {"b": "aaa"}}},
	{`a ends with "a"`,
		[]LabelMap{{"a": "a"}, {"a": "bba"}, {"a": "aaa", "b": "c"}},
		[]LabelMap{{}, {"a": "b"}, {"a": "aab"}, {"b": "aaa"}}},
	{`a in {"a"}`, []LabelMap{{"a": "a"}}, nil},
	{`!a in {"a"}`, []LabelMap{{"a": "b"}}, nil},
	{`a in {"a", "b"}`, []LabelMap{{"a": "a"}}, nil},
	{`a in {"a", "b"}`, []LabelMap{{"a": "b"}}, nil},
	{`a not in {"d", "e"}`, []LabelMap{{"a": "a"}}, nil},
	{`has(a)`, []LabelMap{{"a": "b"}}, nil},
	{`!has(a)`, []LabelMap{{"b": "b"}}, nil},
	{``, []LabelMap{{}}, nil},
	{` `, []LabelMap{{}}, nil},
	{``, []LabelMap{{"a": "b"}}, nil},
	{`all()`, []LabelMap{{}}, nil},
	{` all()`, []LabelMap{{}}, nil},
	{` all()`, []LabelMap{{"a": "b"}}, nil},
	{`global()`, []LabelMap{{}}, nil},
	{` global()`, []LabelMap{{}}, nil},
	{` global()`, []LabelMap{{"a": "b"}}, nil},

	{`a == 'a'`, nil, []LabelMap{{"a": "b"}}},
	{`a == 'a'`, nil, []LabelMap{{}}},
	{`a != "a"`, nil, []LabelMap{{"a": "a"}}},
	{`a != 'a'`, nil, []LabelMap{{"a": "a"}}},
	{`a in {"a"}`, nil, []LabelMap{{"a": "b"}}},
	{`a not in {"a"}`, nil, []LabelMap{{"a": "a"}}},
	{`a in {"a", "b"}`, nil, []LabelMap{{"a": "c"}}},
	{`has(b)`, nil, []LabelMap{{"a": "b"}}},
	{`!!has(b)`, nil, []LabelMap{{"a": "b"}}},
	{`! has(a)`, nil, []LabelMap{{"a": "b"}}},
	{`!has(a)`, nil, []LabelMap{{"a": "b"}}},
	{`!!! has(a)`, nil, []LabelMap{{"a": "b"}}},
	{`!!!has(a)`, nil, []LabelMap{{"a": "b"}}},
	{`!! ! has(a)`, nil, []LabelMap{{"a": "b"}}},
	{`! !!has(a)`, nil, []LabelMap{{"a": "b"}}},

	// Boolean expressions.
	{`a == 'a1' && b == 'b1'`, []LabelMap{{"a": "a1", "b": "b1"}}, nil},
	{`a == 'a1' && b != 'b1'`, nil, []LabelMap{{"a": "a1", "b": "b1"}}},
	{`a != 'a1' && b == 'b1'`, nil, []LabelMap{{"a": "a1", "b": "b1"}}},
	{`a != 'a1' && b != 'b1'`, nil, []LabelMap{{"a": "a1", "b": "b1"}}},
	{`a != 'a1' && !b == 'b1'`, nil, []LabelMap{{"a": "a1", "b": "b1"}}},
	{`!a == 'a1' && b == 'b1'`, nil, []LabelMap{{"a": "a1", "b": "b1"}}},
	{`has(a) && !has(b)`, []LabelMap{{"a": "a"}}, nil},
	{`!has(b) && has(a)`, []LabelMap{{"a": "a"}}, nil},
	{`!(!has(a) || has(b))`, []LabelMap{{"a": "a"}}, nil},
	{`!(has(b) || !has(a))`, []LabelMap{{"a": "a"}}, nil},

	{`a == 'a1' || b == 'b1'`, []LabelMap{{"a": "a1", "b": "b1"}}, nil},
	{`a == 'a1' || b != 'b1'`, []LabelMap{{"a": "a1", "b": "b1"}}, nil},
	{`a != 'a1' || b == 'b1'`, []LabelMap{{"a": "a1", "b": "b1"}}, nil},
	{`a != 'a1' || b != 'b1'`, nil, []LabelMap{{"a": "a1", "b": "b1"}}},
	{`! a == 'a1' || ! b == 'b1'`, nil, []LabelMap{{"a": "a1", "b": "b1"}}},
}

var calicoBadSelectors = []string{
	"b == b",          // label == label
	"b contains b",    // label contains label
	"b starts with b", // label starts with label
	"b ends with b",   // label ends with label
	"'b1' == b",       // literal on lhs
	"b",               // bare label
	"a b",             // garbage
	"!",               // garbage
	`foo == "bar" &`,  // garbage
	`foo == "bar" |`,  // garbage
	`foo != ||`,       // garbage
	`foo in {"", ||`,  // garbage
	`foo in ""`,       // expects a set literal
	`"FOO`,            // unterminated string
	`"FOO'`,           // unterminated string
	`'FOO`,            // unterminated string
	`(`,               // unterminated paren
	`(a == "foo"`,     // unterminated paren
	`)`,               // unbalanced paren
	`()`,              // empty parens
	`%`,               // unexpected char
	`a == "b" && %`,   // unexpected char
	`a == "b" || %`,   // unexpected char
	`a `,              // should be followed by an operator
	`has(foo) &&`,     // should be followed by an operation
}

var calicoCanonicalForms = []struct{ input, canonical string }{
	{"", "all()"},
	{" all() ", "all()"},
	{" (all() )", "all()"},
	{`! (has( b)||! has(a ))`, "!(has(b) || !has(a))"},
	{`! (a == "b"&&! c != "d")`, `!(a == "b" && !c != "d")`},
	{`a == "'"`, `a == "'"`},
	{`a == '"'`, `a == '"'`},
	{`a contains '"'`, `a contains '"'`},
	{`a contains "'"`, `a contains "'"`},
	{`a startswith '"'`, `a starts with '"'`},
	{`a endswith "'"`, `a ends with "'"`},
	{`a!='"'`, `a != '"'`},
	// Set members get sorted and de-duplicated.
	{`a in {"d"}`, `a in {"d"}`},
	{`a in {"a", "b"}`, `a in {"a", "b"}`},
	{`a in {"d", "a", "b"}`, `a in {"a", "b", "d"}`},
	{`a in {"z", "x", "y", "a"}`, `a in {"a", "x", "y", "z"}`},
	{`a in {"z", "z", "x", "y", "x", "a"}`, `a in {"a", "x", "y", "z"}`},
	// From Calico's visitor tests (without the prefix the visitor adds).
	{"!(k == 'v')", `!k == "v"`},
	{"k == 'v' || has(x)", `(k == "v" || has(x))`},
	{"!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))",
		`!(!((k == "v" && has(t)) || all()) && a in {"b", "c"})`},
}

func TestCalicoSelectorCases(t *testing.T) {
	for _, c := range calicoSelectorCases {
		sel, err := ParseSelector(c.sel)
		if err != nil {
			t.Fatalf("ParseSelector(%q): %v", c.sel, err)
		}
		reparsed := MustParseSelector(sel.String())
		for _, s := range []*Selector{sel, reparsed} {
			for _, l := range c.matches {
				if !s.Matches(l) {
					t.Errorf("%q (%q) should match %v", c.sel, s, l)
				}
			}
			for _, l := range c.nonMatches {
				if s.Matches(l) {
					t.Errorf("%q (%q) should not match %v", c.sel, s, l)
				}
			}
		}
	}
}

func TestCalicoBadSelectors(t *testing.T) {
	for _, s := range calicoBadSelectors {
		if sel, err := ParseSelector(s); err == nil {
			t.Errorf("ParseSelector(%q) = %q, want an error", s, sel)
		}
	}
}

func TestCalicoCanonicalForms(t *testing.T) {
	for _, c := range calicoCanonicalForms {
		got := MustParseSelector(c.input).String()
		if got != c.canonical {
			t.Errorf("String() of %q = %q, want %q", c.input, got, c.canonical)
		}
		if again := MustParseSelector(got).String(); again != got {
			t.Errorf("canonical form %q re-prints as %q", got, again)
		}
	}
}
