package ciliumref

// CIDR and service peers, and matching a peer against an endpoint.
//
// Sources:
//   - Documentation/security/policy/layer3.rst @90ba5de5 "IP/CIDR based":
//     "CIDR rules do not apply to traffic where both sides of the connection
//     are either managed by Cilium or use an IP belonging to a node in the
//     cluster"; "By default, CIDR-based selectors do not match in-cluster
//     entities (pods or nodes)" unless policy-cidr-match-mode=nodes (then
//     nodes); "Allowing to world is identical to allowing to CIDR 0.0.0.0/0";
//     CIDR rules do apply to "Within the cluster prefix but the IP's
//     networking is not provided by Cilium" (unmanaged).
//   - layer3.rst "Services based": services without selectors become CIDR
//     selectors, "CIDR selectors cannot select pods".
//   - pkg/policy/api/rule_validation.go CIDR.Validate: a fromCIDR/toCIDR entry
//     may be a prefix or a bare address; CIDRRule.Validate: except must be
//     inside the cidr.
//   - pkg/policy/k8s/service.go (newest): see cnp.go.

import (
	"net/netip"
)

// parseCIDR accepts a prefix or a bare address (CIDR.Validate).
func parseCIDR(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// cidrPeers converts fromCIDR/fromCIDRSet (or to...). Validation ran first,
// so parse errors cannot happen here.
func cidrPeers(cidrs []string, sets []cidrRule) []peer {
	var out []peer
	for _, c := range cidrs {
		p, _ := parseCIDR(c)
		out = append(out, peer{kind: peerCIDR, prefix: p})
	}
	for _, s := range sets {
		if s.Cidr == "" {
			out = append(out, peer{kind: peerCIDRBased, why: "cidrGroupRef/cidrGroupSelector (CiliumCIDRGroup contents are not in the input)"})
			continue
		}
		p, _ := netip.ParsePrefix(s.Cidr)
		pe := peer{kind: peerCIDR, prefix: p.Masked()}
		for _, x := range s.Except {
			xp, _ := netip.ParsePrefix(x)
			pe.except = append(pe.except, xp.Masked())
		}
		out = append(out, pe)
	}
	return out
}

// servicePeers resolves toServices against the cluster's services.
func (ctx *evalCtx) servicePeers(refs []serviceRef) ([]peer, error) {
	var out []peer
	for _, ref := range refs {
		switch {
		case ref.K8sServiceSelector != nil:
			p, err := ctx.serviceSelectorPeers(ref)
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
		case ref.K8sService != nil:
			for _, svc := range ctx.c.Services {
				if svc.Name == ref.K8sService.ServiceName &&
					(ref.K8sService.Namespace == "" || ref.K8sService.Namespace == svc.Namespace) {
					out = append(out, servicePeer(svc))
				}
			}
		}
	}
	return out, nil
}

// serviceSelectorPeers: the selector matches service labels, which the model
// does not carry; only an empty selector (every service) can be resolved.
func (ctx *evalCtx) serviceSelectorPeers(ref serviceRef) ([]peer, error) {
	sel, err := ciliumSelector(&ref.K8sServiceSelector.Selector)
	if err != nil {
		return nil, err
	}
	if !sel.isWildcard() {
		return []peer{{kind: peerUnknown, why: "k8sServiceSelector (service labels are not in the input)"}}, nil
	}
	var out []peer
	for _, svc := range ctx.c.Services {
		if ref.K8sServiceSelector.Namespace == "" || ref.K8sServiceSelector.Namespace == svc.Namespace {
			out = append(out, servicePeer(svc))
		}
	}
	return out, nil
}

// servicePeer is appendSelector / appendEndpoints of service.go.
func servicePeer(svc Service) peer {
	if len(svc.Selector) == 0 {
		return peer{kind: peerCIDRBased, why: "service " + svc.Namespace + "/" + svc.Name + " has no selector: its backends (EndpointSlices) are not in the input"}
	}
	sel := selector{matchLabels: map[string]string{}}
	for k, v := range svc.Selector {
		src, key := splitSourceKey(k)
		sel.addMatch(src, key, v)
	}
	sel.addMatch("k8s", nsLabel, svc.Namespace)
	return peer{kind: peerSelector, sel: sel, endpoints: true}
}

// matchPeerOn says whether a peer selects the endpoint when the endpoint has
// the label set lbls.
func (ctx *evalCtx) matchPeerOn(p peer, ep *endpointInfo, lbls []label) tri {
	switch p.kind {
	case peerSelector:
		return triOf(p.sel.matches(lbls))
	case peerCIDR:
		return ctx.matchCIDR(p, ep)
	case peerCIDRBased:
		// CIDR identities never include pods.
		if ep.pod != nil {
			return no
		}
		return maybe
	case peerNodes:
		if isNodeEntity(ep.entity) {
			return maybe
		}
		return no
	}
	return maybe
}

// matchCIDR: pods are never selected by CIDR; outside addresses are matched
// by address; entities without an address give maybe when they could carry a
// CIDR identity.
func (ctx *evalCtx) matchCIDR(p peer, ep *endpointInfo) tri {
	if ep.pod != nil {
		return no
	}
	if ep.ip.IsValid() {
		if !p.prefix.Contains(ep.ip) {
			return no
		}
		for _, x := range p.except {
			if x.Contains(ep.ip) {
				return no
			}
		}
		return yes
	}
	switch ep.entity {
	case "world":
		if p.prefix.Bits() == 0 && len(p.except) == 0 {
			return yes
		}
		return maybe
	case "kube-apiserver", "unmanaged":
		return maybe
	case "host", "remote-node":
		if ctx.cidrNodes {
			return maybe
		}
	}
	return no
}
