package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	yamlv3 "go.yaml.in/yaml/v3"
)

// MaxDepth bounds how deeply mappings and sequences nest. Kubernetes
// objects stay far below it (a CRD's schema is some forty levels).
const MaxDepth = 128

// AliasExpansion bounds what aliases may add: a document may hold at most
// this many times the values it spells out (plus aliasSlack for small
// documents), so that a few lines of anchors cannot expand into gigabytes
// (the "billion laughs").
const (
	AliasExpansion = 10
	aliasSlack     = 10_000
)

// Document is one decoded YAML document: JSON's values (maps with string
// keys, lists, strings, int64, float64, bools, nil) and the line its
// content starts on.
type Document struct {
	Value any
	Line  int
}

// YAMLDocuments decodes a stream of YAML 1.2 (or JSON) documents, so a
// namespace named y or on stays a string, never a boolean. A duplicate
// key, a merge key, a non-string key, nesting beyond MaxDepth or aliases
// beyond their budget are errors naming the line.
func YAMLDocuments(source string, data []byte) ([]Document, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var docs []Document
	for {
		var node yamlv3.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, &Error{Source: source, Err: fmt.Errorf("not valid YAML: %w", err)}
		}
		doc, err := NodeDocument(&node)
		if err != nil {
			return nil, &Error{Source: source, Line: doc.Line, Err: err}
		}
		docs = append(docs, doc)
	}
}

// NodeDocument converts one document decoded by yaml.v3 into JSON's
// values, within the budgets. On error, the Document names the line.
func NodeDocument(n *yamlv3.Node) (Document, error) {
	line := n.Line
	if len(n.Content) > 0 {
		line = n.Content[0].Line // past the --- marker
	}
	c := &converter{budget: AliasExpansion*spelledOut(n, 0) + aliasSlack}
	v, err := c.value(n, 0)
	if err != nil {
		var at *lineError
		if errors.As(err, &at) {
			return Document{Line: at.line}, at.err
		}
		return Document{Line: line}, err
	}
	return Document{Value: v, Line: line}, nil
}

type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }

func errorAt(n *yamlv3.Node, format string, args ...any) error {
	return &lineError{line: n.Line, err: fmt.Errorf(format, args...)}
}

// spelledOut counts the nodes the text holds, without following aliases
// (and without recursing past MaxDepth, which conversion refuses anyway).
func spelledOut(n *yamlv3.Node, depth int) int {
	if depth > MaxDepth+1 {
		return 0
	}
	count := 1
	for _, c := range n.Content {
		count += spelledOut(c, depth+1)
	}
	return count
}

// converter turns nodes into values, counting every value it makes
// (aliases are followed, so they count each time).
type converter struct {
	budget, made int
}

func (c *converter) value(n *yamlv3.Node, depth int) (any, error) {
	c.made++
	if c.made > c.budget {
		return nil, errorAt(n, "aliases expand the document to over %d values, more than %d times what it spells out", c.budget, AliasExpansion)
	}
	if depth > MaxDepth {
		return nil, errorAt(n, "nested more than %d levels deep", MaxDepth)
	}
	switch n.Kind {
	case yamlv3.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth)
	case yamlv3.AliasNode:
		return c.value(n.Alias, depth+1)
	case yamlv3.MappingNode:
		return c.mapping(n, depth)
	case yamlv3.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yamlv3.ScalarNode:
		v, err := ScalarValue(n)
		if err != nil {
			return nil, errorAt(n, "%v", err)
		}
		return v, nil
	}
	return nil, errorAt(n, "unexpected YAML node")
}

// mapping refuses what a Kubernetes decoder would read differently from
// the text: duplicate keys (kubectl apply's strict validation refuses
// them; silently the last would win), merge keys, non-string keys.
func (c *converter) mapping(n *yamlv3.Node, depth int) (any, error) {
	m := make(map[string]any, len(n.Content)/2)
	first := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yamlv3.ScalarNode && k.Tag == "!!merge" {
			return nil, errorAt(k, "merge keys (<<) are not supported")
		}
		if k.Kind != yamlv3.ScalarNode {
			return nil, errorAt(k, "keys must be strings")
		}
		if line, dup := first[k.Value]; dup {
			return nil, errorAt(k, "key %q is defined again (first at line %d)", k.Value, line)
		}
		first[k.Value] = k.Line
		val, err := c.value(v, depth+1)
		if err != nil {
			return nil, err
		}
		m[k.Value] = val
	}
	return m, nil
}

// ScalarValue is a scalar's JSON value by its (resolved) tag.
func ScalarValue(n *yamlv3.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!binary", "!!timestamp":
		return n.Value, nil
	case "!!null":
		return nil, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case int:
		return int64(t), nil
	case uint64:
		return int64(t), nil
	}
	return v, nil
}
