package posture

import (
	"slices"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// vocabulary is what the selectors that may decide a workload's sides
// can tell apart: per label key, the values they name. A label selector
// only asks whether a key is there and whether its value is one of some
// named values, so two peers whose labels agree, key by key, on "absent",
// "this named value" or "another value" are matched by exactly the same
// selectors: that is a region, and one representative stands for it.
type vocabulary struct {
	pod, namespace map[string][]string
}

func newVocabulary() *vocabulary {
	return &vocabulary{pod: map[string][]string{}, namespace: map[string][]string{}}
}

// addSelector records a selector's keys and values in one dimension.
func addSelector(dim map[string][]string, s *metav1.LabelSelector) {
	if s == nil {
		return
	}
	for k, v := range s.MatchLabels {
		dim[k] = appendUnique(dim[k], v)
	}
	for _, r := range s.MatchExpressions {
		if _, ok := dim[r.Key]; !ok {
			dim[r.Key] = nil
		}
		for _, v := range r.Values {
			dim[r.Key] = appendUnique(dim[r.Key], v)
		}
	}
}

func appendUnique(xs []string, v string) []string {
	if slices.Contains(xs, v) {
		return xs
	}
	return append(xs, v)
}

// addNetworkPolicy records every peer selector of a NetworkPolicy (its
// subject does not tell peers apart).
func (v *vocabulary) addNetworkPolicy(np *networkingv1.NetworkPolicy) {
	add := func(peers []networkingv1.NetworkPolicyPeer) {
		for i := range peers {
			addSelector(v.pod, peers[i].PodSelector)
			addSelector(v.namespace, peers[i].NamespaceSelector)
		}
	}
	for _, r := range np.Spec.Ingress {
		add(r.From)
	}
	for _, r := range np.Spec.Egress {
		add(r.To)
	}
}

// addClusterPolicy records the peers of an AdminNetworkPolicy,
// BaselineAdminNetworkPolicy or ClusterNetworkPolicy.
func (v *vocabulary) addClusterPolicy(cp *model.ClusterPolicy) {
	for _, rules := range [][]model.ClusterRule{cp.Ingress, cp.Egress} {
		for _, r := range rules {
			for _, p := range r.Peers {
				addSelector(v.namespace, p.Namespaces)
				if p.Pods != nil {
					addSelector(v.namespace, &p.Pods.NamespaceSelector)
					addSelector(v.pod, &p.Pods.PodSelector)
				}
			}
		}
	}
}

// otherValue stands for "a value no selector names" (otherFor makes
// sure none does).
const otherValue = "netbaseline-audit-other"

// otherFor is a value none of values is.
func otherFor(values []string) string {
	v := otherValue
	for slices.Contains(values, v) {
		v += "-x"
	}
	return v
}

// options are the value classes of a key: absent (""), each named value,
// and another value.
func options(values []string) []string {
	out := append([]string{""}, values...)
	sort.Strings(out[1:])
	return append(out, otherFor(values))
}

// size is how many label sets a dimension's product has.
func size(dim map[string][]string) int {
	n := 1
	for _, vs := range dim {
		n *= len(vs) + 2
		if n > maxRegions {
			return maxRegions + 1
		}
	}
	return n
}

// labelSets enumerates one label set per region of a dimension, skipping
// the keys in skip (the namespace name, handled apart).
func labelSets(dim map[string][]string, skip string) []map[string]string {
	keys := make([]string, 0, len(dim))
	for k := range dim {
		if k != skip {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	sets := []map[string]string{{}}
	for _, k := range keys {
		var next []map[string]string
		for _, set := range sets {
			for _, o := range options(dim[k]) {
				next = append(next, withLabel(set, k, o))
			}
		}
		sets = next
	}
	return sets
}

func withLabel(set map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(set)+1)
	for kk, vv := range set {
		out[kk] = vv
	}
	if v != "" {
		out[k] = v
	}
	return out
}

// classOf is a label set's region in a dimension: key by key, absent, the
// named value, or another one.
func classOf(dim map[string][]string, labels map[string]string, skip string) string {
	keys := make([]string, 0, len(dim))
	for k := range dim {
		if k != skip {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, ok := labels[k]
		switch {
		case !ok:
			v = "<absent>"
		case !slices.Contains(dim[k], v):
			v = "<other>"
		}
		b.WriteString(k + "=" + v + ";")
	}
	return b.String()
}
