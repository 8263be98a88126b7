// Package record builds the report command's record: engine, namespaces
// and their labels, the applied policies, the rollback commands, doctor's
// findings and probe results, for the runbook's task log.
package record

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/audit/posture"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// Record is report's document: the runbook's record of the engine, the
// selectors, the applied policies, how to roll them back, and the latest
// doctor findings and probe results.
type Record struct {
	APIVersion  string `json:"apiVersion"`
	Kind        string `json:"kind"`
	GeneratedAt string `json:"generatedAt"`
	Context     string `json:"context,omitempty"`
	// Engines found by doctor, and the deny mode probes were read with.
	Engines  []doctor.Engine `json:"engines"`
	DenyMode string          `json:"denyMode"`
	// NamespaceLabel is the label key the policies select namespaces by.
	NamespaceLabel string            `json:"namespaceLabel"`
	Namespaces     []NamespaceRecord `json:"namespaces"`
	// Peers: where the ingress controller and Prometheus run.
	IngressController string `json:"ingressController"`
	Monitoring        string `json:"monitoring"`
	// ClusterPolicies are the cluster-scoped tiers (AdminNetworkPolicy,
	// BaselineAdminNetworkPolicy, ClusterNetworkPolicy) in evaluation
	// order; null when they could not be read.
	ClusterPolicies []ClusterPolicyRecord `json:"clusterPolicies"`
	// CalicoPolicies are Calico's own, in felix's evaluation order (the
	// Kubernetes NetworkPolicies sit at order 1000 of the default tier).
	CalicoPolicies []CalicoPolicyRecord    `json:"calicoPolicies,omitempty"`
	Findings       []doctor.Finding        `json:"findings"`
	FindingCounts  map[doctor.Severity]int `json:"findingCounts"`
	// Probe holds the latest probe results, from ProbeSource (a file
	// written by probe --save, or "fresh" for report --probe).
	Probe       *probe.Document `json:"probe,omitempty"`
	ProbeSource string          `json:"probeSource,omitempty"`
	ProbeCounts map[string]int  `json:"probeCounts,omitempty"`
	// Unreadable names what could not be read and why (RBAC): the parts
	// of the record that depend on it say "unknown", never "none".
	Unreadable map[string]string `json:"unreadable,omitempty"`
	// Posture is audit's exposure and posture of the namespaces (absent
	// when report was not given one).
	Posture *PostureRecord `json:"posture,omitempty"`
}

// Unknown reports whether a resource could not be read.
func (r *Record) Unknown(resource string) bool {
	_, ok := r.Unreadable[resource]
	return ok
}

// NamespaceRecord is one app namespace.
type NamespaceRecord struct {
	Name string `json:"name"`
	// Exists is null when the namespaces could not be read.
	Exists   *bool             `json:"exists"`
	Labels   map[string]string `json:"labels,omitempty"`
	Apps     []AppRecord       `json:"apps"`
	Policies []PolicyRecord    `json:"policies"`
	Rollback RollbackRecord    `json:"rollback"`
}

// AppRecord is an app, the selector its policies use, and what runs.
type AppRecord struct {
	Name     string `json:"name"`
	Selector string `json:"selector"`
	// Pods is null when the pods could not be read.
	Pods        *int               `json:"pods"`
	Deployments []DeploymentRecord `json:"deployments,omitempty"`
}

// DeploymentRecord is an app's Deployment as doctor's rollout check saw it.
type DeploymentRecord struct {
	Name    string          `json:"name"`
	Images  []string        `json:"images"`
	Rollout doctor.Severity `json:"rollout"`
	Detail  string          `json:"detail"`
}

// PolicyRecord is one NetworkPolicy of the namespace, ours or not.
type PolicyRecord struct {
	Name string `json:"name"`
	// Phase is the netbaseline.io/phase annotation ("" for foreign policies).
	Phase string `json:"phase,omitempty"`
	// Managed: a member of the plugin's ApplySet.
	Managed     bool     `json:"managed"`
	PodSelector string   `json:"podSelector"`
	PolicyTypes []string `json:"policyTypes"`
	Ingress     []string `json:"ingress,omitempty"`
	Egress      []string `json:"egress,omitempty"`
}

