package policy

import (
	"net/netip"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// FuzzCiliumSelector holds Cilium's selectors over a pod's identity labels
// (k8s: source) to Kubernetes' own selector over the pod's labels: keys
// written without a source (any:) or with k8s: match the pod's label,
// reserved: keys never do, every operator as Kubernetes reads it.
func FuzzCiliumSelector(f *testing.F) {
	f.Add("app", "web", uint8(0), "app", "web", uint8(0))
	f.Add("tier", "", uint8(2), "tier", "x", uint8(1))
	f.Add("team", "a", uint8(1), "other", "a", uint8(2))
	f.Fuzz(func(t *testing.T, key, value string, op uint8, podKey, podValue string, source uint8) {
		ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
		expr := metav1.LabelSelectorRequirement{Key: key, Operator: ops[int(op)%len(ops)]}
		if expr.Operator == metav1.LabelSelectorOpIn || expr.Operator == metav1.LabelSelectorOpNotIn {
			expr.Values = []string{value}
		}
		ls := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{expr}}
		if op%5 == 4 {
			ls = &metav1.LabelSelector{MatchLabels: map[string]string{key: value}}
		}
		k8s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil || strings.Contains(key, ":") || strings.Contains(podKey, ":") {
			return // not a Kubernetes selector, or a key with a source
		}
		pod := map[string]string{podKey: podValue}
		want := k8s.Matches(labels.Set(pod))
		identity := map[string]string{"k8s:" + podKey: podValue, ciliumNamespaceKey: "ns"}
		prefixed := *ls.DeepCopy()
		switch source % 3 {
		case 1:
			for i := range prefixed.MatchExpressions {
				prefixed.MatchExpressions[i].Key = "k8s:" + prefixed.MatchExpressions[i].Key
			}
			if prefixed.MatchLabels != nil {
				prefixed.MatchLabels = map[string]string{"k8s:" + key: value}
			}
		case 2:
			for i := range prefixed.MatchExpressions {
				prefixed.MatchExpressions[i].Key = "any:" + prefixed.MatchExpressions[i].Key
			}
			if prefixed.MatchLabels != nil {
				prefixed.MatchLabels = map[string]string{"any:" + key: value}
			}
		}
		if got := newCiliumSel(&prefixed).matches(identity); got != want {
			t.Fatalf("selector %+v on %v: Cilium %v, Kubernetes %v", prefixed, pod, got, want)
		}
		// A reserved key never matches a pod's identity.
		reserved := &metav1.LabelSelector{MatchLabels: map[string]string{"reserved:" + key: value}}
		if newCiliumSel(reserved).matches(identity) {
			t.Fatalf("reserved selector %v matched a pod", reserved)
		}
	})
}

// FuzzCiliumCIDR holds CIDR rules to their definition: the range holds the
// address and no except does; a pod is never selected by one.
func FuzzCiliumCIDR(f *testing.F) {
	f.Add("198.51.100.0/24", "198.51.100.0/28", "198.51.100.7")
	f.Add("0.0.0.0/0", "", "198.51.100.200")
	f.Add("198.51.100.7", "", "198.51.100.7")
	f.Fuzz(func(t *testing.T, cidr, except, addr string) {
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return
		}
		var excepts []string
		if except != "" {
			excepts = []string{except}
		}
		b, ok := ciliumCIDR(cidr, excepts)
		if !ok {
			return
		}
		want := b.cidr.Contains(a)
		if p, err := netip.ParsePrefix(except); err == nil && p.Masked().Contains(a) {
			want = false
		}
		if got := b.contains(a); got != want {
			t.Fatalf("%s except %q holds %s: %v, want %v", cidr, except, a, got, want)
		}
		l := &ciliumLayer{cidrNodes: true}
		if l.cidrMatches(&b, &ciliumEnd{class: 0}) != no {
			t.Fatal("a CIDR rule selected a pod")
		}
		if got := l.cidrMatches(&b, &ciliumEnd{class: -1, entity: "world", ip: a}); (got == yes) != want {
			t.Fatalf("outside address %s: %v, want %v", a, got, want)
		}
	})
}
