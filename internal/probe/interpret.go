package probe

import (
	"fmt"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// DenyMode is how the cluster's enforcer ends denied packets.
type DenyMode string

const (
	// Drop means denied connections time out (Calico, Cilium, the AWS agent).
	Drop DenyMode = "drop"
	// Reject means denied connections are refused at once (kube-router), so a
	// refusal cannot tell a denial from nothing listening.
	Reject DenyMode = "reject"
)

// ChooseDenyMode is the deny mode probes are read with (probe, report,
// apply --verify): the one asked for (flag, unless "" or "auto"), else
// reject only where exactly one engine is detected and it rejects
// (engineModes: each detected engine's), otherwise drop.
func ChooseDenyMode(flag string, engineModes []string) DenyMode {
	if flag != "" && flag != "auto" {
		return DenyMode(flag)
	}
	if len(engineModes) == 1 && engineModes[0] == string(Reject) {
		return Reject
	}
	return Drop
}

// Observed verdicts and results.
const (
	ObservedAllowed     = "allowed"
	ObservedDenied      = "denied"
	ObservedNotListen   = "allowed, nothing listening"
	ObservedRefused     = "refused (denied or nothing listening)"
	ObservedNoEndpoints = "no-endpoints"
	ObservedRedirected  = "redirected to a local proxy (mesh)"
	ObservedMeshDNS     = "through the mesh's DNS capture"

	ResultOK           = "ok"
	ResultMismatch     = "mismatch"
	ResultFail         = "fail" // the policy verdict holds, but the app check failed
	ResultInconclusive = "inconclusive"
	ResultError        = "error"
	ResultInfo         = "info" // nothing expected (a DNS name outside the cluster)

	// ReasonMesh marks an inconclusive observation whose traffic a service
	// mesh's proxy took over: what happened says nothing about the
	// NetworkPolicy, and apply --verify stops on it without undoing.
	ReasonMesh = "mesh"
)

// Observation is one row of probe's output.
type Observation struct {
	From      string         `json:"from"`
	FromGroup string         `json:"fromGroup,omitempty"`
	To        string         `json:"to"`
	ToGroup   string         `json:"toGroup,omitempty"`
	Port      string         `json:"port"`
	Kind      string         `json:"kind"`
	Expected  policy.Verdict `json:"expected"`
	Outcome   string         `json:"outcome"`
	Observed  string         `json:"observed"`
	Result    string         `json:"result"`
	Detail    string         `json:"detail,omitempty"`
	MS        int64          `json:"ms"`
	// Reason says why a result is inconclusive when it is not the deny
	// mode's ambiguity: ReasonMesh.
	Reason string `json:"reason,omitempty"`
	// Mesh is the source pod's service mesh, if one was detected, and
	// whether the agent bypassed it.
	Mesh *Mesh `json:"mesh,omitempty"`
}

// Interpret turns the agent's outcome into an observed verdict and
// compares it with the engine's, knowing how denials look here.
func Interpret(p Planned, r Result, mode DenyMode) Observation {
	return InterpretFrom(p, r, mode, nil)
}

// InterpretFrom is Interpret for a source pod in a service mesh (nil:
// none): a connect a local proxy took over, and a DNS query the mesh may
// have answered itself, are inconclusive for ReasonMesh, never a verdict.
func InterpretFrom(p Planned, r Result, mode DenyMode, mesh *Mesh) Observation {
	o := Observation{From: p.From, FromGroup: p.FromGroup, To: p.To, ToGroup: p.ToGroup, Port: p.PortLabel, Kind: p.Kind,
		Expected: p.Expected, Outcome: r.Outcome, Detail: r.Detail, MS: r.MS, Mesh: mesh}
	switch {
	case r.Outcome == Redirected:
		o.Observed, o.Result, o.Reason = ObservedRedirected, ResultInconclusive, ReasonMesh
	case r.Outcome != Error && meshMayAnswerDNS(p, mesh):
		o.Observed, o.Result, o.Reason = ObservedMeshDNS, ResultInconclusive, ReasonMesh
	default:
		o.Observed, o.Result = judge(p, r.Outcome, mode)
	}
	return o
}

// meshMayAnswerDNS: Istio can capture a pod's DNS (UDP and TCP to port 53)
// and answer from its own proxy, and no socket table proves it did or did
// not (its listener is an unconnected UDP socket). Unless the agent ran as
// the proxy's user, which the capture RETURNs first, a DNS answer from such
// a pod says nothing about the policy. Linkerd redirects TCP only.
func meshMayAnswerDNS(p Planned, mesh *Mesh) bool {
	if mesh == nil || mesh.Bypassed || mesh.Name != MeshIstio {
		return false
	}
	return p.Kind == KindDNS || (p.Kind == KindUDP && p.Port == 53)
}

func judge(p Planned, outcome string, mode DenyMode) (observed, result string) {
	expected := p.Expected
	compare := func(observed string) (string, string) {
		switch {
		case expected == policy.Unspecified:
			return observed, ResultInfo
		case observed == ObservedAllowed && expected == policy.Allowed, observed == ObservedDenied && expected == policy.Denied:
			return observed, ResultOK
		}
		return observed, ResultMismatch
	}
	if p.NoEndpoints && outcome != Connected && outcome != HTTPStatus {
		// Nothing can answer: that is not the policy's doing.
		if expected == policy.Denied {
			return ObservedNoEndpoints, ResultInconclusive
		}
		return ObservedNoEndpoints, ResultFail
	}
	switch outcome {
	case Connected:
		return compare(ObservedAllowed)
	case HTTPStatus:
		if expected == policy.Denied {
			return ObservedAllowed, ResultMismatch
		}
		return ObservedAllowed, ResultFail
	case Timeout:
		return compare(ObservedDenied)
	case Refused:
		if p.Kind == KindUDP {
			// An ICMP unreachable came back through the policy.
			if mode == Drop {
				return compare(ObservedNotListen)
			}
			return ObservedRefused, inconclusiveUnless(expected, policy.Denied)
		}
		if mode == Drop {
			// Denied packets time out here, so a refusal came from the
			// destination itself: the policy let the packet through.
			if expected == policy.Allowed {
				return ObservedNotListen, ResultFail
			}
			if expected == policy.Unspecified {
				return ObservedNotListen, ResultInfo
			}
			return ObservedNotListen, ResultMismatch
		}
		return ObservedRefused, inconclusiveUnless(expected, policy.Denied)
	case DNSError:
		if p.Kind == KindDNS {
			return "dns-error", failUnless(expected)
		}
		return "dns-error", ResultError
	}
	return "error", ResultError
}

func inconclusiveUnless(expected, want policy.Verdict) string {
	if expected == want {
		return ResultOK
	}
	if expected == policy.Unspecified {
		return ResultInfo
	}
	return ResultInconclusive
}

// failUnless: a DNS lookup that reached a server but failed is a failure
// when DNS was expected to work, and fine when it was expected blocked.
func failUnless(expected policy.Verdict) string {
	if expected == policy.Denied {
		return ResultInconclusive
	}
	return ResultFail
}

// MeshInconclusive reports that a service mesh's proxy took the traffic over, so the
// observation proves nothing either way.
func (o Observation) MeshInconclusive() bool {
	return o.Result == ResultInconclusive && o.Reason == ReasonMesh
}

// Failed reports whether an observation breaks expectations (exit 3).
func (o Observation) Failed() bool { return o.Result == ResultMismatch || o.Result == ResultFail }

// String is a one-line summary for logs.
func (o Observation) String() string {
	return fmt.Sprintf("%s -> %s %s: expected %s, observed %s (%s)", o.From, o.To, o.Port, o.Expected, o.Observed, o.Result)
}