// ClusterPolicyRecord is one cluster-scoped policy.
type ClusterPolicyRecord struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	Tier string `json:"tier"`
	// Priority is null for a BaselineAdminNetworkPolicy.
	Priority *int32   `json:"priority"`
	Subject  string   `json:"subject"`
	Ingress  []string `json:"ingress,omitempty"`
	Egress   []string `json:"egress,omitempty"`
}

// CalicoPolicyRecord is one Calico policy.
type CalicoPolicyRecord struct {
	Tier      string   `json:"tier"`
	Order     *float64 `json:"order"`
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Selector  string   `json:"selector"`
	Types     []string `json:"types,omitempty"`
	Ingress   []string `json:"ingress,omitempty"`
	Egress    []string `json:"egress,omitempty"`
}

// RollbackPlan is what rollback would do in a namespace
// (apply.RollbackPlan, read by the caller).
type RollbackPlan interface {
	Empty() bool
	MemberNames() []string
	// KubectlCommand is the same undo written as kubectl commands.
	KubectlCommand() string
}

// RollbackRecord is the one-command rollback, and its kubectl equivalent.
type RollbackRecord struct {
	Command string   `json:"command"`
	Kubectl string   `json:"kubectl,omitempty"`
	Members []string `json:"members"`
}

// Inputs are what BuildRecord combines; the command reads them.
type Inputs struct {
	Now      time.Time
	Context  string
	Config   *config.Config
	Snapshot *doctor.Snapshot
	Doctor   doctor.Result
	DenyMode string
	// Rollback plans by namespace (absent: could not be read).
	Rollback    map[string]RollbackPlan
	Probe       *probe.Document
	ProbeSource string
	// Posture is the audit of the namespaces, or PostureUnknown why it
	// could not be made.
	Posture        *posture.Document
	PostureUnknown string
}

// BuildRecord assembles the record; it makes no API calls.
func BuildRecord(in Inputs) Record {
	cfg := in.Config
	r := Record{
		APIVersion: ownership.APIVersion, Kind: "Report",
		GeneratedAt: in.Now.UTC().Format(time.RFC3339), Context: in.Context,
		Engines: in.Doctor.Engines, DenyMode: in.DenyMode, NamespaceLabel: cfg.NamespaceLabel,
		IngressController: peerString(cfg.IngressController.Namespace, cfg.IngressController.PodLabels),
		Monitoring:        peerString(cfg.Monitoring.Namespace, cfg.Monitoring.PodLabels),
		Findings:          in.Doctor.Findings, FindingCounts: map[doctor.Severity]int{},
		Probe: in.Probe, ProbeSource: in.ProbeSource, ClusterPolicies: []ClusterPolicyRecord{},
	}
	r.addUnreadable(in.Snapshot)
	r.count()
	r.Posture = postureRecord(in.Posture, in.PostureUnknown)
	if in.Snapshot != nil && in.Snapshot.Model != nil {
		r.ClusterPolicies = clusterPolicyRecords(in.Snapshot.Model)
		r.CalicoPolicies = calicoPolicyRecords(in.Snapshot.Model)
	}
	rollouts := rolloutFindings(in.Doctor.Findings)
	r.Namespaces = []NamespaceRecord{}
	for _, ns := range cfg.Namespaces {
		nr := r.namespaceRecord(in.Snapshot, ns, rollouts)
		nr.Rollback = rollbackRecord(ns.Name, in.Rollback)
		r.Namespaces = append(r.Namespaces, nr)
	}
	return r
}

// addUnreadable records what the snapshot could not read, the
// cluster-scoped policy kinds included.
func (r *Record) addUnreadable(s *doctor.Snapshot) {
	if s == nil {
		return
	}
	unreadable := map[string]string{}
	for k, v := range s.Unreadable {
		unreadable[k] = v
	}
	if s.Model != nil {
		for _, res := range s.Model.ClusterPoliciesUnreadable() {
			unreadable[res] = "could not be listed"
		}
	}
	if len(unreadable) > 0 {
		r.Unreadable = unreadable
	}
}

