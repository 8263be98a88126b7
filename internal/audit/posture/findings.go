package posture

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// The findings' stable IDs (docs/commands.md#audit lists them).
const (
	IDNoIngressIsolation = "AUDIT-001"
	IDNoEgressIsolation  = "AUDIT-002"
	IDRuleWithoutPeers   = "AUDIT-003"
	IDEveryAddress       = "AUDIT-004"
	IDAnyNamespace       = "AUDIT-005"
	IDMetadataEgress     = "AUDIT-006"
	IDDNSToAnything      = "AUDIT-007"
	IDSelectsNoPod       = "AUDIT-008"
	IDUndeclaredPort     = "AUDIT-009"
	IDMissingNameLabel   = "AUDIT-010"
	IDOpenToInternet     = "AUDIT-011"
)

// metadataAddress is the cloud instance metadata service (AWS, GCP,
// Azure, OpenStack): credentials of the node's identity for any pod that
// reaches it.
var metadataAddress = netip.MustParseAddr("169.254.169.254")

// Isolation is one direction of a group: isolated by a NetworkPolicy,
// open, or unknown (another layer decides, or its policies were not read).
type Isolation string

// The isolation states.
const (
	Isolated     Isolation = "isolated"
	Open         Isolation = "open"
	UnknownState Isolation = "unknown"
)

// isolation says whether a NetworkPolicy isolates the group in one
// direction. Layers the regions do not split on and policies that could
// not be read leave it unknown: never "open" from what was not read.
func (a *Analyzer) isolation(g policy.Group, ingress bool) Isolation {
	w := g.Pods[0]
	if a.unpartitioned != "" || !a.base.PoliciesReadable(w.Namespace) || w.HostNetwork {
		return UnknownState
	}
	side := a.ask(policy.IPEndpoint(a.internet), policy.PodEndpoint(w), portQuestion{port: 65535, proto: corev1.ProtocolTCP}, ingress)
	if side.Isolated {
		return Isolated
	}
	return Open
}

// isolationFindings are AUDIT-001 and -002 per namespace: the groups no
// NetworkPolicy isolates in a direction.
func (a *Analyzer) isolationFindings(groups []policy.Group) []Finding {
	var out []Finding
	for _, ingress := range []bool{true, false} {
		open := map[string][]string{}
		for _, g := range groups {
			if a.isolation(g, ingress) == Open {
				open[g.Pods[0].Namespace] = append(open[g.Pods[0].Namespace], g.Name)
			}
		}
		for _, ns := range sortedKeys(open) {
			out = append(out, isolationFinding(ns, open[ns], ingress))
		}
	}
	return out
}

func isolationFinding(ns string, groups []string, ingress bool) Finding {
	if ingress {
		return Finding{ID: IDNoIngressIsolation, Severity: High, Namespace: ns, Objects: groups,
			Message: fmt.Sprintf("%d workload(s) selected by no ingress policy", len(groups)),
			Why:     "a pod no NetworkPolicy isolates for ingress accepts every connection, from every pod and from outside",
			Fix:     "apply a default deny for ingress (kubectl netbaseline apply -n " + ns + ") and allow what is needed"}
	}
	return Finding{ID: IDNoEgressIsolation, Severity: Medium, Namespace: ns, Objects: groups,
		Message: fmt.Sprintf("%d workload(s) selected by no egress policy", len(groups)),
		Why:     "a pod no NetworkPolicy isolates for egress may call anything: other namespaces, the cloud metadata service, the internet",
		Fix:     "apply a default deny for egress with allow-dns (kubectl netbaseline apply -n " + ns + ")"}
}

// ruleFindings are AUDIT-003, -004, -005 and -007: rules that admit
// everyone, every address, every namespace, or DNS anywhere.
func ruleFindings(m *model.Model, namespaces map[string]bool) []Finding {
	var out []Finding
	for _, np := range m.Policies {
		if !namespaces[np.Namespace] {
			continue
		}
		for i, r := range np.Spec.Ingress {
			out = append(out, peerFindings(np, true, i, r.From, r.Ports)...)
		}
		for i, r := range np.Spec.Egress {
			out = append(out, peerFindings(np, false, i, r.To, r.Ports)...)
		}
	}
	return out
}

