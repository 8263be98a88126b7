// Package doctor checks whether the baseline can work on a cluster: is a
// NetworkPolicy engine really enforcing, are namespaces and workloads
// labelled as the policies expect, do Services reach their pods' ports,
// does allow-dns match the DNS pods. Checks are pure functions over a
// Snapshot that the command reads with the clients it is given.
package doctor

import (
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
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

// Snapshot is what doctor reads. Unreadable names the resources that
// could not be listed (RBAC), with the reason: checks that need them say
// "could not check" instead of failing the cluster.
type Snapshot struct {
	// Model is the read model built from the same lists of namespaces,
	// pods, services and policies: checks match selectors through the
	// engine on it.
	Model          *model.Model
	DaemonSets     []appsv1.DaemonSet
	Deployments    []appsv1.Deployment
	Pods           []corev1.Pod
	ConfigMaps     []corev1.ConfigMap
	Nodes          []corev1.Node
	Namespaces     []corev1.Namespace
	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice
	Policies       []networkingv1.NetworkPolicy
	// CRDs are CustomResourceDefinition names (plural.group).
	CRDs []string
	// KyvernoPolicies and ArgoApplications are nil when the API is absent.
	KyvernoPolicies  []unstructured.Unstructured
	ArgoApplications []unstructured.Unstructured
	// SecretNames lists secret names per namespace (metadata only: secret
	// data is never read).
	SecretNames map[string][]string
	// PolicyEndpoints counts the AWS PolicyEndpoints per namespace (when
	// the CRD exists).
	PolicyEndpoints map[string]int
	Unreadable      map[string]string

	engine *policy.Engine
}

// policies is the engine over the snapshot's model (built from its lists
// when the reader did not): every selector doctor matches, it matches
// through the engine.
func (s *Snapshot) policies() *policy.Engine {
	if s.engine == nil {
		if s.Model == nil {
			s.Model = model.FromObjects(s.Namespaces, s.Pods, s.Services, s.Policies)
		}
		s.engine = policy.New(s.Model)
	}
	return s.engine
}

func (s *Snapshot) unreadable(resources ...string) (string, bool) {
	for _, r := range resources {
		if why, ok := s.Unreadable[r]; ok {
			return why, true
		}
	}
	return "", false
}

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
