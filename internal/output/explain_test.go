package output

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

func TestWriteExplainJSONEqualsMarshalIndent(t *testing.T) {
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
		var got bytes.Buffer
		if err := WriteExplainJSON(&got, r); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want)+"\n", got.String()); diff != "" {
			t.Errorf("(-MarshalIndent +streamed):\n%s", diff)
		}
	}
}
