package explain

import (
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
)

// ParseQuestion parses SOURCE and DEST: pods or addresses, never this
// machine, a DNS name (explain reads no DNS) or a URL (probe local's).
func ParseQuestion(source, dest, defaultNamespace string) (from, to endpoint.Endpoint, err error) {
	if from, err = endpoint.ParseIn(source, endpoint.Source, defaultNamespace); err != nil {
		return from, to, exit.Usagef("SOURCE %v", err)
	}
	if from.Kind == endpoint.Local || from.Kind == endpoint.DNSName {
		return from, to, exit.Usagef("SOURCE %q: explain needs pods or IP addresses", source)
	}
	if to, err = endpoint.ParseIn(dest, endpoint.Destination, defaultNamespace); err != nil {
		return from, to, exit.Usagef("DEST %v", err)
	}
	if to.Kind == endpoint.URL {
		return from, to, exit.Usagef("DEST %q: a URL is for probe local", dest)
	}
	return from, to, nil
}

// ParseFocus parses a matrix's --from or --to (flag): names of pods,
// never addresses or ports (a matrix evaluates every port the
// destinations declare, or --port).
func ParseFocus(flag string, values []string, role endpoint.Role, defaultNamespace string) ([]endpoint.Endpoint, error) {
	var out []endpoint.Endpoint
	for _, v := range values {
		ep, err := endpoint.ParseIn(v, role, defaultNamespace)
		if err != nil {
			return nil, exit.Usagef("%s %v", flag, err)
		}
		switch {
		case ep.HasPort():
			return nil, exit.Usagef("%s %q: give ports with --port", flag, v)
		case ep.Kind == endpoint.Service && role == endpoint.Source:
			return nil, exit.Usagef("%s %q: a Service is a destination; name its pods' workload", flag, v)
		case ep.Kind != endpoint.Namespace && ep.Kind != endpoint.Pod && ep.Kind != endpoint.Workload && ep.Kind != endpoint.Service:
			return nil, exit.Usagef("%s %q: a matrix focuses on pods: NS, NS/POD or NS/KIND/NAME", flag, v)
		}
		out = append(out, ep)
	}
	return out, nil
}