// count fills the findings' and the probe results' counts (and empty
// lists where there is nothing, so that JSON shows [] rather than null).
func (r *Record) count() {
	if r.Engines == nil {
		r.Engines = []doctor.Engine{}
	}
	if r.Findings == nil {
		r.Findings = []doctor.Finding{}
	}
	for _, f := range r.Findings {
		r.FindingCounts[f.Severity]++
	}
	if r.Probe != nil {
		r.ProbeCounts = map[string]int{}
		for _, o := range r.Probe.Observations {
			r.ProbeCounts[o.Result]++
		}
	}
}

// rolloutFindings are doctor's rollout findings by subject.
func rolloutFindings(findings []doctor.Finding) map[string]doctor.Finding {
	rollouts := map[string]doctor.Finding{}
	for _, f := range findings {
		if f.ID == "ROLLOUT-001" {
			rollouts[f.Subject] = f
		}
	}
	return rollouts
}

// namespaceRecord is one configured namespace: whether it exists, its
// apps and their deployments, its policies (ours first).
func (r *Record) namespaceRecord(s *doctor.Snapshot, ns config.Namespace, rollouts map[string]doctor.Finding) NamespaceRecord {
	nr := NamespaceRecord{Name: ns.Name, Apps: []AppRecord{}, Policies: []PolicyRecord{}}
	if !r.Unknown("namespaces") {
		exists := false
		for _, n := range s.Namespaces {
			if n.Name == ns.Name {
				exists, nr.Labels = true, n.Labels
			}
		}
		nr.Exists = &exists
	}
	for _, app := range ns.Apps {
		ar := AppRecord{Name: app.Name, Selector: labels.Set(app.Labels).String()}
		if !r.Unknown("pods") {
			n := countPods(s.Pods, ns.Name, app.Labels)
			ar.Pods = &n
		}
		ar.Deployments = deploymentRecords(s, ns.Name, app.Labels, rollouts)
		nr.Apps = append(nr.Apps, ar)
	}
	for i := range s.Policies {
		if np := &s.Policies[i]; np.Namespace == ns.Name {
			nr.Policies = append(nr.Policies, policyRecord(np))
		}
	}
	sort.SliceStable(nr.Policies, func(i, j int) bool {
		a, b := nr.Policies[i], nr.Policies[j]
		if a.Managed != b.Managed {
			return a.Managed
		}
		if a.Phase != b.Phase {
			return a.Phase < b.Phase
		}
		return a.Name < b.Name
	})
	return nr
}

