package baseline

import (
	"bytes"
	"fmt"
	"net/netip"
	"path"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// Tree generates the kustomize tree for a Config: base/ (deny-all,
// allow-dns), components/ (the namespace-independent optional pieces) and
// overlays/<namespace>/ (the namespace's own policies plus references to
// base and components). For config.Default() it equals the embedded
// kustomize/ directory byte for byte (a test keeps them in step).
func Tree(cfg *config.Config) (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(name string, v any) error {
		b, err := marshalYAML(v)
		if err != nil {
			return fmt.Errorf("marshal %s: %w", name, err)
		}
		files[name] = b
		return nil
	}
	addPolicy := func(dir string, np *networkingv1.NetworkPolicy) error {
		return add(path.Join(dir, np.Name+".yaml"), np)
	}

	if err := addPolicy("base", denyAll()); err != nil {
		return nil, err
	}
	if err := addPolicy("base", allowDNS(cfg)); err != nil {
		return nil, err
	}
	if err := add("base/kustomization.yaml", kustomization{
		APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization",
		Resources: []string{DenyAll + ".yaml", AllowDNS + ".yaml"},
	}); err != nil {
		return nil, err
	}

	for _, np := range globalComponents(cfg) {
		dir := path.Join("components", np.Name)
		if err := addPolicy(dir, np); err != nil {
			return nil, err
		}
		if err := add(path.Join(dir, "kustomization.yaml"), kustomization{
			APIVersion: "kustomize.config.k8s.io/v1alpha1", Kind: "Component",
			Resources: []string{np.Name + ".yaml"},
		}); err != nil {
			return nil, err
		}
	}

	for i := range cfg.Namespaces {
		ns := &cfg.Namespaces[i]
		dir := path.Join("overlays", ns.Name)
		k := kustomization{
			APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization",
			Namespace: ns.Name,
			Labels:    []kustomizeLabels{{Pairs: map[string]string{ownership.ManagedByLabel: ownership.ManagedByValue}, IncludeSelectors: false}},
			Resources: []string{"../../base"},
		}
		for _, np := range namespacePolicies(cfg, ns) {
			if err := addPolicy(dir, np); err != nil {
				return nil, err
			}
			k.Resources = append(k.Resources, np.Name+".yaml")
		}
		for _, component := range namespaceComponents(cfg, ns) {
			k.Components = append(k.Components, "../../components/"+component)
		}
		if err := add(path.Join(dir, "kustomization.yaml"), k); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// kustomization is the subset of kustomize's Kustomization the trees use,
// written in this field order (yaml.v3 keeps it) for people to read.
type kustomization struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Namespace  string            `yaml:"namespace,omitempty"`
	Labels     []kustomizeLabels `yaml:"labels,omitempty"`
	Resources  []string          `yaml:"resources,omitempty"`
	Components []string          `yaml:"components,omitempty"`
}

// kustomizeLabels adds labels to metadata only. includeSelectors must stay
// false: with true (or commonLabels) kustomize also writes the label into
// podSelectors and silently narrows every policy.
type kustomizeLabels struct {
	Pairs            map[string]string `yaml:"pairs"`
	IncludeSelectors bool              `yaml:"includeSelectors"`
}

// marshalYAML writes Kubernetes objects with sigs.k8s.io/yaml (JSON field
// names) and kustomizations with yaml.v3 (declared field order).
func marshalYAML(v any) ([]byte, error) {
	k, ok := v.(kustomization)
	if !ok {
		return yaml.Marshal(v)
	}
	var buf bytes.Buffer
	enc := yamlv3.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(k); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func globalComponents(cfg *config.Config) []*networkingv1.NetworkPolicy {
	nps := []*networkingv1.NetworkPolicy{allowFromMonitoring(cfg)}
	if len(cfg.APIServer.To) > 0 {
		nps = append(nps, egressToCIDRs(AllowEgressAPIServer, nil, cfg.APIServer.To))
	}
	if len(cfg.CloudIdentity.To) > 0 {
		nps = append(nps, egressToCIDRs(AllowEgressCloudIdentity, nil, cfg.CloudIdentity.To))
	}
	return nps
}

func namespaceComponents(cfg *config.Config, ns *config.Namespace) []string {
	var names []string
	if ns.MonitoringEnabled() {
		names = append(names, AllowFromMonitoring)
	}
	if ns.APIServer && len(cfg.APIServer.To) > 0 {
		names = append(names, AllowEgressAPIServer)
	}
	if ns.CloudIdentity && len(cfg.CloudIdentity.To) > 0 {
		names = append(names, AllowEgressCloudIdentity)
	}
	return names
}

// namespacePolicies are the policies that depend on the namespace's apps:
// both ends of every relation that touches it, ingress from the ingress
// controller, and external egress.
func namespacePolicies(cfg *config.Config, ns *config.Namespace) []*networkingv1.NetworkPolicy {
	var relations []*namedPolicy
	// Egress side: relations from this namespace's apps.
	for i := range ns.Apps {
		src := &ns.Apps[i]
		for _, rel := range src.TalksTo {
			dst := cfg.FindNamespace(rel.Namespace).FindApp(rel.App)
			relations = append(relations, &namedPolicy{
				short: "allow-to-" + dst.Name,
				long:  "allow-to-" + rel.Namespace + "-" + dst.Name + "-from-" + src.Name,
				np:    allowTo(cfg, ns.Name, src, rel, dst),
			})
		}
	}
	// Ingress side: relations into this namespace's apps, in Config order.
	for i := range cfg.Namespaces {
		srcNS := &cfg.Namespaces[i]
		for j := range srcNS.Apps {
			src := &srcNS.Apps[j]
			for _, rel := range src.TalksTo {
				if rel.Namespace != ns.Name {
					continue
				}
				dst := ns.FindApp(rel.App)
				relations = append(relations, &namedPolicy{
					short: "allow-from-" + src.Name,
					long:  "allow-from-" + srcNS.Name + "-" + src.Name + "-to-" + dst.Name,
					np:    allowFrom(cfg, srcNS.Name, src, ns.Name, rel, dst),
				})
			}
		}
	}
	nameUniquely(relations)

	var exposed []*config.App
	for i := range ns.Apps {
		if ns.Apps[i].Ingress {
			exposed = append(exposed, &ns.Apps[i])
		}
	}
	nps := make([]*networkingv1.NetworkPolicy, 0, len(relations)+len(exposed)+1)
	for _, r := range relations {
		nps = append(nps, r.np)
	}
	for _, app := range exposed {
		name := AllowFromIngress
		if len(exposed) > 1 {
			name += "-" + app.Name
		}
		nps = append(nps, allowFromIngress(cfg, name, app))
	}
	if ee := ns.EgressExternal; ee != nil {
		var podLabels map[string]string
		if ee.App != "" {
			podLabels = ns.FindApp(ee.App).Labels
		}
		nps = append(nps, egressToCIDRs(AllowEgressExternal, podLabels, ee.To))
	}
	return nps
}

type namedPolicy struct {
	short, long string
	np          *networkingv1.NetworkPolicy
}

// nameUniquely gives each policy its short name unless another policy of
// the namespace wants the same one; those get their qualified names.
func nameUniquely(ps []*namedPolicy) {
	count := map[string]int{}
	for _, p := range ps {
		count[p.short]++
	}
	for _, p := range ps {
		p.np.Name = p.short
		if count[p.short] > 1 {
			p.np.Name = p.long
		}
	}
}

func newPolicy(name string, phase int, podLabels map[string]string, types ...networkingv1.PolicyType) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{ownership.PhaseAnnotation: FormatPhase(phase)},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: copyLabels(podLabels)},
			PolicyTypes: types,
		},
	}
}

