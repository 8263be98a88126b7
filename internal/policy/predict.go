package policy

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// After predicts the model once policies change: in every namespace of
// replace, the live policies for which keep reports true stay (keep nil
// keeps none) and the namespace's new policies are added; other namespaces,
// pods and services are as they are. diff --flows and apply --verify both
// judge a change against this prediction.
func After(m *model.Model, replace map[string][]*networkingv1.NetworkPolicy, keep func(*networkingv1.NetworkPolicy) bool) *model.Model {
	next := m.Derive()
	next.Policies = nil
	for _, np := range m.Policies {
		if _, changing := replace[np.Namespace]; !changing || (keep != nil && keep(np)) {
			next.Policies = append(next.Policies, np)
		}
	}
	for namespace, policies := range replace {
		for _, np := range policies {
			c := np
			if c.Namespace != namespace {
				c = np.DeepCopy()
				c.Namespace = namespace
			}
			next.Policies = append(next.Policies, c)
		}
	}
	next.Normalize()
	return next
}