// peerFindings judge one rule's peers.
func peerFindings(np *networkingv1.NetworkPolicy, ingress bool, rule int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) []Finding {
	ref := fmt.Sprintf("networkpolicy/%s %s[%d]", np.Name, direction(ingress), rule)
	if !ingress && namesPort(ports, 53) && admitsAnyone(peers) {
		return []Finding{{ID: IDDNSToAnything, Severity: Medium, Namespace: np.Namespace, Objects: []string{ref},
			Message: "DNS (port 53) allowed to any destination",
			Why:     "port 53 open to anything lets a pod tunnel data out over DNS to any server, not only the cluster's resolver",
			Fix:     "allow port 53 to the DNS pods only (namespaceSelector kube-system, podSelector k8s-app=kube-dns)"}}
	}
	if len(peers) == 0 {
		return []Finding{ruleWithoutPeers(np, ingress, ref)}
	}
	var out []Finding
	for _, p := range peers {
		out = append(out, widePeer(np, ingress, ref, p)...)
	}
	return out
}

func ruleWithoutPeers(np *networkingv1.NetworkPolicy, ingress bool, ref string) Finding {
	sev, who := Medium, "to any destination"
	if ingress {
		sev, who = High, "from any source, in the cluster or outside"
	}
	return Finding{ID: IDRuleWithoutPeers, Severity: sev, Namespace: np.Namespace, Objects: []string{ref},
		Message: "a rule without peers allows " + who,
		Why:     "a rule that lists no peers matches every peer, including addresses outside the cluster",
		Fix:     "list the peers the workload needs (podSelector, namespaceSelector, ipBlock)"}
}

// widePeer judges one peer: every address, or every namespace.
func widePeer(np *networkingv1.NetworkPolicy, ingress bool, ref string, p networkingv1.NetworkPolicyPeer) []Finding {
	switch {
	case p.IPBlock != nil && isEveryAddress(p.IPBlock.CIDR):
		sev := Medium
		if ingress {
			sev = High
		}
		return []Finding{{ID: IDEveryAddress, Severity: sev, Namespace: np.Namespace, Objects: []string{ref},
			Message: "ipBlock " + describePeer(p, np.Namespace) + " admits the internet",
			Why:     "an ipBlock of /0 admits every address outside the cluster but its excepts (and, as the API says, pod addresses too)",
			Fix:     "narrow the ipBlock to the ranges the workload needs"}}
	case p.NamespaceSelector != nil && isEmpty(p.NamespaceSelector):
		return []Finding{{ID: IDAnyNamespace, Severity: Medium, Namespace: np.Namespace, Objects: []string{ref},
			Message: describePeer(p, np.Namespace) + " admitted",
			Why:     "an empty namespaceSelector admits every namespace, including those created later",
			Fix:     "select the namespaces by kubernetes.io/metadata.name"}}
	}
	return nil
}

func isEveryAddress(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Bits() == 0
}

// admitsAnyone: no peers, or a peer of every address.
func admitsAnyone(peers []networkingv1.NetworkPolicyPeer) bool {
	return len(peers) == 0 || slices.ContainsFunc(peers, func(p networkingv1.NetworkPolicyPeer) bool {
		return p.IPBlock != nil && isEveryAddress(p.IPBlock.CIDR) && len(p.IPBlock.Except) == 0
	})
}

func namesPort(ports []networkingv1.NetworkPolicyPort, port int32) bool {
	for _, p := range ports {
		if p.Port != nil && p.Port.Type == 0 && p.Port.IntVal == port {
			return true
		}
	}
	return false
}

// metadataFindings is AUDIT-006: groups the engine lets reach the cloud
// metadata address.
func (a *Analyzer) metadataFindings(groups []policy.Group) []Finding {
	reach := map[string][]string{}
	for _, g := range groups {
		side := a.ask(policy.IPEndpoint(metadataAddress), policy.PodEndpoint(g.Pods[0]), portQuestion{port: 80, proto: corev1.ProtocolTCP}, false)
		if side.Verdict == policy.Allowed {
			reach[g.Pods[0].Namespace] = append(reach[g.Pods[0].Namespace], g.Name)
		}
	}
	var out []Finding
	for _, ns := range sortedKeys(reach) {
		out = append(out, Finding{ID: IDMetadataEgress, Severity: High, Namespace: ns, Objects: reach[ns],
			Message: fmt.Sprintf("%d workload(s) may reach the cloud metadata address %s", len(reach[ns]), metadataAddress),
			Why:     "the metadata service hands out the node's cloud credentials to any pod that reaches it",
			Fix:     "isolate egress and allow only what is needed; add an except for 169.254.169.254/32 to broad ipBlocks"})
	}
	return out
}

