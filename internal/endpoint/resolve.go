package endpoint

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Target is an endpoint resolved against the read model.
type Target struct {
	Endpoint Endpoint
	// Pods for NS, NS/POD, NS/KIND/NAME and NS/svc/NAME.
	Pods []*model.Pod
	// Service for NS/svc/NAME.
	Service *model.Service
	// Addr or Prefix for IP and CIDR endpoints.
	Addr   netip.Addr
	Prefix netip.Prefix
}

// InCluster reports whether the target stands for pods.
func (t Target) InCluster() bool { return len(t.Pods) > 0 || t.Service != nil }

// NotFoundError says an endpoint names nothing in the model; it suggests
// close names.
type NotFoundError struct {
	What, Name  string
	Suggestions []string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("%s %q not found", e.What, e.Name)
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + strings.Join(e.Suggestions, " or ") + "?"
	}
	return msg
}

// NoPodsError reports that a Service selects no pod. The Target is still returned, for
// probe to show that nothing can answer.
type NoPodsError struct{ Msg string }

func (e *NoPodsError) Error() string { return e.Msg }

// Resolve finds what an endpoint stands for.
func Resolve(m *model.Model, ep Endpoint) (Target, error) {
	return resolve(m, ep, m.PodsIn, m.Pod)
}

// Resolver resolves many endpoints against one model, with the pods
// indexed by namespace and name (explain --queries asks thousands).
type Resolver struct {
	m      *model.Model
	podsIn map[string][]*model.Pod
	pods   map[string]*model.Pod
}

// NewResolver indexes m's pods; m must not change while it is used.
func NewResolver(m *model.Model) *Resolver {
	r := &Resolver{m: m, podsIn: map[string][]*model.Pod{}, pods: make(map[string]*model.Pod, len(m.Pods))}
	for _, p := range m.Pods {
		r.podsIn[p.Namespace] = append(r.podsIn[p.Namespace], p)
		if _, dup := r.pods[p.Key()]; !dup { // the first, as Model.Pod finds it
			r.pods[p.Key()] = p
		}
	}
	return r
}

// Resolve is Resolve on the resolver's model.
func (r *Resolver) Resolve(ep Endpoint) (Target, error) {
	return resolve(r.m, ep, func(ns string) []*model.Pod { return r.podsIn[ns] }, func(ns, name string) *model.Pod { return r.pods[ns+"/"+name] })
}

func resolve(m *model.Model, ep Endpoint, podsIn func(string) []*model.Pod, podNamed func(ns, name string) *model.Pod) (Target, error) {
	t := Target{Endpoint: ep}
	switch ep.Kind {
	case IP:
		t.Addr = ep.Addr
		return t, nil
	case CIDR:
		t.Prefix = ep.Prefix
		return t, nil
	case DNSName, Local, URL:
		return t, nil
	}
	if m.Namespace(ep.Namespace) == nil {
		var names []string
		for _, ns := range m.Namespaces {
			names = append(names, ns.Name)
		}
		return t, &NotFoundError{What: "namespace", Name: ep.Namespace, Suggestions: closest(ep.Namespace, names)}
	}
	if m.CouldNotRead("pods", ep.Namespace) {
		return t, &model.UnreadableError{Verb: "list", Resource: "pods", Namespace: ep.Namespace}
	}
	if ep.Kind == Service && m.CouldNotRead("services", ep.Namespace) {
		return t, &model.UnreadableError{Verb: "list", Resource: "services", Namespace: ep.Namespace}
	}
	pods := podsIn(ep.Namespace)
	names := func(f func(*model.Pod) string) []string {
		seen := map[string]bool{}
		var out []string
		for _, p := range pods {
			if n := f(p); n != "" && !seen[n] {
				seen[n] = true
				out = append(out, ep.Namespace+"/"+n)
			}
		}
		return out
	}
	switch ep.Kind {
	case Namespace:
		if len(pods) == 0 {
			return t, fmt.Errorf("namespace %q has no pods", ep.Namespace)
		}
		t.Pods = pods
	case Pod:
		p := podNamed(ep.Namespace, ep.Name)
		if p == nil {
			return t, &NotFoundError{What: "pod", Name: ep.Namespace + "/" + ep.Name, Suggestions: closest(ep.Namespace+"/"+ep.Name, names(func(p *model.Pod) string { return p.Name }))}
		}
		t.Pods = []*model.Pod{p}
	case Workload:
		for _, p := range pods {
			for _, o := range []*model.Owner{p.Owner, p.Controller} {
				if o != nil && o.Kind == ep.WorkloadKind && o.Name == ep.Name {
					t.Pods = append(t.Pods, p)
					break
				}
			}
		}
		if len(t.Pods) == 0 {
			kind := model.ShortKind(ep.WorkloadKind)
			return t, &NotFoundError{What: ep.WorkloadKind, Name: ep.Namespace + "/" + kind + "/" + ep.Name,
				Suggestions: closest(ep.Namespace+"/"+kind+"/"+ep.Name, names(func(p *model.Pod) string {
					if p.Owner == nil {
						return ""
					}
					return model.ShortKind(p.Owner.Kind) + "/" + p.Owner.Name
				}))}
		}
	case Service:
		svc := m.Service(ep.Namespace, ep.Name)
		if svc == nil {
			var svcs []string
			for _, s := range m.Services {
				if s.Namespace == ep.Namespace {
					svcs = append(svcs, s.Namespace+"/svc/"+s.Name)
				}
			}
			return t, &NotFoundError{What: "service", Name: ep.Namespace + "/svc/" + ep.Name, Suggestions: closest(ep.Namespace+"/svc/"+ep.Name, svcs)}
		}
		if len(svc.Selector) == 0 {
			return t, fmt.Errorf("service %s has no selector: its endpoints are managed elsewhere, so its pods are unknown", svc.Key())
		}
		sel := labels.SelectorFromSet(svc.Selector)
		for _, p := range pods {
			if sel.Matches(labels.Set(p.Labels)) {
				t.Pods = append(t.Pods, p)
			}
		}
		t.Service = svc
		if len(t.Pods) == 0 {
			return t, &NoPodsError{Msg: fmt.Sprintf("service %s selects no pod (selector %s)", svc.Key(), sel)}
		}
	}
	return t, nil
}

// closest returns up to two names within a small edit distance.
func closest(name string, candidates []string) []string {
	type scored struct {
		s string
		d int
	}
	var out []scored
	for _, c := range candidates {
		if d := levenshtein(name, c); d <= max(2, len(name)/4) && d > 0 {
			out = append(out, scored{c, d})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].d != out[j].d {
			return out[i].d < out[j].d
		}
		return out[i].s < out[j].s
	})
	var names []string
	for i := 0; i < len(out) && i < 2; i++ {
		names = append(names, out[i].s)
	}
	return names
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
