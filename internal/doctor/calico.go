package doctor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// checkCalico reports Calico's own policies (CALICO-*): how many the
// engine decides and in which order the running version puts them, and
// the ones it can only call unspecified where they apply.
func checkCalico(s *Snapshot, engines []Engine) []Finding {
	m := s.Model
	if m == nil || len(m.CalicoPolicies) == 0 {
		return nil
	}
	out := []Finding{calicoSummary(m, engines)}
	if undecided := calicoUndecided(m); len(undecided) > 0 {
		sort.Strings(undecided)
		out = append(out, Finding{ID: "CALICO-002", Severity: Warn, Subject: "calico",
			Message: fmt.Sprintf("%d Calico policies hold what the engine does not decide, so flows they could decide are unspecified: %s", len(undecided), strings.Join(undecided, "; ")),
			Fix:     "match on ports and selectors instead (HTTP matches need Calico's application layer policy; services matches and source ports are not checked)"})
	}
	return out
}

// calicoSummary counts the policies and says how the running version
// orders tiers.
func calicoSummary(m *model.Model, engines []Engine) Finding {
	kinds := map[string]int{}
	for _, p := range m.CalicoPolicies {
		kinds[p.Kind]++
	}
	var parts []string
	for _, k := range []string{model.CalicoGlobalNetworkPolicy, model.CalicoNetworkPolicy, model.CalicoStagedGlobalNetworkPolicy, model.CalicoStagedNetworkPolicy, model.CalicoStagedKubernetesPolicy} {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
	version := m.CalicoVersion
	for _, e := range engines {
		if e.Name == "Calico" && version == "" {
			version = e.Version
		}
	}
	order := "the running version is unknown, so where policies use tiers other than default, verdicts are decided only where v3.30's order by tier and the one-tier order of earlier versions agree"
	shadow := *m
	shadow.CalicoVersion = version
	if tiers, known := shadow.CalicoTiersEnforced(); known && tiers {
		order = "Calico " + version + " orders policies by tier, then order"
	} else if known {
		order = "Calico " + version + " has no tiers: every policy is ordered as one tier (a tier field is ignored)"
	}
	return Finding{ID: "CALICO-001", Severity: Info, Subject: "calico",
		Message: fmt.Sprintf("Calico's own policies are decided with the Kubernetes ones (these at order 1000): %s; %s; staged policies are not enforced (explain --staged and diff --flows --staged preview them)", strings.Join(parts, ", "), order)}
}

// calicoUndecided names the policies with matches the engine leaves open.
func calicoUndecided(m *model.Model) []string {
	var out []string
	for _, p := range m.CalicoPolicies {
		if p.Staged() {
			continue
		}
		var why []string
		if len(p.Problems) > 0 {
			why = append(why, "refused by Calico's validation")
		}
		if p.DoNotTrack || p.PreDNAT {
			why = append(why, "doNotTrack/preDNAT (host endpoints)")
		}
		why = append(why, rulesUndecided(p)...)
		if len(why) > 0 {
			out = append(out, p.Ref()+" ("+strings.Join(why, ", ")+")")
		}
	}
	return out
}

func rulesUndecided(p *model.CalicoPolicy) []string {
	seen := map[string]bool{}
	var out []string
	note := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, rules := range [][]model.CalicoRule{p.Ingress, p.Egress} {
		for _, r := range rules {
			switch {
			case r.HTTP:
				note("an HTTP match")
			case r.Source.Services != nil || r.Destination.Services != nil:
				note("a services match")
			case len(r.Source.Ports) > 0 || len(r.Source.NotPorts) > 0:
				note("source ports")
			}
		}
	}
	return out
}
