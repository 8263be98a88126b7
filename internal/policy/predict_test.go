package policy

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// After leaves the model it starts from as it was, even where its lists
// have room to grow: the live snapshot is read meanwhile.
func TestAfterLeavesTheModelAsItWas(t *testing.T) {
	m := &model.Model{Namespaces: make([]*model.Namespace, 0, 8)}
	for _, name := range []string{"a", "c", "d"} {
		m.Pods = append(m.Pods, &model.Pod{Namespace: name, Name: name + "0"})
	}
	m.Normalize()
	names := func() string {
		var out []string
		for _, ns := range m.Namespaces {
			out = append(out, ns.Name+"="+ns.Labels[model.MetadataNameLabel])
		}
		return strings.Join(out, ",")
	}
	want := names()
	next := After(m, map[string][]*networkingv1.NetworkPolicy{"b": {{ObjectMeta: metav1.ObjectMeta{Name: "x"}}}}, nil)
	if got := names(); got != want || len(next.Namespaces) != 4 {
		t.Fatalf("before: %s, want %s; after has %d namespaces", got, want, len(next.Namespaces))
	}
}