// deploymentRecords are the app's deployments in the namespace, by name,
// with their images and rollout state.
func deploymentRecords(s *doctor.Snapshot, namespace string, appLabels map[string]string, rollouts map[string]doctor.Finding) []DeploymentRecord {
	var out []DeploymentRecord
	sel := labels.SelectorFromSet(appLabels)
	for _, d := range s.Deployments {
		if d.Namespace != namespace || len(appLabels) == 0 || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		dr := DeploymentRecord{Name: d.Name}
		for _, c := range d.Spec.Template.Spec.Containers {
			dr.Images = append(dr.Images, c.Image)
		}
		if f, ok := rollouts[namespace+"/deploy/"+d.Name]; ok {
			dr.Rollout, dr.Detail = f.Severity, f.Message
		}
		out = append(out, dr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// rollbackRecord is the namespace's one-command rollback (none when there
// is nothing to undo) and its kubectl equivalent.
func rollbackRecord(namespace string, plans map[string]RollbackPlan) RollbackRecord {
	rb := RollbackRecord{Command: "kubectl netbaseline rollback -n " + namespace, Members: []string{}}
	plan, ok := plans[namespace]
	if !ok || plan == nil {
		return rb
	}
	rb.Kubectl = plan.KubectlCommand()
	if m := plan.MemberNames(); m != nil {
		rb.Members = m
	}
	if plan.Empty() {
		rb.Command = ""
	}
	return rb
}

// clusterPolicyRecords lists the tiers in evaluation order: admin by
// priority, then baseline; nil when some could not be read.
func clusterPolicyRecords(m *model.Model) []ClusterPolicyRecord {
	if len(m.ClusterPoliciesUnreadable()) > 0 {
		return nil
	}
	ps := append([]*model.ClusterPolicy(nil), m.ClusterPolicies...)
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Tier != ps[j].Tier {
			return ps[i].Tier == model.TierAdmin
		}
		if ps[i].Priority != ps[j].Priority {
			return ps[i].Priority < ps[j].Priority
		}
		return ps[i].Ref() < ps[j].Ref()
	})
	out := []ClusterPolicyRecord{}
	for _, p := range ps {
		rec := ClusterPolicyRecord{Kind: p.Kind, Name: p.Name, Tier: string(p.Tier), Subject: clusterSubject(p.Subject)}
		if p.Kind != model.KindBaselineAdminNetworkPolicy {
			pr := p.Priority
			rec.Priority = &pr
		}
		for _, rule := range p.Ingress {
			rec.Ingress = append(rec.Ingress, clusterRule(rule, "from"))
		}
		for _, rule := range p.Egress {
			rec.Egress = append(rec.Egress, clusterRule(rule, "to"))
		}
		out = append(out, rec)
	}
	return out
}

func clusterSubject(s model.ClusterSubject) string {
	switch {
	case s.Namespaces != nil:
		return "pods of namespaces " + selectorString(s.Namespaces, "all")
	case s.Pods != nil:
		return "pods " + selectorString(&s.Pods.PodSelector, "all") + " of namespaces " + selectorString(&s.Pods.NamespaceSelector, "all")
	}
	return "none (invalid subject)"
}

// clusterRule reads a rule for people: "Deny to networks 169.254.0.0/16 on all ports".
func clusterRule(r model.ClusterRule, dir string) string {
	var peers []string
	for _, p := range r.Peers {
		switch {
		case p.Unknown:
			peers = append(peers, "an unknown peer")
		case p.Namespaces != nil:
			peers = append(peers, "namespaces "+selectorString(p.Namespaces, "all"))
		case p.Pods != nil:
			peers = append(peers, "pods "+selectorString(&p.Pods.PodSelector, "all")+" of namespaces "+selectorString(&p.Pods.NamespaceSelector, "all"))
		case p.Nodes != nil:
			peers = append(peers, "nodes "+selectorString(p.Nodes, "all"))
		case len(p.Networks) > 0:
			peers = append(peers, "networks "+strings.Join(p.Networks, ", "))
		default:
			peers = append(peers, "domains "+strings.Join(p.DomainNames, ", "))
		}
	}
	s := fmt.Sprintf("%s %s %s on %s", r.ActionAsWritten, dir, strings.Join(peers, " or "), policy.DescribeClusterPorts(r.Ports))
	if r.Name != "" {
		s = r.Name + ": " + s
	}
	return s
}

func peerString(namespace string, podLabels map[string]string) string {
	if len(podLabels) == 0 {
		return "namespace " + namespace
	}
	return fmt.Sprintf("namespace %s, pods %s", namespace, labels.Set(podLabels))
}

func countPods(pods []corev1.Pod, namespace string, want map[string]string) int {
	sel := labels.SelectorFromSet(want)
	n := 0
	for _, p := range pods {
		if p.Namespace == namespace && len(want) > 0 && sel.Matches(labels.Set(p.Labels)) && p.Status.Phase == corev1.PodRunning {
			n++
		}
	}
	return n
}

func policyRecord(np *networkingv1.NetworkPolicy) PolicyRecord {
	pr := PolicyRecord{Name: np.Name, Managed: ownership.IsMember(np), PodSelector: selectorString(&np.Spec.PodSelector, "every pod")}
	if pr.Managed {
		pr.Phase = np.Annotations[ownership.PhaseAnnotation]
	}
	ingress, egress := policy.PolicyTypes(np)
	if ingress {
		pr.PolicyTypes = append(pr.PolicyTypes, "Ingress")
		for _, rule := range np.Spec.Ingress {
			pr.Ingress = append(pr.Ingress, "from "+peersString(rule.From)+" on "+policy.DescribePorts(rule.Ports))
		}
		if len(np.Spec.Ingress) == 0 {
			pr.Ingress = []string{"nothing (deny)"}
		}
	}
	if egress {
		pr.PolicyTypes = append(pr.PolicyTypes, "Egress")
		for _, rule := range np.Spec.Egress {
			pr.Egress = append(pr.Egress, "to "+peersString(rule.To)+" on "+policy.DescribePorts(rule.Ports))
		}
		if len(np.Spec.Egress) == 0 {
			pr.Egress = []string{"nothing (deny)"}
		}
	}
	return pr
}

func selectorString(ls *metav1.LabelSelector, empty string) string {
	if ls == nil {
		return empty
	}
	s := metav1.FormatLabelSelector(ls)
	if s == "<none>" || s == "" {
		return empty
	}
	return s
}

func peersString(peers []networkingv1.NetworkPolicyPeer) string {
	if len(peers) == 0 {
		return "anywhere"
	}
	var out []string
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			s := p.IPBlock.CIDR
			if len(p.IPBlock.Except) > 0 {
				s += " except " + strings.Join(p.IPBlock.Except, ",")
			}
			out = append(out, s)
		case p.NamespaceSelector != nil && p.PodSelector != nil:
			out = append(out, fmt.Sprintf("pods %s in namespaces %s", selectorString(p.PodSelector, "(all)"), selectorString(p.NamespaceSelector, "(all)")))
		case p.NamespaceSelector != nil:
			out = append(out, "namespaces "+selectorString(p.NamespaceSelector, "(all)"))
		case p.PodSelector != nil:
			out = append(out, "pods "+selectorString(p.PodSelector, "(all)")+" of this namespace")
		}
	}
	return strings.Join(out, "; ")
}

