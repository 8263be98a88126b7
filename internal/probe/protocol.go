// Package probe proves NetworkPolicy with real connections: it plans the
// checks each source pod makes, runs them through the netbaseline-probe
// agent in an ephemeral container (or a short-lived pod), and compares what
// happens with the engine's verdicts.
package probe

import "github.com/netbaseline/kubectl-netbaseline/internal/probe/agent"

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
)

// EncodePlan renders a plan for the agent's --plan argument.
func EncodePlan(p Plan) (string, error) { return agent.EncodePlan(p) }
