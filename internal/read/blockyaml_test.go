package read

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// fullValues decodes a stream with yaml.v3 alone: the values of its
// non-empty documents and their lines, or an error.
func fullValues(data string) (values []any, lines []int, err error) {
	dec := yamlv3.NewDecoder(strings.NewReader(data))
	for {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return values, lines, nil
			}
			return nil, nil, err
		}
		converted, err := input.NodeDocument(&doc)
		if err != nil {
			return nil, nil, err
		}
		if converted.Value == nil {
			continue
		}
		values, lines = append(values, converted.Value), append(lines, converted.Line)
	}
}

// splitValues decodes a stream as load does (split, block parser, yaml.v3
// per document); full reports that load would use the full parser.
func splitValues(data string) (values []any, lines []int, full bool) {
	docs, ok := splitDocuments(data)
	if !ok {
		return nil, nil, true
	}
	for _, d := range docs {
		v, line, err := parseDocument(d)
		if err != nil {
			return nil, nil, true
		}
		if v != nil {
			values, lines = append(values, v), append(lines, line)
		}
	}
	return values, lines, false
}

// same compares decoded values; %#v prints maps sorted and NaN as NaN.
func same(a, b any) bool { return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b) }

// checkAgainstYAMLv3 holds the fast path to yaml.v3: the same documents,
// values and lines whenever it answers, and never an answer where yaml.v3
// refuses the stream.
func checkAgainstYAMLv3(t *testing.T, data string) {
	t.Helper()
	want, wantLines, wantErr := fullValues(data)
	got, gotLines, full := splitValues(data)
	if full {
		return // load reads it with yaml.v3 alone
	}
	if wantErr != nil {
		t.Fatalf("yaml.v3 refuses the stream (%v) but the split path read it as %#v\n%s", wantErr, got, data)
	}
	if !same(got, want) || !reflect.DeepEqual(gotLines, wantLines) {
		t.Fatalf("split path: %#v at lines %v\nyaml.v3:    %#v at lines %v\n%s", got, gotLines, want, wantLines, data)
	}
	// Each document the block parser reads on its own agrees too.
	docs, _ := splitDocuments(data)
	for _, d := range docs {
		v, _, err := parseBlockDocument(d)
		if errors.Is(err, errNotBlock) {
			continue
		}
		fv, _, ferr := fullValues(d.text)
		if ferr != nil || err != nil {
			t.Fatalf("block parser %v, yaml.v3 %v on\n%s", err, ferr, d.text)
		}
		var first any
		if len(fv) > 0 {
			first = fv[0]
		}
		if !same(v, first) {
			t.Fatalf("block parser: %#v\nyaml.v3:      %#v\n%s", v, first, d.text)
		}
	}
}

var blockCases = map[string]string{
	"pod": `apiVersion: v1
kind: Pod
metadata:
  name: web-0   # a comment
  namespace: "shop"
  labels:
    app: web
spec:
  containers:
  - name: app
    ports:
    - containerPort: 8080
      name: http
      protocol: TCP
  hostNetwork: false
status:
  podIPs:
  - ip: 198.18.0.5
`,
	"sequence at the key's column": "a:\n- 1\n- two\nb:\n  - x: 1\n    y: 2\n  -\n  - z:\n    - 3\n    w: 4\n",
	"compact nested sequence":      "a:\n- - nested\n",
	"scalars":                      "i: 42\nz: 0\noct: 0o17\nleading: 017\nhex: 0x1F\nneg: -3\nplus: +3\nf: 1.5\ne: 1e3\ninf: .inf\nnan: .NaN\nt: true\nT: True\nyes: yes\non: on\nn: null\ntilde: ~\nempty:\nq: 'it''s'\ndq: \"a # b\"\ndate: 2001-12-14\nbig: 123456789012345678901234\nu: 1_000\nstr: a:b\nurl: http://x/y#z\n",
	"empty collections":            "a: {}\nb: []\nc: {} # c\n",
	"flow collections":             "a: {x: 1}\nb: [1, 2]\nd: [ ]\n",
	"flow sequences":               "ports: ['80', http, 443]\nnets: [10.0.5.0/24, \"198.51.100.10/32\"] # c\nempty: [ ]\nmixed: [-1, 1.5, true, null, ~, a b, 'x,y']\nitems:\n- [a]\n",
	"block scalars":                "data:\n  cfg: |\n    line one\n    line two\n  folded: >\n    a\n    b\n",
	"multi-line plain":             "a: one\n  two\nb: c\n",
	"anchors":                      "a: &x 1\nb: *x\n",
	"tags":                         "a: !!str 1\nb: !custom x\n",
	"merge":                        "base: &b {x: 1}\nderived:\n  <<: *b\n",
	"escapes":                      "a: \"tab\\there\"\nb: \"quote \\\" inside\"\n",
	"duplicate key":                "a: 1\na: 2\n",
	"bad indentation":              "a:\n  b: 1\n c: 2\n",
	"tabs":                         "a:\tb\n",
	"value after seq":              "a: - b\n",
	"colon in value":               "a: b: c\n",
	"three documents":              "---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n",
	"marker content":               "--- a: 1\n---\nb: 2\n",
	"directive":                    "%YAML 1.2\n---\na: 1\n",
	"root scalar":                  "just a string\n",
	"root sequence":                "- a\n- b\n",
	"indented root":                "  a: 1\n  b: 2\n",
	"quoted keys":                  "\"a\": 1\n'b': 2\n",
	"long key":                     strings.Repeat("k", 1100) + ": v\n",
	"comment after key":            "a: # nothing here\n  b: 1\n",
	"dash scalars":                 "a: -x\nb: -1\nc: --\n",
	"unicode":                      "name: caf\u00e9\nemoji: \U0001F600\n",
	"unterminated":                 "a: 'b\n  c'\n",
	"bare dash":                    "a: -\n",
	"question key":                 "? a\n: b\n",
	"nested maps":                  "a:\n  b:\n    c:\n      d: 1\n  e: 2\nf: 3\n",
	"trailing spaces":              "a: b   \nc:   \n  d: 1  \n",
	"windows endings":              "a: 1\r\nb: 2\r\n",
}

