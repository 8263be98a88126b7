package policy

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// NamespaceFlow sums a matrix's group pairs per namespace pair and port:
// how many are allowed, denied or unspecified, with an example of each.
type NamespaceFlow struct {
	From     string          `json:"from"`
	To       string          `json:"to"`
	Port     int32           `json:"port"`
	Protocol corev1.Protocol `json:"protocol"`
	// Allowed, Denied and Unspecified count group pairs.
	Allowed     int `json:"allowed"`
	Denied      int `json:"denied"`
	Unspecified int `json:"unspecified"`
	// Reach is "all", "some" or "none" of the pairs allowed.
	Reach string `json:"reach"`
	// Examples are one group pair per verdict ("a/deploy/web -> b/sts/db").
	Examples Examples `json:"examples"`
}

// Examples name one group pair of each verdict ("" when none has it); in
// JSON an object keyed by verdict.
type Examples struct {
	Allowed     string `json:"allowed,omitempty"`
	Denied      string `json:"denied,omitempty"`
	Unspecified string `json:"unspecified,omitempty"`
}

// Of is the example of a verdict.
func (x *Examples) Of(v Verdict) string { return *x.field(v) }

func (x *Examples) field(v Verdict) *string {
	switch v {
	case Allowed:
		return &x.Allowed
	case Denied:
		return &x.Denied
	}
	return &x.Unspecified
}

// keep records the example of a verdict unless it has one.
func (x *Examples) keep(v Verdict, example func() string) {
	if f := x.field(v); *f == "" {
		*f = example()
	}
}

// Namespaces aggregates verdicts (a MatrixEach stream) by namespace pair
// (or workload pair) and port number; memory is that of the pairs, not of
// the verdicts.
type Namespaces struct {
	flows map[flowKey]*NamespaceFlow
	// key names the row of an end: its namespace, or its workload.
	key func(pod, group string) string
}

// flowKey is one row of the aggregation (a struct: no string to build per
// verdict of a matrix of millions).
type flowKey struct {
	from, to string
	protocol corev1.Protocol
	port     int32
}

// NewNamespaces starts an empty aggregation by namespace.
func NewNamespaces() *Namespaces {
	return &Namespaces{flows: map[flowKey]*NamespaceFlow{}, key: func(pod, _ string) string {
		ns, _, _ := strings.Cut(pod, "/")
		return ns
	}}
}

// NewWorkloads starts an empty aggregation by workload: the groups of one
// Deployment whose replicas differ in labels (canary, track) add up.
func NewWorkloads() *Namespaces {
	return &Namespaces{flows: map[flowKey]*NamespaceFlow{}, key: func(pod, group string) string {
		if group == "" {
			return pod
		}
		if i := strings.IndexByte(group, '('); i > 0 && strings.HasSuffix(group, ")") {
			return group[:i] // a workload split into several groups
		}
		return group
	}}
}

// Add counts one verdict.
func (n *Namespaces) Add(x Explanation) error {
	from, to := n.key(x.From, x.FromGroup), n.key(x.To, x.ToGroup)
	key := flowKey{from, to, x.Protocol, x.Port}
	f, ok := n.flows[key]
	if !ok {
		f = &NamespaceFlow{From: from, To: to, Port: x.Port, Protocol: x.Protocol}
		n.flows[key] = f
	}
	switch x.Verdict {
	case Allowed:
		f.Allowed++
	case Denied:
		f.Denied++
	default:
		f.Unspecified++
	}
	f.Examples.keep(x.Verdict, func() string { return x.FromGroup + " -> " + x.ToGroup })
	return nil
}

// addCounts adds counts of group pairs [allowed, denied, unspecified] for
// one namespace pair and port; example names the first pair of a verdict.
func (n *Namespaces) addCounts(from, to string, port int32, protocol corev1.Protocol, counts [3]int, example func(Verdict) string) {
	if counts[0]+counts[1]+counts[2] == 0 {
		return
	}
	key := flowKey{from, to, protocol, port}
	f, ok := n.flows[key]
	if !ok {
		f = &NamespaceFlow{From: from, To: to, Port: port, Protocol: protocol}
		n.flows[key] = f
	}
	f.Allowed += counts[0]
	f.Denied += counts[1]
	f.Unspecified += counts[2]
	for i, v := range []Verdict{Allowed, Denied, Unspecified} {
		if counts[i] > 0 {
			f.Examples.keep(v, func() string { return example(v) })
		}
	}
}

// merge adds the sums of later (a run of destinations after n's): counts
// add up, and n's examples, earlier in the matrix's order, stay.
func (n *Namespaces) merge(later *Namespaces) {
	for key, f := range later.flows {
		mine, ok := n.flows[key]
		if !ok {
			n.flows[key] = f
			continue
		}
		mine.Allowed += f.Allowed
		mine.Denied += f.Denied
		mine.Unspecified += f.Unspecified
		for _, v := range []Verdict{Allowed, Denied, Unspecified} {
			if ex := f.Examples.Of(v); ex != "" {
				mine.Examples.keep(v, func() string { return ex })
			}
		}
	}
}

// Flows are the aggregated pairs, sorted by namespaces, then port.
func (n *Namespaces) Flows() []NamespaceFlow {
	out := make([]NamespaceFlow, 0, len(n.flows))
	for _, f := range n.flows {
		switch total := f.Allowed + f.Denied + f.Unspecified; {
		case f.Allowed == total:
			f.Reach = "all"
		case f.Allowed == 0:
			f.Reach = "none"
		default:
			f.Reach = "some"
		}
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Protocol < b.Protocol
	})
	return out
}
