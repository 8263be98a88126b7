package calico

import (
	"slices"
	"strings"
)

// opKind is the operation of one node of a parsed selector.
type opKind uint8

const (
	opAll opKind = iota
	// opGlobal is "global()". Calico's evaluator treats it exactly like
	// "all()"; its meaning, "not namespaced", comes from felix's policy
	// conversion, which rewrites global() in a namespaceSelector to
	// "!has(projectcalico.org/namespace)" before parsing (updateprocessors,
	// rules.go). The engine's conversion must do the same; here it matches
	// everything, as in Calico.
	opGlobal
	opHas
	opEq
	opNe
	opContains
	opStartsWith
	opEndsWith
	opIn
	opNotIn
	opNot
	opAnd
	opOr
)

// node is one operation of a parsed selector: a leaf that tests one label
// (key, value or set), or a boolean combination of its operands.
type node struct {
	op       opKind
	key      string
	value    string
	set      []string // sorted and unique, for opIn and opNotIn
	operands []*node  // one for opNot, two or more for opAnd and opOr
}

func (n *node) matches(l Labels) bool {
	switch n.op {
	case opAll, opGlobal:
		return true
	case opNot:
		return !n.operands[0].matches(l)
	case opAnd:
		return n.allMatch(l)
	case opOr:
		return n.anyMatches(l)
	}
	value, present := l.Get(n.key)
	if !present {
		// Only the negative tests are true of an absent label.
		return n.op == opNe || n.op == opNotIn
	}
	return n.valueMatches(value)
}

func (n *node) allMatch(l Labels) bool {
	for _, o := range n.operands {
		if !o.matches(l) {
			return false
		}
	}
	return true
}

func (n *node) anyMatches(l Labels) bool {
	for _, o := range n.operands {
		if o.matches(l) {
			return true
		}
	}
	return false
}

// valueMatches evaluates a leaf on a label that is present.
func (n *node) valueMatches(value string) bool {
	switch n.op {
	case opEq:
		return value == n.value
	case opNe:
		return value != n.value
	case opContains:
		return strings.Contains(value, n.value)
	case opStartsWith:
		return strings.HasPrefix(value, n.value)
	case opEndsWith:
		return strings.HasSuffix(value, n.value)
	case opIn:
		_, found := slices.BinarySearch(n.set, value)
		return found
	case opNotIn:
		_, found := slices.BinarySearch(n.set, value)
		return !found
	}
	return n.op == opHas
}

// labelKeys lists the keys of every leaf below n, sorted and unique.
func (n *node) labelKeys() []string {
	var keys []string
	n.walk(func(leaf *node) {
		if leaf.op >= opHas && leaf.op <= opNotIn {
			keys = append(keys, leaf.key)
		}
	})
	slices.Sort(keys)
	return slices.Compact(keys)
}

func (n *node) walk(visit func(*node)) {
	visit(n)
	for _, o := range n.operands {
		o.walk(visit)
	}
}
