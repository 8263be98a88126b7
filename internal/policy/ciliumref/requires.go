package ciliumref

// fromRequires / toRequires, and the Cilium release they depend on.
//
// Releases before 1.19 (read at cilium/cilium 965d0079b0c62d17c2dde404ea4a14ebd091d552
// pkg/policy/rules.go resolveL4IngressPolicy / resolveL4EgressPolicy, and the
// rule.go of the same era, index id 409385045: resolveIngressPolicy /
// resolveEgressPolicy; the 2019 version 0017fa13ba3a9c596764ab798d36c11f0565def4
// of rules.go has the same aggregation):
//
//   - "Iterate over all FromRequires which select ctx.To": for every rule of
//     the repository whose endpointSelector selects the endpoint (any policy,
//     any rule), the FromRequires of each of its Ingress rules are converted
//     to LabelSelectorRequirements (ConvertToLabelSelectorRequirementSlice:
//     matchLabels as In, matchExpressions as they are) and collected into one
//     list; those of its IngressDeny rules into a second list
//     (requirementsDeny). Egress: ToRequires of Egress / EgressDeny rules,
//     rules selecting ctx.From.
//   - every Ingress rule of every selecting rule then evaluates
//     GetSourceEndpointSelectorsWithRequirements(requirements) (IngressDeny
//     rules: requirementsDeny): pkg/policy/api/ingress.go (index id
//     469852458; 98efc3c3b82e6ef4bc718443996509e51dc6e296 for the older
//     IngressRule form) appends the requirements to the MatchExpressions of
//     each FromEndpoints selector only, "if len(requirements) > 0 &&
//     len(i.FromEndpoints) > 0"; FromEntities, FromCIDR and FromCIDRSet
//     ("aggregatedSelectors") are not constrained. Egress is the same with
//     ToEndpoints (egress.go, index id 54308281), which is also where the
//     service translation puts the selectors of toServices (see cnp.go).
//   - a rule without FromEndpoints but with toPorts gets the
//     WildcardEndpointSelector in mergeIngress ("an empty slice of
//     EndpointSelector indicates that the rule allows all at L3") after the
//     requirements were folded, so it stays unconstrained; a rule with only
//     fromRequires allows nothing (mergeIngress: no endpoint, no port).
//   - requirement selectors get the same namespace injection as
//     fromEndpoints, except that reserved: keys do not exempt them
//     (pkg/k8s/apis/cilium.io/utils/utils.go, index id 137123588:
//     getEndpointSelector(namespace, ep.LabelSelector, false, matchesInit)
//     for FromRequires/ToRequires, addK8sPrefix=false).
//   - cilium/cilium#36644 (docs warning, Dec 2024): "toRequires and
//     fromRequires always apply fully to all rules that share the same
//     endpoint selector"; #36431 reported the cross-rule merge as a bug,
//     #36474 (a per-rule fix) was closed unmerged in favour of that warning.
//
// Release 1.19: #42615 removed the fields (Nov 2025) and #43167 (in
// v1.19.0-rc.0's changelog: "policy: Mark FromRequires and ToRequires as
// deprecated") re-introduced them in the CRD as deprecated with
// kubebuilder validation MaxItems=0, closing #43088 "Reject policies with
// FromRequires or ToRequires set" (release-blocker/1.19). The 1.19 upgrade
// notes (Documentation/operations/upgrade.rst) say "The previously
// deprecated FromRequires and ToRequires fields ... have been removed";
// Documentation/security/policy/language.rst: "deprecated as of Cilium
// 1.17.x. They have been removed as of Cilium 1.19." So from 1.19 on, the API
// server refuses a CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy with
// a non-empty fromRequires/toRequires list: the object is not stored and
// enforces nothing (modelled like a policy Cilium's validation rejects); an
// empty list passes MaxItems=0 and means nothing.
//
// Without a cilium-version in the config, a cluster whose policies use the
// fields is evaluated both ways; the answer is unspecified when the two
// differ (FORMAT.md).

import (
	"fmt"
	"strconv"
	"strings"
)

// ciliumVersion is a Cilium release as major*1000+minor; 0 when unknown.
type ciliumVersion int

const requiresRemoved ciliumVersion = 1019 // 1.19

// parseCiliumVersion accepts "1.15", "v1.15" and "1.15.3".
func parseCiliumVersion(s string) (ciliumVersion, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if s == "" {
		return 0, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("cilium-version %q: want X.Y", s)
	}
	var nums [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (i == 1 && n > 999) {
			return 0, fmt.Errorf("cilium-version %q: want X.Y", s)
		}
		nums[i] = n
	}
	if nums[0] < 1 {
		return 0, fmt.Errorf("cilium-version %q: want 1.x or later", s)
	}
	return ciliumVersion(nums[0]*1000 + nums[1]), nil
}

func (v ciliumVersion) String() string {
	if v == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", v/1000, v%1000)
}

// requiresModelled: the release folds requirements into peer selectors.
func (v ciliumVersion) requiresModelled() bool { return v != 0 && v < requiresRemoved }

// usesRequires reports whether a CNP/CCNP object has a non-empty
// fromRequires/toRequires anywhere (ingress, ingressDeny, egress,
// egressDeny; spec or specs).
func usesRequires(obj map[string]any) bool {
	var o cnpObject
	if err := decodeInto(obj, &o); err != nil {
		return false
	}
	specs := o.Specs
	if o.Spec != nil {
		specs = append(specs, *o.Spec)
	}
	for _, r := range specs {
		for _, sec := range [][]cnpPeerRule{r.Ingress, r.IngressDeny, r.Egress, r.EgressDeny} {
			for _, pr := range sec {
				if len(pr.FromRequires)+len(pr.ToRequires) > 0 {
					return true
				}
			}
		}
	}
	return false
}

// clusterUsesRequires: any Cilium policy of the cluster uses the fields.
func clusterUsesRequires(c Cluster) bool {
	for _, p := range c.Policies {
		switch p["kind"] {
		case "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy":
			if usesRequires(p) {
				return true
			}
		}
	}
	return false
}

// requirementSelectors compiles fromRequires/toRequires with utils.go's
// namespace injection (addK8sPrefix=false: reserved keys do not exempt).
func requirementSelectors(raws []rawLabelSelector, ns string, matchesInit bool) ([]selector, error) {
	var out []selector
	for i := range raws {
		sel, err := ciliumSelector(&raws[i])
		if err != nil {
			return nil, err
		}
		out = append(out, injectNamespaceOpt(sel, ns, matchesInit, false))
	}
	return out, nil
}

// collectRequirements gathers, for one direction of the subject, the
// requirements of every selecting rule: [0] from allow rules, [1] from deny
// rules (rules.go resolveL4IngressPolicy: requirements, requirementsDeny).
func (ctx *evalCtx) collectRequirements(subject *endpointInfo, dir direction) [2][]selector {
	var out [2][]selector
	if !ctx.version.requiresModelled() {
		return out
	}
	for _, r := range ctx.rules {
		if !r.subject.matches(subject.labelSets[0]) {
			continue
		}
		for _, e := range r.allows[dir] {
			out[0] = append(out[0], e.requires...)
		}
		for _, e := range r.denies[dir] {
			out[1] = append(out[1], e.requires...)
		}
	}
	return out
}

// meetsRequirements: every requirement selector matches the label set
// (requirements are appended to MatchExpressions, so they are AND-ed).
func meetsRequirements(reqs []selector, lbls []label) bool {
	for _, r := range reqs {
		if !r.matches(lbls) {
			return false
		}
	}
	return true
}
