package config

import (
	"fmt"
	"net/netip"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks a defaulted Config and returns every problem, each with
// its field path.
func (c *Config) Validate() field.ErrorList {
	var errs field.ErrorList
	if c.APIVersion != APIVersion {
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), c.APIVersion, []string{APIVersion}))
	}
	if c.Kind != Kind {
		errs = append(errs, field.NotSupported(field.NewPath("kind"), c.Kind, []string{Kind}))
	}
	errs = append(errs, validateLabelKey(field.NewPath("namespaceLabel"), c.NamespaceLabel)...)

	errs = append(errs, validateNamespaceName(field.NewPath("dns", "namespace"), c.DNS.Namespace)...)
	errs = append(errs, validateLabels(field.NewPath("dns", "podLabels"), c.DNS.PodLabels)...)
	if a := c.DNS.NodeLocalAddress; a != "" {
		if _, err := netip.ParseAddr(a); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("dns", "nodeLocalAddress"), a, "must be an IP address"))
		}
	}

	ic := field.NewPath("ingressController")
	errs = append(errs, validateNamespaceName(ic.Child("namespace"), c.IngressController.Namespace)...)
	errs = append(errs, validateLabels(ic.Child("podLabels"), c.IngressController.PodLabels)...)
	for i, cidr := range c.IngressController.SourceCIDRs {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			errs = append(errs, field.Invalid(ic.Child("sourceCIDRs").Index(i), cidr, "must be a CIDR such as 10.0.0.0/16"))
		}
	}

	mon := field.NewPath("monitoring")
	errs = append(errs, validateNamespaceName(mon.Child("namespace"), c.Monitoring.Namespace)...)
	errs = append(errs, validateLabels(mon.Child("podLabels"), c.Monitoring.PodLabels)...)
	errs = append(errs, validatePortName(mon.Child("portName"), c.Monitoring.PortName)...)

	errs = append(errs, validateRules(field.NewPath("apiServer", "to"), c.APIServer.To)...)
	errs = append(errs, validateRules(field.NewPath("cloudIdentity", "to"), c.CloudIdentity.To)...)

	errs = append(errs, c.validateNamespaces(field.NewPath("namespaces"))...)
	errs = append(errs, c.validateDoctor(field.NewPath("doctor"))...)
	return errs
}

func (c *Config) validateNamespaces(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(c.Namespaces) == 0 {
		errs = append(errs, field.Required(path, "at least one namespace"))
	}
	seenNS := map[string]bool{}
	for i := range c.Namespaces {
		ns := &c.Namespaces[i]
		p := path.Index(i)
		errs = append(errs, validateNamespaceName(p.Child("name"), ns.Name)...)
		if seenNS[ns.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), ns.Name))
		}
		seenNS[ns.Name] = true
		if ns.APIServer && len(c.APIServer.To) == 0 {
			errs = append(errs, field.Invalid(p.Child("apiServer"), true, "apiServer.to must list the API server's addresses"))
		}
		if ns.CloudIdentity && len(c.CloudIdentity.To) == 0 {
			errs = append(errs, field.Invalid(p.Child("cloudIdentity"), true, "cloudIdentity.to must list the identity endpoints"))
		}

		seenApp := map[string]bool{}
		for j := range ns.Apps {
			app := &ns.Apps[j]
			ap := p.Child("apps").Index(j)
			errs = append(errs, validateDNSLabel(ap.Child("name"), app.Name)...)
			if seenApp[app.Name] {
				errs = append(errs, field.Duplicate(ap.Child("name"), app.Name))
			}
			seenApp[app.Name] = true
			errs = append(errs, validateLabels(ap.Child("labels"), app.Labels)...)
			if len(app.Labels) == 0 {
				errs = append(errs, field.Required(ap.Child("labels"), "an app needs pod labels to select its pods"))
			}
			seenPort := map[string]bool{}
			for k, port := range app.Ports {
				pp := ap.Child("ports").Index(k)
				if port.Name != "" {
					errs = append(errs, validatePortName(pp.Child("name"), port.Name)...)
					if seenPort[port.Name] {
						errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
					}
					seenPort[port.Name] = true
				}
				errs = append(errs, validatePortNumber(pp.Child("port"), port.Port)...)
				errs = append(errs, validateProtocol(pp.Child("protocol"), port.Protocol)...)
			}
			if app.Ingress && len(app.Ports) == 0 {
				errs = append(errs, field.Required(ap.Child("ports"), "ingress: true needs the ports the ingress controller may reach"))
			}
			for k := range app.TalksTo {
				errs = append(errs, c.validateRelation(ap.Child("talksTo").Index(k), &app.TalksTo[k])...)
			}
		}
		if ee := ns.EgressExternal; ee != nil {
			ep := p.Child("egressExternal")
			if ee.App != "" && ns.FindApp(ee.App) == nil {
				errs = append(errs, field.NotFound(ep.Child("app"), ee.App))
			}
			if len(ee.To) == 0 {
				errs = append(errs, field.Required(ep.Child("to"), "at least one destination CIDR"))
			}
			errs = append(errs, validateRules(ep.Child("to"), ee.To)...)
		}
	}
	return errs
}

