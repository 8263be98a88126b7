// Package probe proves NetworkPolicy with real connections: it plans the
// checks each source pod makes, runs them through the netbaseline-probe
// agent in an ephemeral container (or a short-lived pod), and compares what
// happens with the engine's verdicts.
package probe

import (
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/probe/agent"
)

// Plan is what one agent runs (the agent's protocol, as the CLI uses it).
type Plan = agent.Plan

// Check is one connection or lookup of a plan.
type Check = agent.Check

// Result is what the agent reports for one check.
type Result = agent.Result

// The kinds of check the agent makes.
const (
	KindTCP    = agent.KindTCP
	KindHTTP   = agent.KindHTTP
	KindDNS    = agent.KindDNS
	KindUDP    = agent.KindUDP
	Connected  = agent.Connected
	HTTPStatus = agent.HTTPStatus
	Refused    = agent.Refused
	Timeout    = agent.Timeout
	DNSError   = agent.DNSError
	Error      = agent.Error
	Redirected = agent.Redirected
)

// EncodePlan renders a plan for the agent's --plan argument.
func EncodePlan(p Plan) (string, error) { return agent.EncodePlan(p) }

// MaxPlanArg bounds the encoded plan one agent gets. Linux refuses a
// single argument over 128 KiB (and etcd an object over 1.5 MiB), so a
// larger plan is split into several runs of the agent.
const MaxPlanArg = 96 << 10

// SplitPlan cuts a plan into plans whose encoded form fits in limit bytes,
// the checks in their order; each keeps the plan's deadline and delay.
func SplitPlan(p Plan, limit int) ([]Plan, error) {
	encoded, err := EncodePlan(p)
	if err != nil {
		return nil, err
	}
	if len(encoded) <= limit || len(p.Checks) <= 1 {
		return []Plan{p}, nil
	}
	half := len(p.Checks) / 2
	first, second := p, p
	first.Checks = append([]Check(nil), p.Checks[:half]...)
	second.Checks = append([]Check(nil), p.Checks[half:]...)
	a, err := SplitPlan(first, limit)
	if err != nil {
		return nil, err
	}
	b, err := SplitPlan(second, limit)
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

// SocketObservation is what an observing agent reports (discover): the pod's
// listening ports and its connections, aggregated.
type SocketObservation = agent.Observation

// ObservedFlow is one aggregate of an observation.
type ObservedFlow = agent.Flow

// The directions of an observed flow.
const (
	Inbound  = agent.Inbound
	Outbound = agent.Outbound
)

// ObserveArgs are the agent's arguments for an observation window.
func ObserveArgs(window, interval time.Duration) []string {
	return []string{"--observe=" + window.String(), "--observe-interval=" + interval.String()}
}
