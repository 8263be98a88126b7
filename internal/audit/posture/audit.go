package posture

import (
	"sort"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Options say what to audit.
type Options struct {
	// Namespaces are audited (their workloads, policies and findings).
	Namespaces []string
	// Ingress and Egress keep the workloads whose side to report (nil:
	// every workload of the namespaces): --to and --from.
	Ingress, Egress func(*model.Pod) bool
	// IngressController runs the Ingresses (nil: none known).
	IngressController *IngressController
}

// Audit reads the model once into regions and one engine, and returns
// the document: every workload's exposure, the entry points, the
// findings, the scores.
func Audit(m *model.Model, o Options) *Document {
	a := NewAnalyzer(m, o.Namespaces)
	return a.Document(o)
}

// Document is the audit of the namespaces.
func (a *Analyzer) Document(o Options) *Document {
	doc := NewDocument()
	doc.Warnings = append(doc.Warnings, a.base.Warnings...)
	if a.unpartitioned != "" {
		doc.Warnings = append(doc.Warnings, "exposure and isolation are unspecified: audit does not split peers on the selectors of "+a.unpartitioned+" yet")
	}
	inScope := map[string]bool{}
	for _, ns := range o.Namespaces {
		inScope[ns] = true
	}
	var groups []policy.Group
	for _, g := range a.groups {
		if inScope[g.Pods[0].Namespace] {
			groups = append(groups, g)
		}
	}
	for _, g := range groups {
		if w, ok := a.focused(g, o); ok {
			doc.Workloads = append(doc.Workloads, w)
		}
	}
	services, all := a.EntryPoints(inScope), a.EntryPoints(nil)
	doc.EntryPoints = append(services, a.ingressEntryPoints(inScope, o.IngressController, all)...)
	doc.EntryPoints = append(doc.EntryPoints, a.gatewayEntryPoints(inScope, all)...)
	doc.Findings = a.findings(groups, inScope, doc.Workloads)
	a.scores(doc, groups, o.Namespaces)
	return doc
}

// focused is a group's exposure in the directions the focus keeps (only
// those are worked out).
func (a *Analyzer) focused(g policy.Group, o Options) (Workload, bool) {
	p := g.Pods[0]
	keepIn := o.Ingress == nil && o.Egress == nil || o.Ingress != nil && o.Ingress(p)
	keepOut := o.Ingress == nil && o.Egress == nil || o.Egress != nil && o.Egress(p)
	return a.Directions(g, keepIn, keepOut), keepIn || keepOut
}

// findings are every finding of the namespaces, by namespace, ID, object.
func (a *Analyzer) findings(groups []policy.Group, inScope map[string]bool, workloads []Workload) []Finding {
	unknown := map[string]bool{}
	for _, ns := range a.base.NamespaceLabelsUnknown() {
		unknown[ns] = true
	}
	out := a.isolationFindings(groups)
	out = append(out, ruleFindings(a.base, inScope)...)
	out = append(out, a.metadataFindings(groups)...)
	out = append(out, a.selectionFindings(inScope)...)
	out = append(out, labelFindings(a.base, inScope, unknown)...)
	out = append(out, internetFindings(workloads)...)
	out = append(out, shadowFindings(a.base.ClusterPolicies)...)
	out = append(out, a.grantFindings(inScope)...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].ID < out[j].ID
	})
	if out == nil {
		out = []Finding{}
	}
	return out
}

// scores fills the namespaces' and the cluster's scores.
func (a *Analyzer) scores(doc *Document, groups []policy.Group, namespaces []string) {
	per := map[string]*tallyScore{}
	for _, ns := range namespaces {
		per[ns] = &tallyScore{}
	}
	cluster := &tallyScore{}
	get := func(ns string) *tallyScore {
		if per[ns] == nil {
			per[ns] = &tallyScore{}
		}
		return per[ns]
	}
	for _, g := range groups {
		in, eg := a.isolation(g, true), a.isolation(g, false)
		get(g.Pods[0].Namespace).addIsolation(len(g.Pods), in, eg)
		cluster.addIsolation(len(g.Pods), in, eg)
	}
	for _, w := range doc.Workloads {
		get(w.Namespace).addPorts(w)
		cluster.addPorts(w)
	}
	for _, f := range doc.Findings {
		if f.Namespace != "" { // cluster-scoped findings count for the cluster
			get(f.Namespace).addFinding(f)
		}
		cluster.addFinding(f)
	}
	for _, ns := range sortedKeys(per) {
		doc.Namespaces = append(doc.Namespaces, NamespaceScore{Namespace: ns, Score: per[ns].score()})
	}
	doc.Cluster = cluster.score()
}
