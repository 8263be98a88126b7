// Package agent is the netbaseline-probe agent that runs inside a source
// pod's network namespace: it makes the checks of a plan (TCP connects,
// HTTP GETs, DNS lookups) and prints one JSON result per check. Standard
// library only; the protocol is frozen in docs/design.md ("Probe agent").
package agent

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// protocolVersion is the plan format the agent understands.
const protocolVersion = 1

// Check kinds.
const (
	KindTCP  = "tcp"
	KindHTTP = "http"
	KindDNS  = "dns"
	KindUDP  = "udp"
)

// Outcomes the agent reports (docs/design.md). Interpretation belongs to the CLI.
const (
	Connected  = "connected"   // TCP established, or HTTP answered with the expected status
	HTTPStatus = "http-status" // answered, with another status
	Refused    = "refused"
	Timeout    = "timeout"
	DNSError   = "dns-error"
	Error      = "error"
)

// Plan is what the CLI hands the agent, base64 JSON in its args.
type Plan struct {
	Version int `json:"version"`
	// DeadlineMS bounds the whole run: the agent exits by then even if
	// the CLI that started it is gone.
	DeadlineMS int64 `json:"deadlineMs"`
	// StartDelayMS makes the agent wait before its first check (probe
	// pods: the enforcer needs a moment for a new pod). Optional; it
	// counts against the deadline.
	StartDelayMS int64   `json:"startDelayMs,omitempty"`
	Checks       []Check `json:"checks"`
}

// Check is one connection attempt.
type Check struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Target is a host (IP or name); Port a number.
	Target string `json:"target"`
	Port   int32  `json:"port,omitempty"`
	// HTTP: Path and the expected status (200 by default).
	Path         string `json:"path,omitempty"`
	ExpectStatus int    `json:"expectStatus,omitempty"`
	// DNS: the name to resolve; Target is the server (empty: the pod's
	// resolver); Transport udp or tcp.
	Name      string `json:"name,omitempty"`
	Transport string `json:"transport,omitempty"`
	TimeoutMS int64  `json:"timeoutMs"`
}

// Result is one line of the agent's output.
type Result struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Target  string `json:"target"`
	Port    int32  `json:"port,omitempty"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
	MS      int64  `json:"ms"`
}

// EncodePlan renders the plan for the agent's --plan argument.
func EncodePlan(p Plan) (string, error) {
	p.Version = protocolVersion
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodePlan reads a --plan argument and checks it.
func DecodePlan(s string) (Plan, error) {
	var p Plan
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return p, fmt.Errorf("plan is not base64: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("plan is not JSON: %w", err)
	}
	if p.Version != protocolVersion {
		return p, fmt.Errorf("plan version %d; this agent speaks version %d", p.Version, protocolVersion)
	}
	if p.DeadlineMS <= 0 {
		return p, fmt.Errorf("plan has no deadline")
	}
	for i, c := range p.Checks {
		switch c.Kind {
		case KindTCP, KindHTTP, KindUDP:
			if c.Target == "" || c.Port < 1 || c.Port > 65535 {
				return p, fmt.Errorf("check %d (%s): needs a target and a port", i, c.ID)
			}
		case KindDNS:
			if c.Name == "" {
				return p, fmt.Errorf("check %d (%s): needs a name to resolve", i, c.ID)
			}
		default:
			return p, fmt.Errorf("check %d (%s): unknown kind %q", i, c.ID, c.Kind)
		}
		if c.TimeoutMS <= 0 {
			return p, fmt.Errorf("check %d (%s): needs a timeout", i, c.ID)
		}
	}
	return p, nil
}

// Deadline is the plan's overall deadline as a duration.
func (p Plan) Deadline() time.Duration { return time.Duration(p.DeadlineMS) * time.Millisecond }
