package ciliumref

// The evaluator's internal policy model: every policy (CNP, CCNP, K8s
// NetworkPolicy) becomes a list of compiledRule, the way Cilium turns them
// all into rules of one repository (pkg/policy/types/policyentry.go
// @fdc510fe: Subject, L3 peers, L4 ports, DefaultDeny, Verdict allow/deny,
// Ingress).

import (
	"fmt"
	"net/netip"
	"strings"
)

type direction int

const (
	dirIngress direction = iota
	dirEgress
)

func (d direction) String() string {
	if d == dirIngress {
		return "ingress"
	}
	return "egress"
}

// peerKind tells how a peer is matched.
type peerKind int

const (
	peerSelector  peerKind = iota // endpoint selector (also entities)
	peerCIDR                      // CIDR with excepts
	peerCIDRBased                 // selects CIDR identities we cannot list (toFQDNs, toGroups, cidrGroupRef, selector-less services)
	peerNodes                     // fromNodes / toNodes: node identities
	peerUnknown                   // cannot be resolved from the inputs at all
)

type peer struct {
	kind peerKind
	sel  selector
	// endpoints: the selector came from fromEndpoints/toEndpoints (or a
	// toServices selector, which the service translation adds to
	// toEndpoints); only those are constrained by fromRequires/toRequires.
	endpoints bool
	prefix    netip.Prefix
	except    []netip.Prefix
	why       string
}

// portProto is one port/protocol of a toPorts entry.
type portProto struct {
	port    int32 // 0: every port
	endPort int32
	name    string // named port (lower case)
	proto   string // TCP UDP SCTP ANY ICMP ICMPV6 ... (upper case)
	l7      bool   // an L7 rule (http, kafka, dns, l7proto, SNI, listener) filters above L4
}

// entry is one ingress/egress (deny) rule: peers AND ports.
type entry struct {
	desc     string
	wildcard bool // no L3 member but L4 present: every peer
	peers    []peer
	hasL4    bool
	ports    []portProto
	icmps    []icmpField
	// authMaybe: mutual authentication is required, which depends on the
	// mesh-auth machinery and not on the inputs.
	authMaybe bool
	// requires: this entry's fromRequires/toRequires (requires.go); before
	// Cilium 1.19 they constrain every rule selecting the same endpoint.
	requires []selector
}

type icmpField struct {
	family string
	typ    string
}

// compiledRule is one rule of the repository.
type compiledRule struct {
	origin      string
	subject     selector
	defaultDeny [2]bool
	allows      [2][]entry
	denies      [2][]entry
}

// connection is what is being decided.
type connection struct {
	port  int32
	proto string
	dst   *endpointInfo
}

// evalCtx holds the cluster and its compiled policies.
type evalCtx struct {
	c Cluster
	// unknownScopes: namespaces ("" every pod) where a rejected update
	// may have left an earlier version of a policy enforced (keptVersion)
	unknownScopes map[string]string
	mode          string // enable-policy
	clusterName   string
	dualStack     string // "true", "false" or "" (unknown)
	nonDefDeny    bool   // enable-non-default-deny-policies
	cidrNodes     bool   // policy-cidr-match-mode includes nodes
	allowLocal    bool   // allow-localhost != policy
	rules         []compiledRule
	rejected      []string
	hostPolicy    string
	// version is config cilium-version (0: not given).
	version ciliumVersion
}

func newEvalCtx(c Cluster) (*evalCtx, error) {
	cfg := func(k, def string) string {
		if v, ok := c.Config[k]; ok && v != "" {
			return lower(v)
		}
		return def
	}
	ctx := &evalCtx{
		c:           c,
		mode:        cfg("enable-policy", "default"),
		clusterName: cfg("cluster-name", "default"),
		nonDefDeny:  cfg("enable-non-default-deny-policies", "true") != "false",
		cidrNodes:   strings.Contains(cfg("policy-cidr-match-mode", ""), "nodes"),
		allowLocal:  cfg("allow-localhost", "auto") != "policy",
	}
	switch ctx.mode {
	case "default", "always", "never":
	default:
		return nil, fmt.Errorf("config enable-policy=%q: want default, always or never", ctx.mode)
	}
	v, err := parseCiliumVersion(c.Config["cilium-version"])
	if err != nil {
		return nil, err
	}
	ctx.version = v
	v4, v6 := cfg("enable-ipv4", ""), cfg("enable-ipv6", "")
	switch {
	case v6 == "true" && v4 != "false":
		ctx.dualStack = "true"
	case v6 == "false" || v4 == "false":
		ctx.dualStack = "false"
	}
	for i, p := range c.Policies {
		if err := ctx.compilePolicy(p); err != nil {
			return nil, fmt.Errorf("policy %d: %w", i, err)
		}
	}
	return ctx, nil
}

// compilePolicy dispatches on kind.
func (ctx *evalCtx) compilePolicy(obj map[string]any) error {
	kind, _ := obj["kind"].(string)
	switch kind {
	case "NetworkPolicy":
		return ctx.compileKNP(obj)
	case "CiliumNetworkPolicy":
		return ctx.compileCNP(obj, false)
	case "CiliumClusterwideNetworkPolicy":
		return ctx.compileCNP(obj, true)
	}
	return fmt.Errorf("unsupported kind %q", kind)
}

// policyName renders "Kind ns/name".
func policyName(kind, ns, name string) string {
	if ns == "" {
		return kind + " " + name
	}
	return kind + " " + ns + "/" + name
}
