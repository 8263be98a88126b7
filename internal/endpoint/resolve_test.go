package endpoint

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// The indexed Resolver gives what Resolve gives, targets and errors, for
// every pod, namespace, workload and service of a model and for names
// that do not exist.
func TestResolverAgreesWithResolve(t *testing.T) {
	m := synth.Model(synth.Options{Seed: 5, Namespaces: 4, Workloads: 5, MaxReplicas: 4, Policies: 4, PodsPerLabelSet: 2})
	m.Services = append(m.Services, &model.Service{Namespace: m.Pods[0].Namespace, Name: "web", Selector: m.Pods[0].Labels})
	var raws []string
	for _, ns := range m.Namespaces {
		raws = append(raws, ns.Name, ns.Name+"/nope", ns.Name+"/deploy/nope", ns.Name+"/svc/web")
	}
	for _, p := range m.Pods {
		raws = append(raws, p.Key(), p.Key()+"x")
		if p.Owner != nil {
			raws = append(raws, fmt.Sprintf("%s/%s/%s", p.Namespace, model.ShortKind(p.Owner.Kind), p.Owner.Name))
		}
	}
	raws = append(raws, "missing", "missing/pod", "203.0.113.7", "203.0.113.0/24")
	r := NewResolver(m)
	for _, raw := range raws {
		ep, err := Parse(raw, Destination)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		want, wantErr := Resolve(m, ep)
		got, gotErr := r.Resolve(ep)
		if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%s: resolver %v %v, Resolve %v %v", raw, got.Pods, gotErr, want.Pods, wantErr)
		}
	}
}
