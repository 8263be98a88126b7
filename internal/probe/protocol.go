// Package probe proves NetworkPolicy with real connections: it plans the
// checks each source pod makes, runs them through the netbaseline-probe
// agent in an ephemeral container (or a short-lived pod), and compares what
// happens with the engine's verdicts.
package probe

import "github.com/netbaseline/kubectl-netbaseline/internal/probe/agent"

// The agent's protocol, as the CLI side uses it.
type (
	Plan   = agent.Plan
	Check  = agent.Check
	Result = agent.Result
)

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
