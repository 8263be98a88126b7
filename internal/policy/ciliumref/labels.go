package ciliumref

// Identity labels of the things a connection can have at either end.
//
// Sources (cilium/cilium main, read via the code index):
//   - pkg/k8s/apis/cilium.io/const.go: io.kubernetes.pod.namespace,
//     io.cilium.k8s.namespace.labels.<key>, io.cilium.k8s.policy.serviceaccount,
//     io.cilium.k8s.policy.cluster (all with the "k8s" source).
//   - pkg/labelsfilter/filter.go (defaultLabelPrefixCfg, filterLabels,
//     LabelPrefix.matches): which labels are identity-relevant. A selector
//     on a filtered-out label (pod-template-hash, kubernetes.io/..., ...) can
//     never match, because the label is not part of the identity.
//   - pkg/policy/api/entity.go @b1c039e5: each entity is a reserved label
//     (reserved:host, reserved:remote-node, reserved:world, ...).
//   - Documentation/security/policy/layer3.rst @90ba5de5: the world entity is
//     everything outside the cluster; "cluster" is all endpoints of the local
//     cluster plus host, remote-node, init, health, unmanaged, ingress,
//     kube-apiserver.

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// label is one Cilium label: source:key=value.
type label struct{ source, key, value string }

// labelPrefix is one entry of Cilium's default identity label filter
// (pkg/labelsfilter/filter.go defaultLabelPrefixCfg).
type labelPrefix struct {
	ignore bool
	source string
	expr   *regexp.Regexp
}

var defaultLabelFilter = []labelPrefix{
	{source: "reserved", expr: regexp.MustCompile(`.*`)},
	{expr: regexp.MustCompile(regexp.QuoteMeta("io.kubernetes.pod.namespace"))},
	{expr: regexp.MustCompile(regexp.QuoteMeta("io.cilium.k8s.namespace.labels"))},
	{expr: regexp.MustCompile(regexp.QuoteMeta("app.kubernetes.io"))},
	{ignore: true, expr: regexp.MustCompile(`io\.kubernetes`)},
	{ignore: true, expr: regexp.MustCompile(`kubernetes\.io`)},
	{ignore: true, expr: regexp.MustCompile(`.*beta\.kubernetes\.io`)},
	{ignore: true, expr: regexp.MustCompile(`k8s\.io`)},
	{ignore: true, expr: regexp.MustCompile(`pod-template-generation`)},
	{ignore: true, expr: regexp.MustCompile(`pod-template-hash`)},
	{ignore: true, expr: regexp.MustCompile(`controller-revision-hash`)},
	{ignore: true, expr: regexp.MustCompile(`annotation.*`)},
	{ignore: true, expr: regexp.MustCompile(`etcd_node`)},
}

// identityRelevant follows filterLabels: the shortest matching ignore prefix
// against the longest matching include prefix; a prefix matches only when the
// leftmost regexp match starts at the beginning of the key. The default
// configuration has no "whitelist" flag, so a label that nothing matches is
// kept.
func identityRelevant(l label) bool {
	included, ignored := 0, 0
	for _, p := range defaultLabelFilter {
		if p.source != "" && p.source != l.source {
			continue
		}
		loc := p.expr.FindStringIndex(l.key)
		if loc == nil || loc[0] != 0 {
			continue
		}
		if p.ignore {
			if ignored == 0 || loc[1] < ignored {
				ignored = loc[1]
			}
		} else if loc[1] > included {
			included = loc[1]
		}
	}
	return ignored == 0 || included > ignored
}

func filterIdentityLabels(in []label) []label {
	var out []label
	for _, l := range in {
		if identityRelevant(l) {
			out = append(out, l)
		}
	}
	return out
}

// podLabels builds the identity labels of a pod: its own labels, its
// namespace name, its namespace's labels (kubernetes.io/metadata.name is
// implied), its service account and the cluster name, all with source k8s.
func (ctx *evalCtx) podLabels(p *Pod) []label {
	var raw []label
	for k, v := range p.Labels {
		raw = append(raw, label{"k8s", k, v})
	}
	raw = append(raw, label{"k8s", "io.kubernetes.pod.namespace", p.Namespace})
	for k, v := range ctx.namespaceLabels(p.Namespace) {
		raw = append(raw, label{"k8s", "io.cilium.k8s.namespace.labels." + k, v})
	}
	sa := p.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	raw = append(raw, label{"k8s", "io.cilium.k8s.policy.serviceaccount", sa})
	raw = append(raw, label{"k8s", "io.cilium.k8s.policy.cluster", ctx.clusterName})
	return filterIdentityLabels(raw)
}

