package policy

// Hints under Calico.
const (
	// HintCalicoBeforeNetworkPolicy: a Calico policy ordered before the
	// Kubernetes ones decided a side they would have decided too.
	HintCalicoBeforeNetworkPolicy = "CalicoBeforeNetworkPolicy"
	// HintCalicoEndOfTier: the side was denied because a tier's policies
	// applied and none of their rules matched.
	HintCalicoEndOfTier = "CalicoEndOfTier"
	// HintStagedWouldChange: promoting the staged Calico policies would
	// change the verdict.
	HintStagedWouldChange = "StagedWouldChange"
)

// calicoHints explain what Calico's order did to the flow.
func (e *Engine) calicoHints(h *hintSet, f Flow, r *Result) {
	if e.calico == nil {
		return
	}
	for _, side := range []struct {
		s       *Side
		ep      Endpoint
		ingress bool
	}{{r.Egress, f.From, false}, {r.Ingress, f.To, true}} {
		if side.s == nil || side.s.Calico == nil {
			continue
		}
		e.calicoSideHints(h, side.s, side.ep, side.ingress)
	}
	e.stagedHint(h, f, r)
}

func (e *Engine) calicoSideHints(h *hintSet, s *Side, ep Endpoint, ingress bool) {
	m := s.Calico
	dir := "egress"
	if ingress {
		dir = "ingress"
	}
	switch {
	case m.Action == "EndOfTier":
		h.add(HintCalicoEndOfTier, "policies of tier %s apply to %s for %s (%d in all) and none of their rules matched: Calico denies at the end of a tier; an Allow rule in one of them, or a Pass, would let it through", m.Tier, ep.Pod.Key(), dir, len(s.IsolatedBy))
	case m.API != "networking.k8s.io" && (m.Action == "Allow" || m.Action == "Deny") && e.kubernetesSelect(ep, ingress):
		h.add(HintCalicoBeforeNetworkPolicy, "%s %s decided %s of %s before the Kubernetes NetworkPolicies that select it (Calico orders them at 1000 in the default tier): they were not reached", m.Kind, qualified(m), dir, ep.Pod.Key())
	}
}

// kubernetesSelect: a Kubernetes NetworkPolicy selects the pod for that
// direction.
func (e *Engine) kubernetesSelect(ep Endpoint, ingress bool) bool {
	if ep.Pod == nil {
		return false
	}
	of := e.egressOf
	if ingress {
		of = e.ingressOf
	}
	return len(of[e.indexOf(ep)]) > 0
}

func qualified(m *CalicoMatch) string {
	if m.Namespace == "" {
		return m.Name
	}
	return m.Namespace + "/" + m.Name
}

// stagedHint: the staged policies, promoted, would decide otherwise.
func (e *Engine) stagedHint(h *hintSet, f Flow, r *Result) {
	staged := e.stagedEngine()
	if staged == nil {
		return
	}
	sf := Flow{From: staged.sameEndpoint(f.From), To: staged.sameEndpoint(f.To), Port: f.Port, Protocol: f.Protocol, Replicas: f.Replicas}
	if v := staged.Evaluate(sf, false).Verdict; v != r.Verdict {
		h.add(HintStagedWouldChange, "promoting the %d staged Calico policies would make this %s (explain --staged shows why; diff --flows --staged lists every connection they change)", len(e.calico.staged), v)
	}
}

// stagedEngine is the engine of the model with its staged policies
// promoted, built once, on first use; nil without staged policies.
func (e *Engine) stagedEngine() *Engine {
	if e.calico == nil || len(e.calico.staged) == 0 {
		return nil
	}
	e.stagedOnce.Do(func() { e.staged = New(e.model.WithStaged()) })
	return e.staged
}

// sameEndpoint is the endpoint in this engine's model (the pods of a
// model and of its staged copy are the same objects).
func (e *Engine) sameEndpoint(ep Endpoint) Endpoint {
	if ep.Pod == nil {
		return ep
	}
	return PodEndpoint(ep.Pod)
}
