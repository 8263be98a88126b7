// Package applying is apply's and rollback's use case above the writer:
// plan every namespace before any write, apply them in turn and report
// each write, verify each namespace with probes when asked (the
// enforcement check, the read the prediction needs, the verifier wired to
// apply's Verify hook, the saved results), roll back, and map apply's
// errors to exit statuses. The writes themselves, their journal and their
// undo are internal/apply's; reads, the canary and the prober are
// injected. The commands only turn flags into a Config.
package applying

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/transition"
	"github.com/netbaseline/kubectl-netbaseline/internal/verify"
)

// Config is one run of apply.
type Config struct {
	Namespaces []string
	Rendered   map[string][]baseline.Object
	// Collect keeps the objects written (for -o) instead of printing one
	// line per write.
	Collect bool
	// Verify probes each namespace once applied (nil: no verification).
	Verify      *Verification
	Out, ErrOut io.Writer
}

// Apply plans every namespace first (nothing is written if any would be
// refused), then applies them in turn, printing each result; it returns
// the objects written when Collect is set.
func Apply(ctx context.Context, applier *apply.Applier, c Config) ([]*networkingv1.NetworkPolicy, error) {
	if c.Verify != nil {
		return c.Verify.run(ctx, applier, c)
	}
	return c.applyAll(ctx, applier)
}

func (c Config) applyAll(ctx context.Context, applier *apply.Applier) ([]*networkingv1.NetworkPolicy, error) {
	plans, err := applier.Plan(ctx, c.Namespaces, c.Rendered)
	if err != nil {
		return nil, Exit(err)
	}
	for _, p := range plans {
		fmt.Fprintf(c.ErrOut, "Applying the baseline to namespace %s (order %s): %d write(s)\n", p.Namespace, applier.Order, len(p.Transition.Steps))
		for _, w := range p.Warnings {
			fmt.Fprintf(c.ErrOut, "Warning: %s\n", w)
		}
	}
	reports, err := applier.Execute(ctx, plans)
	var written []*networkingv1.NetworkPolicy
	for _, report := range reports {
		for _, r := range report.Results {
			if !c.Collect {
				fmt.Fprintf(c.Out, "networkpolicy.networking.k8s.io/%s %s%s\n", r.Name, r.Op, DryRunSuffix(applier.DryRun))
				continue
			}
			if r.Object != nil {
				written = append(written, WithKind(r.Object))
			}
		}
	}
	if err != nil {
		return written, Exit(err)
	}
	return written, nil
}

// Exit maps apply's errors to exit statuses: a missing namespace is bad
// input; a verification that failed (and was undone) did not meet
// expectations; one that could not verify (probes through a mesh proxy,
// the state kept), conflicts and API failures could not be done.
func Exit(err error) error {
	var missing *apply.NamespaceMissingError
	var verr *verify.MismatchError
	var unverified *apply.UnverifiedError
	switch {
	case errors.As(err, &missing):
		return &exit.Error{Code: exit.Usage, Err: err}
	case errors.As(err, &unverified):
		return &exit.Error{Code: exit.Failed, Err: err}
	case errors.As(err, &verr) && !verr.CouldNotRun:
		return &exit.Error{Code: exit.Unmet, Err: err}
	}
	return err
}

// WithKind is a written policy as printers expect it: with its kind, and
// without the managed fields.
func WithKind(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	c := np.DeepCopy()
	c.APIVersion, c.Kind = "networking.k8s.io/v1", "NetworkPolicy"
	c.ManagedFields = nil
	return c
}

// DryRunSuffix is what kubectl appends to a line of a dry run.
func DryRunSuffix(d apply.DryRun) string {
	switch d {
	case apply.DryRunClient:
		return " (dry run)"
	case apply.DryRunServer:
		return " (server dry run)"
	}
	return ""
}

// Layers are the cluster's other policy layers for apply's proof, from
// their read: the enforcer decides the Kubernetes policies with them. A
// layer that could not be read, or one the engine does not decide, leaves
// the proof unable to see what it decides: that is an error (exit 1). nil
// when there is none.
func Layers(m *model.Model, log io.Writer) (*transition.Layers, error) {
	if len(m.OtherLayers) > 0 {
		return nil, exit.Failedf("the zero-disruption proof cannot see what %s decide: %s", strings.Join(m.OtherLayers, ", "), strings.Join(m.Warnings, "; "))
	}
	if unread := m.ClusterPoliciesUnreadable(); len(unread) > 0 {
		return nil, exit.Failedf("the zero-disruption proof cannot see what %s decide: %s", strings.Join(unread, ", "), strings.Join(m.Warnings, "; "))
	}
	layers := &transition.Layers{CalicoPolicies: m.CalicoPolicies, CalicoTiers: m.CalicoTiers, ServiceAccounts: m.ServiceAccounts,
		ClusterPolicies: m.ClusterPolicies, Nodes: m.Nodes, AWSPolicyMode: m.AWSPolicyMode, CiliumPolicies: m.CiliumPolicies, Cilium: m.Cilium}
	if layers.Empty() {
		return nil, nil
	}
	if len(m.CalicoPolicies) > 0 {
		fmt.Fprintf(log, "Calico: %d policies evaluated with the Kubernetes ones in every step's proof\n", len(m.CalicoPolicies))
	}
	if len(m.ClusterPolicies) > 0 {
		fmt.Fprintf(log, "cluster-scoped policies: %d evaluated with the Kubernetes ones in every step's proof\n", len(m.ClusterPolicies))
	}
	if m.AWSPolicyMode != "" {
		fmt.Fprintf(log, "EKS network policy agent: %s mode, evaluated in every step's proof\n", m.AWSPolicyMode)
	}
	if m.Cilium != nil {
		fmt.Fprintf(log, "Cilium enforces (%s): %d of its policies evaluated with the Kubernetes ones in every step's proof\n", m.Cilium.Source, len(m.CiliumPolicies))
	}
	return layers, nil
}
