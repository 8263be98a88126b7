package doctor

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
)

// checkKyverno compares the ClusterPolicies with the Config's expectations
// and finds the rules that fight this plugin (KYVERNO-*).
func checkKyverno(s *Snapshot, cfg *config.Config, probeImage string) []Finding {
	if why, ok := s.UnreadableOf("clusterpolicies"); ok {
		return []Finding{couldNotCheck("KYVERNO-001", "Kyverno", why)}
	}
	if s.KyvernoPolicies == nil {
		return []Finding{{ID: "KYVERNO-001", Severity: Info, Subject: "Kyverno", Message: "Kyverno is not installed (no kyverno.io ClusterPolicy API)"}}
	}
	var out []Finding
	byName := map[string]*unstructured.Unstructured{}
	for i := range s.KyvernoPolicies {
		byName[s.KyvernoPolicies[i].GetName()] = &s.KyvernoPolicies[i]
	}
	for _, want := range cfg.Doctor.Kyverno.ClusterPolicies {
		p, ok := byName[want.Name]
		if !ok {
			out = append(out, Finding{ID: "KYVERNO-001", Severity: Warn, Subject: want.Name, Message: fmt.Sprintf("ClusterPolicy %s is not installed", want.Name),
				Fix: "apply it from the repository's Kyverno policies"})
			continue
		}
		action := failureAction(p)
		switch {
		case want.Action != "" && !strings.EqualFold(action, want.Action):
			out = append(out, Finding{ID: "KYVERNO-001", Severity: Fail, Subject: want.Name,
				Message: fmt.Sprintf("ClusterPolicy %s is %s, the repository intends %s", want.Name, action, want.Action),
				Fix:     fmt.Sprintf("set validationFailureAction (or the rules' failureAction) to %s", want.Action)})
		default:
			out = append(out, Finding{ID: "KYVERNO-001", Severity: Pass, Subject: want.Name, Message: fmt.Sprintf("ClusterPolicy %s is %s as intended", want.Name, action)})
		}
		if len(want.AllowedRegistries) > 0 {
			got := registryPatterns(p)
			if strings.Join(got, "|") != strings.Join(sorted(want.AllowedRegistries), "|") {
				out = append(out, Finding{ID: "KYVERNO-002", Severity: Warn, Subject: want.Name,
					Message: fmt.Sprintf("ClusterPolicy %s allows images %s, the repository intends %s", want.Name, strings.Join(got, " | "), strings.Join(sorted(want.AllowedRegistries), " | "))})
			}
		}
	}
	for i := range s.KyvernoPolicies {
		out = append(out, conflicts(&s.KyvernoPolicies[i], probeImage)...)
	}
	return out
}

// failureAction is Audit or Enforce: the rules' failureAction, else the
// policy-wide validationFailureAction (Kyverno's default: Audit).
func failureAction(p *unstructured.Unstructured) string {
	rules, _, _ := unstructured.NestedSlice(p.Object, "spec", "rules")
	for _, r := range rules {
		if a, ok, _ := unstructured.NestedString(asMap(r), "validate", "failureAction"); ok && a != "" {
			return a
		}
	}
	if a, ok, _ := unstructured.NestedString(p.Object, "spec", "validationFailureAction"); ok && a != "" {
		return strings.ToUpper(a[:1]) + strings.ToLower(a[1:])
	}
	return "Audit"
}

