package synth

import (
	"fmt"
	"math/rand/v2"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Calico's own policies for property tests: namespaced and global, written
// through Calico's API server or straight to the CRDs, in the default tier
// and (now and then) in others, with every action, order ties and nil
// orders, every selector operator, service accounts, nets around the pod
// addresses, port numbers, ranges and names, and now and then a match the
// engine leaves open (HTTP, services, source ports).

var (
	serviceAccountNames = []string{"default", "sa-a", "sa-b"}
	saRoles             = []string{"frontend", "backend"}
	calicoActions       = []string{"Allow", "Allow", "Deny", "Pass", "Log"}
	calicoOrders        = []float64{100, 500, 1000, 1000, 2000}
	calicoNets          = []string{"10.0.0.0/30", "10.0.0.4/31", "10.0.0.2", "10.0.0.0/16", "203.0.113.0/24", "0.0.0.0/0", "fd00::/8"}
)

// addCalico gives pods service accounts, adds ServiceAccount objects,
// tiers now and then, and count Calico policies. It draws from its own
// random stream, so models without Calico policies stay as they were.
func addCalico(m *model.Model, seed uint64, count int) {
	r := rand.New(rand.NewPCG(seed^0x5ca1ab1e, seed+0xca11c0))
	addServiceAccounts(r, m)
	tierNames := []string{""}
	if r.IntN(4) == 0 {
		tierNames = addCalicoTiers(r, m)
	}
	for i := 0; i < count; i++ {
		m.CalicoPolicies = append(m.CalicoPolicies, calicoPolicy(r, m, i, pick(r, tierNames)))
	}
	if r.IntN(6) == 0 {
		m.CalicoPolicies = append(m.CalicoPolicies, stagedKubernetesPolicy(r, m, count))
	}
}

// addServiceAccounts runs every workload under one service account and
// labels some of the accounts; others have no object, as when only the
// pods were read.
func addServiceAccounts(r *rand.Rand, m *model.Model) {
	byWorkload := map[string]string{}
	for _, p := range m.Pods {
		key := p.Namespace + "/" + p.Owner.Name
		if _, ok := byWorkload[key]; !ok {
			byWorkload[key] = pick(r, serviceAccountNames)
		}
		p.ServiceAccount = byWorkload[key]
	}
	for _, ns := range m.Namespaces {
		for _, name := range serviceAccountNames {
			if r.IntN(3) == 0 {
				continue
			}
			sa := &model.ServiceAccount{Namespace: ns.Name, Name: name, Labels: map[string]string{}}
			if r.IntN(2) == 0 {
				sa.Labels["role"] = pick(r, saRoles)
			}
			m.ServiceAccounts = append(m.ServiceAccounts, sa)
		}
	}
}

// addCalicoTiers adds two tiers besides the default one, sometimes with
// equal orders or none, so that ties are broken by name.
func addCalicoTiers(r *rand.Rand, m *model.Model) []string {
	orders := []*float64{ptr(100.0), ptr(100.0), ptr(2e6), nil}
	m.CalicoTiers = append(m.CalicoTiers,
		&model.CalicoTier{Name: "security", Order: pick(r, orders)},
		&model.CalicoTier{Name: "platform", Order: pick(r, orders)})
	return []string{"", "default", "security", "platform"}
}

func calicoPolicy(r *rand.Rand, m *model.Model, i int, tier string) *model.CalicoPolicy {
	p := &model.CalicoPolicy{
		Kind:  model.CalicoNetworkPolicy,
		Name:  fmt.Sprintf("cp-%d", i),
		Group: pick(r, []string{model.CalicoAPIGroup, model.CalicoCRDGroup}),
		Tier:  tier,
	}
	if tier != "" && p.Group == model.CalicoCRDGroup {
		p.Name = tier + "." + p.Name // CRDs of a tier are named as the API server stores them
	}
	if r.IntN(3) == 0 {
		p.Kind = model.CalicoGlobalNetworkPolicy
		if r.IntN(2) == 0 {
			p.NamespaceSelector = calicoNamespaceSelector(r)
		}
	} else {
		p.Namespace = pick(r, m.Namespaces).Name
	}
	if r.IntN(12) == 0 {
		p.Kind = map[string]string{model.CalicoNetworkPolicy: model.CalicoStagedNetworkPolicy, model.CalicoGlobalNetworkPolicy: model.CalicoStagedGlobalNetworkPolicy}[p.Kind]
	}
	if r.IntN(4) > 0 {
		p.Order = ptr(pick(r, calicoOrders))
	}
	p.Selector = calicoPodSelector(r)
	if r.IntN(6) == 0 {
		p.ServiceAccountSelector = calicoServiceAccountSelector(r)
	}
	p.Types = calicoTypes(r)
	for k := r.IntN(3); k > 0; k-- {
		p.Ingress = append(p.Ingress, calicoRule(r))
	}
	for k := r.IntN(3); k > 0; k-- {
		p.Egress = append(p.Egress, calicoRule(r))
	}
	rareHostEndpointFields(r, p)
	return p
}

// rareHostEndpointFields sets, now and then, what the engine must fail
// closed on.
func rareHostEndpointFields(r *rand.Rand, p *model.CalicoPolicy) {
	switch r.IntN(40) {
	case 0:
		p.Problems = []string{"synthetic: the API server would refuse this"}
	case 1:
		if p.Global() {
			p.DoNotTrack, p.ApplyOnForward = true, true
		}
	case 2:
		if p.Global() {
			p.PreDNAT, p.ApplyOnForward = true, true
		}
	}
}

func calicoTypes(r *rand.Rand) []string {
	switch r.IntN(5) {
	case 0:
		return []string{"Ingress"}
	case 1:
		return []string{"Egress"}
	case 2:
		return []string{"Ingress", "Egress"}
	}
	return nil
}

// calicoPodSelector uses the labels synth gives pods, every operator, and
// the labels Calico adds to endpoints.
func calicoPodSelector(r *rand.Rand) string {
	switch r.IntN(14) {
	case 0:
		return ""
	case 1:
		return "all()"
	case 2:
		return fmt.Sprintf("app == '%s'", pick(r, apps))
	case 3:
		return fmt.Sprintf("tier != '%s'", pick(r, tiers))
	case 4:
		return "has(version)"
	case 5:
		return "!has(tier)"
	case 6:
		return fmt.Sprintf("app in { '%s', '%s' }", pick(r, apps), pick(r, apps))
	case 7:
		return fmt.Sprintf("tier not in { '%s' }", pick(r, tiers))
	case 8:
		return fmt.Sprintf("app == '%s' && has(tier)", pick(r, apps))
	case 9:
		return fmt.Sprintf("app == '%s' || tier == '%s'", pick(r, apps), pick(r, tiers))
	case 10:
		return fmt.Sprintf("!(app == '%s')", pick(r, apps))
	case 11:
		return fmt.Sprintf("app starts with '%s'", pick(r, []string{"w", "ba", "c", "fr"}))
	case 12:
		return fmt.Sprintf("app ends with '%s' || app contains '%s'", pick(r, []string{"end", "e"}), pick(r, []string{"ack", "pi"}))
	}
	return fmt.Sprintf("pcns.env == '%s' || projectcalico.org/serviceaccount == '%s'", pick(r, envs), pick(r, serviceAccountNames))
}

func calicoNamespaceSelector(r *rand.Rand) string {
	switch r.IntN(7) {
	case 0:
		return "all()"
	case 1:
		return "global()"
	case 2:
		return fmt.Sprintf("env == '%s'", pick(r, envs))
	case 3:
		return fmt.Sprintf("projectcalico.org/name == 'ns-%d'", r.IntN(3))
	case 4:
		return fmt.Sprintf("%s in { 'ns-0', 'ns-2' }", model.MetadataNameLabel)
	case 5:
		return fmt.Sprintf("team != '%s'", pick(r, teams))
	}
	return "has(name) && !has(team)"
}

func calicoServiceAccountSelector(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return "all()"
	case 1:
		return fmt.Sprintf("projectcalico.org/name == '%s'", pick(r, serviceAccountNames))
	case 2:
		return "!has(role)"
	}
	return fmt.Sprintf("role == '%s'", pick(r, saRoles))
}