func (ctx *evalCtx) namespaceLabels(ns string) map[string]string {
	out := map[string]string{"kubernetes.io/metadata.name": ns}
	for _, n := range ctx.c.Namespaces {
		if n.Name != ns {
			continue
		}
		for k, v := range n.Labels {
			out[k] = v
		}
	}
	return out
}

func reserved(names ...string) []label {
	var out []label
	for _, n := range names {
		out = append(out, label{"reserved", n, ""})
	}
	return out
}

// endpointInfo is one end of a connection, resolved.
type endpointInfo struct {
	desc   string
	pod    *Pod
	ip     netip.Addr // valid for an address outside the cluster
	entity string     // "world" for an address outside the cluster
	// labelSets are the label sets the endpoint's identity may have; when
	// they are several, a selector that matches some but not all of them
	// gives "maybe".
	labelSets [][]label
	// unknown is set when the endpoint cannot be resolved from the inputs.
	unknown string
}

// resolve turns an Endpoint into labels.
func (ctx *evalCtx) resolve(e Endpoint) (*endpointInfo, error) {
	set := 0
	for _, s := range []string{e.Pod, e.IP, e.Entity} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("endpoint %+v: exactly one of pod, ip, entity must be set", e)
	}
	switch {
	case e.Pod != "":
		return ctx.resolvePod(e.Pod)
	case e.IP != "":
		return ctx.resolveIP(e.IP)
	}
	return ctx.resolveEntity(e.Entity)
}

func (ctx *evalCtx) resolvePod(name string) (*endpointInfo, error) {
	for i := range ctx.c.Pods {
		p := &ctx.c.Pods[i]
		if p.Namespace+"/"+p.Name == name {
			return &endpointInfo{desc: "pod " + name, pod: p, labelSets: [][]label{ctx.podLabels(p)}}, nil
		}
	}
	return nil, fmt.Errorf("no pod %q in the cluster", name)
}

// serviceRange is where the fixtures put service VIPs (fixture format).
var serviceRange = netip.MustParsePrefix("198.19.0.0/16")

func (ctx *evalCtx) resolveIP(s string) (*endpointInfo, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return nil, fmt.Errorf("ip %q: %w", s, err)
	}
	for i := range ctx.c.Pods {
		if ctx.c.Pods[i].IP == addr.String() {
			// The ipcache maps a pod's IP to the pod's identity.
			p := &ctx.c.Pods[i]
			return ctx.resolvePod(p.Namespace + "/" + p.Name)
		}
	}
	ep := &endpointInfo{desc: "ip " + s, ip: addr, entity: "world", labelSets: ctx.worldLabelSets(addr)}
	if serviceRange.Contains(addr) {
		ep.unknown = "ip " + s + " is a service VIP: which backend the load balancer picks is not in the input"
	}
	return ep, nil
}

// worldLabelSets: outside addresses have the world identity. In dual-stack
// clusters Cilium splits it into world-ipv4 / world-ipv6 (entity.go); when
// the config does not say, both are possible.
func (ctx *evalCtx) worldLabelSets(addr netip.Addr) [][]label {
	family := "world-ipv4"
	if addr.IsValid() && addr.Is6() && !addr.Is4In6() {
		family = "world-ipv6"
	}
	switch ctx.dualStack {
	case "true":
		return [][]label{reserved(family)}
	case "false":
		return [][]label{reserved("world")}
	}
	return [][]label{reserved("world"), reserved(family)}
}

// entityLabelSets lists the identities an entity endpoint may have. The
// kube-apiserver may run outside the cluster (world), on this node (host) or
// on another node (remote-node): each gives different labels.
func (ctx *evalCtx) resolveEntity(name string) (*endpointInfo, error) {
	ep := &endpointInfo{desc: "entity " + name, entity: name}
	switch name {
	case "world", "world-ipv4", "world-ipv6":
		ep.entity = "world"
		ep.labelSets = ctx.worldLabelSets(netip.Addr{})
		if name != "world" {
			ep.labelSets = [][]label{reserved(name)}
		}
	case "host", "remote-node":
		ep.labelSets = [][]label{reserved(name), reserved(name, "kube-apiserver")}
	case "kube-apiserver":
		ep.labelSets = [][]label{
			reserved("kube-apiserver"), reserved("kube-apiserver", "world"),
			reserved("kube-apiserver", "host"), reserved("kube-apiserver", "remote-node"),
		}
	case "health", "init", "ingress", "unmanaged":
		ep.labelSets = [][]label{reserved(name)}
	default:
		return nil, fmt.Errorf("unknown entity %q", name)
	}
	return ep, nil
}

func isNodeEntity(e string) bool {
	return e == "host" || e == "remote-node" || e == "kube-apiserver"
}

// lower is strings.ToLower, short.
func lower(s string) string { return strings.ToLower(s) }
