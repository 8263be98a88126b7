package policy

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// HintSelectorOneTypoAway is the hint for a policy that selects no pod while a label its
// selector asks for is one typo away from a label some pod has.
const HintSelectorOneTypoAway = "SelectorOneTypoAway"

// calicoEquality finds "key == 'value'" terms in a Calico selector, and
// has(key); the selector itself was parsed when the policy was compiled.
var (
	calicoEquality = regexp.MustCompile(`([A-Za-z0-9][-A-Za-z0-9_./]*)\s*==\s*(?:'([^']*)'|"([^"]*)")`)
	calicoHas      = regexp.MustCompile(`has\(\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*\)`)
)

// labelTerm is one label a selector asks for; value "" with has: the key.
type labelTerm struct {
	key, value string
	has        bool
}

// calicoTerms are the labels a Calico selector asks for.
func calicoTerms(selector string) []labelTerm {
	var out []labelTerm
	for _, m := range calicoEquality.FindAllStringSubmatch(selector, -1) {
		out = append(out, labelTerm{key: m[1], value: m[2] + m[3]})
	}
	for _, m := range calicoHas.FindAllStringSubmatch(selector, -1) {
		out = append(out, labelTerm{key: m[1], has: true})
	}
	return out
}

// matchLabelTerms are a label selector's matchLabels.
func matchLabelTerms(ml map[string]string) []labelTerm {
	keys := make([]string, 0, len(ml))
	for k := range ml {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]labelTerm, 0, len(keys))
	for _, k := range keys {
		out = append(out, labelTerm{key: k, value: ml[k]})
	}
	return out
}

// nearLabel finds, among the pods of the namespace ("" for every pod), a
// label one edit away from a term no pod has: "app=frontend of
// frontend-dev/frontend".
func (e *Engine) nearLabel(terms []labelTerm, namespace string) string {
	for _, t := range terms {
		if e.anyPodHas(t, namespace) {
			continue
		}
		for _, p := range e.model.Pods {
			if namespace != "" && p.Namespace != namespace {
				continue
			}
			if near := nearTerm(t, p.Labels); near != "" {
				return fmt.Sprintf("%s of %s", near, p.Key())
			}
		}
	}
	return ""
}

func (e *Engine) anyPodHas(t labelTerm, namespace string) bool {
	for _, p := range e.model.Pods {
		if namespace != "" && p.Namespace != namespace {
			continue
		}
		v, ok := p.Labels[t.key]
		if ok && (t.has || v == t.value) {
			return true
		}
	}
	return false
}

// nearTerm is the pod's label one typo away from the term: a key one edit
// from the term's (with the same value), or the same key with a value one
// edit away.
func nearTerm(t labelTerm, have map[string]string) string {
	keys := make([]string, 0, len(have))
	for k := range have {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := have[k]
		switch {
		case k == t.key && !t.has && oneEdit(v, t.value):
			return k + "=" + v
		case k != t.key && oneEdit(k, t.key) && (t.has || v == t.value):
			return k + "=" + v
		}
	}
	return ""
}

// oneEdit: a and b differ by one insertion, deletion, substitution or
// transposition of neighbours (and are not equal).
func oneEdit(a, b string) bool {
	if a == b || len(a) < 2 && len(b) < 2 {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	switch len(b) - len(a) {
	case 0:
		var diff []int
		for i := range len(a) {
			if a[i] != b[i] {
				diff = append(diff, i)
			}
		}
		return len(diff) == 1 || len(diff) == 2 && diff[1] == diff[0]+1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]]
	case 1:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		return a[i:] == b[i+1:]
	}
	return false
}

// typoHints point at policies of the flow's namespaces (and Calico's
// global ones) that select no pod while a label they ask for is one typo
// away from a label that exists: often the rule meant for this flow.
func (e *Engine) typoHints(h *hintSet, f Flow) {
	for _, ep := range []Endpoint{f.From, f.To} {
		if ep.Pod == nil {
			continue
		}
		for _, cp := range e.policies {
			if cp.np.Namespace != ep.Pod.Namespace || cp.selectedCount != 0 {
				continue
			}
			if near := e.nearLabel(matchLabelTerms(cp.np.Spec.PodSelector.MatchLabels), cp.np.Namespace); near != "" {
				h.add(HintSelectorOneTypoAway, "NetworkPolicy %s/%s selects no pod, and its podSelector %s is one typo away from the label %s", cp.np.Namespace, cp.np.Name, selectorString(&cp.np.Spec.PodSelector), near)
			}
		}
		e.calicoTypoHints(h, ep.Pod.Namespace)
	}
}

func (e *Engine) calicoTypoHints(h *hintSet, namespace string) {
	if e.calico == nil {
		return
	}
	for _, t := range e.calico.tiers {
		for _, fp := range t.policies {
			p := fp.calico
			if p == nil || (p.Namespace != "" && p.Namespace != namespace) {
				continue
			}
			// The near label first: it is cheap where every term exists,
			// and a policy that selects nothing is a scan of every class.
			if near := e.nearLabel(calicoTerms(p.Selector), p.Namespace); near != "" && !e.calico.selectsAny(fp) {
				h.add(HintSelectorOneTypoAway, "%s selects no pod, and its selector %q is one typo away from the label %s", calicoRef(p), p.Selector, near)
			}
		}
	}
}

func calicoRef(p *model.CalicoPolicy) string {
	if p.Namespace == "" {
		return p.Kind + " " + p.Name
	}
	return p.Kind + " " + p.Namespace + "/" + p.Name
}
