package calico

import (
	"strings"
	"testing"
)

// A selector over labels nobody could read is decided only when every
// value they could have gives the same answer.
func TestDecided(t *testing.T) {
	known := LabelMap{"app": "web", "pcns.projectcalico.org/name": "a"}
	unread := func(k string) bool { return strings.HasPrefix(k, "pcns.") && k != "pcns.projectcalico.org/name" }
	for _, tt := range []struct {
		sel              string
		matches, decided bool
	}{
		{"app == 'web'", true, true},
		{"pcns.team == 'x'", false, false},
		{"pcns.team == 'x' && app == 'db'", false, true},     // the known part decides
		{"pcns.team == 'x' || app == 'web'", true, true},     // likewise
		{"pcns.team == 'x' || pcns.team != 'x'", true, true}, // every value
		{"has(pcns.team) && !has(pcns.team)", false, true},
		{"pcns.team starts with 'pr'", false, false},
		{"pcns.projectcalico.org/name == 'a'", true, true},
		{"pcns.env in {'a', 'b'} || pcns.env not in {'a'}", true, true},   // a, b, absent, other: all true
		{"pcns.env in {'a', 'b'} && pcns.env not in {'a'}", false, false}, // only b
	} {
		m, d := MustParseSelector(tt.sel).Decided(known, unread)
		if d != tt.decided || (d && m != tt.matches) {
			t.Errorf("%s: matches=%v decided=%v, want %v %v", tt.sel, m, d, tt.matches, tt.decided)
		}
	}
}
