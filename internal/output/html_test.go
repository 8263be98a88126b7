package output

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// pageData splits a page into its cells and its tables.
func pageData(t *testing.T, page string) ([]uint32, htmlData) {
	t.Helper()
	between := func(start, end string) string {
		_, rest, ok := strings.Cut(page, start)
		if !ok {
			t.Fatalf("page lacks %s", start)
		}
		body, _, ok := strings.Cut(rest, end)
		if !ok {
			t.Fatalf("page lacks %s after %s", end, start)
		}
		return body
	}
	raw, err := base64.StdEncoding.DecodeString(between(`<script id="cells" type="application/octet-stream">`, "</script>"))
	if err != nil {
		t.Fatal(err)
	}
	cells := make([]uint32, len(raw)/4)
	for i := range cells {
		cells[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	var d htmlData
	if err := json.Unmarshal([]byte(between(`<script id="data" type="application/json">`, "</script>")), &d); err != nil {
		t.Fatal(err)
	}
	return cells, d
}

// Every verdict of a matrix can be read back from the page: its cell
// points at a kind with the verdict, both sides and the hints as the
// engine gave them, whatever the order of groups and ports.
func TestHTMLMatrixRoundTrip(t *testing.T) {
	for _, hints := range []bool{false, true} {
		m := synth.Model(synth.Options{Seed: 11, Namespaces: 3, Workloads: 4, MaxReplicas: 4, Policies: 8, PodsPerLabelSet: 2})
		e := policy.New(m)
		groups := e.Groups(m.Pods)
		sources, destinations := groups[1:], groups[:len(groups)-1] // rows and columns that differ
		var buf bytes.Buffer
		page := NewHTMLMatrix(&buf, sources, destinations, HTMLOptions{Title: "t <script>", Hints: hints})
		var want []policy.Explanation
		matrix := e.MatrixBetween
		if hints {
			matrix = e.MatrixWithHints
		}
		if err := matrix(sources, destinations, nil, func(x policy.Explanation) error {
			want = append(want, x)
			return page.Write(x)
		}); err != nil {
			t.Fatal(err)
		}
		if err := page.Close(); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "t <script>") {
			t.Error("the title is not escaped")
		}
		cells, d := pageData(t, buf.String())
		if len(cells) != len(want) || len(d.Sources) != len(sources) {
			t.Fatalf("%d cells for %d verdicts, %d sources", len(cells), len(want), len(d.Sources))
		}
		asJSON := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		for i, x := range want {
			col, src := d.Columns[i/len(sources)], d.Sources[i%len(sources)]
			if got := d.Groups[src][0]; got != x.FromGroup {
				t.Fatalf("cell %d: source %v, want %s", i, got, x.FromGroup)
			}
			if got := d.Groups[col[0]][0]; got != x.ToGroup || d.Ports[col[1]].Label != PortLabel(x) {
				t.Fatalf("cell %d: column %v %s, want %s %s", i, got, d.Ports[col[1]].Label, x.ToGroup, PortLabel(x))
			}
			k := d.Kinds[cells[i]]
			if []policy.Verdict{policy.Allowed, policy.Denied, policy.Unspecified}[k[0]] != x.Verdict {
				t.Fatalf("cell %d: verdict %d, want %s", i, k[0], x.Verdict)
			}
			side := func(j int) string {
				if j < 0 {
					return "null"
				}
				return asJSON(d.Sides[j])
			}
			if side(k[1]) != asJSON(x.Egress) || side(k[2]) != asJSON(x.Ingress) {
				t.Fatalf("cell %d: sides %s %s, want %s %s", i, side(k[1]), side(k[2]), asJSON(x.Egress), asJSON(x.Ingress))
			}
			gotHints := "[]"
			if k[3] >= 0 {
				gotHints = asJSON(d.HintSets[k[3]])
			}
			if gotHints != asJSON(x.Hints) {
				t.Fatalf("cell %d: hints %s, want %s", i, gotHints, asJSON(x.Hints))
			}
		}
		if hints && len(d.HintSets) == 0 {
			t.Error("no hints in a matrix computed with hints")
		}
		if len(d.Sides) >= len(want) {
			t.Errorf("%d sides kept for %d verdicts: not shared", len(d.Sides), len(want))
		}
	}
}

// A verdict out of the engine's order is an error, not a wrong page.
func TestHTMLMatrixRefusesAnotherOrder(t *testing.T) {
	m := synth.Model(synth.Options{Seed: 2, Namespaces: 2, Workloads: 2, MaxReplicas: 1, Policies: 1})
	e := policy.New(m)
	groups := e.Groups(m.Pods)
	var xs []policy.Explanation
	_ = e.MatrixBetween(groups, groups, nil, func(x policy.Explanation) error { xs = append(xs, x); return nil })
	if len(xs) < 2 {
		t.Skip("too few verdicts")
	}
	page := NewHTMLMatrix(&bytes.Buffer{}, groups, groups, HTMLOptions{})
	if err := page.Write(xs[1]); err == nil {
		t.Error("a verdict written out of order was taken")
	}
}
