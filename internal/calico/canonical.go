package calico

import "strings"

// The canonical form is Calico's Selector.String, reproduced byte for byte
// (but for the negated negations the parser drops) so that both can be
// compared and a selector the engine prints reads as felix's would: "&&" and
// "||" groups are always parenthesised,
// "!" sticks to its operand, literals are double-quoted unless they contain a
// double quote, and set members come sorted and unique.

var comparisonWords = map[opKind]string{
	opEq:         " == ",
	opNe:         " != ",
	opContains:   " contains ",
	opStartsWith: " starts with ",
	opEndsWith:   " ends with ",
	opIn:         " in ",
	opNotIn:      " not in ",
}

func (n *node) canonical() string {
	var b strings.Builder
	n.writeCanonical(&b)
	return b.String()
}

func (n *node) writeCanonical(b *strings.Builder) {
	switch n.op {
	case opAll:
		b.WriteString("all()")
	case opGlobal:
		b.WriteString("global()")
	case opHas:
		b.WriteString("has(" + n.key + ")")
	case opNot:
		b.WriteString("!")
		n.operands[0].writeCanonical(b)
	case opAnd:
		n.writeGroup(b, " && ")
	case opOr:
		n.writeGroup(b, " || ")
	default:
		n.writeComparison(b)
	}
}

func (n *node) writeGroup(b *strings.Builder, joiner string) {
	b.WriteString("(")
	for i, o := range n.operands {
		if i > 0 {
			b.WriteString(joiner)
		}
		o.writeCanonical(b)
	}
	b.WriteString(")")
}

func (n *node) writeComparison(b *strings.Builder) {
	b.WriteString(n.key)
	b.WriteString(comparisonWords[n.op])
	if n.op != opIn && n.op != opNotIn {
		b.WriteString(quote(n.value))
		return
	}
	b.WriteString("{")
	for i, v := range n.set {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(v))
	}
	b.WriteString("}")
}

// quote delimits a literal; the language has no escapes, and a literal
// holds at most one kind of quote, so the other one always works.
func quote(s string) string {
	if strings.Contains(s, `"`) {
		return `'` + s + `'`
	}
	return `"` + s + `"`
}
