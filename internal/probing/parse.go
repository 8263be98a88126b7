package probing

import (
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
)

// ParseTargets parses SOURCE and the DESTs.
func ParseTargets(source string, dests []string, defaultNamespace string) (endpoint.Endpoint, []endpoint.Endpoint, error) {
	src, err := endpoint.ParseIn(source, endpoint.Source, defaultNamespace)
	if err != nil {
		return src, nil, exit.Usagef("SOURCE %v", err)
	}
	var out []endpoint.Endpoint
	for _, d := range dests {
		ep, err := endpoint.ParseIn(d, endpoint.Destination, defaultNamespace)
		if err != nil {
			return src, nil, exit.Usagef("DEST %v", err)
		}
		out = append(out, ep)
	}
	return src, out, nil
}

// CheckTargets holds probe's rules on what it can check: probe local
// takes exactly one URL; from pods, destinations (or --dns names) and
// never a URL.
func CheckTargets(source endpoint.Endpoint, dests []endpoint.Endpoint, dnsNames []string) error {
	if source.Kind == endpoint.Local {
		if len(dests) != 1 || dests[0].Kind != endpoint.URL {
			return exit.Usagef("probe local takes exactly one URL, e.g. probe local https://example.com/api/health")
		}
		return nil
	}
	if len(dests) == 0 && len(dnsNames) == 0 {
		return exit.Usagef("give at least one DEST (or --dns NAME)")
	}
	for _, d := range dests {
		if d.Kind == endpoint.URL {
			return exit.Usagef("DEST %s: URLs are for probe local; from pods use DEST:PORT with --http PATH", d.Raw)
		}
	}
	return nil
}
