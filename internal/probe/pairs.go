package probe

import (
	"net/netip"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Pair is one pod-to-pod connection to check: what apply --verify takes
// from the engine's flow changes and report --probe from the group matrix.
type Pair struct {
	From, To *model.Pod
	// ToIP is the destination when it is outside the cluster (To nil).
	ToIP               netip.Addr
	FromGroup, ToGroup string
	Port               int32
	PortName           string
	Protocol           corev1.Protocol
}

// PlanPairs turns pairs into one plan per source pod, with the engine's
// expectation for each, and the DNS lookups of dnsNames from each source.
// Sources that are not Running and Ready (or use the host network),
// destinations without an IP, SCTP (the agent cannot speak it) and UDP
// are skipped and returned, so callers can say what was not checked: a
// UDP service that ignores an arbitrary datagram looks exactly like a
// drop, so UDP is checked only as DNS lookups.
func PlanPairs(e *policy.Engine, pairs []Pair, dnsNames []string, timeout time.Duration) (plans []SourcePlan, skipped []Pair) {
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	req := Request{DNSNames: dnsNames, Timeout: timeout}
	index := map[*model.Pod]int{}
	for _, p := range pairs {
		src := e.Model().Pod(p.From.Namespace, p.From.Name)
		to := policy.IPEndpoint(p.ToIP)
		target, toKey := p.ToIP.String(), p.ToIP.String()
		if p.To != nil {
			dst := e.Model().Pod(p.To.Namespace, p.To.Name)
			if dst == nil || len(dst.IPs) == 0 {
				skipped = append(skipped, p)
				continue
			}
			to, target, toKey = policy.PodEndpoint(dst), dst.IPs[0].String(), dst.Key()
		}
		if src == nil || !Probeable(src) || !(p.To != nil || p.ToIP.IsValid()) || p.Protocol == corev1.ProtocolSCTP || p.Protocol == corev1.ProtocolUDP {
			skipped = append(skipped, p)
			continue
		}
		i, ok := index[src]
		if !ok {
			i = len(plans)
			index[src] = i
			plans = append(plans, SourcePlan{Pod: src, Group: p.FromGroup})
		}
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		r := e.Evaluate(policy.Flow{From: policy.PodEndpoint(src), To: to, Port: p.Port, Protocol: proto}, false)
		plans[i].Checks = append(plans[i].Checks, Planned{Check: baseCheck(req, target, p.Port, proto),
			To: toKey, ToGroup: p.ToGroup, PortLabel: portLabel(p.PortName, p.Port, proto), Expected: r.Verdict})
	}
	for i := range plans {
		plans[i].Checks = append(plans[i].Checks, planDNS(e, req, plans[i].Pod)...)
		for k := range plans[i].Checks {
			c := &plans[i].Checks[k]
			c.ID = strconv.Itoa(k)
			c.From, c.FromGroup = plans[i].Pod.Key(), plans[i].Group
			c.TimeoutMS = timeout.Milliseconds()
		}
	}
	return plans, skipped
}

// MatrixPairs is every group-to-group connection on each port the
// destination group declares, from the source pods to the destination pods,
// one representative per group.
func MatrixPairs(e *policy.Engine, sources, dests []*model.Pod) []Pair {
	var out []Pair
	srcGroups := e.Groups(runningPods(sources))
	for _, dg := range e.Groups(dests) {
		dst := dg.Pods[0]
		ports := append([]model.ContainerPort(nil), dst.Ports...)
		sort.SliceStable(ports, func(i, j int) bool { return ports[i].Port < ports[j].Port })
		for _, cp := range ports {
			for _, sg := range srcGroups {
				src := sg.Pods[0]
				if src == dst {
					if len(sg.Pods) < 2 {
						continue // a pod always reaches itself
					}
					src = sg.Pods[1]
				}
				out = append(out, Pair{From: src, To: dst, FromGroup: sg.Name, ToGroup: dg.Name, Port: cp.Port, PortName: cp.Name, Protocol: cp.Protocol})
			}
		}
	}
	return out
}

// ChangePairs are the pairs of the engine's flow changes (apply --verify
// probes what a phase should change).
func ChangePairs(m *model.Model, changes []policy.FlowChange) []Pair {
	var out []Pair
	for _, c := range changes {
		from, to := podByKey(m, c.From), podByKey(m, c.To)
		if from == nil || to == nil {
			continue
		}
		out = append(out, Pair{From: from, To: to, FromGroup: c.FromGroup, ToGroup: c.ToGroup, Port: c.Port, PortName: c.PortName, Protocol: c.Protocol})
	}
	return out
}

func podByKey(m *model.Model, key string) *model.Pod {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return m.Pod(key[:i], key[i+1:])
		}
	}
	return nil
}

// Probeable reports whether a pod can run a probe: Running and Ready, not on the
// host network (its traffic would be the node's), and not being deleted
// (with its namespace or alone: it would vanish in the middle of the check).
func Probeable(p *model.Pod) bool {
	return p.Phase == corev1.PodRunning && p.Ready && !p.HostNetwork && !p.Terminating
}

func runningPods(pods []*model.Pod) []*model.Pod {
	var out []*model.Pod
	for _, p := range pods {
		if Probeable(p) {
			out = append(out, p)
		}
	}
	return out
}
