package model

import (
	networkingv1 "k8s.io/api/networking/v1"
)

// Ingress is what audit needs of an Ingress (networking.k8s.io/v1): its
// class and the Services it sends traffic to.
type Ingress struct {
	Namespace string
	Name      string
	// Class is spec.ingressClassName, else the legacy annotation
	// kubernetes.io/ingress.class ("" when neither is set).
	Class    string
	Backends []IngressBackend
}

// Key is "namespace/name".
func (i *Ingress) Key() string { return i.Namespace + "/" + i.Name }

// IngressBackend is one Service port an Ingress routes to: by number, or
// by the Service port's name.
type IngressBackend struct {
	Host, Path string
	Service    string
	Port       int32
	PortName   string
}

// IngressFromAPI converts an Ingress: the default backend and every
// rule's paths that name a Service (resource backends are left out: they
// are not pods).
func IngressFromAPI(in *networkingv1.Ingress, namespace string) *Ingress {
	out := &Ingress{Namespace: namespace, Name: in.Name, Class: in.Annotations["kubernetes.io/ingress.class"]}
	if in.Spec.IngressClassName != nil {
		out.Class = *in.Spec.IngressClassName
	}
	if b := in.Spec.DefaultBackend; b != nil && b.Service != nil {
		out.Backends = append(out.Backends, ingressBackend("", "", b.Service))
	}
	for _, r := range in.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil {
				out.Backends = append(out.Backends, ingressBackend(r.Host, p.Path, p.Backend.Service))
			}
		}
	}
	return out
}

func ingressBackend(host, path string, s *networkingv1.IngressServiceBackend) IngressBackend {
	return IngressBackend{Host: host, Path: path, Service: s.Name, Port: s.Port.Number, PortName: s.Port.Name}
}
