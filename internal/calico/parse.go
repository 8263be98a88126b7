package calico

import (
	"errors"
	"slices"
)

// parser is a recursive-descent parser over the tokens of one selector,
// with Calico's grammar:
//
//	or         = and { "||" and }
//	and        = operation { "&&" operation }
//	operation  = { "!" } ( has | "all()" | "global()" | comparison | "(" or ")" )
//	comparison = key ( "==" | "!=" | "contains" | "starts with" | "ends with" ) string
//	           | key ( "in" | "not in" ) "{" [ string { "," string } [ "," ] ] "}"
type parser struct {
	toks []token
	pos  int
}

// comparisonOps maps the operators that take a single string operand.
var comparisonOps = map[tokenKind]opKind{
	tokEq: opEq, tokNe: opNe, tokContains: opContains,
	tokStartsWith: opStartsWith, tokEndsWith: opEndsWith,
}

// parseTokens builds the tree of a whole selector; no tokens but the end
// mean "all()".
func parseTokens(toks []token) (*node, error) {
	p := &parser{toks: toks}
	if p.peek() == tokEOF {
		return &node{op: opAll}, nil
	}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek() != tokEOF {
		return nil, errors.New("unexpected content at end of selector")
	}
	return root, nil
}

// peek is the kind of the current token; past the end it is tokEOF, as the
// token list always ends with one.
func (p *parser) peek() tokenKind {
	return p.peekAt(0)
}

func (p *parser) peekAt(offset int) tokenKind {
	if p.pos+offset >= len(p.toks) {
		return tokEOF
	}
	return p.toks[p.pos+offset].kind
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	p.pos++
	return t
}

func (p *parser) or() (*node, error) {
	return p.chain(tokOr, opOr, p.and)
}

func (p *parser) and() (*node, error) {
	return p.chain(tokAnd, opAnd, p.operation)
}

// chain parses operands separated by sep; a single operand stands alone,
// as in Calico, rather than in a one-element group.
func (p *parser) chain(sep tokenKind, op opKind, operand func() (*node, error)) (*node, error) {
	first, err := operand()
	if err != nil {
		return nil, err
	}
	operands := []*node{first}
	for p.peek() == sep {
		p.pos++
		o, err := operand()
		if err != nil {
			return nil, err
		}
		operands = append(operands, o)
	}
	if len(operands) == 1 {
		return first, nil
	}
	return &node{op: op, operands: operands}, nil
}

// operation parses one possibly negated operation. Calico collapses a run
// of "!" to its parity, so "!!has(a)" is the same tree as "has(a)".
func (p *parser) operation() (*node, error) {
	negated := false
	for p.peek() == tokNot {
		negated = !negated
		p.pos++
	}
	n, err := p.positiveOperation()
	if err != nil || !negated {
		return n, err
	}
	return negation(n), nil
}

// negation is "!n". A negated negation, as in "!(!has(a))", is dropped
// here, where Calico keeps it and prints "!!has(a)", which it then reads
// back as "has(a)": with it dropped, the canonical form is a fixed point
// and parses back to the same tree. Matching is the same either way.
func negation(n *node) *node {
	if n.op == opNot {
		return n.operands[0]
	}
	return &node{op: opNot, operands: []*node{n}}
}

func (p *parser) positiveOperation() (*node, error) {
	switch p.peek() {
	case tokHas:
		return &node{op: opHas, key: p.next().text}, nil
	case tokAll:
		p.pos++
		return &node{op: opAll}, nil
	case tokGlobal:
		p.pos++
		return &node{op: opGlobal}, nil
	case tokLabel:
		return p.comparison()
	case tokLParen:
		return p.parenthesised()
	}
	return nil, errors.New("expected an operation")
}

func (p *parser) parenthesised() (*node, error) {
	p.pos++
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek() != tokRParen {
		return nil, errors.New("expected )")
	}
	p.pos++
	return n, nil
}

func (p *parser) comparison() (*node, error) {
	key := p.next().text
	opTok := p.peek()
	if op, ok := comparisonOps[opTok]; ok {
		p.pos++
		if p.peek() != tokString {
			return nil, errors.New("expected a string literal")
		}
		return &node{op: op, key: key, value: p.next().text}, nil
	}
	if opTok != tokIn && opTok != tokNotIn {
		return nil, errors.New("expected an operator after a label key")
	}
	p.pos++
	set, err := p.setLiteral()
	if err != nil {
		return nil, err
	}
	op := opIn
	if opTok == tokNotIn {
		op = opNotIn
	}
	return &node{op: op, key: key, set: set}, nil
}

// setLiteral parses "{" ... "}", sorted and unique. Calico accepts a
// trailing comma ("{'a',}") but not a lone one ("{,}").
func (p *parser) setLiteral() ([]string, error) {
	if p.peek() != tokLBrace {
		return nil, errors.New("expected a set literal")
	}
	p.pos++
	set := []string{}
	for p.peek() == tokString {
		set = append(set, p.next().text)
		if p.peek() != tokComma {
			break
		}
		p.pos++
	}
	if p.peek() != tokRBrace {
		return nil, errors.New("expected }")
	}
	p.pos++
	slices.Sort(set)
	return slices.Compact(set), nil
}
