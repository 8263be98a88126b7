package read

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"
)

// Manifests as tools write them (kubectl, kustomize, helm, sigs.k8s.io/yaml)
// are block YAML: indented mappings and sequences of one-line scalars. A
// parser of that subset alone is an order of magnitude faster than a full
// YAML parser, which matters when a CI job asks one question of a
// 5,000-pod file. Whatever the subset does not cover (anchors, tags,
// block and multi-line scalars, flow collections, escapes, tabs) makes
// that one document go to yaml.v3, and whatever yaml.v3 refuses makes the
// whole file go through the full parser again, so that the error and its
// line are yaml.v3's. FuzzBlockYAML holds the subset to yaml.v3's values.

// errNotBlock: this document is not in the subset; yaml.v3 reads it.
var errNotBlock = errors.New("not plain block YAML")

// errFullParse: yaml.v3 refused a document on its own; the whole file is
// read again by the full parser for the error message it gives.
var errFullParse = errors.New("read the whole file with the full parser")

// document is one document of a stream: its text, from its --- marker
// line when it has one, and the file line that text starts on.
type document struct {
	text      string
	firstLine int
}

// splitDocuments cuts a stream at its document markers. ok is false when
// the stream has what the split cannot follow (directives, document end
// markers, a byte order mark, carriage returns): the full parser reads it.
// A --- at the start of a line always starts a document: YAML forbids it
// inside any scalar.
func splitDocuments(data string) (docs []document, ok bool) {
	if strings.HasPrefix(data, "\uFEFF") || strings.IndexByte(data, '\r') >= 0 {
		return nil, false
	}
	start, startLine := 0, 1
	line := 1
	for pos := 0; pos < len(data); line++ {
		end := strings.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos
		}
		l := data[pos:end]
		switch {
		case strings.HasPrefix(l, "%"), isMarker(l, "..."):
			return nil, false
		case isMarker(l, "---"):
			if pos > start {
				docs = append(docs, document{text: data[start:pos], firstLine: startLine})
			}
			start, startLine = pos, line
		}
		pos = end + 1
	}
	if start < len(data) {
		docs = append(docs, document{text: data[start:], firstLine: startLine})
	}
	return docs, true
}

// isMarker: l is the marker (--- or ...) alone or followed by a space.
func isMarker(l, marker string) bool {
	return strings.HasPrefix(l, marker) && (len(l) == len(marker) || l[len(marker)] == ' ' || l[len(marker)] == '\t')
}

// parseDocument gives a document's value (nil when it is empty) and the
// line of its content, from the block parser or else yaml.v3.
func parseDocument(d document) (any, int, error) {
	v, line, err := parseBlockDocument(d)
	if !errors.Is(err, errNotBlock) {
		return v, line, err
	}
	dec := yamlv3.NewDecoder(strings.NewReader(d.text))
	var doc yamlv3.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, nil
		}
		return nil, 0, errFullParse
	}
	var more yamlv3.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, 0, errFullParse
	}
	converted, err := input.NodeDocument(&doc)
	if err != nil {
		return nil, 0, errFullParse // its message names a line of the document, not the file
	}
	return converted.Value, converted.Line + d.firstLine - 1, nil
}

// blockLine is one line with content: its indentation, its text after
// the indentation (right-trimmed) and its number in the file.
type blockLine struct {
	indent int
	text   string
	num    int
}

type blockParser struct {
	lines []blockLine
	i     int
	// depth of the node being parsed: past input.MaxDepth the document
	// goes to yaml.v3, whose path refuses it with the line.
	depth int
}

// parseBlockDocument parses a document of the block subset, or returns
// errNotBlock.
func parseBlockDocument(d document) (any, int, error) {
	if !plainText(d.text) {
		return nil, 0, errNotBlock
	}
	p := &blockParser{lines: make([]blockLine, 0, strings.Count(d.text, "\n")+1)}
	num := d.firstLine
	for pos := 0; pos < len(d.text); num++ {
		end := strings.IndexByte(d.text[pos:], '\n')
		if end < 0 {
			end = len(d.text)
		} else {
			end += pos
		}
		l := d.text[pos:end]
		pos = end + 1
		if num == d.firstLine && isMarker(l, "---") {
			if rest := strings.TrimLeft(l[3:], " "); rest != "" && rest[0] != '#' {
				return nil, 0, errNotBlock // content on the marker line
			}
			continue
		}
		indent := 0
		for indent < len(l) && l[indent] == ' ' {
			indent++
		}
		text := strings.TrimRight(l[indent:], " ")
		if text == "" || text[0] == '#' {
			continue
		}
		p.lines = append(p.lines, blockLine{indent: indent, text: text, num: num})
	}
	if len(p.lines) == 0 {
		return nil, 0, nil
	}
	v, err := p.block()
	if err != nil {
		return nil, 0, err
	}
	if p.i < len(p.lines) {
		return nil, 0, errNotBlock // a line outside the root node
	}
	return v, p.lines[0].num, nil
}

