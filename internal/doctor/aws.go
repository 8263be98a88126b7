package doctor

import (
	"fmt"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
)

// checkAWS adds what only the AWS VPC CNI network policy agent needs: one
// PolicyEndpoint per policy, and its caveat on Service ports (ENGINE-005,
// PORT-005).
func checkAWS(s *Snapshot, cfg *config.Config, engines []Engine) []Finding {
	aws := false
	for _, e := range engines {
		aws = aws || strings.HasPrefix(e.Name, "AWS VPC CNI")
	}
	if !aws {
		return nil
	}
	var out []Finding
	for _, ns := range cfg.Namespaces {
		policies := 0
		for _, np := range s.Policies {
			if np.Namespace == ns.Name {
				policies++
			}
		}
		if s.PolicyEndpoints != nil && policies > 0 && s.PolicyEndpoints[ns.Name] < policies {
			out = append(out, Finding{ID: "ENGINE-005", Severity: Warn, Subject: ns.Name,
				Message: fmt.Sprintf("%s has %d NetworkPolicies but %d PolicyEndpoints: the network policy controller has not resolved them all, so the agent does not enforce them yet", ns.Name, policies, s.PolicyEndpoints[ns.Name]),
				Fix:     fmt.Sprintf("kubectl -n %s get policyendpoints; check the controller (amazon-vpc-cni ConfigMap enable-network-policy-controller)", ns.Name)})
		}
		for _, svc := range s.Services {
			if svc.Namespace != ns.Name {
				continue
			}
			for _, sp := range svc.Spec.Ports {
				if sp.TargetPort.String() == fmt.Sprint(sp.Port) || (sp.TargetPort.IntValue() == 0 && sp.TargetPort.StrVal == "") {
					continue
				}
				out = append(out, Finding{ID: "PORT-005", Severity: Info, Subject: fmt.Sprintf("%s/svc/%s:%d", svc.Namespace, svc.Name, sp.Port),
					Message: fmt.Sprintf("service %s/%s port %d differs from its targetPort %s: with the AWS network policy agent, egress rules to a Service have depended on the agent version seeing the Service port or the pod port", svc.Namespace, svc.Name, sp.Port, sp.TargetPort.String()),
					Fix:     "verify with kubectl netbaseline probe through the Service; if it is dropped, also allow the Service port in the egress rule or upgrade the agent"})
			}
		}
	}
	return out
}
