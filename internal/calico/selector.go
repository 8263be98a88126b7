// Package calico holds what the engine needs to decide Calico
// (projectcalico.org/v3) NetworkPolicy and GlobalNetworkPolicy verdicts the
// way felix does, starting with Calico's label selector language.
//
// The selector grammar and its semantics follow libcalico-go/lib/selector of
// Calico v3.28 (the release the test bed runs), including its quirks: only
// space and tab separate tokens, a label key token is at most 512 characters,
// "!=" and "not in" are true when the label is absent, leading "!"s collapse,
// a set may end with a comma, and the empty selector matches everything.
// hack/calico-selector-diff compares this package with Calico's own code.
package calico

import (
	"fmt"
	"slices"
)

// Labels is what a selector is evaluated against: an endpoint's own labels
// and the ones it inherits (felix's label inheritance: own labels win).
type Labels interface {
	Get(key string) (value string, ok bool)
}

// LabelMap is a plain set of labels.
type LabelMap map[string]string

// Get returns the value of key and whether it is present.
func (m LabelMap) Get(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// Selector is a parsed Calico selector. It is immutable, so one value may be
// evaluated from many goroutines at once.
type Selector struct {
	root *node
	text string   // canonical form, computed once
	keys []string // sorted, unique label keys
}

// ParseSelector parses s the way Calico's selector.Parse does: it accepts
// and rejects the same strings, and the result matches the same labels.
func ParseSelector(s string) (*Selector, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, fmt.Errorf("calico selector %q: %w", s, err)
	}
	root, err := parseTokens(toks)
	if err != nil {
		return nil, fmt.Errorf("calico selector %q: %w", s, err)
	}
	return newSelector(root), nil
}

// MustParseSelector is ParseSelector for selectors known to be valid, such as
// the ones in tests; it panics on a malformed one.
func MustParseSelector(s string) *Selector {
	sel, err := ParseSelector(s)
	if err != nil {
		panic(err)
	}
	return sel
}

// And is the conjunction of a and b, the same selector Calico builds when it
// parses "(a) && (b)", as felix's policy conversion does to restrict a
// namespaced policy's selector to its namespace.
func And(a, b *Selector) *Selector {
	return newSelector(&node{op: opAnd, operands: []*node{a.root, b.root}})
}

func newSelector(root *node) *Selector {
	return &Selector{root: root, text: root.canonical(), keys: root.labelKeys()}
}

// Matches reports whether the labels satisfy the selector. It does not
// allocate: the engine calls it for every endpoint and policy.
func (s *Selector) Matches(l Labels) bool {
	return s.root.matches(l)
}

// String is the canonical form: what Calico's Selector.String returns,
// byte for byte, except that a negated negation is left out (Calico prints
// "!(!has(a))" as "!!has(a)"; both read back as "has(a)"). It parses back
// to an equal selector.
func (s *Selector) String() string {
	return s.text
}

// Keys lists every label key the selector looks at, sorted and without
// duplicates, so that callers can say which labels a verdict depends on.
func (s *Selector) Keys() []string {
	return slices.Clone(s.keys)
}
