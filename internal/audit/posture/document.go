// Package posture is audit's pure logic: who may reach every workload
// (and whom it may reach), derived from the selectors themselves and
// decided by the engine; the entry points from outside; the posture
// findings; the score. It reads the model and asks internal/policy.
package posture

import (
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Kind is the document's kind.
const Kind = "AuditResult"

// Document is audit's result (apiVersion netbaseline.io/v1alpha1).
type Document struct {
	APIVersion  string           `json:"apiVersion"`
	Kind        string           `json:"kind"`
	Cluster     Score            `json:"cluster"`
	Namespaces  []NamespaceScore `json:"namespaces"`
	Workloads   []Workload       `json:"workloads"`
	EntryPoints []EntryPoint     `json:"entryPoints"`
	Findings    []Finding        `json:"findings"`
	Warnings    []string         `json:"warnings,omitempty"`
}

// NewDocument is an empty document of this kind.
func NewDocument() *Document {
	return &Document{APIVersion: ownership.APIVersion, Kind: Kind, Namespaces: []NamespaceScore{}, Workloads: []Workload{}, EntryPoints: []EntryPoint{}, Findings: []Finding{}}
}

// Workload is one group of pods alike (docs/design.md's grouping key) and
// its exposure in each direction, port by port.
type Workload struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Pods      []string `json:"pods"`
	Ingress   []Port   `json:"ingress"`
	Egress    []Port   `json:"egress"`
}

// Port is the exposure of one side on one port: the peers it lets in (or
// out to), as the policies say it.
type Port struct {
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	// PortName is the declared name (ingress), or "other" for a port no
	// rule names (egress: every such port is alike).
	PortName string `json:"portName,omitempty"`
	// Reach sums the peers up: anyone (every region and the internet),
	// internet (the internet and some pods), cluster (every pod region), namespaces (pods of namespaces that do
	// not exist yet), restricted (some existing namespaces only), none,
	// unspecified (the engine could not decide some region).
	Reach string     `json:"reach"`
	Peers []Exposure `json:"peers"`
	// Regions counts the regions asked and how many were allowed, denied
	// and unspecified.
	Regions RegionCounts `json:"regions"`
}

// RegionCounts counts a side's regions by verdict.
type RegionCounts struct {
	Total       int `json:"total"`
	Allowed     int `json:"allowed"`
	Denied      int `json:"denied"`
	Unspecified int `json:"unspecified"`
}

// Exposure is one way in (or out): who, as the policy wrote it, what
// decided, the existing pods and addresses it lets through.
type Exposure struct {
	Verdict policy.Verdict `json:"verdict"`
	// Who is the peer as written: "any pod in namespaces matching
	// team=payments", "0.0.0.0/0 except 10.0.0.0/8", "anyone".
	Who string `json:"who"`
	// By names the policy, rule and peer (or why it is unspecified).
	By string `json:"by"`
	// Future: it also admits pods of namespaces created later (selectors
	// of labels, not of an existing namespace's name).
	Future bool `json:"future"`
	// Outside: it admits addresses outside the cluster.
	Outside bool `json:"outside"`
	// Evidence are the existing groups of pods it lets through ("internet"
	// when the internet's address is one), the first MaxEvidence of
	// EvidenceCount.
	Evidence      []string `json:"evidence"`
	EvidenceCount int      `json:"evidenceCount"`
}

// EntryPoint is a way in from outside the cluster — a Service of type
// LoadBalancer or NodePort, or with externalIPs (Kind svc), or an Ingress
// backend through the controller's pods (Kind Ingress) — and whether every
// hop's policies let outside traffic in.
type EntryPoint struct {
	Kind      string         `json:"kind"`
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Type      string         `json:"type"`
	Port      int32          `json:"port"`
	Backends  []Backend      `json:"backends"`
	Verdict   policy.Verdict `json:"verdict"`
	Path      string         `json:"path"`
}

// Backend is one group of a Service's pods on its target port.
type Backend struct {
	Workload string         `json:"workload"`
	Port     int32          `json:"port"`
	Verdict  policy.Verdict `json:"verdict"`
	By       string         `json:"by,omitempty"`
}

// Finding is one posture finding.
type Finding struct {
	ID        string   `json:"id"`
	Severity  Severity `json:"severity"`
	Namespace string   `json:"namespace,omitempty"`
	Objects   []string `json:"objects"`
	Message   string   `json:"message"`
	Why       string   `json:"why"`
	Fix       string   `json:"fix"`
}

// Severity is high, medium or low.
type Severity string

// The severities.
const (
	High   Severity = "high"
	Medium Severity = "medium"
	Low    Severity = "low"
)

// Score is a namespace's or the cluster's posture, 0 to 100 (the formula
// is in docs/commands.md#audit).
type Score struct {
	Score            int     `json:"score"`
	Pods             int     `json:"pods"`
	IngressIsolated  float64 `json:"ingressIsolated"`
	EgressIsolated   float64 `json:"egressIsolated"`
	FindingsHigh     int     `json:"findingsHigh"`
	FindingsMedium   int     `json:"findingsMedium"`
	FindingsLow      int     `json:"findingsLow"`
	OpenPortsToWorld int     `json:"openPortsToWorld"`
}

// NamespaceScore is one namespace's score.
type NamespaceScore struct {
	Namespace string `json:"namespace"`
	Score
}

// rank orders the severities.
var rank = map[Severity]int{Low: 1, Medium: 2, High: 3}

// ParseSeverity reads --fail-on's value.
func ParseSeverity(s string) (Severity, bool) {
	_, ok := rank[Severity(s)]
	return Severity(s), ok
}

// AtLeast reports whether s is threshold or worse; every severity is when
// threshold is "".
func AtLeast(s, threshold Severity) bool {
	return threshold == "" || rank[s] >= rank[threshold]
}
