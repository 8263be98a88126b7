package policy

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// FlowChange is a group-to-group connection whose verdict differs between
// two sets of policies.
type FlowChange struct {
	From      string          `json:"from"`
	To        string          `json:"to"`
	FromGroup string          `json:"fromGroup"`
	ToGroup   string          `json:"toGroup"`
	Port      int32           `json:"port"`
	PortName  string          `json:"portName,omitempty"`
	Protocol  corev1.Protocol `json:"protocol"`
	Before    Verdict         `json:"before"`
	After     Verdict         `json:"after"`
}

// FlowChanges compares two engines built on the same pods (before and
// after an apply) over every group pair that touches a focus namespace,
// on each port the destination declares.
func FlowChanges(before, after *Engine, focus map[string]bool) []FlowChange {
	pods := after.model.Pods
	groups := after.Groups(pods)
	var out []FlowChange
	for _, dg := range groups {
		dst := dg.Pods[0]
		for _, cp := range dst.Ports {
			for _, sg := range groups {
				src := sg.Pods[0]
				if !focus[src.Namespace] && !focus[dst.Namespace] {
					continue
				}
				if src == dst && len(sg.Pods) > 1 {
					src = sg.Pods[1]
				}
				bf := Flow{From: PodEndpoint(before.pod(src)), To: PodEndpoint(before.pod(dst)), Port: cp.Port, Protocol: cp.Protocol, Replicas: standsForReplicas(src, dst)}
				af := Flow{From: PodEndpoint(src), To: PodEndpoint(dst), Port: cp.Port, Protocol: cp.Protocol, Replicas: bf.Replicas}
				b, a := before.Evaluate(bf, false).Verdict, after.Evaluate(af, false).Verdict
				if b != a {
					out = append(out, FlowChange{From: src.Key(), To: dst.Key(), FromGroup: sg.Name, ToGroup: dg.Name,
						Port: cp.Port, PortName: cp.Name, Protocol: cp.Protocol, Before: b, After: a})
				}
			}
		}
	}
	return out
}

// pod finds the engine's own pod object with the same key (two engines
// may hold different copies of one cluster's pods).
func (e *Engine) pod(p *model.Pod) *model.Pod {
	if _, ok := e.podIndex[p]; ok {
		return p
	}
	return e.model.Pod(p.Namespace, p.Name)
}
