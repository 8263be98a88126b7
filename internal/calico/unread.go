package calico

// Decided evaluates the selector when some labels it may read could not
// be read (a namespace's labels the user may not list): for every value
// those labels could have — absent, each value the selector names, or any
// other (a selector only compares with the values it names, so these are
// all the cases) — decided is true when every case gives the same answer.
func (s *Selector) Decided(known Labels, unread func(key string) bool) (matches, decided bool) {
	var keys []string
	for _, k := range s.keys {
		if unread(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return s.Matches(known), true
	}
	values := s.root.literals(nil)
	// The domain of each unread label: absent (index 0), a value the
	// selector does not name (1), then each named value.
	domain := len(values) + 2
	choice := make([]int, len(keys))
	seen := [2]bool{}
	for {
		v := s.Matches(assigned{known: known, keys: keys, choice: choice, values: values})
		seen[boolIndex(v)] = true
		if seen[0] && seen[1] {
			return false, false
		}
		if !next(choice, domain) {
			return v, true
		}
	}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// next counts through every combination of choices.
func next(choice []int, base int) bool {
	for i := range choice {
		choice[i]++
		if choice[i] < base {
			return true
		}
		choice[i] = 0
	}
	return false
}

// assigned is the known labels with one choice of value for each unread
// key.
type assigned struct {
	known  Labels
	keys   []string
	choice []int
	values []string
}

// otherValue names no value a selector can name ("" and printable
// strings): a label value that matches no literal.
const otherValue = "\x00other"

func (a assigned) Get(key string) (string, bool) {
	for i, k := range a.keys {
		if k != key {
			continue
		}
		switch c := a.choice[i]; c {
		case 0:
			return "", false
		case 1:
			return otherValue, true
		default:
			return a.values[c-2], true
		}
	}
	return a.known.Get(key)
}

// literals lists every value the selector compares with.
func (n *node) literals(out []string) []string {
	switch n.op {
	case opEq, opNe, opContains, opStartsWith, opEndsWith:
		out = append(out, n.value)
	case opIn, opNotIn:
		out = append(out, n.set...)
	}
	for _, o := range n.operands {
		out = o.literals(out)
	}
	return out
}
