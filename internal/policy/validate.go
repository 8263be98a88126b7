package policy

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks a NetworkPolicy as the API server does (the rules of
// networking/v1 validation): what it would refuse is returned with the
// field path, so a policy from a file that could never be applied is an
// error rather than a verdict. A live cluster only holds valid ones.
func Validate(np *networkingv1.NetworkPolicy) field.ErrorList {
	var errs field.ErrorList
	if np.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), ""))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(np.Name) {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), np.Name, msg))
		}
	}
	spec := field.NewPath("spec")
	opts := metav1validation.LabelSelectorValidationOptions{}
	errs = append(errs, metav1validation.ValidateLabelSelector(&np.Spec.PodSelector, opts, spec.Child("podSelector"))...)
	for i, r := range np.Spec.Ingress {
		at := spec.Child("ingress").Index(i)
		errs = append(errs, validatePorts(r.Ports, at.Child("ports"))...)
		errs = append(errs, validatePeers(r.From, at.Child("from"))...)
	}
	for i, r := range np.Spec.Egress {
		at := spec.Child("egress").Index(i)
		errs = append(errs, validatePorts(r.Ports, at.Child("ports"))...)
		errs = append(errs, validatePeers(r.To, at.Child("to"))...)
	}
	seen := map[networkingv1.PolicyType]bool{}
	for i, t := range np.Spec.PolicyTypes {
		at := spec.Child("policyTypes").Index(i)
		switch {
		case t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress:
			errs = append(errs, field.NotSupported(at, t, []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}))
		case seen[t]:
			errs = append(errs, field.Duplicate(at, t))
		}
		seen[t] = true
	}
	return errs
}

func validatePorts(ports []networkingv1.NetworkPolicyPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, p := range ports {
		at := path.Index(i)
		if p.Protocol != nil {
			switch *p.Protocol {
			case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
			default:
				errs = append(errs, field.NotSupported(at.Child("protocol"), *p.Protocol, []string{"TCP", "UDP", "SCTP"}))
			}
		}
		if p.Port == nil {
			if p.EndPort != nil {
				errs = append(errs, field.Required(at.Child("port"), "when endPort is set"))
			}
			continue
		}
		if p.Port.Type == intstr.String {
			for _, msg := range validation.IsValidPortName(p.Port.StrVal) {
				errs = append(errs, field.Invalid(at.Child("port"), p.Port.StrVal, msg))
			}
			if p.EndPort != nil {
				errs = append(errs, field.Invalid(at.Child("endPort"), *p.EndPort, "may not be specified when port is non-numeric"))
			}
			continue
		}
		for _, msg := range validation.IsValidPortNum(int(p.Port.IntVal)) {
			errs = append(errs, field.Invalid(at.Child("port"), p.Port.IntVal, msg))
		}
		if p.EndPort != nil {
			if *p.EndPort < p.Port.IntVal {
				errs = append(errs, field.Invalid(at.Child("endPort"), *p.EndPort, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*p.EndPort)) {
				errs = append(errs, field.Invalid(at.Child("endPort"), *p.EndPort, msg))
			}
		}
	}
	return errs
}

func validatePeers(peers []networkingv1.NetworkPolicyPeer, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	opts := metav1validation.LabelSelectorValidationOptions{}
	for i, p := range peers {
		at := path.Index(i)
		set := 0
		if p.PodSelector != nil {
			set++
			errs = append(errs, metav1validation.ValidateLabelSelector(p.PodSelector, opts, at.Child("podSelector"))...)
		}
		if p.NamespaceSelector != nil {
			set++
			errs = append(errs, metav1validation.ValidateLabelSelector(p.NamespaceSelector, opts, at.Child("namespaceSelector"))...)
		}
		if p.IPBlock != nil {
			if set > 0 {
				errs = append(errs, field.Forbidden(at, "may not specify both ipBlock and another peer"))
			}
			set++
			errs = append(errs, validateIPBlock(p.IPBlock, at.Child("ipBlock"))...)
		}
		if set == 0 {
			errs = append(errs, field.Required(at, "must specify a peer"))
		}
	}
	return errs
}

func validateIPBlock(b *networkingv1.IPBlock, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	cidr, err := netip.ParsePrefix(strings.TrimSpace(b.CIDR))
	if b.CIDR == "" {
		return append(errs, field.Required(path.Child("cidr"), ""))
	}
	if err != nil {
		return append(errs, field.Invalid(path.Child("cidr"), b.CIDR, "must be a valid CIDR, e.g. 10.0.0.0/16"))
	}
	for i, e := range b.Except {
		ex, err := netip.ParsePrefix(strings.TrimSpace(e))
		at := path.Child("except").Index(i)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(at, e, "must be a valid CIDR"))
		case !cidr.Masked().Contains(ex.Addr()) || ex.Bits() <= cidr.Bits():
			errs = append(errs, field.Invalid(at, e, fmt.Sprintf("must be a strict subset of `cidr` (%s)", b.CIDR)))
		}
	}
	return errs
}
