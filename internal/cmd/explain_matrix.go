package cmd

import (
	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
)

// parseFocus parses --from and --to: names of pods, never addresses or
// ports (a matrix evaluates every port the destinations declare, or --port).
func (o *ExplainOptions) parseFocus() error {
	parse := func(flag string, values []string, role endpoint.Role) ([]endpoint.Endpoint, error) {
		var out []endpoint.Endpoint
		for _, v := range values {
			ep, err := endpoint.ParseIn(v, role, o.DefaultNamespace())
			if err != nil {
				return nil, usageErrorf("%s %v", flag, err)
			}
			switch {
			case ep.HasPort():
				return nil, usageErrorf("%s %q: give ports with --port", flag, v)
			case ep.Kind == endpoint.Service && role == endpoint.Source:
				return nil, usageErrorf("%s %q: a Service is a destination; name its pods' workload", flag, v)
			case ep.Kind != endpoint.Namespace && ep.Kind != endpoint.Pod && ep.Kind != endpoint.Workload && ep.Kind != endpoint.Service:
				return nil, usageErrorf("%s %q: a matrix focuses on pods: NS, NS/POD or NS/KIND/NAME", flag, v)
			}
			out = append(out, ep)
		}
		return out, nil
	}
	var err error
	if o.fromFocus, err = parse("--from", o.Sources, endpoint.Source); err != nil {
		return err
	}
	o.toFocus, err = parse("--to", o.Destinations, endpoint.Destination)
	return err
}
