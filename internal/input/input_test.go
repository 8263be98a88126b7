package input

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReaderBoundsEveryInputOfARunTogether(t *testing.T) {
	a := write(t, "a.yaml", bytes.Repeat([]byte("x"), 600))
	b := write(t, "b.yaml", bytes.Repeat([]byte("y"), 600))
	r := NewReader(nil, 1000)
	if _, err := r.Raw(a); err != nil {
		t.Fatalf("first file within the bound: %v", err)
	}
	_, err := r.Raw(b)
	var inErr *Error
	if !errors.As(err, &inErr) || inErr.Source != b || !strings.Contains(err.Error(), "with the inputs read before it") || !strings.Contains(err.Error(), "--max-input-size") {
		t.Fatalf("second file over the run's bound: %v", err)
	}
	_, err = NewReader(nil, 100).Raw(a)
	if err == nil || !strings.Contains(err.Error(), "larger than the 100 input limit") {
		t.Fatalf("one file over the bound: %v", err)
	}
}

func TestReaderStopsAnEndlessInputAtTheBound(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := NewReader(nil, 1<<20).Raw("/dev/zero")
	if err == nil || !strings.Contains(err.Error(), "larger than the 1Mi input limit") {
		t.Fatalf("/dev/zero: %v", err)
	}
}

func TestReaderKeepsStdinForASecondRead(t *testing.T) {
	r := NewReader(strings.NewReader("kind: Namespace\n"), 0)
	first, err := r.Text("-")
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Text("-")
	if err != nil || !bytes.Equal(first, second) || len(second) == 0 {
		t.Fatalf("second read of stdin = %q, %v; want %q", second, err, first)
	}
}

func TestReaderNamesWhatIsMissing(t *testing.T) {
	r := NewReader(nil, 0)
	_, err := r.Raw(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := r.Raw(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	if _, err := r.Raw("-"); err == nil || !strings.Contains(err.Error(), "no standard input") {
		t.Errorf("no stdin: %v", err)
	}
}

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	var out []byte
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func TestDecodeText(t *testing.T) {
	text := "kind: Namespace\nmetadata:\n  name: café-😀\n"
	for _, tt := range []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"utf-8", []byte(text), ""},
		{"utf-8 with its mark", append([]byte{0xEF, 0xBB, 0xBF}, text...), ""},
		{"utf-16le with its mark", utf16Bytes(text, false, true), ""},
		{"utf-16be with its mark", utf16Bytes(text, true, true), ""},
		{"utf-16le without a mark", utf16Bytes(text, false, false), "UTF-16 without a byte-order mark"},
		{"utf-32", append([]byte{0xFF, 0xFE, 0, 0}, 'k', 0, 0, 0), "UTF-32"},
		{"binary", []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}, "NUL bytes"},
		{"utf-16 cut short", utf16Bytes(text, false, true)[:11], "odd number of bytes"},
		{"lone surrogate", append([]byte{0xFF, 0xFE}, 0x00, 0xD8, 'a', 0), "unpaired surrogate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeText(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != text {
				t.Fatalf("= %q, %v; want %q", got, err, text)
			}
		})
	}
}

// bomb is the "billion laughs": nine levels of nine aliases each.
func bomb(levels int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		prev := "*a" + string(rune('0'+i-1))
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		b.WriteString(strings.TrimSuffix(strings.Repeat(prev+", ", 9), ", "))
		b.WriteString("]\n")
	}
	return b.String()
}

func TestYAMLDocumentsBudgets(t *testing.T) {
	for _, tt := range []struct {
		name, doc, wantErr string
		wantLine           int
	}{
		{"alias bomb", bomb(9), "aliases expand the document", 0},
		{"deep nesting", strings.Repeat("[", MaxDepth+5) + strings.Repeat("]", MaxDepth+5), "nested more than 128 levels", 1},
		{"duplicate key", "a: 1\nb:\n  c: 1\n  c: 2\n", `key "c" is defined again (first at line 3)`, 4},
		{"duplicate key in JSON", `{"kind": "Pod", "kind": "Service"}`, `key "kind" is defined again`, 1},
		{"merge key", "base: &b {x: 1}\nother:\n  <<: *b\n", "merge keys", 3},
		{"mapping key", "? [a]\n: 1\n", "keys must be strings", 1},
		{"not YAML", "a: [\n", "not valid YAML", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := YAMLDocuments("f.yaml", []byte(tt.doc))
			var inErr *Error
			if !errors.As(err, &inErr) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.wantLine > 0 && inErr.Line != tt.wantLine {
				t.Errorf("line %d, want %d (%v)", inErr.Line, tt.wantLine, err)
			}
		})
	}
}

func TestYAMLDocumentsWithinBudgets(t *testing.T) {
	// A few aliases, as Helm charts write shared labels, stay fine; YAML
	// 1.2 keeps on and y strings; every document keeps its line.
	docs, err := YAMLDocuments("f.yaml", []byte("labels: &l {app: web, tier: on}\na: {metadata: {labels: *l}}\n---\nkind: y\nlist: "+
		strings.Repeat("[", MaxDepth-1)+strings.Repeat("]", MaxDepth-1)+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[1].Line != 4 {
		t.Fatalf("docs = %+v", docs)
	}
	first := docs[0].Value.(map[string]any)
	labels := first["a"].(map[string]any)["metadata"].(map[string]any)["labels"].(map[string]any)
	if labels["tier"] != "on" || docs[1].Value.(map[string]any)["kind"] != "y" {
		t.Errorf("YAML 1.2 strings: %v, %v", labels, docs[1].Value)
	}
}

func TestCheckJSON(t *testing.T) {
	for _, tt := range []struct{ in, wantErr string }{
		{`{"from": "a", "to": "b"}`, ""},
		{`{"from": "a", "from": "b"}`, `key "from" is defined twice`},
		{`{"a": {"b": 1, "b": 2}}`, `key "b" is defined twice`},
		{`[{"a": 1}, {"a": 1}]`, ""},
		{strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "nested more than"},
	} {
		err := CheckJSON([]byte(tt.in))
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("CheckJSON(%.40s) = %v, want %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]int64{"256Mi": 256 << 20, "1000": 1000, "1Gi": 1 << 30} {
		if got, err := ParseLimit(in); err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1Mi", "lots"} {
		if _, err := ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q) accepted", bad)
		}
	}
	if n, _ := ParseLimit(DefaultMaxSize); n != DefaultMaxBytes {
		t.Errorf("DefaultMaxSize %s is %d bytes, DefaultMaxBytes %d", DefaultMaxSize, n, DefaultMaxBytes)
	}
}
