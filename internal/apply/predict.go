package apply

import (
	"sort"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Predict is the cluster after an apply of the rendered baselines into
// the namespaces, planned as apply plans them: its one prediction, which
// diff --flows and discover share. A same-named policy that is not ours
// (or ours, since changed by someone else) refuses the namespace with the
// ConflictError apply would return, unless opts.ForceConflicts takes it
// over; our members are replaced, and with opts.Prune the ones no longer
// rendered go. Other policies stay.
func Predict(before *model.Model, namespaces []string, rendered map[string][]baseline.Object, opts Options) (*model.Model, error) {
	a := &Applier{Options: opts}
	replace := map[string][]*networkingv1.NetworkPolicy{}
	for _, ns := range namespaces {
		replace[ns] = nil
	}
	names := make([]string, 0, len(rendered))
	for ns := range rendered {
		names = append(names, ns)
	}
	sort.Strings(names)
	for _, ns := range names {
		want, err := a.desired(ns, rendered[ns])
		if err != nil {
			return nil, err
		}
		if _, err := a.checkOwnership(ns, want, livePoliciesOf(before, ns), &Outcome{}); err != nil {
			return nil, err
		}
		for _, d := range want {
			replace[ns] = append(replace[ns], d.np)
		}
	}
	keep := func(np *networkingv1.NetworkPolicy) bool {
		if ownership.IsMember(np) && opts.Prune {
			return false
		}
		for _, obj := range rendered[np.Namespace] {
			if obj.GetName() == np.Name {
				return false // replaced: ours, or taken over with force
			}
		}
		return true
	}
	return policy.After(before, replace, keep), nil
}

// livePoliciesOf are the namespace's policies in the model, by name.
func livePoliciesOf(m *model.Model, namespace string) map[string]*networkingv1.NetworkPolicy {
	out := map[string]*networkingv1.NetworkPolicy{}
	for _, np := range m.Policies {
		if np.Namespace == namespace {
			out[np.Name] = np
		}
	}
	return out
}