func calicoRule(r *rand.Rand) model.CalicoRule {
	rule := model.CalicoRule{Action: pick(r, calicoActions)}
	calicoProtocols(r, &rule)
	if r.IntN(15) == 0 {
		rule.IPVersion = ptr(pick(r, []int{4, 6}))
	}
	rule.Source = calicoEntity(r)
	rule.Destination = calicoEntity(r)
	if r.IntN(3) == 0 {
		calicoPorts(r, &rule)
	}
	calicoOpenMatches(r, &rule)
	return rule
}

func calicoProtocols(r *rand.Rand, rule *model.CalicoRule) {
	switch r.IntN(9) {
	case 0, 1:
		rule.Protocol = &model.CalicoProtocol{Name: "TCP"}
	case 2:
		rule.Protocol = &model.CalicoProtocol{Name: "UDP"}
	case 3:
		rule.Protocol = &model.CalicoProtocol{Number: pick(r, []uint8{6, 17, 132})}
	case 4:
		rule.Protocol = &model.CalicoProtocol{Name: pick(r, []string{"ICMP", "SCTP", "UDPLite"})}
	}
	if r.IntN(8) == 0 {
		rule.NotProtocol = &model.CalicoProtocol{Name: pick(r, []string{"TCP", "UDP"})}
		if r.IntN(2) == 0 {
			rule.NotProtocol = &model.CalicoProtocol{Number: pick(r, []uint8{6, 17})}
		}
	}
}

