// Package audit is audit's use case: read the model once through an
// injected loader, work out every workload's exposure (who may reach it,
// and whom it may reach, future pods included), the entry points from
// outside, the posture findings and the scores (internal/audit/posture),
// write them in the format asked, and exit 3 when --fail-on or
// --min-score is not met. The command only turns flags into a Config.
package audit

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/audit/posture"
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/gctune"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
)

// Config is one run of audit.
type Config struct {
	// Namespaces audited; none with AllNamespaces, else CurrentNamespace
	// (-n or the kubeconfig's).
	Namespaces       []string
	AllNamespaces    bool
	CurrentNamespace string
	// From and To focus the report: the egress exposure of the --from
	// workloads, the ingress exposure of the --to ones (nil: both sides of
	// every workload).
	From, To []endpoint.Endpoint
	// FailOn exits 3 when a finding is this severe or worse ("": never);
	// MinScore exits 3 when the cluster's or an audited namespace's score
	// is below it (negative: never).
	FailOn   posture.Severity
	MinScore int
	// IngressController runs the Ingresses (the Config's; nil: unknown,
	// so every Ingress path is unspecified).
	IngressController *posture.IngressController

	Output    string
	NoHeaders bool

	// Load reads the model (files or the cluster).
	Load func(ctx context.Context) (*model.Model, error)
	// PrintTable prints kubectl's tables.
	PrintTable  func(io.Writer, output.Table, output.TableOptions) error
	Out, ErrOut io.Writer
}

// ReadNamespaces are the namespaces to read one by one when cluster-wide
// lists are forbidden: those audited (peers elsewhere are then unread,
// and say so).
func (c Config) ReadNamespaces() []string {
	if c.AllNamespaces {
		return nil
	}
	if len(c.Namespaces) > 0 {
		return c.Namespaces
	}
	return []string{c.CurrentNamespace}
}

// Run reads the model once, audits and prints.
func Run(ctx context.Context, c Config) error {
	m, err := c.load(ctx)
	if err != nil {
		return err
	}
	namespaces := c.scope(m)
	if missing := m.Refusals([]string{"pods", "networkpolicies"}, namespaces); len(missing) > 0 {
		return exit.Failedf("the audit is unknown: %s", strings.Join(missing, "; "))
	}
	opts := posture.Options{Namespaces: namespaces, IngressController: c.IngressController}
	if opts.Ingress, err = focus(m, "--to", c.To); err != nil {
		return err
	}
	if opts.Egress, err = focus(m, "--from", c.From); err != nil {
		return err
	}
	doc := posture.Audit(m, opts)
	for _, w := range doc.Warnings {
		fmt.Fprintf(c.ErrOut, "Warning: %s\n", w)
	}
	if err := c.print(doc); err != nil {
		return err
	}
	return c.expectations(doc)
}

// load reads the model with the collector tuned for the burst.
func (c Config) load(ctx context.Context) (*model.Model, error) {
	defer gctune.Roomy()()
	return c.Load(ctx)
}

// scope is the namespaces audited.
func (c Config) scope(m *model.Model) []string {
	switch {
	case c.AllNamespaces:
		out := make([]string, 0, len(m.Namespaces))
		for _, ns := range m.Namespaces {
			out = append(out, ns.Name)
		}
		return out
	case len(c.Namespaces) > 0:
		return model.Unique(c.Namespaces)
	}
	return []string{c.CurrentNamespace}
}

// focus resolves --from or --to to a test on pods (nil when not given).
func focus(m *model.Model, flag string, eps []endpoint.Endpoint) (func(*model.Pod) bool, error) {
	if len(eps) == 0 {
		return nil, nil
	}
	keep := map[*model.Pod]bool{}
	for _, ep := range eps {
		t, err := endpoint.Resolve(m, ep)
		if err != nil {
			return nil, endpoint.ResolveExit(flag, err)
		}
		for _, p := range t.Pods {
			keep[p] = true
		}
	}
	return func(p *model.Pod) bool { return keep[p] }, nil
}

// print writes the document in the format asked.
func (c Config) print(doc *posture.Document) error {
	switch c.Output {
	case "md":
		return output.AuditMarkdown(c.Out, doc)
	case "junit":
		return output.AuditJUnit(c.Out, doc, c.FailOn)
	case "sarif":
		return output.AuditSARIF(c.Out, doc)
	}
	if opts, ok := output.ParseTableFormat(c.Output, c.NoHeaders); ok {
		return c.tables(doc, opts)
	}
	return output.WriteDocument(c.Out, c.Output, doc)
}

// tables prints the scores, exposure, entry points and findings, one
// table each, a blank line apart (an empty one is left out).
func (c Config) tables(doc *posture.Document, opts output.TableOptions) error {
	first := true
	for _, t := range output.AuditTables(doc) {
		if len(t.Rows) == 0 {
			continue
		}
		if !first {
			fmt.Fprintln(c.Out)
		}
		first = false
		if err := c.PrintTable(c.Out, t, opts); err != nil {
			return err
		}
	}
	return nil
}

// expectations is exit 3 when --fail-on or --min-score is not met.
func (c Config) expectations(doc *posture.Document) error {
	var unmet []string
	if c.FailOn != "" {
		n := 0
		for _, f := range doc.Findings {
			if posture.AtLeast(f.Severity, c.FailOn) {
				n++
			}
		}
		if n > 0 {
			unmet = append(unmet, fmt.Sprintf("%d finding(s) of severity %s or above", n, c.FailOn))
		}
	}
	if c.MinScore >= 0 {
		unmet = append(unmet, belowScore(doc, c.MinScore)...)
	}
	if len(unmet) > 0 {
		return exit.Unmetf("audit: %s", strings.Join(unmet, "; "))
	}
	return nil
}

// belowScore names the cluster and the namespaces scoring below min.
func belowScore(doc *posture.Document, minScore int) []string {
	var out []string
	if doc.Cluster.Score < minScore {
		out = append(out, fmt.Sprintf("the cluster scores %d, below --min-score %d", doc.Cluster.Score, minScore))
	}
	var low []string
	for _, ns := range doc.Namespaces {
		if ns.Score.Score < minScore {
			low = append(low, fmt.Sprintf("%s (%d)", ns.Namespace, ns.Score.Score))
		}
	}
	if len(low) > 0 {
		slices.Sort(low)
		out = append(out, "namespaces below --min-score "+fmt.Sprint(minScore)+": "+strings.Join(low, ", "))
	}
	return out
}
