// Package doctor checks whether the baseline can work on a cluster: is a
// NetworkPolicy engine really enforcing, are namespaces and workloads
// labelled as the policies expect, do Services reach their pods' ports,
// does allow-dns match the DNS pods. Checks are pure functions over a
// Snapshot that the command reads with the clients it is given.
package doctor

import (
	"sort"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
)

// Severity of a finding.
type Severity string

// The severities, mildest first.
const (
	Pass Severity = "pass"
	Info Severity = "info"
	Warn Severity = "warn"
	Fail Severity = "fail"
)

// Finding is one result: a stable ID, a severity, what was found and how
// to fix it.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Subject  string   `json:"subject,omitempty"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
	// Unchecked: the check could not run (a read was refused).
	Unchecked bool `json:"unchecked,omitempty"`
}

// Snapshot is what doctor reads (internal/inventory: the reader fills it
// without knowing doctor).
type Snapshot = inventory.Snapshot

// Result is doctor's result.
type Result struct {
	Engines  []Engine  `json:"engines"`
	Findings []Finding `json:"findings"`
}

// Run applies every check.
func Run(s *Snapshot, cfg *config.Config, probeImage string) Result {
	engines, out := CheckEngines(s)
	out = append(out, checkNodes(s)...)
	out = append(out, checkLabels(s, cfg)...)
	out = append(out, checkPorts(s, cfg)...)
	out = append(out, checkRollout(s, cfg)...)
	out = append(out, checkAWS(s, cfg, engines)...)
	out = append(out, checkKubeRouterDeviations(s, cfg, engines)...)
	out = append(out, checkClusterTiers(s, engines)...)
	out = append(out, checkCalico(s, engines)...)
	out = append(out, checkKyverno(s, cfg, probeImage)...)
	out = append(out, checkArgoCD(s, cfg)...)
	out = append(out, checkDNS(s, cfg)...)
	out = append(out, checkMeshes(s)...)
	out = append(out, checkLeftovers(s)...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if engines == nil {
		engines = []Engine{}
	}
	return Result{Engines: engines, Findings: out}
}

// Worst is the most severe finding's severity.
func Worst(fs []Finding) Severity {
	rank := map[Severity]int{Pass: 0, Info: 1, Warn: 2, Fail: 3}
	worst := Pass
	for _, f := range fs {
		if rank[f.Severity] > rank[worst] {
			worst = f.Severity
		}
	}
	return worst
}

func couldNotCheck(id, subject, why string) Finding {
	return Finding{ID: id, Severity: Info, Subject: subject, Message: "could not check: " + why, Fix: "grant read access (docs/rbac.md) and rerun", Unchecked: true}
}

// CheckedNothing reports whether no check could run at all: such a run
// must not read as a clean bill of health.
func CheckedNothing(fs []Finding) bool {
	for _, f := range fs {
		if !f.Unchecked {
			return false
		}
	}
	return true
}