func denyAll() *networkingv1.NetworkPolicy {
	return newPolicy(DenyAll, PhaseDenyAll, nil, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)
}

func allowDNS(cfg *config.Config) *networkingv1.NetworkPolicy {
	np := newPolicy(AllowDNS, PhaseDNS, nil, networkingv1.PolicyTypeEgress)
	// Both protocols: large answers and some resolvers fall back to TCP.
	ports := []networkingv1.NetworkPolicyPort{portNumber("UDP", 53, 0), portNumber("TCP", 53, 0)}
	np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{
		To:    []networkingv1.NetworkPolicyPeer{namespacePeer(cfg, cfg.DNS.Namespace, cfg.DNS.PodLabels)},
		Ports: ports,
	}}
	if addr := cfg.DNS.NodeLocalAddress; addr != "" {
		np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{
			To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: hostPrefix(addr)}}},
			Ports: ports,
		})
	}
	return np
}

func allowTo(cfg *config.Config, srcNS string, src *config.App, rel config.Relation, dst *config.App) *networkingv1.NetworkPolicy {
	np := newPolicy("", PhaseRelations, src.Labels, networkingv1.PolicyTypeEgress)
	peer := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: copyLabels(dst.Labels)}}
	if rel.Namespace != srcNS {
		peer = namespacePeer(cfg, rel.Namespace, dst.Labels)
	}
	np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{
		To:    []networkingv1.NetworkPolicyPeer{peer},
		Ports: relationPorts(rel, dst),
	}}
	return np
}