// plainText: printable characters and newlines only, no tabs, nothing
// YAML would read as a line break besides \n.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\n' {
			continue
		}
		if c < 0x80 {
			return false
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xFEFF ||
			r < 0xA0 || (r > 0xD7FF && r < 0xE000) || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += size - 1
	}
	return true
}

func isSequenceItem(text string) bool {
	return text == "-" || strings.HasPrefix(text, "- ")
}

// block parses the mapping or sequence that starts at the current line.
func (p *blockParser) block() (any, error) {
	l := p.lines[p.i]
	if isSequenceItem(l.text) {
		return p.sequence(l.indent)
	}
	return p.mapping(l.indent)
}

// deeper enters a nested node, unless that is past input.MaxDepth.
func (p *blockParser) deeper() bool {
	if p.depth >= input.MaxDepth {
		return false
	}
	p.depth++
	return true
}

// mapping parses the keys at column indent.
func (p *blockParser) mapping(indent int) (any, error) {
	if !p.deeper() {
		return nil, errNotBlock
	}
	defer func() { p.depth-- }()
	m := map[string]any{}
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent < indent {
			break
		}
		if l.indent > indent || isSequenceItem(l.text) {
			return nil, errNotBlock
		}
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, errNotBlock
		}
		if _, dup := m[key]; dup {
			return nil, errNotBlock // yaml.v3 refuses it, naming both lines
		}
		p.i++
		var v any
		var err error
		switch {
		case rest != "":
			if v, err = p.scalar(rest); err != nil {
				return nil, err
			}
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				return nil, errNotBlock // a multi-line scalar, or an error
			}
		case p.i < len(p.lines) && p.lines[p.i].indent > indent:
			v, err = p.block()
		case p.i < len(p.lines) && p.lines[p.i].indent == indent && isSequenceItem(p.lines[p.i].text):
			v, err = p.sequence(indent) // a sequence may sit at its key's column
		}
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	return m, nil
}

// sequence parses the items whose dash is at column indent.
func (p *blockParser) sequence(indent int) (any, error) {
	if !p.deeper() {
		return nil, errNotBlock
	}
	defer func() { p.depth-- }()
	items := []any{}
	for p.i < len(p.lines) {
		l := &p.lines[p.i]
		if l.indent != indent || !isSequenceItem(l.text) {
			if l.indent > indent {
				return nil, errNotBlock
			}
			break
		}
		rest := strings.TrimLeft(l.text[1:], " ")
		var v any
		var err error
		switch {
		case rest == "":
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				v, err = p.block()
			}
		case isSequenceItem(rest):
			return nil, errNotBlock
		default:
			if _, _, ok := splitKey(rest); ok {
				// "- key: value" starts a mapping at the key's column.
				l.indent += len(l.text) - len(rest)
				l.text = rest
				v, err = p.mapping(l.indent)
				break
			}
			if v, err = p.scalar(rest); err != nil {
				return nil, err
			}
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				return nil, errNotBlock
			}
		}
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	return items, nil
}

// splitKey splits "key: rest" with a plain key; rest is "" when the
// value is on the lines below.
func splitKey(text string) (key, rest string, ok bool) {
	if strings.IndexByte("-?:,[]{}#&*!|>'\"%@`", text[0]) >= 0 {
		return "", "", false
	}
	colon := -1
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case ':':
			if i+1 == len(text) || text[i+1] == ' ' {
				colon = i
			}
		case '#':
			if text[i-1] == ' ' {
				return "", "", false // a comment before any key
			}
		}
		if colon >= 0 {
			break
		}
	}
	if colon < 0 {
		return "", "", false
	}
	key = strings.TrimRight(text[:colon], " ")
	if key == "<<" || len(key) > 1024 {
		return "", "", false
	}
	rest = strings.TrimLeft(text[colon+1:], " ")
	if rest != "" && rest[0] == '#' {
		rest = ""
	}
	return key, rest, true
}

// scalar is scalar() for a value inside the current node: a flow
// sequence is one level deeper, so at the bound it is the full decoder's
// to refuse.
func (p *blockParser) scalar(s string) (any, error) {
	if s[0] == '[' && p.depth >= input.MaxDepth {
		return nil, errNotBlock
	}
	return scalar(s)
}

