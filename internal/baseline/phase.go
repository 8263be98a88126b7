// Package baseline builds the per-namespace NetworkPolicy baseline: the
// kustomize tree (embedded for the runbook's sample app, generated from a
// Config otherwise, or the user's own), rendered in-process with krusty and
// ordered by phase.
package baseline

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// Policy names are part of the interface: doctor, report and users refer
// to them.
const (
	DenyAll                  = "deny-all"
	AllowDNS                 = "allow-dns"
	AllowFromIngress         = "allow-from-ingress"
	AllowFromMonitoring      = "allow-from-monitoring"
	AllowEgressExternal      = "allow-egress-external"
	AllowEgressAPIServer     = "allow-egress-apiserver"
	AllowEgressCloudIdentity = "allow-egress-cloud-identity"
)

// The phases, in apply order.
const (
	PhaseDenyAll    = 0
	PhaseDNS        = 5
	PhaseRelations  = 10
	PhaseIngress    = 15
	PhaseMonitoring = 20
	PhaseEgress     = 30
	// PhaseUnknown sorts objects without a phase after all others.
	PhaseUnknown = 100
)

var phaseValue = regexp.MustCompile(`^[0-9]{2}$`)

// knownPhases gives the phase of the plugin's policy names for trees that
// predate the annotation (the runbook's own files).
var knownPhases = map[string]int{
	DenyAll:                  PhaseDenyAll,
	AllowDNS:                 PhaseDNS,
	AllowFromIngress:         PhaseIngress,
	AllowFromMonitoring:      PhaseMonitoring,
	AllowEgressExternal:      PhaseEgress,
	AllowEgressAPIServer:     PhaseEgress,
	AllowEgressCloudIdentity: PhaseEgress,
}

// FormatPhase renders a phase as the annotation value ("05").
func FormatPhase(p int) string { return fmt.Sprintf("%02d", p) }

// parsePhase reads an annotation value; it must be two digits.
func parsePhase(v string) (int, error) {
	if !phaseValue.MatchString(v) {
		return 0, fmt.Errorf("annotation %s=%q: must be two digits such as \"05\"", ownership.PhaseAnnotation, v)
	}
	return strconv.Atoi(v)
}

// phaseOf returns an object's phase: its annotation, else the phase of a
// known policy name, else PhaseUnknown. Never the file name.
func phaseOf(name string, annotations map[string]string) (int, error) {
	if v, ok := annotations[ownership.PhaseAnnotation]; ok {
		return parsePhase(v)
	}
	if p, ok := knownPhases[name]; ok {
		return p, nil
	}
	if strings.HasPrefix(name, "allow-from-") || strings.HasPrefix(name, "allow-to-") {
		return PhaseRelations, nil
	}
	return PhaseUnknown, nil
}

// sortByPhase orders objects by phase; ties keep the tree's order.
func sortByPhase(objs []Object) {
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].Phase < objs[j].Phase })
}
