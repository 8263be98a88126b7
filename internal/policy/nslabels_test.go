package policy

import (
	"strings"
	"testing"
)

// When the namespaces could not be listed, their labels are unknown but
// for the automatic name label: a verdict a namespaceSelector over another
// label decides is unspecified (never a false "denied"); one decided by
// names only, or by policies that do not look at that namespace, stays.
func TestNamespaceLabelsUnknown(t *testing.T) {
	denyB := np("b", "metadata: {name: deny}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}")
	fromTeam := np("b", `metadata: {name: from-team}
spec: {podSelector: {matchLabels: {app: server}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}], ports: [{port: 8080}]}]}`)
	fromName := np("b", `metadata: {name: from-a}
spec: {podSelector: {matchLabels: {app: api}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: a}}}], ports: [{port: 8080}]}]}`)
	toTeam := np("b", `metadata: {name: to-team}
spec: {podSelector: {matchLabels: {app: server}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchExpressions: [{key: team, operator: DoesNotExist}]}}]}]}`)
	bothTeam := np("b", `metadata: {name: both-team}
spec: {podSelector: {matchLabels: {app: both}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}]}]}`)
	bothName := np("b", `metadata: {name: both-name}
spec: {podSelector: {matchLabels: {app: both}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: a}}}], ports: [{port: 8080}]}]}`)
	m := newModel(pod("a/client", "app=client", "10.0.0.1"), pod("b/server", "app=server", "10.0.1.1", "8080/TCP"),
		pod("b/api", "app=api", "10.0.1.2", "8080/TCP"), pod("b/other", "app=other", "10.0.1.3", "8080/TCP"),
		pod("b/both", "app=both", "10.0.1.4", "8080/TCP", "9090/TCP"), denyB, fromTeam, fromName, toTeam, bothTeam, bothName)
	m.MarkUnreadable("namespaces", "a")
	e := New(m)
	for _, c := range []struct {
		from, to string
		want     Verdict
		hint     bool
	}{
		{"a/client", "b/server", Unspecified, true},    // team=blue decides, a's labels unknown
		{"a/client", "b/api", Allowed, false},          // by name: known
		{"a/client", "b/other", Denied, false},         // nothing that selects other looks at a's labels
		{"b/server", "a/client", Unspecified, true},    // egress: team DoesNotExist decides
		{"b/api", "a/client", Denied, false},           // api's egress is denied whatever a's labels
		{"a/client", "b/both", Allowed, false},         // allowed by name, whatever team says
		{"a/client", "b/both:9090", Unspecified, true}, // only team=blue could allow 9090
	} {
		to, port := c.to, int32(8080)
		if dest, _, ok := strings.Cut(c.to, ":"); ok {
			to, port = dest, 9090
		}
		f := Flow{From: endpointOf(t, m, c.from), To: endpointOf(t, m, to), Port: port, Protocol: tcp}
		got := e.Evaluate(f, true)
		if got.Verdict != c.want {
			t.Errorf("%s -> %s: %s, want %s (hints %v)", c.from, c.to, got.Verdict, c.want, got.Hints)
		}
		hinted := false
		for _, h := range got.Hints {
			if h.Code == HintNamespaceLabelsUnknown {
				hinted = strings.Contains(h.Message, `RBAC does not allow "list" on "namespaces" cluster-wide`)
			}
		}
		if hinted != c.hint {
			t.Errorf("%s -> %s: hint %v, want %v (%v)", c.from, c.to, hinted, c.hint, got.Hints)
		}
	}
	// With every label read, the same model decides every flow.
	known := newModel(ns("a", "team=blue"), pod("a/client", "app=client", "10.0.0.1"), pod("b/server", "app=server", "10.0.1.1", "8080/TCP"), denyB, fromTeam)
	if v := New(known).Evaluate(Flow{From: endpointOf(t, known, "a/client"), To: endpointOf(t, known, "b/server"), Port: 8080, Protocol: tcp}, false).Verdict; v != Allowed {
		t.Errorf("labels read: %s, want allowed", v)
	}
	// Only selectors on names: the unknown labels are never needed.
	byName := newModel(pod("a/client", "app=client", "10.0.0.1"), pod("b/api", "app=api", "10.0.1.2", "8080/TCP"), denyB, fromName)
	byName.MarkUnreadable("namespaces", "a")
	if len(namespaceLabelsUnknown(byName)) != 0 {
		t.Error("no selector needs labels, yet the engine keeps namespaces whose labels are unknown")
	}
}