func (c *Config) validateRelation(path *field.Path, rel *Relation) field.ErrorList {
	var errs field.ErrorList
	dstNS := c.FindNamespace(rel.Namespace)
	if dstNS == nil {
		return append(errs, field.NotFound(path.Child("namespace"), rel.Namespace))
	}
	dst := dstNS.FindApp(rel.App)
	if dst == nil {
		return append(errs, field.NotFound(path.Child("app"), rel.Namespace+"/"+rel.App))
	}
	errs = append(errs, validatePorts(path.Child("ports"), rel.Ports)...)
	if len(rel.Ports) == 0 && len(dst.Ports) == 0 {
		errs = append(errs, field.Required(path.Child("ports"), fmt.Sprintf("app %s/%s declares no ports; list the ports it is called on", rel.Namespace, rel.App)))
	}
	return errs
}

func (c *Config) validateDoctor(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, p := range c.Doctor.Kyverno.ClusterPolicies {
		pp := path.Child("kyverno", "clusterPolicies").Index(i)
		if p.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), ""))
		}
		if p.Action != "" && !strings.EqualFold(p.Action, "Audit") && !strings.EqualFold(p.Action, "Enforce") {
			errs = append(errs, field.NotSupported(pp.Child("action"), p.Action, []string{"Audit", "Enforce"}))
		}
	}
	argo := path.Child("argocd")
	errs = append(errs, validateNamespaceName(argo.Child("namespace"), c.Doctor.ArgoCD.Namespace)...)
	if !strings.HasPrefix(c.Doctor.ArgoCD.DestinationServer, "https://") {
		errs = append(errs, field.Invalid(argo.Child("destinationServer"), c.Doctor.ArgoCD.DestinationServer, "must be an https:// URL"))
	}
	return errs
}

func validateRules(path *field.Path, rules []CIDRRule) field.ErrorList {
	var errs field.ErrorList
	for i, r := range rules {
		rp := path.Index(i)
		prefix, err := netip.ParsePrefix(r.CIDR)
		if err != nil {
			errs = append(errs, field.Invalid(rp.Child("cidr"), r.CIDR, "must be a CIDR such as 203.0.113.0/24"))
			continue
		}
		if prefix.Masked() != prefix {
			errs = append(errs, field.Invalid(rp.Child("cidr"), r.CIDR, "host bits are set; did you mean "+prefix.Masked().String()+"?"))
		}
		for j, ex := range r.Except {
			ep := rp.Child("except").Index(j)
			exPrefix, err := netip.ParsePrefix(ex)
			switch {
			case err != nil:
				errs = append(errs, field.Invalid(ep, ex, "must be a CIDR"))
			case exPrefix.Addr().Is4() != prefix.Addr().Is4() || exPrefix.Bits() < prefix.Bits() || !prefix.Contains(exPrefix.Addr()):
				errs = append(errs, field.Invalid(ep, ex, "must lie inside "+r.CIDR))
			}
		}
		errs = append(errs, validatePorts(rp.Child("ports"), r.Ports)...)
	}
	return errs
}

func validatePorts(path *field.Path, ports []Port) field.ErrorList {
	var errs field.ErrorList
	for i, p := range ports {
		pp := path.Index(i)
		errs = append(errs, validateProtocol(pp.Child("protocol"), p.Protocol)...)
		if p.Port == 0 && p.EndPort == 0 {
			continue // a protocol alone: every port of that protocol
		}
		errs = append(errs, validatePortNumber(pp.Child("port"), p.Port)...)
		if p.EndPort != 0 {
			errs = append(errs, validatePortNumber(pp.Child("endPort"), p.EndPort)...)
			if p.EndPort < p.Port {
				errs = append(errs, field.Invalid(pp.Child("endPort"), p.EndPort, fmt.Sprintf("must be greater than or equal to port (%d)", p.Port)))
			}
		}
	}
	return errs
}

func validatePortNumber(path *field.Path, port int32) field.ErrorList {
	if port < 1 || port > 65535 {
		return field.ErrorList{field.Invalid(path, port, "must be between 1 and 65535")}
	}
	return nil
}

func validateProtocol(path *field.Path, proto string) field.ErrorList {
	switch proto {
	case "TCP", "UDP", "SCTP":
		return nil
	}
	return field.ErrorList{field.NotSupported(path, proto, []string{"TCP", "UDP", "SCTP"})}
}

func validatePortName(path *field.Path, name string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

func validateNamespaceName(path *field.Path, name string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return validateDNSLabel(path, name)
}

func validateDNSLabel(path *field.Path, name string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

func validateLabelKey(path *field.Path, key string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(key) {
		errs = append(errs, field.Invalid(path, key, msg))
	}
	return errs
}

func validateLabels(path *field.Path, labels map[string]string) field.ErrorList {
	var errs field.ErrorList
	for k, v := range labels {
		errs = append(errs, validateLabelKey(path.Key(k), k)...)
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(path.Key(k), v, msg))
		}
	}
	return errs
}