// selectionFindings are AUDIT-008 and -009: policies that select no pod,
// and named ports that no pod they could concern declares.
func (a *Analyzer) selectionFindings(namespaces map[string]bool) []Finding {
	var out []Finding
	for _, np := range a.base.Policies {
		if !namespaces[np.Namespace] || a.base.CouldNotRead("pods", np.Namespace) {
			continue // never "selects no pod" from pods that were not read
		}
		selected := a.existing(a.engine.Selected(np))
		if len(selected) == 0 {
			out = append(out, Finding{ID: IDSelectsNoPod, Severity: Low, Namespace: np.Namespace, Objects: []string{"networkpolicy/" + np.Name},
				Message: "the policy selects no pod",
				Why:     "a policy that selects nothing is dead weight at best, a typo in its podSelector at worst (what it meant to isolate is not)",
				Fix:     "fix the podSelector or delete the policy"})
			continue
		}
		out = append(out, undeclaredPorts(np, selected)...)
	}
	return out
}

// existing keeps the pods of the model read (not the representatives).
func (a *Analyzer) existing(pods []*model.Pod) []*model.Pod {
	var out []*model.Pod
	for _, p := range pods {
		if a.isBase[p] {
			out = append(out, p)
		}
	}
	return out
}

// undeclaredPorts is AUDIT-009 for a policy's ingress rules: a named port
// none of the pods it selects declares allows nothing.
func undeclaredPorts(np *networkingv1.NetworkPolicy, selected []*model.Pod) []Finding {
	var out []Finding
	for i, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			if p.Port == nil || p.Port.Type != 1 || declared(selected, p.Port.StrVal, protocolOf(p.Protocol)) {
				continue
			}
			out = append(out, Finding{ID: IDUndeclaredPort, Severity: Low, Namespace: np.Namespace,
				Objects: []string{fmt.Sprintf("networkpolicy/%s ingress[%d]", np.Name, i)},
				Message: fmt.Sprintf("named port %q/%s is declared by none of the pods the policy selects", p.Port.StrVal, protocolOf(p.Protocol)),
				Why:     "a named port resolves on the destination pod: where no container declares it, the rule allows nothing",
				Fix:     "name the container port, or use its number"})
		}
	}
	return out
}

func declared(pods []*model.Pod, name string, proto corev1.Protocol) bool {
	return slices.ContainsFunc(pods, func(p *model.Pod) bool { _, ok := p.NamedPort(name, proto); return ok })
}

// labelFindings is AUDIT-010: namespaces without the runbook's name label
// (the runbook's selectors match name=<namespace>).
func labelFindings(m *model.Model, namespaces map[string]bool, unknown map[string]bool) []Finding {
	var out []Finding
	for _, ns := range m.Namespaces {
		if !namespaces[ns.Name] || model.SystemNamespaces[ns.Name] || unknown[ns.Name] || ns.Labels["name"] == ns.Name {
			continue
		}
		out = append(out, Finding{ID: IDMissingNameLabel, Severity: Low, Namespace: ns.Name, Objects: []string{"namespace/" + ns.Name},
			Message: "the namespace has no label name=" + ns.Name,
			Why:     "the runbook's policies select namespaces by name=<namespace>: without it, its peers do not match this namespace",
			Fix:     "kubectl label namespace " + ns.Name + " name=" + ns.Name})
	}
	return out
}

// internetFindings is AUDIT-011: ingress ports a policy rule opens to the
// internet's address (a port open because nothing isolates it is
// AUDIT-001's).
func internetFindings(workloads []Workload) []Finding {
	var out []Finding
	for _, w := range workloads {
		for _, p := range w.Ingress {
			if reachesInternet(p) {
				out = append(out, Finding{ID: IDOpenToInternet, Severity: High, Namespace: w.Namespace, Objects: []string{fmt.Sprintf("%s:%d/%s", w.Name, p.Port, p.Protocol)},
					Message: "the port accepts connections from the internet",
					Why:     "any address outside the cluster may connect, if a route (a LoadBalancer, a NodePort, an Ingress) reaches it",
					Fix:     "allow only the ingress controller's pods or the load balancer's ranges"})
			}
		}
	}
	return out
}

func reachesInternet(p Port) bool {
	return slices.ContainsFunc(p.Peers, func(e Exposure) bool {
		return e.Verdict == policy.Allowed && e.By != notIsolated && slices.Contains(e.Evidence, Internet)
	})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