func allowFrom(cfg *config.Config, srcNS string, src *config.App, dstNS string, rel config.Relation, dst *config.App) *networkingv1.NetworkPolicy {
	np := newPolicy("", PhaseRelations, dst.Labels, networkingv1.PolicyTypeIngress)
	var peer networkingv1.NetworkPolicyPeer
	switch {
	case srcNS == dstNS:
		// Within one namespace a namespace-wide peer would admit every
		// pod here; the source app's labels are the least privilege.
		peer.PodSelector = &metav1.LabelSelector{MatchLabels: copyLabels(src.Labels)}
	case rel.MatchSourcePods:
		peer = namespacePeer(cfg, srcNS, src.Labels)
	default:
		peer = namespacePeer(cfg, srcNS, nil)
	}
	np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
		From:  []networkingv1.NetworkPolicyPeer{peer},
		Ports: relationPorts(rel, dst),
	}}
	return np
}

func allowFromIngress(cfg *config.Config, name string, app *config.App) *networkingv1.NetworkPolicy {
	np := newPolicy(name, PhaseIngress, app.Labels, networkingv1.PolicyTypeIngress)
	// Namespace and pod selector in ONE peer: the controller's pods in the
	// controller's namespace, not any pod there nor any such pod anywhere.
	peers := []networkingv1.NetworkPolicyPeer{namespacePeer(cfg, cfg.IngressController.Namespace, cfg.IngressController.PodLabels)}
	for _, cidr := range cfg.IngressController.SourceCIDRs {
		peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
	}
	ports := make([]networkingv1.NetworkPolicyPort, 0, len(app.Ports))
	for _, p := range app.Ports {
		ports = append(ports, portNumber(p.Protocol, p.Port, 0))
	}
	np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: peers, Ports: ports}}
	return np
}

func allowFromMonitoring(cfg *config.Config) *networkingv1.NetworkPolicy {
	np := newPolicy(AllowFromMonitoring, PhaseMonitoring, nil, networkingv1.PolicyTypeIngress)
	metrics := intstr.FromString(cfg.Monitoring.PortName)
	tcp := corev1.ProtocolTCP
	np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
		From: []networkingv1.NetworkPolicyPeer{namespacePeer(cfg, cfg.Monitoring.Namespace, cfg.Monitoring.PodLabels)},
		// A named port matches only pods that declare it, so the policy
		// can select every pod and still open nothing else.
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &metrics}},
	}}
	return np
}

func egressToCIDRs(name string, podLabels map[string]string, rules []config.CIDRRule) *networkingv1.NetworkPolicy {
	np := newPolicy(name, PhaseEgress, podLabels, networkingv1.PolicyTypeEgress)
	for _, r := range rules {
		np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{
			To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: r.CIDR, Except: append([]string(nil), r.Except...)}}},
			Ports: configPorts(r.Ports),
		})
	}
	return np
}

// namespacePeer selects pods with podLabels (all pods when nil) in the
// named namespace, both selectors in one peer.
func namespacePeer(cfg *config.Config, namespace string, podLabels map[string]string) networkingv1.NetworkPolicyPeer {
	peer := networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{cfg.NamespaceLabel: namespace}},
	}
	if len(podLabels) > 0 {
		peer.PodSelector = &metav1.LabelSelector{MatchLabels: copyLabels(podLabels)}
	}
	return peer
}

// relationPorts are the relation's ports, else the destination app's pod
// ports (never a Service port).
func relationPorts(rel config.Relation, dst *config.App) []networkingv1.NetworkPolicyPort {
	if len(rel.Ports) > 0 {
		return configPorts(rel.Ports)
	}
	ports := make([]networkingv1.NetworkPolicyPort, 0, len(dst.Ports))
	for _, p := range dst.Ports {
		ports = append(ports, portNumber(p.Protocol, p.Port, 0))
	}
	return ports
}

func configPorts(ports []config.Port) []networkingv1.NetworkPolicyPort {
	out := make([]networkingv1.NetworkPolicyPort, 0, len(ports))
	for _, p := range ports {
		out = append(out, portNumber(p.Protocol, p.Port, p.EndPort))
	}
	return out
}

// portNumber builds a port entry; port 0 means every port of the protocol.
func portNumber(protocol string, port, endPort int32) networkingv1.NetworkPolicyPort {
	proto := corev1.Protocol(strings.ToUpper(protocol))
	np := networkingv1.NetworkPolicyPort{Protocol: &proto}
	if port != 0 {
		p := intstr.FromInt32(port)
		np.Port = &p
	}
	if endPort != 0 {
		e := endPort
		np.EndPort = &e
	}
	return np
}

func hostPrefix(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr // validated earlier; keep what the user wrote
	}
	return netip.PrefixFrom(a, a.BitLen()).String()
}

func copyLabels(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