// calicoPorts gives the destination ports or notPorts; Calico accepts
// ports only with a protocol that has them.
func calicoPorts(r *rand.Rand, rule *model.CalicoRule) {
	if rule.Protocol == nil || rule.Protocol.Name == "ICMP" || rule.Protocol.Name == "UDPLite" {
		rule.Protocol = &model.CalicoProtocol{Name: pick(r, []string{"TCP", "UDP"})}
	}
	var ports []model.CalicoPort
	for k := 1 + r.IntN(2); k > 0; k-- {
		switch r.IntN(3) {
		case 0:
			n := uint16(pick(r, portNums))
			ports = append(ports, model.CalicoPort{First: n, Last: n})
		case 1:
			lo := uint16(pick(r, portNums))
			ports = append(ports, model.CalicoPort{First: lo, Last: lo + uint16(r.IntN(3000))})
		default:
			ports = append(ports, model.CalicoPort{Name: pick(r, portNames)})
		}
	}
	if r.IntN(3) == 0 {
		rule.Destination.NotPorts = ports
	} else {
		rule.Destination.Ports = ports
	}
}

func calicoEntity(r *rand.Rand) model.CalicoEntity {
	var e model.CalicoEntity
	if r.IntN(3) == 0 {
		e.Selector = calicoPodSelector(r)
	}
	if r.IntN(8) == 0 {
		e.NotSelector = calicoPodSelector(r)
	}
	if r.IntN(5) == 0 {
		e.NamespaceSelector = calicoNamespaceSelector(r)
	}
	if r.IntN(8) == 0 {
		e.ServiceAccounts = &model.CalicoServiceAccounts{}
		if r.IntN(2) == 0 {
			e.ServiceAccounts.Names = []string{pick(r, serviceAccountNames)}
		}
		if r.IntN(2) == 0 {
			e.ServiceAccounts.Selector = calicoServiceAccountSelector(r)
		}
	}
	if r.IntN(5) == 0 {
		e.Nets = []string{pick(r, calicoNets)}
		if r.IntN(3) == 0 {
			e.Nets = append(e.Nets, pick(r, calicoNets))
		}
	}
	if r.IntN(8) == 0 {
		e.NotNets = []string{pick(r, calicoNets)}
	}
	return e
}

// calicoOpenMatches adds, rarely, a match no flow of the engine decides.
func calicoOpenMatches(r *rand.Rand, rule *model.CalicoRule) {
	switch r.IntN(30) {
	case 0:
		rule.HTTP = true
	case 1:
		rule.Destination = model.CalicoEntity{Services: &model.CalicoServiceRef{Name: "svc", Namespace: "ns-0"}}
	case 2:
		if rule.Protocol != nil && (rule.Protocol.Name == "TCP" || rule.Protocol.Name == "UDP") {
			rule.Source.Ports = []model.CalicoPort{{First: 1024, Last: 65535}}
		}
	case 3:
		if rule.Protocol != nil && rule.Protocol.Name == "ICMP" {
			rule.ICMP = true // a type match: only ICMP packets, never the TCP or UDP flows asked about
		}
	}
}

// stagedKubernetesPolicy stages a Kubernetes NetworkPolicy that denies
// everything in its namespace: recorded, never enforced.
func stagedKubernetesPolicy(r *rand.Rand, m *model.Model, i int) *model.CalicoPolicy {
	np := policy(r, fmt.Sprintf("staged-%d", i), pick(r, m.Namespaces).Name)
	np.Spec.Ingress, np.Spec.Egress = nil, nil
	return &model.CalicoPolicy{Kind: model.CalicoStagedKubernetesPolicy, Namespace: np.Namespace, Name: np.Name, Group: model.CalicoAPIGroup, Kubernetes: np}
}

func ptr[T any](v T) *T { return &v }
