package doctor

import (
	"fmt"

	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// checkLeftovers: temporary policies of an apply or rollback transition
// (bridges and copies) that a run killed mid-way left behind. A bridge is
// an allow-all for some pods: left alone, it silently neutralises the
// next default-deny, so it must never go unnoticed (APPLY-001).
func checkLeftovers(s *Snapshot) []Finding {
	if why, ok := s.UnreadableOf("networkpolicies"); ok {
		return []Finding{couldNotCheck("APPLY-001", "networkpolicies", why)}
	}
	var out []Finding
	for i := range s.Policies {
		np := &s.Policies[i]
		role := np.Labels[ownership.TransitionLabel]
		if role == "" || !ownership.IsMember(np) {
			continue
		}
		out = append(out, Finding{ID: "APPLY-001", Severity: Warn, Subject: np.Namespace + "/" + np.Name,
			Message: fmt.Sprintf("temporary %s policy of an interrupted apply or rollback is still in place (it allows what the transition had to keep open)", role),
			Fix:     fmt.Sprintf("kubectl netbaseline apply -n %s (finishes the change) or kubectl netbaseline rollback -n %s removes it", np.Namespace, np.Namespace)})
	}
	return out
}
