// Package flowdiff is diff --flows' use case: which connections between
// groups of pods change from one model to another — the cluster now and
// after an apply (apply's own prediction), the cluster now and its Calico
// staged policies promoted, or two sets of policy files on the same
// workloads. Models are read through injected loaders; the command only
// turns flags into a Config.
package flowdiff

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/gctune"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/output"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Config is how the changes are printed: a table headed before/after,
// -o json, mermaid or dot.
type Config struct {
	Output      string
	Out, ErrOut io.Writer
}

// Apply compares the live cluster with the same cluster once the rendered
// baseline is applied to the namespaces, as apply would plan it (a
// refusal, e.g. a foreign policy of the same name, is apply's own error).
func Apply(ctx context.Context, c Config, load func(context.Context) (*model.Model, error), namespaces []string, rendered map[string][]baseline.Object, opts apply.Options) error {
	before, err := c.load(ctx, load)
	if err != nil {
		return err
	}
	after, err := apply.Predict(before, namespaces, rendered, opts)
	if err != nil {
		return err
	}
	return c.compareLive(before, after, focusOn(namespaces), "NOW", "AFTER APPLY")
}

// Staged compares the live cluster with the same cluster once its Calico
// staged policies are promoted: what a staged change would open or cut,
// before anyone promotes it. Every namespace is in focus with all.
func Staged(ctx context.Context, c Config, load func(context.Context) (*model.Model, error), namespaces []string, all bool) error {
	before, err := c.load(ctx, load)
	if err != nil {
		return err
	}
	if before.StagedCount() == 0 {
		fmt.Fprintln(c.ErrOut, "No staged Calico policy: nothing to preview.")
		return nil
	}
	focus := focusOn(namespaces)
	if all {
		for _, ns := range before.Namespaces {
			focus[ns.Name] = true
		}
	}
	fmt.Fprintf(c.ErrOut, "Previewing %d staged Calico policies as if promoted\n", before.StagedCount())
	return c.compareLive(before, before.WithStaged(), focus, "NOW", "STAGED")
}

// Files compares two sets of policy files on the same workloads, without
// a cluster (load reads the workloads with the given policy files). The
// focus is the namespaces given, else every namespace of the workloads.
func Files(c Config, load func(policies []string) (*model.Model, error), before, after, namespaces []string) error {
	defer gctune.Roomy()()
	old, err := load(before)
	if err != nil {
		return err
	}
	updated, err := load(after)
	if err != nil {
		return err
	}
	if len(updated.Pods) == 0 {
		return exit.Usagef("no pods to compare on: give the workloads with -f (Pods, Deployments, StatefulSets, …)")
	}
	for _, w := range updated.Warnings {
		fmt.Fprintf(c.ErrOut, "Warning: %s\n", w)
	}
	focus := focusOn(namespaces)
	if len(focus) == 0 {
		for _, n := range updated.Namespaces {
			focus[n.Name] = true
		}
	}
	return c.Print(policy.FlowChanges(policy.New(old), policy.New(updated), focus), "OLD", "NEW")
}

// load reads the live model and warns about what the read said.
func (c Config) load(ctx context.Context, load func(context.Context) (*model.Model, error)) (*model.Model, error) {
	m, err := load(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(c.ErrOut, "Warning: %s\n", w)
	}
	return m, nil
}

// compareLive compares two models of a live read, refusing first what
// could not be read.
func (c Config) compareLive(before, after *model.Model, focus map[string]bool, beforeHead, afterHead string) error {
	eb, ea := policy.New(before), policy.New(after)
	if err := Unknown(before, eb, ea); err != nil {
		return err
	}
	return c.Print(policy.FlowChanges(eb, ea, focus), beforeHead, afterHead)
}

// Unknown refuses to call anything "unchanged" that could not be read:
// pods, Services or policies anywhere (a connection of the namespaces may
// reach any namespace), the cluster-scoped tiers, or namespace labels a
// selector needs. An unchanged verdict there would be a guess (exit 1).
func Unknown(m *model.Model, engines ...*policy.Engine) error {
	missing := m.Refusals([]string{"pods", "services", "networkpolicies"}, nil)
	if m.PoliciesPartial && len(m.Refusals([]string{"networkpolicies"}, nil)) == 0 {
		missing = append(missing, model.RBACRefusal("list", "networkpolicies", ""))
	}
	for _, r := range m.ClusterPoliciesUnreadable() {
		missing = append(missing, model.RBACRefusal("list", model.QualifiedClusterResource(r), ""))
	}
	for _, e := range engines {
		if unknown := e.NamespaceLabelsUnknown(); len(unknown) > 0 {
			missing = append(missing, fmt.Sprintf("the labels of namespace %s, which a namespaceSelector needs (%s)", strings.Join(unknown, ", "), model.RBACRefusal("list", "namespaces", "")))
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return exit.Failedf("which connections change is unknown: %s", strings.Join(model.Unique(missing), "; "))
}

// Print prints the changes and exits as kubectl diff: 1 (silently) when
// something changes.
func (c Config) Print(changes []policy.FlowChange, before, after string) error {
	var err error
	switch {
	case c.Output == "json":
		err = output.WriteDocument(c.Out, "json", output.NewFlowDiff(changes))
	case c.Output == "mermaid" || c.Output == "dot":
		err = output.FlowDiffGraph(c.Out, c.Output, changes)
	case len(changes) == 0:
		fmt.Fprintln(c.ErrOut, "No connection between groups changes.")
	default:
		err = output.FlowDiffTable(c.Out, changes, before, after)
	}
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		return &exit.Error{Code: 1, Silent: true, Err: errors.New("connections change")}
	}
	return nil
}

func focusOn(namespaces []string) map[string]bool {
	focus := map[string]bool{}
	for _, ns := range namespaces {
		focus[ns] = true
	}
	return focus
}