// scalar reads a one-line value: quoted without escapes, an empty flow
// mapping, a one-line flow sequence of scalars, or a plain scalar
// resolved exactly as yaml.v3 resolves it.
func scalar(s string) (any, error) {
	switch s[0] {
	case '\'':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '\'' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			if !onlyComment(s[i+1:]) {
				return nil, errNotBlock
			}
			return b.String(), nil
		}
		return nil, errNotBlock // continues on the next line
	case '"':
		end := strings.IndexAny(s[1:], "\"\\")
		if end < 0 || s[1+end] == '\\' || !onlyComment(s[2+end:]) {
			return nil, errNotBlock
		}
		return s[1 : 1+end], nil
	case '{':
		if len(s) >= 2 && s[1] == '}' && onlyComment(s[2:]) {
			return map[string]any{}, nil
		}
		return nil, errNotBlock
	case '[':
		return flowSequence(s)
	}
	if strings.IndexByte("-?:,]}#&*!|>%@`", s[0]) >= 0 && !(s[0] == '-' && len(s) > 1 && s[1] != ' ') {
		return nil, errNotBlock
	}
	if c := strings.Index(s, " #"); c >= 0 {
		s = strings.TrimRight(s[:c], " ")
	}
	if strings.Contains(s, ": ") || strings.HasSuffix(s, ":") {
		return nil, errNotBlock
	}
	return plainScalar(s)
}

// onlyComment: what follows a quoted scalar on its line is nothing or a
// comment.
func onlyComment(s string) bool {
	t := strings.TrimLeft(s, " ")
	return t == "" || (t[0] == '#' && len(t) < len(s))
}

// plainScalar resolves a plain scalar by YAML 1.2's core schema, through
// yaml.v3's own resolution (decimal integers, the most common case, are
// read directly).
func plainScalar(s string) (any, error) {
	switch s {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	case "~", "null", "Null", "NULL":
		return nil, nil
	}
	if strings.IndexByte("+-.0123456789", s[0]) < 0 {
		// yaml.v3 reads anything else as a string (resolveTable).
		return s, nil
	}
	if isDecimal(s) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	return input.ScalarValue(&yamlv3.Node{Kind: yamlv3.ScalarNode, Value: s})
}

// isDecimal: digits without a leading zero (which yaml.v3 reads as octal
// in some forms), at most 18 of them.
func isDecimal(s string) bool {
	if s == "" || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// flowSequence reads a flow sequence of scalars that ends on its line, as
// Calico's policies write ports and nets: "[80, 'http']". Anything more
// (nesting, a trailing comma, a colon, escapes) is left to yaml.v3.
func flowSequence(s string) (any, error) {
	out := []any{}
	i := skipSpaces(s, 1)
	if i < len(s) && s[i] == ']' {
		return flowEnd(s, i, out)
	}
	for {
		item, next, err := flowItem(s, i)
		if err != nil {
			return nil, err
		}
		out = append(out, item)
		i = skipSpaces(s, next)
		if i >= len(s) {
			return nil, errNotBlock // continues on the next line
		}
		switch s[i] {
		case ']':
			return flowEnd(s, i, out)
		case ',':
			i = skipSpaces(s, i+1)
		default:
			return nil, errNotBlock
		}
	}
}

func flowEnd(s string, closing int, out []any) (any, error) {
	if !onlyComment(s[closing+1:]) {
		return nil, errNotBlock
	}
	return out, nil
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// flowItem reads one scalar of a flow sequence from s[i:]: quoted (a
// single-quoted one without doubled quotes, a double-quoted one without
// escapes) or plain without any character that could mean more in a flow
// collection. next is the index after it.
func flowItem(s string, i int) (item any, next int, err error) {
	if i >= len(s) {
		return nil, 0, errNotBlock
	}
	if q := s[i]; q == '\'' || q == '"' {
		end := strings.IndexAny(s[i+1:], "'\"\\")
		if end < 0 || s[i+1+end] != q || (q == '\'' && strings.HasPrefix(s[i+2+end:], "'")) {
			return nil, 0, errNotBlock
		}
		return s[i+1 : i+1+end], i + 2 + end, nil
	}
	end := i + strings.IndexAny(s[i:]+"]", ",]")
	plain := strings.TrimRight(s[i:end], " ")
	if plain == "" || strings.ContainsAny(plain, "[]{}#:?'\"\t\\") ||
		strings.IndexByte("-?,&*!|>%@`", plain[0]) >= 0 && !(plain[0] == '-' && len(plain) > 1 && plain[1] != ' ') {
		return nil, 0, errNotBlock
	}
	v, err := plainScalar(plain)
	return v, end, err
}