// calicoPolicyRecords lists Calico's policies in evaluation order, one
// line per rule.
func calicoPolicyRecords(m *model.Model) []CalicoPolicyRecord {
	var out []CalicoPolicyRecord
	for _, p := range policy.CalicoEvaluationOrder(m) {
		rec := CalicoPolicyRecord{Tier: cmp.Or(p.Tier, "default"), Order: p.Order, Kind: p.Kind, Namespace: p.Namespace, Name: p.Name,
			Selector: calicoSelector(p), Types: p.Types}
		for _, r := range p.Ingress {
			rec.Ingress = append(rec.Ingress, calicoRule(r))
		}
		for _, r := range p.Egress {
			rec.Egress = append(rec.Egress, calicoRule(r))
		}
		out = append(out, rec)
	}
	return out
}

func calicoSelector(p *model.CalicoPolicy) string {
	parts := []string{cmp.Or(p.Selector, "all()")}
	if p.NamespaceSelector != "" {
		parts = append(parts, "namespaces "+p.NamespaceSelector)
	}
	if p.ServiceAccountSelector != "" {
		parts = append(parts, "service accounts "+p.ServiceAccountSelector)
	}
	return strings.Join(parts, "; ")
}

// calicoRule is "Allow TCP from app == 'web' to ports 80, 443".
func calicoRule(r model.CalicoRule) string {
	words := []string{r.Action}
	if r.Protocol != nil {
		words = append(words, cmp.Or(r.Protocol.Name, strconv.Itoa(int(r.Protocol.Number))))
	}
	if from := calicoEntity(r.Source); from != "" {
		words = append(words, "from "+from)
	}
	if to := calicoEntity(r.Destination); to != "" {
		words = append(words, "to "+to)
	}
	return strings.Join(words, " ")
}

func calicoEntity(e model.CalicoEntity) string {
	var parts []string
	for _, s := range []struct{ label, value string }{{"", e.Selector}, {"not ", e.NotSelector}, {"namespaces ", e.NamespaceSelector}} {
		if s.value != "" {
			parts = append(parts, s.label+s.value)
		}
	}
	if len(e.Nets) > 0 {
		parts = append(parts, "nets "+strings.Join(e.Nets, ", "))
	}
	if len(e.NotNets) > 0 {
		parts = append(parts, "not nets "+strings.Join(e.NotNets, ", "))
	}
	if len(e.Ports) > 0 {
		parts = append(parts, "ports "+calicoPorts(e.Ports))
	}
	if len(e.NotPorts) > 0 {
		parts = append(parts, "not ports "+calicoPorts(e.NotPorts))
	}
	return strings.Join(parts, " ")
}

func calicoPorts(ports []model.CalicoPort) string {
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		switch {
		case p.Name != "":
			out = append(out, p.Name)
		case p.First == p.Last:
			out = append(out, strconv.Itoa(int(p.First)))
		default:
			out = append(out, fmt.Sprintf("%d:%d", p.First, p.Last))
		}
	}
	return strings.Join(out, ", ")
}
