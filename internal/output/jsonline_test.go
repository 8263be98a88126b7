package output

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// checkEncodesAsJSONMarshal holds the direct encoder to json.Marshal's
// bytes wherever it answers.
func checkEncodesAsJSONMarshal(t *testing.T, l VerdictLine) bool {
	t.Helper()
	want, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := appendVerdictLine([]byte("prefix"), &l)
	if !ok {
		return false
	}
	if !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("direct:       %s\njson.Marshal: prefix%s", got, want)
	}
	return true
}

// Strings that are plain, need escapes, are HTML, or are not UTF-8.
var lineStrings = []string{"", "ns-1/api-4-0", "GlobalNetworkPolicy/default.gnp-57", `a"b`, `back\slash`, "<html>&", "a&b", "x>y", "tab\there",
	"line\nbreak", "\x00\x1f\x7f", "café", "\u2028\u2029", "\xff\xfe", "emoji \U0001F600", "ends in \\"}

func randomString(r *rand.Rand) string { return lineStrings[r.IntN(len(lineStrings))] }

func randomStrings(r *rand.Rand) []string {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	out := make([]string, 1+r.IntN(4))
	for i := range out {
		out[i] = randomString(r)
	}
	return out
}

func randomIntPointer(r *rand.Rand) *int {
	if r.IntN(2) == 0 {
		return nil
	}
	n := r.IntN(2000) - 1000
	return &n
}

func randomBoolPointer(r *rand.Rand) *bool {
	if r.IntN(3) == 0 {
		return nil
	}
	b := r.IntN(2) == 0
	return &b
}

func randomSide(r *rand.Rand) *policy.Side {
	if r.IntN(5) == 0 {
		return nil
	}
	s := &policy.Side{Verdict: policy.Verdict(randomString(r)), Tier: policy.TierName(randomString(r)), Undecided: randomString(r),
		Isolated: r.IntN(2) == 0, IsolatedBy: randomStrings(r)}
	if r.IntN(2) == 0 {
		s.Calico = &policy.CalicoMatch{Tier: randomString(r), Kind: randomString(r), API: randomString(r), Namespace: randomString(r),
			Name: randomString(r), Rule: r.IntN(10) - 1, Action: randomString(r), Passed: randomStrings(r)}
	}
	if r.IntN(3) == 0 {
		c := &policy.CiliumSide{Enforcement: randomString(r), Enforced: r.IntN(2) == 0, Decision: randomString(r),
			SelectedBy: randomStrings(r), L7: r.IntN(2) == 0, L7Policies: randomStrings(r)}
		for range r.IntN(3) {
			c.Matches = append(c.Matches, policy.CiliumMatch{Kind: randomString(r), Namespace: randomString(r), Name: randomString(r),
				Rule: r.IntN(5), Section: randomString(r), Entry: r.IntN(5), Peer: randomString(r), Port: randomIntPointer(r),
				Action: randomString(r), L7: r.IntN(2) == 0})
		}
		s.Cilium = c
	}
	if r.IntN(3) > 0 {
		s.AllowedBy = []policy.RuleRef{}
		for range r.IntN(3) {
			s.AllowedBy = append(s.AllowedBy, policy.RuleRef{Namespace: randomString(r), Name: randomString(r), Rule: r.IntN(5),
				Peer: randomIntPointer(r), Port: randomIntPointer(r)})
		}
	}
	if r.IntN(10) == 0 {
		s.Admin = &policy.TierMatch{}
	}
	return s
}

func randomLine(r *rand.Rand) VerdictLine {
	l := VerdictLine{Explanation: policy.Explanation{From: randomString(r), To: randomString(r), FromGroup: randomString(r),
		ToGroup: randomString(r), Port: int32(r.IntN(70000) - 1), PortName: randomString(r), Protocol: corev1.Protocol(randomString(r)),
		RequestedPort: randomString(r), Allowed: randomBoolPointer(r), Verdict: policy.Verdict(randomString(r)),
		Egress: randomSide(r), Ingress: randomSide(r)}}
	switch r.IntN(4) {
	case 0:
		l.Hints = []policy.Hint{}
	case 1:
		l.Hints = []policy.Hint{{Code: randomString(r), Message: randomString(r)}}
	}
	if r.IntN(3) == 0 {
		l.Query, l.Expect, l.Met = r.IntN(100), policy.Verdict(randomString(r)), randomBoolPointer(r)
	}
	return l
}

func TestVerdictLineEncodesAsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	direct := 0
	var enc lineEncoder
	shared := randomStrings(r)
	for range 20000 {
		l := randomLine(r)
		if l.Egress != nil && r.IntN(2) == 0 {
			l.Egress.IsolatedBy = shared // a list many lines share, as a class's
		}
		if got, ok := enc.appendVerdictLine(nil, &l); ok {
			if want, _ := json.Marshal(l); string(got) != string(want) {
				t.Fatalf("stream: %s\njson.Marshal: %s", got, want)
			}
		}
		if r.IntN(100) == 0 && len(shared) > 0 {
			shared[0] = randomString(r)
		}
		if checkEncodesAsJSONMarshal(t, l) {
			direct++
		}
	}
	if direct < 10000 {
		t.Fatalf("only %d of 20000 lines took the direct path", direct)
	}
}

// A stream encodes a list it has seen from the cache, and a list changed
// in place afresh.
func TestLineEncoderReusesOnlyUnchangedLists(t *testing.T) {
	var enc lineEncoder
	names := []string{"NetworkPolicy/ns/a", "GlobalNetworkPolicy/default.b"}
	line := VerdictLine{Explanation: policy.Explanation{Egress: &policy.Side{IsolatedBy: names}}}
	for _, change := range []func(){func() {}, func() { names[1] = "<changed>" }, func() { names[0] = "x" }} {
		change()
		got, ok := enc.appendVerdictLine(nil, &line)
		want, _ := json.Marshal(line)
		if !ok || string(got) != string(want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	if len(enc.lists) != 1 {
		t.Fatalf("%d lists cached, want 1", len(enc.lists))
	}
}

// Lines with hints or tier matches go through json.Marshal, unchanged.
func TestWriteJSONLineLeavesTheRestToJSONMarshal(t *testing.T) {
	for _, l := range []VerdictLine{
		{Explanation: policy.Explanation{Hints: []policy.Hint{{Code: "x", Message: "y"}}}},
		{Explanation: policy.Explanation{Egress: &policy.Side{Baseline: &policy.TierMatch{}}}},
	} {
		if _, ok := appendVerdictLine(nil, &l); ok {
			t.Fatalf("%+v took the direct path", l)
		}
		var got bytes.Buffer
		if err := WriteJSONLine(&got, l); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(l)
		if got.String() != string(want)+"\n" {
			t.Fatalf("got %s, want %s", got.String(), want)
		}
	}
}

func FuzzVerdictLineEncodesAsJSONMarshal(f *testing.F) {
	f.Add("ns-1/api", "GlobalNetworkPolicy/x", "<&>", uint64(1))
	f.Fuzz(func(t *testing.T, a, b, c string, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 0))
		l := randomLine(r)
		l.From, l.To = a, b
		if l.Egress != nil {
			l.Egress.IsolatedBy = []string{a, b, c}
			l.Egress.Admin = nil
		}
		if l.Ingress != nil {
			l.Ingress.Undecided = c
		}
		checkEncodesAsJSONMarshal(t, l)
	})
}
