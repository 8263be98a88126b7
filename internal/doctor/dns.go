package doctor

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
)

// checkDNS: allow-dns selects the real DNS pods and covers UDP and TCP
// 53; NodeLocal DNSCache needs its own rule (DNS-*).
func checkDNS(s *Snapshot, cfg *config.Config) []Finding {
	if why, ok := s.UnreadableOf("pods"); ok {
		return []Finding{couldNotCheck("DNS-001", "DNS pods", why)}
	}
	var out []Finding
	want := cfg.DNS.PodLabels
	pods := podsMatching(s, cfg.DNS.Namespace, want)
	if len(pods) > 0 {
		out = append(out, Finding{ID: "DNS-001", Severity: Pass, Subject: cfg.DNS.Namespace,
			Message: fmt.Sprintf("allow-dns selects %s in %s: %d DNS pod(s) found", labels.Set(want), cfg.DNS.Namespace, len(pods))})
	} else {
		f := Finding{ID: "DNS-001", Severity: Fail, Subject: cfg.DNS.Namespace,
			Message: fmt.Sprintf("no pod in %s carries %s, so allow-dns would allow DNS to nothing and every lookup would fail", cfg.DNS.Namespace, labels.Set(want))}
		if guess := dnsPodLabels(s, cfg.DNS.Namespace); guess != "" {
			f.Fix = "your DNS pods carry " + guess + ": set dns.podLabels in the config"
		} else {
			f.Fix = "set dns.namespace and dns.podLabels in the config to your DNS pods"
		}
		out = append(out, f)
	}
	for _, ds := range s.DaemonSets {
		if ds.Name == "node-local-dns" || ds.Name == "nodelocaldns" {
			sev, msg := Warn, "NodeLocal DNSCache runs ("+ds.Namespace+"/"+ds.Name+"): pods query it on the node, which allow-dns does not cover"
			if cfg.DNS.NodeLocalAddress != "" {
				sev, msg = Pass, "NodeLocal DNSCache runs and allow-dns also allows "+cfg.DNS.NodeLocalAddress
			}
			out = append(out, Finding{ID: "DNS-002", Severity: sev, Subject: ds.Name, Message: msg, Fix: "set dns.nodeLocalAddress (e.g. 169.254.20.10) in the config"})
		}
	}
	for _, np := range s.Policies {
		if np.Name != "allow-dns" {
			continue
		}
		udp, tcp := false, false
		for _, r := range np.Spec.Egress {
			for _, p := range r.Ports {
				if p.Port != nil && p.Port.IntValue() != 53 {
					continue
				}
				if p.Protocol != nil && *p.Protocol == corev1.ProtocolUDP {
					udp = true
				} else {
					tcp = true
				}
			}
			if len(r.Ports) == 0 {
				udp, tcp = true, true
			}
		}
		if !udp || !tcp {
			out = append(out, Finding{ID: "DNS-003", Severity: Warn, Subject: np.Namespace + "/" + np.Name,
				Message: fmt.Sprintf("%s/%s allows DNS over UDP %v, TCP %v: large answers and TCP fallback need both", np.Namespace, np.Name, udp, tcp),
				Fix:     "kubectl netbaseline apply renders allow-dns with UDP and TCP 53"})
		}
	}
	return out
}

// dnsPodLabels guesses the DNS pods' labels from their names.
func dnsPodLabels(s *Snapshot, namespace string) string {
	for _, p := range s.Pods {
		if p.Namespace == namespace && (strings.Contains(p.Name, "coredns") || strings.Contains(p.Name, "kube-dns")) {
			return labels.Set(p.Labels).String()
		}
	}
	return ""
}
