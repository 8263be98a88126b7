package calico

import "testing"

// Calico's PrefixVisitor: every label key, in every kind of test, gains
// the prefix; all() and global() stay; the original is unchanged.
func TestWithPrefix(t *testing.T) {
	sel := MustParseSelector("team == 'a' && (has(x) || tier in {'b', 'c'}) && !(env starts with 'p') && all()")
	got := sel.WithPrefix("pcns.").String()
	want := MustParseSelector("pcns.team == 'a' && (has(pcns.x) || pcns.tier in {'b', 'c'}) && !(pcns.env starts with 'p') && all()").String()
	if got != want {
		t.Errorf("WithPrefix = %s\nwant %s", got, want)
	}
	if sel.String() == got {
		t.Error("the original selector changed")
	}
	if !sel.WithPrefix("pcns.").Matches(LabelMap{"pcns.team": "a", "pcns.x": "", "pcns.env": "dev"}) {
		t.Error("the prefixed selector does not match the prefixed labels")
	}
}
