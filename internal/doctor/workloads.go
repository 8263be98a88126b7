package doctor

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// checkLabels: the Config's namespaces exist with the runbook's name=<ns>
// label, the apps' pods carry the labels the policies select, and the
// ingress controller and Prometheus are where the policies expect them
// (LABEL-*).
func checkLabels(s *Snapshot, cfg *config.Config) []Finding {
	var out []Finding
	if why, ok := s.UnreadableOf("namespaces"); ok {
		out = append(out, couldNotCheck("LABEL-001", "namespaces", why))
	} else {
		for _, ns := range cfg.Namespaces {
			out = append(out, namespaceFinding(s, ns.Name, cfg))
		}
	}
	if why, ok := s.UnreadableOf("pods"); ok {
		return append(out, couldNotCheck("LABEL-002", "pods", why))
	}
	for _, ns := range cfg.Namespaces {
		for _, app := range ns.Apps {
			out = append(out, podsFinding(s, "LABEL-002", ns.Name, app.Labels, fmt.Sprintf("app %s", app.Name),
				fmt.Sprintf("label the %s pods %s (the policies select them by it)", app.Name, labels.Set(app.Labels)), Fail))
		}
	}
	out = append(out, podsFinding(s, "LABEL-003", cfg.IngressController.Namespace, cfg.IngressController.PodLabels, "ingress controller",
		"allow-from-ingress admits pods "+labels.Set(cfg.IngressController.PodLabels).String()+" in namespace "+cfg.IngressController.Namespace+"; set ingressController in the config to where yours runs", Warn))
	out = append(out, podsFinding(s, "LABEL-004", cfg.Monitoring.Namespace, cfg.Monitoring.PodLabels, "Prometheus",
		"allow-from-monitoring admits namespace "+cfg.Monitoring.Namespace+"; set monitoring in the config to where Prometheus runs (monitoring is optional)", Info))
	return out
}

func namespaceFinding(s *Snapshot, name string, cfg *config.Config) Finding {
	for _, ns := range s.Namespaces {
		if ns.Name != name {
			continue
		}
		if ns.Labels["name"] != name {
			sev := Warn
			msg := fmt.Sprintf("namespace %s lacks the runbook's label name=%s", name, name)
			if cfg.NamespaceLabel == "name" {
				sev = Fail
				msg += ": the policies select namespaces by it (namespaceLabel: name), so they match nothing"
			} else {
				msg += " (the policies use kubernetes.io/metadata.name, which cannot be forged; the label documents the convention)"
			}
			return Finding{ID: "LABEL-001", Severity: sev, Subject: name, Message: msg, Fix: fmt.Sprintf("kubectl label namespace %s name=%s", name, name)}
		}
		return Finding{ID: "LABEL-001", Severity: Pass, Subject: name, Message: fmt.Sprintf("namespace %s exists with name=%s", name, name)}
	}
	return Finding{ID: "LABEL-001", Severity: Fail, Subject: name, Message: fmt.Sprintf("namespace %s does not exist", name),
		Fix: fmt.Sprintf("kubectl create namespace %s && kubectl label namespace %s name=%s", name, name, name)}
}

// podsFinding passes when some pod of the namespace carries the labels.
func podsFinding(s *Snapshot, id, namespace string, want map[string]string, what, fix string, missing Severity) Finding {
	selector := labels.Set(want).String()
	subject := strings.TrimSpace(namespace + " " + selector)
	if selector == "" {
		selector = "any labels"
	}
	if pods := podsMatching(s, namespace, want); len(pods) > 0 {
		return Finding{ID: id, Severity: Pass, Subject: subject, Message: fmt.Sprintf("%s: %d pod(s) in %s with %s", what, len(pods), namespace, selector)}
	}
	return Finding{ID: id, Severity: missing, Subject: subject, Message: fmt.Sprintf("%s: no pod in namespace %s with %s", what, namespace, selector), Fix: fix}
}

// checkPorts: each Service's targetPort resolves on its pods and has
// endpoints; policies name pod ports, not Service ports (PORT-*).
func checkPorts(s *Snapshot, cfg *config.Config) []Finding {
	if why, ok := s.UnreadableOf("services", "pods"); ok {
		return []Finding{couldNotCheck("PORT-001", "services", why)}
	}
	var out []Finding
	for _, ns := range cfg.Namespaces {
		for _, svc := range s.Services {
			if svc.Namespace != ns.Name || len(svc.Spec.Selector) == 0 {
				continue
			}
			pods := podsMatching(s, svc.Namespace, svc.Spec.Selector)
			for _, sp := range svc.Spec.Ports {
				out = append(out, servicePortFinding(s, svc, sp, pods))
			}
		}
		out = append(out, policyPortFindings(s, ns.Name)...)
		out = append(out, selectorFindings(s, ns.Name)...)
	}
	return out
}

