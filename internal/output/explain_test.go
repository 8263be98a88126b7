package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// streamed writes xs through the format's VerdictWriter.
func streamed(t *testing.T, format string, warnings []string, xs []policy.Explanation) string {
	t.Helper()
	var out bytes.Buffer
	vw := NewVerdictWriter(&out, format, StreamOptions{Warnings: warnings})
	for _, x := range xs {
		if err := vw.Write(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := vw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestJSONStreamEqualsMarshalIndent(t *testing.T) {
	yes := true
	one := 1
	cases := []ExplainResult{
		NewExplainResult(nil, nil),
		NewExplainResult([]policy.Explanation{
			{From: "a/x", To: "b/y", Port: 80, Protocol: "TCP", Allowed: &yes, Verdict: policy.Allowed,
				Egress: &policy.Side{Isolated: true, AllowedBy: []policy.RuleRef{{Namespace: "a", Name: "p", Rule: 0, Peer: &one}}, IsolatedBy: []string{"p"}},
				Hints:  []policy.Hint{{Code: "X", Message: "m <&> \"q\""}}},
			{From: "a/x", To: "203.0.113.1", Port: 443, Protocol: "TCP", Verdict: policy.Unspecified, Hints: []policy.Hint{}},
		}, []string{"could not read"}),
	}
	for _, r := range cases {
		want, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got := streamed(t, "json", r.Warnings, r.Verdicts)
		if diff := cmp.Diff(string(want)+"\n", got); diff != "" {
			t.Errorf("(-MarshalIndent +streamed):\n%s", diff)
		}
	}
}

// -o yaml is written verdict by verdict; the bytes are those of the whole
// document marshalled at once, long and quoted strings included.
func TestYAMLStreamEqualsMarshal(t *testing.T) {
	yes := true
	one := 1
	long := strings.Repeat("a very long hint message that a YAML emitter may fold ", 4)
	verdicts := []policy.Explanation{
		{From: "a/x", To: "b/y", FromGroup: "a/deploy/x", Port: 80, Protocol: "TCP", Allowed: &yes, Verdict: policy.Allowed,
			Egress: &policy.Side{Isolated: true, AllowedBy: []policy.RuleRef{{Namespace: "a", Name: "p", Rule: 0, Peer: &one}}, IsolatedBy: []string{"p"}},
			Hints:  []policy.Hint{{Code: "X", Message: long}, {Code: "Y", Message: "m: <&> \"q\" - 'x' #"}}},
		{From: "a/x", To: "203.0.113.1", Port: 443, Protocol: "TCP", Verdict: policy.Unspecified, Hints: []policy.Hint{}},
		{From: "yes", To: "no: 1", Port: 1, Protocol: "UDP", Verdict: policy.Denied, Hints: []policy.Hint{}},
	}
	for _, c := range []struct {
		xs       []policy.Explanation
		warnings []string
	}{{nil, nil}, {nil, []string{"could not read"}}, {verdicts, nil}, {verdicts, []string{long, "- x"}}} {
		want, err := yaml.Marshal(NewExplainResult(c.xs, c.warnings))
		if err != nil {
			t.Fatal(err)
		}
		got := streamed(t, "yaml", c.warnings, c.xs)
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("(-Marshal +streamed):\n%s", diff)
		}
	}
}

// A list document written item by item has the bytes of the whole
// document marshalled at once, in JSON and YAML, empty or not.
func TestWriteListDocumentEqualsWriteDocument(t *testing.T) {
	long := strings.Repeat("a long group name that a YAML emitter may fold ", 3)
	for _, flows := range [][]policy.NamespaceFlow{nil, {
		{From: "a", To: "b", Port: 80, Protocol: "TCP", Allowed: 2, Denied: 1, Reach: "some", Examples: policy.Examples{Allowed: "a/x -> b/y", Denied: long}},
		{From: "yes", To: "no: 1", Port: 53, Protocol: "UDP", Unspecified: 3, Reach: "none"},
	}} {
		for _, format := range []string{"json", "yaml"} {
			var want, got bytes.Buffer
			doc := NewNamespaceMatrix(flows)
			if err := WriteDocument(&want, format, doc); err != nil {
				t.Fatal(err)
			}
			if err := WriteListDocument(&got, format, doc.Kind, "flows", doc.Flows); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.String(), got.String()); diff != "" {
				t.Errorf("%s, %d flows (-whole +streamed):\n%s", format, len(flows), diff)
			}
		}
	}
}
