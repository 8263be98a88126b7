// Package ciliumref is an independent, deliberately naive reference evaluator
// of Cilium's L3/L4 network policy semantics (CiliumNetworkPolicy,
// CiliumClusterwideNetworkPolicy and Kubernetes NetworkPolicy as Cilium
// enforces it). It exists to cross-check a faster engine: it loops over
// everything, caches nothing and answers one connection at a time.
//
// It was written from Cilium's own documentation and source only (read
// through the code index of github.com/cilium/cilium, main branch, 2025-2026;
// the per-file commits are listed in each file's header). Files read for the
// whole package:
//
//   - Documentation/security/policy/intro.rst @25972d8e (enforcement modes)
//   - Documentation/security/policy/layer3.rst @90ba5de5 (endpoints, services,
//     entities, CIDR, "CIDR selectors do not match pods or nodes")
//   - Documentation/security/policy/deny.rst @94b67c85 (deny precedence table)
//   - pkg/policy/api/rule.go (EnableDefaultDeny / DefaultDenyConfig)
//   - pkg/policy/api/rule_validation.go (Validate / Sanitize, newest version
//     with EnableNonDefaultDenyPolicies and EnableExtendedIPProtocols)
//   - pkg/policy/api/entity.go @b1c039e5 (entity -> selector mapping)
//   - pkg/policy/api/selector.go @9f733d13 (EndpointSelector, any: source)
//   - pkg/policy/types/policyentry.go @fdc510fe (L3 nil vs empty + L4)
//   - pkg/policy/types/namedports (per-identity named port resolution)
//   - pkg/k8s/apis/cilium.io/utils/utils.go @0457444e (namespace injection)
//   - pkg/k8s/network_policy.go (newest, types.PolicyEntry version)
//   - pkg/policy/k8s/service.go (newest: ToServices -> ToEndpoints/ToCIDRSet)
//   - pkg/labels (GetExtendedKeyFrom, any: source), pkg/labelsfilter
//     (default identity-relevant label filter)
//   - pkg/option (AlwaysAllowLocalhost), pkg/policy/mapstate.go
//     (determineAllowLocalhostIngress)
//   - fromRequires/toRequires by release (requires.go): pkg/policy/rules.go
//     @965d0079b0c62d17c2dde404ea4a14ebd091d552 and @0017fa13, rule.go and
//     api/ingress.go, api/egress.go of the v1.15-v1.17 era, utils.go (the
//     FromRequires namespace injection), the 1.19 upgrade notes and PRs
//     cilium/cilium#42615, #43167, #43088, #36644, #36474
//   - L7 shadowed by an L3-only allow (ports.go): pkg/policy/mapstate.go
//     @a7a445a1, cilium/proxy cilium/network_policy.cc @f26fc7b3,
//     pkg/policy/repository_test.go @3e1bfb8f
package ciliumref

import (
	"fmt"
	"strings"
)

// NamedPort is a container port of a pod that has a name.
type NamedPort struct {
	Name     string
	Port     int32
	Protocol string
}

// Namespace is a Kubernetes namespace with its labels.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Pod is a Cilium-managed pod.
type Pod struct {
	Namespace, Name, IP, ServiceAccount string
	Labels                              map[string]string
	Ports                               []NamedPort
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Port, TargetPort int32
	Protocol         string
}

// Service is a Kubernetes Service (only what toServices needs).
type Service struct {
	Namespace, Name string
	Selector        map[string]string
	Ports           []ServicePort
}

// Cluster is everything Decide looks at.
type Cluster struct {
	Namespaces []Namespace
	Pods       []Pod
	Services   []Service
	// Policies are raw objects as decoded from YAML/JSON:
	// networking.k8s.io/v1 NetworkPolicy, cilium.io/v2 CiliumNetworkPolicy,
	// CiliumClusterwideNetworkPolicy.
	Policies []map[string]any
	// Config holds cilium-config keys (enable-policy: default|always|never,
	// ...).
	Config map[string]string
}

// Endpoint is exactly one of Pod ("ns/name"), IP (outside the cluster) or
// Entity (host, remote-node, kube-apiserver, health, world, ...).
type Endpoint struct{ Pod, IP, Entity string }

// Verdict is the answer for a whole connection.
type Verdict string

// The three verdicts.
const (
	Allowed     Verdict = "allowed"
	Denied      Verdict = "denied"
	Unspecified Verdict = "unspecified"
)

// Result is Decide's answer.
type Result struct {
	Verdict Verdict
	// L7 is true when L4 allows but an L7 rule filters requests above it.
	L7 bool
	// Reason says which side/policy/rule decided, for humans.
	Reason string
}

// Decide answers whether a connection from -> to on port/protocol is allowed:
// the egress side of `from` AND the ingress side of `to` (a side that is not
// a cluster pod has no policy of its own). Protocol is TCP, UDP, SCTP or ICMP
// (an ICMPv4 echo request; port is then ignored). The error is only for
// malformed input.
func Decide(c Cluster, from, to Endpoint, port int32, protocol string) (Result, error) {
	proto := strings.ToUpper(protocol)
	switch proto {
	case "TCP", "UDP", "SCTP", "ICMP":
	default:
		return Result{}, fmt.Errorf("protocol %q: want TCP, UDP, SCTP or ICMP", protocol)
	}
	if proto != "ICMP" && (port < 0 || port > 65535) {
		return Result{}, fmt.Errorf("port %d out of range", port)
	}
	if strings.TrimSpace(c.Config["cilium-version"]) == "" && clusterUsesRequires(c) {
		return decideAcrossRequiresRemoval(c, from, to, port, proto)
	}
	return decideOnce(c, from, to, port, proto)
}