func servicePortFinding(s *Snapshot, svc corev1.Service, sp corev1.ServicePort, pods []*model.Pod) Finding {
	subject := fmt.Sprintf("%s/svc/%s:%d", svc.Namespace, svc.Name, sp.Port)
	if len(pods) == 0 {
		return Finding{ID: "PORT-001", Severity: Warn, Subject: subject, Message: fmt.Sprintf("service %s/%s selects no pod (selector %s)", svc.Namespace, svc.Name, labels.Set(svc.Spec.Selector)),
			Fix: "match the Service's selector to the Deployment's pod labels"}
	}
	target := sp.TargetPort
	if target.Type == intstr.Int && target.IntVal == 0 {
		target = intstr.FromInt32(sp.Port)
	}
	var resolved []string
	for _, p := range pods {
		n, ok := containerPort(p, target, sp.Protocol)
		if !ok {
			return Finding{ID: "PORT-001", Severity: Fail, Subject: subject,
				Message: fmt.Sprintf("service %s/%s port %d targets %s, which pod %s does not declare", svc.Namespace, svc.Name, sp.Port, target.String(), p.Name),
				Fix:     "declare the containerPort (with that name) in the pod template, or point targetPort at the port the app listens on"}
		}
		resolved = append(resolved, fmt.Sprint(n))
	}
	f := Finding{ID: "PORT-001", Severity: Pass, Subject: subject,
		Message: fmt.Sprintf("service %s/%s port %d -> targetPort %s -> %s on its pods", svc.Namespace, svc.Name, sp.Port, target.String(), strings.Join(slices.Compact(slices.Sorted(slices.Values(resolved))), ","))}
	if ready, ok := readyEndpoints(s, svc); ok && ready == 0 {
		f.ID, f.Severity = "PORT-002", Warn
		f.Message = fmt.Sprintf("service %s/%s has no ready endpoint", svc.Namespace, svc.Name)
		f.Fix = fmt.Sprintf("kubectl -n %s get endpointslices -l kubernetes.io/service-name=%s; check the pods' readiness", svc.Namespace, svc.Name)
	}
	return f
}

// selectorFindings flags managed policies whose podSelector selects no
// pod: a typo that leaves the pods it meant isolated by deny-all alone.
func selectorFindings(s *Snapshot, namespace string) []Finding {
	var out []Finding
	for i := range s.Policies {
		np := &s.Policies[i]
		if np.Namespace != namespace || np.Labels[ownership.ManagedByLabel] != ownership.ManagedByValue {
			continue
		}
		if sel := np.Spec.PodSelector; len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
			continue // every pod
		}
		if len(podsMatching(s, namespace, nil)) > 0 && len(s.Engine().Selected(np)) == 0 {
			out = append(out, Finding{ID: "LABEL-005", Severity: Warn, Subject: namespace + "/" + np.Name,
				Message: fmt.Sprintf("%s selects no pod (podSelector %s)", np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector)), Fix: "label the workload's pods as the config's app labels say, or fix the config"})
		}
	}
	return out
}

// policyPortFindings flags numeric policy ports that no selected pod
// declares but a Service maps (the Service port instead of the pod port),
// and named ports no selected pod declares.
func policyPortFindings(s *Snapshot, namespace string) []Finding {
	var out []Finding
	for i := range s.Policies {
		np := &s.Policies[i]
		if np.Namespace != namespace {
			continue
		}
		selected := s.Engine().Selected(np)
		if len(selected) == 0 {
			continue
		}
		for ri, rule := range np.Spec.Ingress {
			for _, port := range rule.Ports {
				if port.Port == nil {
					continue
				}
				proto := corev1.ProtocolTCP
				if port.Protocol != nil {
					proto = *port.Protocol
				}
				if anyDeclares(selected, *port.Port, proto) {
					continue
				}
				subject := fmt.Sprintf("%s/%s ingress[%d]", namespace, np.Name, ri)
				if port.Port.Type == intstr.String {
					out = append(out, Finding{ID: "PORT-004", Severity: Warn, Subject: subject,
						Message: fmt.Sprintf("%s allows the named port %s, which none of its %d pod(s) declare", np.Name, port.Port.StrVal, len(selected)),
						Fix:     "name the containerPort so in the pod template, or use the port number"})
					continue
				}
				if svc := serviceWithPort(s, namespace, port.Port.IntVal, selected); svc != "" {
					out = append(out, Finding{ID: "PORT-003", Severity: Fail, Subject: subject,
						Message: fmt.Sprintf("%s allows port %d, the port of %s, but its pods listen elsewhere: NetworkPolicy sees the pod port (the targetPort)", np.Name, port.Port.IntVal, svc),
						Fix:     "use the pod's port (the Service's targetPort) in the policy"})
				}
			}
		}
	}
	return out
}

func podsMatching(s *Snapshot, namespace string, want map[string]string) []*model.Pod {
	return s.Engine().PodsWithLabels(namespace, want)
}

// containerPort resolves a Service's targetPort on a pod: a name must be
// declared, a number works without a declared containerPort.
func containerPort(p *model.Pod, target intstr.IntOrString, proto corev1.Protocol) (int32, bool) {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	if target.Type == intstr.String {
		return p.NamedPort(target.StrVal, proto)
	}
	return target.IntVal, true
}

func anyDeclares(pods []*model.Pod, port intstr.IntOrString, proto corev1.Protocol) bool {
	for _, p := range pods {
		if policy.Declares(p, port, proto) {
			return true
		}
	}
	return false
}

func serviceWithPort(s *Snapshot, namespace string, port int32, pods []*model.Pod) string {
	for _, svc := range s.Services {
		if svc.Namespace != namespace || len(svc.Spec.Selector) == 0 || !policy.HasLabels(pods[0].Labels, svc.Spec.Selector) {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			if sp.Port == port && sp.TargetPort.String() != fmt.Sprint(port) {
				return "svc/" + svc.Name
			}
		}
	}
	return ""
}

func readyEndpoints(s *Snapshot, svc corev1.Service) (int, bool) {
	if _, unreadable := s.UnreadableOf("endpointslices"); unreadable {
		return 0, false
	}
	ready := 0
	for _, es := range s.EndpointSlices {
		if es.Namespace != svc.Namespace || es.Labels["kubernetes.io/service-name"] != svc.Name {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready++
			}
		}
	}
	return ready, true
}