// registryPatterns reads the image patterns of a registry rule
// ("ghcr-like/* | other/*").
func registryPatterns(p *unstructured.Unstructured) []string {
	var out []string
	raw, _ := json.Marshal(p.Object["spec"])
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, val := range t {
				if s, ok := val.(string); ok && k == "image" {
					for _, alt := range strings.Split(s, "|") {
						if alt = strings.TrimSpace(alt); alt != "" {
							out = append(out, alt)
						}
					}
				}
				walk(val)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	var spec any
	_ = json.Unmarshal(raw, &spec)
	walk(spec)
	return sorted(out)
}

// conflicts: rules the probe cannot pass or that own NetworkPolicies.
func conflicts(p *unstructured.Unstructured, probeImage string) []Finding {
	var out []Finding
	raw, _ := json.Marshal(p.Object["spec"])
	text := string(raw)
	name := p.GetName()
	if pats := registryPatterns(p); len(pats) > 0 && probeImage != "" && !imageAllowed(probeImage, pats) && failureAction(p) == "Enforce" {
		out = append(out, Finding{ID: "KYVERNO-003", Severity: Warn, Subject: name,
			Message: fmt.Sprintf("%s (Enforce) would refuse the probe image %s", name, probeImage),
			Fix:     "push the netbaseline-probe image to an allowed registry and set NETBASELINE_PROBE_IMAGE (or --image)"})
	}
	if strings.Contains(text, `"ephemeralContainers"`) && strings.Contains(text, `"resources"`) {
		out = append(out, Finding{ID: "KYVERNO-004", Severity: Warn, Subject: name,
			Message: fmt.Sprintf("%s requires resources on ephemeral containers, which the API forbids: probe can never pass it", name),
			Fix:     "use probe --mode=pod, or exclude the ephemeralcontainers subresource / the netbaseline-probe-* containers from the rule"})
	}
	if strings.Contains(text, "Pod/ephemeralcontainers") || strings.Contains(text, "pods/ephemeralcontainers") {
		out = append(out, Finding{ID: "KYVERNO-005", Severity: Warn, Subject: name,
			Message: fmt.Sprintf("%s matches the ephemeralcontainers subresource and may block probe", name), Fix: "use probe --mode=pod, or exclude the probe"})
	}
	rules, _, _ := unstructured.NestedSlice(p.Object, "spec", "rules")
	for _, r := range rules {
		if kind, _, _ := unstructured.NestedString(asMap(r), "generate", "kind"); kind == "NetworkPolicy" {
			target, _, _ := unstructured.NestedString(asMap(r), "generate", "name")
			out = append(out, Finding{ID: "KYVERNO-006", Severity: Warn, Subject: name,
				Message: fmt.Sprintf("%s generates NetworkPolicy %s: Kyverno owns it and will revert changes", name, target),
				Fix:     "keep the baseline and the generate rule from fighting: commit the init tree instead, or drop the rule"})
		}
	}
	return out
}

func imageAllowed(image string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, image); ok || (strings.HasSuffix(p, "/*") && strings.HasPrefix(image, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

// checkArgoCD checks the Applications against the Config (ARGO-*).
func checkArgoCD(s *Snapshot, cfg *config.Config) []Finding {
	want := cfg.Doctor.ArgoCD
	if why, ok := s.UnreadableOf("applications"); ok {
		return []Finding{couldNotCheck("ARGO-001", "Argo CD", why)}
	}
	if s.ArgoApplications == nil {
		return []Finding{{ID: "ARGO-001", Severity: Info, Subject: "Argo CD", Message: "Argo CD is not installed (no argoproj.io Application API)"}}
	}
	var out []Finding
	apps := map[string]*unstructured.Unstructured{}
	for i := range s.ArgoApplications {
		apps[s.ArgoApplications[i].GetName()] = &s.ArgoApplications[i]
	}
	for _, name := range want.Applications {
		if _, ok := apps[name]; !ok {
			out = append(out, Finding{ID: "ARGO-001", Severity: Warn, Subject: name, Message: fmt.Sprintf("Application %s not found in %s", name, want.Namespace)})
		}
	}
	appNamespaces := map[string]bool{}
	for _, ns := range cfg.Namespaces {
		appNamespaces[ns.Name] = true
	}
	names := make([]string, 0, len(apps))
	for n := range apps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := apps[n]
		server, _, _ := unstructured.NestedString(a.Object, "spec", "destination", "server")
		destNS, _, _ := unstructured.NestedString(a.Object, "spec", "destination", "namespace")
		health, _, _ := unstructured.NestedString(a.Object, "status", "health", "status")
		sync, _, _ := unstructured.NestedString(a.Object, "status", "sync", "status")
		switch {
		case server != "" && server != want.DestinationServer:
			out = append(out, Finding{ID: "ARGO-002", Severity: Fail, Subject: n, Message: fmt.Sprintf("Application %s deploys to %s, not %s", n, server, want.DestinationServer), Fix: "set spec.destination.server"})
		case health != "Healthy" || sync != "Synced":
			out = append(out, Finding{ID: "ARGO-003", Severity: Warn, Subject: n, Message: fmt.Sprintf("Application %s is %s/%s, not Healthy/Synced", n, orUnknown(health), orUnknown(sync)), Fix: "argocd app get " + n})
		default:
			out = append(out, Finding{ID: "ARGO-002", Severity: Pass, Subject: n, Message: fmt.Sprintf("Application %s -> %s %s is Healthy/Synced", n, server, destNS)})
		}
		selfHeal, _, _ := unstructured.NestedBool(a.Object, "spec", "syncPolicy", "automated", "selfHeal")
		prune, _, _ := unstructured.NestedBool(a.Object, "spec", "syncPolicy", "automated", "prune")
		if appNamespaces[destNS] && (selfHeal || prune) {
			out = append(out, Finding{ID: "ARGO-004", Severity: Warn, Subject: n,
				Message: fmt.Sprintf("Application %s syncs %s with selfHeal=%v prune=%v: it would revert or prune what apply changes there", n, destNS, selfHeal, prune),
				Fix:     "commit the init tree (kubectl netbaseline init) to the Application's source instead of applying"})
		}
	}
	if want.RepoSecret != "" {
		if contains(s.SecretNames[want.Namespace], want.RepoSecret) {
			out = append(out, Finding{ID: "ARGO-005", Severity: Pass, Subject: want.RepoSecret, Message: "the repository secret " + want.RepoSecret + " exists (metadata only read)"})
		} else if why, unreadable := s.UnreadableOf("secrets"); unreadable {
			out = append(out, couldNotCheck("ARGO-005", want.RepoSecret, why))
		} else if s.SecretNames != nil {
			out = append(out, Finding{ID: "ARGO-005", Severity: Warn, Subject: want.RepoSecret, Message: fmt.Sprintf("the repository secret %s is missing in %s", want.RepoSecret, want.Namespace)})
		}
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}