func TestBlockYAMLAgreesWithYAMLv3(t *testing.T) {
	for name, data := range blockCases {
		t.Run(name, func(t *testing.T) { checkAgainstYAMLv3(t, data) })
	}
}

// The subset covers what tools write: these go through the block parser.
func TestBlockYAMLCoversToolOutput(t *testing.T) {
	for _, name := range []string{"pod", "sequence at the key's column", "scalars", "empty collections", "nested maps", "indented root", "dash scalars", "unicode", "trailing spaces", "flow sequences"} {
		d := document{text: blockCases[name], firstLine: 1}
		if _, _, err := parseBlockDocument(d); err != nil {
			t.Errorf("%s: %v, want the block parser to read it", name, err)
		}
	}
	for _, name := range []string{"flow collections", "block scalars", "multi-line plain", "anchors", "tags", "merge", "escapes", "compact nested sequence", "duplicate key", "bad indentation", "tabs", "quoted keys", "long key", "unterminated", "question key"} {
		d := document{text: blockCases[name], firstLine: 1}
		if _, _, err := parseBlockDocument(d); !errors.Is(err, errNotBlock) {
			t.Errorf("%s: %v, want it left to yaml.v3", name, err)
		}
	}
}

// Flow sequences the block parser does not read as yaml.v3 would are left
// to yaml.v3, one at a time.
func TestFlowSequencesBeyondTheSubset(t *testing.T) {
	for _, data := range []string{"a: [x, [y]]\n", "b: [x, ]\n", "c: ['it''s']\n", "d: [\"e\\\"\"]\n", "e: [a: b]\n",
		"f: [x\n  , y]\n", "g: [x]y\n", "h: [&a x]\n", "i: [x]#c\n", "j: [- x]\n", "k: [x, {y: 1}]\n", "l: [\"a'b\"]\n", "m: [x\ty]\n",
		"n: [a?b]\n", "o: [is it?, yes]\n", "p: ['a', b?]\n", nestedFlowSequence(input.MaxDepth - 1), nestedFlowSequence(input.MaxDepth)} {
		checkAgainstYAMLv3(t, data)
		if _, _, err := parseBlockDocument(document{text: data, firstLine: 1}); !errors.Is(err, errNotBlock) {
			t.Errorf("%q: %v, want it left to yaml.v3", data, err)
		}
	}
}

// nestedFlowSequence is depth nested mappings, the last holding [x].
func nestedFlowSequence(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat("  ", i) + "a:\n")
	}
	b.WriteString(strings.Repeat("  ", depth) + "a: [x]\n")
	return b.String()
}

// Every manifest of the repository reads the same through both paths.
func TestBlockYAMLOnRepositoryManifests(t *testing.T) {
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin" || d.Name() == "dist") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		t.Run(path, func(t *testing.T) { checkAgainstYAMLv3(t, string(data)) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// LoadFiles gives the same model, warnings included, through the fast
// path as through yaml.v3 alone, on a generated cluster and on a List.
func TestLoadFilesFastPathSameModel(t *testing.T) {
	path := clusterFile(t, 3, 30)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A typo in a field and a redefined object, to compare warnings too.
	data = append(data, []byte("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: extra\n  namespace: ns-0\nspec:\n  containr: []\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-0\n")...)
	list := "apiVersion: v1\nkind: List\nitems:\n" + indentItems(string(data))
	for name, text := range map[string]string{"documents": string(data), "list": list} {
		t.Run(name, func(t *testing.T) {
			fast := &fileLoader{model: &model.Model{}, defaultNamespace: "default", byKey: map[string]*entry{}}
			if err := fast.load("f.yaml", []byte(text)); err != nil {
				t.Fatal(err)
			}
			full := &fileLoader{model: &model.Model{}, defaultNamespace: "default", byKey: map[string]*entry{}}
			if err := full.loadFull("f.yaml", []byte(text)); err != nil {
				t.Fatal(err)
			}
			if len(fast.entries) != len(full.entries) || len(fast.entries) < 40 {
				t.Fatalf("%d objects through the fast path, %d through yaml.v3", len(fast.entries), len(full.entries))
			}
			for i := range fast.entries {
				if fast.entries[i].key != full.entries[i].key || fast.entries[i].where != full.entries[i].where {
					t.Fatalf("object %d: %s at %s, yaml.v3 %s at %s", i, fast.entries[i].key, fast.entries[i].where, full.entries[i].key, full.entries[i].where)
				}
			}
			if !reflect.DeepEqual(fast.model.Warnings, full.model.Warnings) || len(fast.model.Warnings) == 0 {
				t.Fatalf("warnings:\n%q\nyaml.v3:\n%q", fast.model.Warnings, full.model.Warnings)
			}
		})
	}
}

// indentItems turns a stream of documents into the items of a List.
func indentItems(stream string) string {
	var b bytes.Buffer
	for _, doc := range strings.Split(stream, "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		for i, l := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
			if i == 0 {
				b.WriteString("- " + l + "\n")
			} else {
				b.WriteString("  " + l + "\n")
			}
		}
	}
	return b.String()
}

func FuzzBlockYAML(f *testing.F) {
	for _, data := range blockCases {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data string) {
		checkAgainstYAMLv3(t, data)
	})
}
