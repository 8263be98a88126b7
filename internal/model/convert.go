package model

import (
	"cmp"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodFromAPI converts a Pod; the owner comes from its ownerReferences
// (a ReplicaSet named <deployment>-<pod-template-hash> stands for its
// Deployment).
func PodFromAPI(pod *corev1.Pod, namespace string) *Pod {
	p := &Pod{
		Namespace:   namespace,
		Name:        pod.Name,
		Labels:      pod.Labels,
		HostNetwork: pod.Spec.HostNetwork,
		Phase:       pod.Status.Phase,
		Terminating: pod.DeletionTimestamp != nil,
		// The ServiceAccount admission plugin names "default" when the
		// spec names none.
		ServiceAccount: cmp.Or(pod.Spec.ServiceAccountName, pod.Spec.DeprecatedServiceAccount, "default"),
	}
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			proto := cp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			p.Ports = append(p.Ports, ContainerPort{Name: cp.Name, Port: cp.ContainerPort, Protocol: proto})
		}
	}
	ips := pod.Status.PodIPs
	if len(ips) == 0 && pod.Status.PodIP != "" {
		ips = []corev1.PodIP{{IP: pod.Status.PodIP}}
	}
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip.IP); err == nil {
			p.IPs = append(p.IPs, a)
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			p.Ready = true
		}
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		p.Controller = &Owner{Kind: strings.ToLower(ref.Kind), Name: ref.Name}
		p.Owner = p.Controller
		hash := pod.Labels["pod-template-hash"]
		if ref.Kind == "ReplicaSet" && hash != "" && strings.HasSuffix(ref.Name, "-"+hash) {
			p.Owner = &Owner{Kind: "deployment", Name: strings.TrimSuffix(ref.Name, "-"+hash)}
		}
	}
	return p
}

// ServiceFromAPI converts a Service.
func ServiceFromAPI(svc *corev1.Service, namespace string) *Service {
	s := &Service{Namespace: namespace, Name: svc.Name, Selector: svc.Spec.Selector, Type: svc.Spec.Type, ExternalIPs: svc.Spec.ExternalIPs,
		LoadBalancerSourceRanges: svc.Spec.LoadBalancerSourceRanges, ExternalTrafficPolicy: svc.Spec.ExternalTrafficPolicy}
	for _, sp := range svc.Spec.Ports {
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		s.Ports = append(s.Ports, ServicePort{Name: sp.Name, Port: sp.Port, TargetPort: sp.TargetPort, Protocol: proto, NodePort: sp.NodePort})
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err == nil {
			s.ClusterIPs = append(s.ClusterIPs, a)
		}
	}
	return s
}

// FromObjects builds a normalized model from API objects as listed:
// finished pods (Succeeded, Failed) are left out, they have no connections.
func FromObjects(namespaces []corev1.Namespace, pods []corev1.Pod, services []corev1.Service, policies []networkingv1.NetworkPolicy) *Model {
	m := &Model{}
	terminating := map[string]bool{}
	for _, ns := range namespaces {
		m.Namespaces = append(m.Namespaces, &Namespace{Name: ns.Name, Labels: ns.Labels})
		terminating[ns.Name] = ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating
	}
	for i := range pods {
		pod := &pods[i]
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		p := PodFromAPI(pod, pod.Namespace)
		p.Terminating = p.Terminating || terminating[pod.Namespace]
		m.Pods = append(m.Pods, p)
	}
	for i := range services {
		m.Services = append(m.Services, ServiceFromAPI(&services[i], services[i].Namespace))
	}
	for i := range policies {
		m.Policies = append(m.Policies, &policies[i])
	}
	m.Normalize()
	return m
}
