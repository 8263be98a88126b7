package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Calico policies as platform teams write them, for benchmarks: a few
// tiers (security, platform, default), GlobalNetworkPolicies that select
// by namespace team/env and app, namespaced NetworkPolicies between apps,
// Allow, Deny, Pass and Log rules on ports, ranges and named ports.

var (
	calicoApps  = []string{"web", "api", "db", "cache", "worker", "frontend", "backend"}
	calicoTeams = []string{"red", "blue", "green"}
	calicoEnvs  = []string{"prod", "dev", "staging"}
	calicoPorts = []string{"53", "80", "443", "3000:3001", "8080", "9090", "http", "metrics"}
)

// writeCalico writes the tiers and n policies.
func writeCalico(w *bufio.Writer, m *model.Model, n int, seed uint64, version string) {
	r := rand.New(rand.NewPCG(seed, 11))
	if version != "" {
		fmt.Fprintf(w, "---\napiVersion: crd.projectcalico.org/v1\nkind: ClusterInformation\nmetadata:\n  name: default\nspec:\n  calicoVersion: %s\n", version)
	}
	tiers := []string{"security", "platform"}
	for i, t := range tiers {
		fmt.Fprintf(w, "---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: %s\nspec:\n  order: %d\n", t, (i+1)*100)
	}
	for i := range n {
		tier := "default"
		switch {
		case i%5 == 0:
			tier = tiers[0]
		case i%5 == 1:
			tier = tiers[1]
		}
		if i%3 == 0 {
			writeGlobal(w, r, i, tier)
			continue
		}
		writeNamespaced(w, r, i, tier, m.Namespaces[r.IntN(len(m.Namespaces))].Name)
	}
}

func writeGlobal(w *bufio.Writer, r *rand.Rand, i int, tier string) {
	fmt.Fprintf(w, "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: %s.gnp-%d\nspec:\n  tier: %s\n", tier, i, tier)
	fmt.Fprintf(w, "  order: %d\n", 10+r.IntN(2000))
	fmt.Fprintf(w, "  namespaceSelector: team == '%s' || env == '%s'\n", pick(r, calicoTeams), pick(r, calicoEnvs))
	fmt.Fprintf(w, "  selector: app in {'%s', '%s'}\n", pick(r, calicoApps), pick(r, calicoApps))
	writeRules(w, r, "ingress", tier)
	writeRules(w, r, "egress", tier)
}

func writeNamespaced(w *bufio.Writer, r *rand.Rand, i int, tier, namespace string) {
	fmt.Fprintf(w, "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: %s.np-%d\n  namespace: %s\nspec:\n  tier: %s\n", tier, i, namespace, tier)
	if r.IntN(4) > 0 {
		fmt.Fprintf(w, "  order: %d\n", 10+r.IntN(2000))
	}
	fmt.Fprintf(w, "  selector: app == '%s'\n", pick(r, calicoApps))
	writeRules(w, r, "ingress", tier)
}

func writeRules(w *bufio.Writer, r *rand.Rand, direction, tier string) {
	fmt.Fprintf(w, "  %s:\n", direction)
	peer := "source"
	if direction == "egress" {
		peer = "destination"
	}
	for k := 1 + r.IntN(3); k > 0; k-- {
		action := pick(r, []string{"Allow", "Allow", "Deny", "Log"})
		if tier != "default" && r.IntN(3) == 0 {
			action = "Pass"
		}
		fmt.Fprintf(w, "  - action: %s\n    protocol: TCP\n    %s:\n", action, peer)
		switch r.IntN(3) {
		case 0:
			fmt.Fprintf(w, "      selector: app == '%s' && !has(canary)\n", pick(r, calicoApps))
		case 1:
			fmt.Fprintf(w, "      namespaceSelector: team == '%s'\n", pick(r, calicoTeams))
		default:
			fmt.Fprintf(w, "      nets: [10.0.%d.0/24]\n", r.IntN(20))
		}
		if direction == "ingress" {
			fmt.Fprintf(w, "    destination:\n      ports: ['%s']\n", pick(r, calicoPorts))
		} else {
			fmt.Fprintf(w, "      ports: ['%s']\n", pick(r, calicoPorts))
		}
	}
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