// decideOnce evaluates with the config as given.
func decideOnce(c Cluster, from, to Endpoint, port int32, proto string) (Result, error) {
	ctx, err := newEvalCtx(c)
	if err != nil {
		return Result{}, err
	}
	src, err := ctx.resolve(from)
	if err != nil {
		return Result{}, fmt.Errorf("from: %w", err)
	}
	dst, err := ctx.resolve(to)
	if err != nil {
		return Result{}, fmt.Errorf("to: %w", err)
	}
	conn := connection{port: port, proto: proto, dst: dst}
	return ctx.decide(src, dst, conn), nil
}

// decideAcrossRequiresRemoval: the policies use fromRequires/toRequires and
// the config names no release; evaluate as 1.18 (requirements folded) and as
// 1.19 (policies with them rejected) and answer unspecified when the two
// differ (requires.go, FORMAT.md cilium-version).
func decideAcrossRequiresRemoval(c Cluster, from, to Endpoint, port int32, proto string) (Result, error) {
	var res [2]Result
	for i, v := range []string{"1.18", "1.19"} {
		cc := c
		cc.Config = map[string]string{}
		for k, val := range c.Config {
			cc.Config[k] = val
		}
		cc.Config["cilium-version"] = v
		r, err := decideOnce(cc, from, to, port, proto)
		if err != nil {
			return Result{}, err
		}
		res[i] = r
	}
	if res[0].Verdict == res[1].Verdict && res[0].L7 == res[1].L7 {
		r := res[0]
		r.Reason = "fromRequires/toRequires: same answer up to 1.18 and from 1.19 (no cilium-version given): " + r.Reason
		return r, nil
	}
	return Result{Verdict: Unspecified, Reason: fmt.Sprintf(
		"fromRequires/toRequires depend on the Cilium release and the config has no cilium-version: up to 1.18 %s (%s); from 1.19 %s (%s)",
		res[0].Verdict, res[0].Reason, res[1].Verdict, res[1].Reason)}, nil
}

// decide combines both sides of a connection.
func (ctx *evalCtx) decide(src, dst *endpointInfo, conn connection) Result {
	if r, stop := ctx.outOfScope(src, dst); stop {
		return r
	}
	egress := sideResult{verdict: Allowed, reason: "egress: " + src.desc + " is not a pod (no policy of its own)"}
	if src.pod != nil {
		egress = ctx.evalSideKnown(src, dst, dirEgress, conn)
	}
	ingress := sideResult{verdict: Allowed, reason: "ingress: " + dst.desc + " is not a pod (no policy of its own)"}
	if dst.pod != nil {
		ingress = ctx.evalSideKnown(dst, src, dirIngress, conn)
	}
	reason := egress.reason + "; " + ingress.reason
	if len(ctx.rejected) > 0 {
		reason += "; ignored (rejected by Cilium validation): " + strings.Join(ctx.rejected, ", ")
	}
	switch {
	case egress.verdict == Denied || ingress.verdict == Denied:
		return Result{Verdict: Denied, Reason: reason}
	case egress.verdict == Unspecified || ingress.verdict == Unspecified:
		return Result{Verdict: Unspecified, Reason: reason}
	}
	return Result{Verdict: Allowed, L7: egress.l7 || ingress.l7, Reason: reason}
}

// outOfScope answers Unspecified for what this evaluator cannot know: a
// service VIP (no ClusterIP in the model) and host firewall policies
// (nodeSelector rules) when one side is a node.
func (ctx *evalCtx) outOfScope(src, dst *endpointInfo) (Result, bool) {
	for _, ep := range []*endpointInfo{src, dst} {
		if ep.unknown != "" {
			return Result{Verdict: Unspecified, Reason: ep.unknown}, true
		}
	}
	if ctx.mode == "never" {
		return Result{Verdict: Allowed, Reason: "enable-policy=never: policy enforcement disabled (intro.rst)"}, true
	}
	if ctx.hostPolicy == "" {
		return Result{}, false
	}
	for _, ep := range []*endpointInfo{src, dst} {
		if ep.entity == "host" || ep.entity == "remote-node" || ep.entity == "kube-apiserver" {
			return Result{Verdict: Unspecified, Reason: "host policy (nodeSelector) " + ctx.hostPolicy + " may apply to " + ep.desc + ": out of scope"}, true
		}
	}
	return Result{}, false
}

// evalSideKnown is evalSide, unless a rejected update may have left an
// earlier version of a policy enforced over the pod (keptVersion).
func (ctx *evalCtx) evalSideKnown(self, peer *endpointInfo, dir direction, conn connection) sideResult {
	if why, ok := ctx.unknownScopes[""]; ok {
		return sideResult{verdict: Unspecified, reason: why}
	}
	if why, ok := ctx.unknownScopes[self.pod.Namespace]; ok {
		return sideResult{verdict: Unspecified, reason: why}
	}
	return ctx.evalSide(self, peer, dir, conn)
}
