package ciliumref

// Endpoint selectors.
//
// Sources:
//   - pkg/policy/api/selector.go @9f733d13 (UnmarshalJSON: every key goes
//     through labels.GetExtendedKeyFrom; HasKey / HasKeyPrefix; AddMatch
//     writes into MatchLabels, so it overwrites a same-key match).
//   - pkg/labels GetExtendedKeyFrom / ParseSource: "k8s:foo" has source k8s,
//     "foo" has source "any" (matches a label of any source), "$host" is
//     reserved:host.
//   - Kubernetes label selector semantics for In / NotIn / Exists /
//     DoesNotExist (NotIn and DoesNotExist match when the key is absent).

import (
	"fmt"
	"sort"
	"strings"
)

// tri is a three-valued truth: no < maybe < yes, so AND is min, OR is max.
type tri int

const (
	no tri = iota
	maybe
	yes
)

func and(a, b tri) tri { return min(a, b) }
func or(a, b tri) tri  { return max(a, b) }

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

// requirement is one selector term on a (source, key).
type requirement struct {
	source, key string
	op          string // In, NotIn, Exists, DoesNotExist
	values      []string
}

// selector is an endpoint selector after Cilium's key parsing. matchLabels is
// keyed by "source:key" so that AddMatch overwrites like Cilium's map does.
type selector struct {
	matchLabels map[string]string
	exprs       []requirement
}

// rawLabelSelector is a Kubernetes LabelSelector as written.
type rawLabelSelector struct {
	MatchLabels      map[string]string `json:"matchLabels,omitempty"`
	MatchExpressions []struct {
		Key      string   `json:"key"`
		Operator string   `json:"operator"`
		Values   []string `json:"values,omitempty"`
	} `json:"matchExpressions,omitempty"`
}

// splitSourceKey follows labels.ParseSource with ':' as delimiter.
func splitSourceKey(k string) (string, string) {
	if strings.HasPrefix(k, "$") {
		return "reserved", k[1:]
	}
	if i := strings.IndexByte(k, ':'); i >= 0 {
		return k[:i], k[i+1:]
	}
	return "any", k
}

// ciliumSelector parses a selector written in a Cilium policy: each key may
// carry a source prefix.
func ciliumSelector(raw *rawLabelSelector) (selector, error) {
	return buildSelector(raw, splitSourceKey)
}

// k8sSelector parses a selector of a Kubernetes NetworkPolicy: Cilium prefixes
// every key with the k8s source (NewESFromK8sLabelSelector("k8s.", ...)).
func k8sSelector(raw *rawLabelSelector) (selector, error) {
	return buildSelector(raw, func(k string) (string, string) { return "k8s", k })
}

func buildSelector(raw *rawLabelSelector, split func(string) (string, string)) (selector, error) {
	s := selector{matchLabels: map[string]string{}}
	if raw == nil {
		return s, nil
	}
	for k, v := range raw.MatchLabels {
		src, key := split(k)
		s.matchLabels[src+":"+key] = v
	}
	for _, e := range raw.MatchExpressions {
		src, key := split(e.Key)
		switch e.Operator {
		case "In", "NotIn":
			if len(e.Values) == 0 {
				return s, fmt.Errorf("selector key %q: operator %s needs values", e.Key, e.Operator)
			}
		case "Exists", "DoesNotExist":
			if len(e.Values) != 0 {
				return s, fmt.Errorf("selector key %q: operator %s takes no values", e.Key, e.Operator)
			}
		default:
			return s, fmt.Errorf("selector key %q: unknown operator %q", e.Key, e.Operator)
		}
		s.exprs = append(s.exprs, requirement{source: src, key: key, op: e.Operator, values: e.Values})
	}
	return s, nil
}

// clone copies a selector so that injections do not leak.
func (s selector) clone() selector {
	out := selector{matchLabels: map[string]string{}}
	for k, v := range s.matchLabels {
		out.matchLabels[k] = v
	}
	out.exprs = append(out.exprs, s.exprs...)
	return out
}

// addMatch is EndpointSelector.AddMatch.
func (s *selector) addMatch(source, key, value string) {
	s.matchLabels[source+":"+key] = value
}

// addExists adds "source:key Exists".
func (s *selector) addExists(source, key string) {
	s.exprs = append(s.exprs, requirement{source: source, key: key, op: "Exists"})
}

// requirements lists matchLabels (as In) and matchExpressions.
func (s selector) requirements() []requirement {
	keys := make([]string, 0, len(s.matchLabels))
	for k := range s.matchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []requirement
	for _, k := range keys {
		src, key, _ := strings.Cut(k, ":")
		out = append(out, requirement{source: src, key: key, op: "In", values: []string{s.matchLabels[k]}})
	}
	return append(out, s.exprs...)
}

// hasKey is HasKey on a (source, key).
func (s selector) hasKey(source, key string) bool {
	for _, r := range s.requirements() {
		if r.source == source && r.key == key {
			return true
		}
	}
	return false
}

// hasKeyPrefix is HasKeyPrefix on a source and a key prefix.
func (s selector) hasKeyPrefix(source, prefix string) bool {
	for _, r := range s.requirements() {
		if r.source == source && strings.HasPrefix(r.key, prefix) {
			return true
		}
	}
	return false
}

// isWildcard: no requirement at all selects every identity.
func (s selector) isWildcard() bool {
	return len(s.matchLabels) == 0 && len(s.exprs) == 0
}

// matches evaluates the selector against one label set.
func (s selector) matches(lbls []label) bool {
	for _, r := range s.requirements() {
		if !r.matches(lbls) {
			return false
		}
	}
	return true
}

func (r requirement) matches(lbls []label) bool {
	var values []string
	found := false
	for _, l := range lbls {
		if l.key == r.key && (r.source == "any" || r.source == l.source) {
			found = true
			values = append(values, l.value)
		}
	}
	switch r.op {
	case "Exists":
		return found
	case "DoesNotExist":
		return !found
	case "In":
		return anyIn(values, r.values)
	case "NotIn":
		return !anyIn(values, r.values)
	}
	return false
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// String renders the selector for reasons.
func (s selector) String() string {
	var parts []string
	for _, r := range s.requirements() {
		k := r.source + ":" + r.key
		switch r.op {
		case "In":
			parts = append(parts, k+" in ("+strings.Join(r.values, ",")+")")
		case "NotIn":
			parts = append(parts, k+" notin ("+strings.Join(r.values, ",")+")")
		default:
			parts = append(parts, k+" "+r.op)
		}
	}
	if len(parts) == 0 {
		return "{all}"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
