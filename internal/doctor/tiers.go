package doctor

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// tierSupport is what each engine enforces of the cluster-scoped tiers,
// from their documentation and release notes, and from which version on
// ("" for every version); engines absent here enforce none of them.
var tierSupport = map[string][]struct{ kind, since string }{
	// Calico: AdminNetworkPolicy from v3.29 (projectcalico/calico#9206),
	// BaselineAdminNetworkPolicy from v3.30 (#9464); felix of v3.28 has no
	// code for either (checked on the release-v3.28 source).
	"Calico":                {{model.KindAdminNetworkPolicy, "v3.29.0"}, {model.KindBaselineAdminNetworkPolicy, "v3.30.0"}},
	"Antrea":                {{model.KindAdminNetworkPolicy, ""}, {model.KindBaselineAdminNetworkPolicy, ""}},
	"kube-network-policies": {{model.KindAdminNetworkPolicy, ""}, {model.KindBaselineAdminNetworkPolicy, ""}, {model.KindClusterNetworkPolicy, ""}},
	// The EKS agent enforces its own kind (networking.k8s.aws), never the
	// upstream ones.
	awsAgent: {{model.KindAWSClusterNetworkPolicy, ""}},
}

// awsAgent is the EKS network policy agent's engine name (engines.go).
const awsAgent = "AWS VPC CNI network policy agent"

// enforcedTiers is what of the tiers e enforces, and for what it enforces
// only in a later version, a note saying from which. An unknown version
// (an image without a tag) gets the benefit of the doubt: the newest.
func enforcedTiers(e Engine) (kinds []string, later map[string]string) {
	have, err := version.ParseGeneric(e.Version)
	for _, s := range tierSupport[e.Name] {
		if s.since == "" || err != nil || !have.LessThan(version.MustParseGeneric(s.since)) {
			kinds = append(kinds, s.kind)
			continue
		}
		if later == nil {
			later = map[string]string{}
		}
		later[s.kind] = s.since
	}
	return kinds, later
}

// tierCRDs are the CustomResourceDefinitions of the tiers.
var tierCRDs = []string{
	"adminnetworkpolicies.policy.networking.k8s.io",
	"baselineadminnetworkpolicies.policy.networking.k8s.io",
	"clusternetworkpolicies.policy.networking.k8s.io",
}

// checkClusterTiers reports the cluster-scoped tiers (TIER-*): which CRDs
// and objects exist, whether the engines enforce them (explain and probe
// assume they are enforced, as the API says), what could not be read,
// and objects the engine can only fail closed on.
func checkClusterTiers(s *Snapshot, engines []Engine) []Finding {
	m := s.Model
	if m == nil {
		return nil
	}
	var out []Finding
	for _, r := range m.ClusterPoliciesUnreadable() {
		full := r
		if !strings.Contains(r, ".") {
			full += ".policy.networking.k8s.io"
		}
		out = append(out, couldNotCheck("TIER-003", r, "could not list "+full+": every verdict is unspecified until they can be read"))
	}
	var crds []string
	for _, c := range tierCRDs {
		for _, have := range s.CRDs {
			if have == c {
				crds = append(crds, c)
			}
		}
	}
	kinds := map[string]int{}
	for _, p := range m.ClusterPolicies {
		kinds[p.Kind]++
		for _, problem := range p.Problems {
			out = append(out, Finding{ID: "TIER-002", Severity: Warn, Subject: p.Ref(),
				Message: problem + " (the API asks implementations to fail closed on what they cannot read, and explain does)",
				Fix:     "kubectl get " + strings.ToLower(p.Kind) + " " + p.Name + " -o yaml: fix the object, or upgrade the plugin if the field is newer than it"})
		}
		if p.Unresolvable != "" {
			out = append(out, Finding{ID: "TIER-004", Severity: Warn, Subject: p.Ref(),
				Message: p.Unresolvable + ": whether the agent enforces the policy at all is unknown, and explain leaves the verdicts it could decide unspecified",
				Fix:     "write the port as a number (portNumber) or a range (portRange): kubectl edit " + strings.ToLower(p.Kind) + " " + p.Name})
		}
	}
	if len(kinds) == 0 {
		if len(crds) > 0 {
			out = append(out, Finding{ID: "TIER-001", Severity: Info, Subject: "cluster-scoped policies",
				Message: fmt.Sprintf("the CRDs %s are installed and hold no objects", strings.Join(crds, ", "))})
		}
		return out
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	var present []string
	for _, k := range names {
		present = append(present, fmt.Sprintf("%d %s", kinds[k], k))
	}
	for _, e := range engines {
		enforced, later := enforcedTiers(e)
		var missing, notes []string
		for _, k := range names {
			if since, ok := later[k]; ok {
				notes = append(notes, k+" from "+since)
			}
			if !containsString(enforced, k) {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			out = append(out, Finding{ID: "TIER-001", Severity: Pass, Subject: e.Name,
				Message: fmt.Sprintf("%s enforces the cluster-scoped policies present (%s); explain decides them in tier order", e.Name, strings.Join(present, ", "))})
			continue
		}
		versionNote := ""
		if len(notes) > 0 {
			versionNote = " (it enforces " + strings.Join(notes, ", ") + " on)"
		}
		out = append(out, Finding{ID: "TIER-001", Severity: Warn, Subject: e.Name,
			Message: fmt.Sprintf("%s%s does not enforce %s%s, yet the cluster holds %s: explain and probe's expectations assume them enforced, as the API defines, so live traffic will differ", e.Name, versionSuffix(e.Version), strings.Join(missing, ", "), versionNote, strings.Join(present, ", ")),
			Fix:     "use an engine that enforces them (Calico v3.29 or later, Antrea, kube-network-policies), or remove them and express the guardrails as NetworkPolicies"})
	}
	return out
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
