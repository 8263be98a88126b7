package model

import (
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// Calico's own policies, as the engine decides them: the fields of
// projectcalico.org/v3 NetworkPolicy and GlobalNetworkPolicy (and their
// staged forms) that felix enforces on pods. Selectors stay in Calico's
// selector syntax (internal/calico parses them); the form the object was
// written in matters, because Calico's API server defaults what the CRDs
// written directly leave empty (docs/design.md, "Calico").

// Calico kinds.
const (
	CalicoNetworkPolicy             = "NetworkPolicy"
	CalicoGlobalNetworkPolicy       = "GlobalNetworkPolicy"
	CalicoStagedNetworkPolicy       = "StagedNetworkPolicy"
	CalicoStagedGlobalNetworkPolicy = "StagedGlobalNetworkPolicy"
	CalicoStagedKubernetesPolicy    = "StagedKubernetesNetworkPolicy"
)

// Calico API groups: through Calico's API server, or straight to the CRDs
// (felix in Kubernetes-datastore mode with no API server).
const (
	CalicoAPIGroup = "projectcalico.org"
	CalicoCRDGroup = "crd.projectcalico.org"
)

// CalicoPolicy is one Calico policy.
type CalicoPolicy struct {
	Kind      string
	Namespace string // "" for the global kinds
	Name      string
	// Group is CalicoAPIGroup or CalicoCRDGroup: the API server defaults
	// Types and stores the name as "<tier>.<name>"; a CRD written
	// directly keeps both as written.
	Group string
	Tier  string // "" is the default tier
	// Order: nil sorts last ("infinity"), ties by stored name.
	Order                  *float64
	Selector               string
	NamespaceSelector      string // GlobalNetworkPolicy only
	ServiceAccountSelector string
	// Types as written (Ingress, Egress); nil when not written.
	Types   []string
	Ingress []CalicoRule
	Egress  []CalicoRule
	// Host-endpoint-only behaviour, out of scope for pods.
	DoNotTrack, PreDNAT, ApplyOnForward bool
	// StagedAction of a staged policy: Set (the default) or Delete.
	StagedAction string
	// Kubernetes is the policy a StagedKubernetesNetworkPolicy stages.
	Kubernetes *networkingv1.NetworkPolicy
	// Problems are what the API server would refuse or this version does
	// not know; the engine fails closed on the policy (unspecified where
	// it could match).
	Problems []string
}

// Staged reports whether the policy is staged: recorded, not enforced.
func (p *CalicoPolicy) Staged() bool {
	switch p.Kind {
	case CalicoStagedNetworkPolicy, CalicoStagedGlobalNetworkPolicy, CalicoStagedKubernetesPolicy:
		return true
	}
	return false
}

// Global reports whether the policy is cluster-wide.
func (p *CalicoPolicy) Global() bool {
	return p.Kind == CalicoGlobalNetworkPolicy || p.Kind == CalicoStagedGlobalNetworkPolicy
}

// Ref is "Kind/namespace/name" or "Kind/name".
func (p *CalicoPolicy) Ref() string {
	if p.Namespace == "" {
		return p.Kind + "/" + p.Name
	}
	return p.Kind + "/" + p.Namespace + "/" + p.Name
}

// CalicoRule is one rule: an action and what the packet must match.
type CalicoRule struct {
	Action      string // Allow, Deny, Log, Pass
	Protocol    *CalicoProtocol
	NotProtocol *CalicoProtocol
	IPVersion   *int
	// ICMP, NotICMP and HTTP are matches the engine does not decide: a
	// flow they could match is unspecified.
	ICMP, NotICMP, HTTP bool
	Source              CalicoEntity
	Destination         CalicoEntity
}

// CalicoProtocol is a protocol by name (TCP, UDP, ICMP, ICMPv6, SCTP,
// UDPLite) or number.
type CalicoProtocol struct {
	Name   string
	Number uint8
}

// CalicoEntity is a rule's source or destination.
type CalicoEntity struct {
	Nets, NotNets     []string
	Selector          string
	NotSelector       string
	NamespaceSelector string
	Ports, NotPorts   []CalicoPort
	ServiceAccounts   *CalicoServiceAccounts
	// Services names a Service whose endpoints the rule matches: not
	// decided (unspecified where it could match).
	Services *CalicoServiceRef
}

// CalicoServiceAccounts matches endpoints by their ServiceAccount.
type CalicoServiceAccounts struct {
	Names    []string
	Selector string
}

// CalicoServiceRef is a rule's services match.
type CalicoServiceRef struct {
	Name, Namespace string
}

// CalicoPort is a port, a range (First to Last) or a named port.
type CalicoPort struct {
	First, Last uint16
	Name        string
}

// ServiceAccount is a ServiceAccount's labels: Calico selectors can
// match them (serviceAccountSelector, serviceAccounts.selector).
type ServiceAccount struct {
	Namespace, Name string
	Labels          map[string]string
}

// CalicoTier orders policies: tiers by Order, then name.
type CalicoTier struct {
	Name  string
	Order *float64
}

// CalicoTiersEnforced reports whether the running Calico orders policies
// by tier (v3.30 and later), and whether that is known.
func (m *Model) CalicoTiersEnforced() (tiers, known bool) {
	major, minor, ok := parseVersion(m.CalicoVersion)
	if !ok {
		return false, false
	}
	return major > 3 || major == 3 && minor >= 30, true
}

// parseVersion reads "v3.28.5" (a "v" optional, a suffix ignored).
func parseVersion(v string) (major, minor int, ok bool) {
	v = strings.TrimPrefix(v, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return major, minor, err1 == nil && err2 == nil
}

// enforcedKind is the kind a staged kind previews.
func enforcedKind(staged string) string {
	switch staged {
	case CalicoStagedNetworkPolicy:
		return CalicoNetworkPolicy
	case CalicoStagedGlobalNetworkPolicy:
		return CalicoGlobalNetworkPolicy
	}
	return ""
}

// WithStaged is the model as if every staged policy were promoted, as
// Calico's staged policies preview: stagedAction Set (the default)
// creates or replaces the enforced policy of the same kind, namespace and
// name; Delete removes it. A StagedKubernetesNetworkPolicy does the same
// to the Kubernetes NetworkPolicy of its name. The receiver is unchanged.
func (m *Model) WithStaged() *Model {
	out := m.Derive()
	out.CalicoPolicies = nil
	enforced := map[string]*CalicoPolicy{}
	var order []string
	for _, p := range m.CalicoPolicies {
		if !p.Staged() {
			enforced[p.Ref()] = p
			order = append(order, p.Ref())
		}
	}
	for _, p := range m.CalicoPolicies {
		switch {
		case p.Kind == CalicoStagedKubernetesPolicy:
			out.Policies = stageKubernetes(out.Policies, p)
		case p.Staged():
			promoted := *p
			promoted.Kind = enforcedKind(p.Kind)
			if _, ok := enforced[promoted.Ref()]; !ok {
				order = append(order, promoted.Ref())
			}
			enforced[promoted.Ref()] = &promoted
			if p.StagedAction == "Delete" {
				delete(enforced, promoted.Ref())
			}
		}
	}
	for _, ref := range order {
		if p, ok := enforced[ref]; ok {
			out.CalicoPolicies = append(out.CalicoPolicies, p)
			delete(enforced, ref)
		}
	}
	return out
}

// stageKubernetes promotes a StagedKubernetesNetworkPolicy.
func stageKubernetes(policies []*networkingv1.NetworkPolicy, p *CalicoPolicy) []*networkingv1.NetworkPolicy {
	kept := policies[:0:0]
	for _, np := range policies {
		if np.Namespace != p.Namespace || np.Name != p.Name {
			kept = append(kept, np)
		}
	}
	if p.StagedAction != "Delete" && p.Kubernetes != nil {
		kept = append(kept, p.Kubernetes)
	}
	return kept
}

// StagedCount is how many staged policies the model holds.
func (m *Model) StagedCount() int {
	n := 0
	for _, p := range m.CalicoPolicies {
		if p.Staged() {
			n++
		}
	}
	return n
}
