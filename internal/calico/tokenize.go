package calico

import (
	"errors"
	"fmt"
	"strings"
)

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokLabel
	tokString
	tokLBrace
	tokRBrace
	tokComma
	tokEq
	tokNe
	tokIn
	tokNotIn
	tokNot
	tokContains
	tokStartsWith
	tokEndsWith
	tokAll
	tokGlobal
	tokHas
	tokLParen
	tokRParen
	tokAnd
	tokOr
)

// token is one lexeme; text is the label key (tokLabel, tokHas) or the
// literal without its quotes (tokString).
type token struct {
	kind tokenKind
	text string
}

// maxKeyLen is the longest label key one token holds: Calico's key pattern
// is [a-zA-Z0-9_./-]{1,512}, so a longer run of key characters becomes two
// tokens (and, in practice, a syntax error).
const maxKeyLen = 512

var errUnterminated = errors.New("unterminated string")

// punctuation maps the one-character tokens.
var punctuation = map[byte]tokenKind{
	'(': tokLParen, ')': tokRParen, '{': tokLBrace, '}': tokRBrace, ',': tokComma,
}

// tokenize splits a selector into tokens, ending with tokEOF. Like Calico's
// tokenizer it skips only spaces and tabs between tokens, while the
// keywords' inner gaps ("has( k )", "not in", "starts with") take any of
// Go regexp's \s: space, \t, \n, \f, \r.
func tokenize(input string) ([]token, error) {
	var toks []token
	for {
		input = strings.TrimLeft(input, " \t")
		if input == "" {
			return append(toks, token{kind: tokEOF}), nil
		}
		afterLabel := len(toks) > 0 && toks[len(toks)-1].kind == tokLabel
		tok, rest, err := nextToken(input, afterLabel)
		if err != nil {
			return nil, err
		}
		toks = append(toks, tok)
		input = rest
	}
}

// nextToken reads the token at the start of input (which has no leading
// blank). afterLabel says the previous token was a label key, after which
// Calico looks for a word operator instead of another key.
func nextToken(input string, afterLabel bool) (token, string, error) {
	c := input[0]
	if kind, ok := punctuation[c]; ok {
		return token{kind: kind}, input[1:], nil
	}
	switch c {
	case '"', '\'':
		return stringLiteral(input)
	case '=':
		return pairToken(input, '=', tokEq, "expected ==")
	case '&':
		return pairToken(input, '&', tokAnd, "expected &&")
	case '|':
		return pairToken(input, '|', tokOr, "expected ||")
	case '!':
		if strings.HasPrefix(input, "!=") {
			return token{kind: tokNe}, input[2:], nil
		}
		return token{kind: tokNot}, input[1:], nil
	}
	if afterLabel {
		return wordOperator(input)
	}
	return word(input)
}

func stringLiteral(input string) (token, string, error) {
	end := strings.IndexByte(input[1:], input[0])
	if end < 0 {
		return token{}, "", errUnterminated
	}
	return token{kind: tokString, text: input[1 : end+1]}, input[end+2:], nil
}

// pairToken reads a doubled character such as "==".
func pairToken(input string, second byte, kind tokenKind, msg string) (token, string, error) {
	if len(input) > 1 && input[1] == second {
		return token{kind: kind}, input[2:], nil
	}
	return token{}, "", errors.New(msg)
}

// wordOperator reads the operator that follows a label key. The order and
// the boundaries are Calico's: "contains", "starts with" and "ends with"
// need no word boundary after them, "in" and "not in" do.
func wordOperator(input string) (token, string, error) {
	if rest, ok := strings.CutPrefix(input, "contains"); ok {
		return token{kind: tokContains}, rest, nil
	}
	if rest, ok := twoWords(input, "starts", "with"); ok {
		return token{kind: tokStartsWith}, rest, nil
	}
	if rest, ok := twoWords(input, "ends", "with"); ok {
		return token{kind: tokEndsWith}, rest, nil
	}
	if rest, ok := twoWords(input, "not", "in"); ok && atWordBoundary(rest) {
		return token{kind: tokNotIn}, rest, nil
	}
	if rest, ok := strings.CutPrefix(input, "in"); ok && atWordBoundary(rest) {
		return token{kind: tokIn}, rest, nil
	}
	return token{}, "", errors.New("unexpected characters after a label key, was expecting an operator")
}

// word reads has(key), all(), global() or a label key, in that order of
// preference, as Calico does.
func word(input string) (token, string, error) {
	if key, rest, ok := hasCall(input); ok {
		return token{kind: tokHas, text: key}, rest, nil
	}
	if rest, ok := emptyCall(input, "all"); ok {
		return token{kind: tokAll}, rest, nil
	}
	if rest, ok := emptyCall(input, "global"); ok {
		return token{kind: tokGlobal}, rest, nil
	}
	if n := keyLength(input); n > 0 {
		return token{kind: tokLabel, text: input[:n]}, input[n:], nil
	}
	return token{}, "", fmt.Errorf("unexpected character %q", input[0])
}

// hasCall reads "has(" key ")" with optional gaps inside the parentheses.
func hasCall(input string) (key, rest string, ok bool) {
	rest, ok = strings.CutPrefix(input, "has(")
	if !ok {
		return "", "", false
	}
	rest = trimRegexpSpace(rest)
	n := keyLength(rest)
	key, rest = rest[:n], trimRegexpSpace(rest[n:])
	rest, ok = strings.CutPrefix(rest, ")")
	return key, rest, ok && n > 0
}

// emptyCall reads name "(" ")" with an optional gap inside the parentheses.
func emptyCall(input, name string) (rest string, ok bool) {
	rest, ok = strings.CutPrefix(input, name+"(")
	if !ok {
		return "", false
	}
	return strings.CutPrefix(trimRegexpSpace(rest), ")")
}

// twoWords reads first, an optional gap, and second.
func twoWords(input, first, second string) (rest string, ok bool) {
	rest, ok = strings.CutPrefix(input, first)
	if !ok {
		return "", false
	}
	return strings.CutPrefix(trimRegexpSpace(rest), second)
}

// keyLength is the length of the label key at the start of input, at most
// maxKeyLen.
func keyLength(input string) int {
	n := 0
	for n < len(input) && n < maxKeyLen && isKeyChar(input[n]) {
		n++
	}
	return n
}

func isKeyChar(c byte) bool {
	return isWordChar(c) || c == '.' || c == '/' || c == '-'
}

// isWordChar is regexp's \w, which decides where \b falls.
func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// atWordBoundary says whether a keyword that ends in a word character is
// followed by a \b boundary: the end of input or a non-word character.
func atWordBoundary(rest string) bool {
	return rest == "" || !isWordChar(rest[0])
}

// trimRegexpSpace drops a leading run of regexp's \s characters.
func trimRegexpSpace(s string) string {
	return strings.TrimLeft(s, " \t\n\f\r")
}
