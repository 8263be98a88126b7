package policy

import (
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

func TestOneEdit(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"frontend", "fronted", true}, {"frontend", "frontned", true}, {"frontend", "frontendd", true},
		{"frontend", "frontent", true}, {"frontend", "frontend", false}, {"frontend", "fronnted", false},
		{"frontend", "backend", false}, {"app", "ap", true}, {"a", "b", false}, {"web", "bew", false},
	} {
		if got := oneEdit(c.a, c.b); got != c.want {
			t.Errorf("oneEdit(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// A policy that selects nothing because of a typo is named, with the label
// it almost asks for, on a flow it denies.
func TestSelectorOneTypoAway(t *testing.T) {
	typo := &model.CalicoPolicy{Kind: model.CalicoNetworkPolicy, Namespace: "a", Name: "allow-from-b", Group: model.CalicoAPIGroup,
		Selector: "app == 'sever'", Types: []string{"Ingress"}, Ingress: []model.CalicoRule{{Action: "Allow"}}}
	deny := &model.CalicoPolicy{Kind: model.CalicoGlobalNetworkPolicy, Name: "deny", Group: model.CalicoAPIGroup, Order: ptrFloat(2000),
		Selector: "all()", Types: []string{"Ingress"}, Ingress: []model.CalicoRule{{Action: "Deny"}}}
	m := with()
	m.CalicoPolicies = []*model.CalicoPolicy{typo, deny}
	m.Normalize()
	r := New(m).Evaluate(Flow{From: endpointOf(t, m, "b/client"), To: endpointOf(t, m, "a/server"), Port: 80, Protocol: tcp}, true)
	if r.Verdict != Denied || !hintSays(r, HintSelectorOneTypoAway, "app=server of a/server") {
		t.Errorf("%s %v", r.Verdict, r.Hints)
	}
	np := with(np("a", "metadata: {name: allow}\nspec: {podSelector: {matchLabels: {ap: server}}, ingress: [{}]}"), np("a", denyAllIngressA))
	r = New(np).Evaluate(Flow{From: endpointOf(t, np, "b/client"), To: endpointOf(t, np, "a/server"), Port: 80, Protocol: tcp}, true)
	if !hintSays(r, HintSelectorOneTypoAway, "a/allow selects no pod") {
		t.Errorf("%s %v", r.Verdict, r.Hints)
	}
}

func hintSays(r Result, code, text string) bool {
	for _, h := range r.Hints {
		if h.Code == code && strings.Contains(h.Message, text) {
			return true
		}
	}
	return false
}

func ptrFloat(f float64) *float64 { return &f }
