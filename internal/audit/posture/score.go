package posture

import "math"

// The score's weights (docs/commands.md#audit): the share of pods
// isolated for ingress, for egress, the share of ingress ports not open
// to the whole cluster or beyond, then points off per finding.
const (
	weightIngress = 40
	weightEgress  = 30
	weightPorts   = 30
	penaltyHigh   = 10
	penaltyMedium = 3
	penaltyLow    = 1
)

// tallyScore accumulates one namespace's (or the cluster's) inputs.
type tallyScore struct {
	pods                        int
	ingressKnown, ingressIso    int
	egressKnown, egressIso      int
	ports, closedPorts, toWorld int
	high, medium, low           int
}

func (t *tallyScore) addIsolation(pods int, ingress, egress Isolation) {
	t.pods += pods
	if ingress != UnknownState {
		t.ingressKnown += pods
		if ingress == Isolated {
			t.ingressIso += pods
		}
	}
	if egress != UnknownState {
		t.egressKnown += pods
		if egress == Isolated {
			t.egressIso += pods
		}
	}
}

func (t *tallyScore) addPorts(w Workload) {
	for _, p := range w.Ingress {
		if p.Reach == "unspecified" {
			continue
		}
		t.ports++
		switch p.Reach {
		case "anyone", "internet":
			t.toWorld++
		case "cluster":
		default:
			t.closedPorts++
		}
	}
}

func (t *tallyScore) addFinding(f Finding) {
	switch f.Severity {
	case High:
		t.high++
	case Medium:
		t.medium++
	default:
		t.low++
	}
}

// share is part/whole, 1 when there is nothing to count (no pods: nothing
// left open).
func share(part, whole int) float64 {
	if whole == 0 {
		return 1
	}
	return float64(part) / float64(whole)
}

// score is the formula: weighted shares, minus points per finding, within
// 0..100.
func (t *tallyScore) score() Score {
	in, eg, ports := share(t.ingressIso, t.ingressKnown), share(t.egressIso, t.egressKnown), share(t.closedPorts, t.ports)
	base := weightIngress*in + weightEgress*eg + weightPorts*ports
	value := int(math.Round(base)) - penaltyHigh*t.high - penaltyMedium*t.medium - penaltyLow*t.low
	return Score{Score: max(0, min(100, value)), Pods: t.pods, IngressIsolated: round2(in), EgressIsolated: round2(eg),
		FindingsHigh: t.high, FindingsMedium: t.medium, FindingsLow: t.low, OpenPortsToWorld: t.toWorld}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
