package discover

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Coverage compares the observations with the policies, now and after the
// discovered baseline.
type Coverage struct {
	// NeverObserved are connections between groups that are allowed now
	// and that the discovered baseline denies, none of them seen (what
	// diff --flows would report as cut).
	NeverObserved []policy.FlowChange `json:"neverObserved"`
	// CutObserved are connections that were seen and that the baseline
	// would deny all the same: it should be empty; anything here is a flow
	// the Config could not express (see the notes) and must be added.
	CutObserved []policy.FlowChange `json:"cutObserved"`
	// DeniedNow are observed connections the policies in place deny by the
	// engine's reading (a policy changed during the window, or the
	// enforcer does something else than the policies say).
	DeniedNow []Denied `json:"deniedNow"`
	// Unanswered are calls seen only as unanswered attempts.
	Unanswered []string `json:"unanswered"`
}

// Denied is an observed edge and what denies it now.
type Denied struct {
	Edge string   `json:"edge"`
	By   []string `json:"by"`
}

// CoverageOf computes the coverage: before is the cluster as read, after
// the same with the discovered baseline applied to focus.
func CoverageOf(before, after *model.Model, edges []*Edge, focus map[string]bool) Coverage {
	cov := Coverage{NeverObserved: []policy.FlowChange{}, CutObserved: []policy.FlowChange{}, DeniedNow: []Denied{}, Unanswered: []string{}}
	seen := map[string]bool{}
	for _, e := range edges {
		if e.To != nil && e.Connections > 0 {
			seen[pairKey(e.From, *e.To, e.Port, e.Protocol)] = true
		}
	}
	now := policy.New(before)
	next := policy.New(after)
	for _, c := range policy.FlowChanges(now, next, focus) {
		if c.Before != policy.Allowed || c.After != policy.Denied {
			continue
		}
		src, dst := after.Pod(ns(c.From), name(c.From)), after.Pod(ns(c.To), name(c.To))
		if src == nil || dst == nil {
			continue
		}
		if seen[pairKey(AppOf(src), AppOf(dst), c.Port, c.Protocol)] {
			cov.CutObserved = append(cov.CutObserved, c)
		} else {
			cov.NeverObserved = append(cov.NeverObserved, c)
		}
	}
	// The calls between the observed namespaces first: those are the
	// ones the user knows; the rest come from every other namespace.
	sort.SliceStable(cov.NeverObserved, func(i, j int) bool {
		return inside(cov.NeverObserved[i], focus) && !inside(cov.NeverObserved[j], focus)
	})
	for _, e := range edges {
		if e.Connections == 0 {
			cov.Unanswered = append(cov.Unanswered, e.Describe())
			continue
		}
		if e.fromPod == nil || e.toPod == nil {
			continue
		}
		r := now.Evaluate(policy.Flow{From: policy.PodEndpoint(e.fromPod), To: policy.PodEndpoint(e.toPod), Port: e.Port, Protocol: e.Protocol}, false)
		if r.Verdict != policy.Denied {
			continue
		}
		var by []string
		for _, s := range []*policy.Side{r.Egress, r.Ingress} {
			if s.Denies() {
				by = append(by, s.IsolatedBy...)
			}
		}
		sort.Strings(by)
		cov.DeniedNow = append(cov.DeniedNow, Denied{Edge: e.Describe(), By: by})
	}
	sort.Strings(cov.Unanswered)
	return cov
}

func pairKey(from, to App, port int32, protocol corev1.Protocol) string {
	return fmt.Sprintf("%s>%s:%d/%s", from.Key(), to.Key(), port, protocol)
}

func ns(key string) string {
	n, _, _ := strings.Cut(key, "/")
	return n
}

func name(key string) string {
	_, n, _ := strings.Cut(key, "/")
	return n
}

// inside: both ends of the change are in the focus namespaces.
func inside(c policy.FlowChange, focus map[string]bool) bool {
	return focus[ns(c.From)] && focus[ns(c.To)]
}
