package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

var ciliumPorts = []string{"53", "80", "443", "8080", "9090", "http", "metrics"}

// writeCilium writes the cilium-config ConfigMap and n Cilium policies: a
// third CiliumClusterwideNetworkPolicies, the rest CiliumNetworkPolicies in
// random namespaces, with endpoint, namespace-label, entity and CIDR peers,
// port rules and a few deny sections.
func writeCilium(w *bufio.Writer, m *model.Model, n int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 13))
	fmt.Fprintf(w, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cilium-config\n  namespace: kube-system\ndata:\n  enable-policy: default\n")
	for i := range n {
		if i%3 == 0 {
			fmt.Fprintf(w, "---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata:\n  name: ccnp-%d\nspec:\n", i)
			fmt.Fprintf(w, "  endpointSelector:\n    matchLabels:\n      app: %s\n      k8s:io.cilium.k8s.namespace.labels.team: %s\n", pick(r, calicoApps), pick(r, calicoTeams))
		} else {
			fmt.Fprintf(w, "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: cnp-%d\n  namespace: %s\nspec:\n", i, m.Namespaces[r.IntN(len(m.Namespaces))].Name)
			fmt.Fprintf(w, "  endpointSelector:\n    matchLabels:\n      app: %s\n", pick(r, calicoApps))
		}
		writeCiliumSection(w, r, "ingress", "from")
		if r.IntN(2) == 0 {
			writeCiliumSection(w, r, "egress", "to")
		}
		if r.IntN(8) == 0 {
			fmt.Fprintf(w, "  ingressDeny:\n  - fromEntities: [world]\n    toPorts:\n    - ports:\n      - port: \"22\"\n")
		}
	}
}

func writeCiliumSection(w *bufio.Writer, r *rand.Rand, section, dir string) {
	fmt.Fprintf(w, "  %s:\n", section)
	for range 1 + r.IntN(3) {
		switch r.IntN(5) {
		case 0, 1:
			fmt.Fprintf(w, "  - %sEndpoints:\n    - matchLabels:\n        app: %s\n", dir, pick(r, calicoApps))
		case 2:
			fmt.Fprintf(w, "  - %sEndpoints:\n    - matchLabels:\n        k8s:io.cilium.k8s.namespace.labels.team: %s\n", dir, pick(r, calicoTeams))
		case 3:
			fmt.Fprintf(w, "  - %sEntities: [%s]\n", dir, pick(r, []string{"world", "cluster", "host"}))
		case 4:
			fmt.Fprintf(w, "  - %sCIDRSet:\n    - cidr: 198.51.100.0/24\n      except: [198.51.100.0/28]\n", dir)
		}
		if r.IntN(3) > 0 {
			fmt.Fprintf(w, "    toPorts:\n    - ports:\n      - port: %q\n        protocol: TCP\n", pick(r, ciliumPorts))
		}
	}
}
