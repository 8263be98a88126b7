package doctor

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// Engine is a NetworkPolicy implementation found in the cluster.
type Engine struct {
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Ready and Desired count its node agents.
	Ready   int32 `json:"ready"`
	Desired int32 `json:"desired"`
	// DenyModeSource is where DenyMode comes from when it is not the
	// engine's known behaviour: the DaemonSet's annotation.
	DenyModeSource string `json:"denyModeSource,omitempty"`
	// DenyMode is how it ends denied packets: drop or reject (probe
	// needs it to read refusals).
	DenyMode string `json:"denyMode"`
	Note     string `json:"note,omitempty"`
}

// engineAgents are the DaemonSets that enforce NetworkPolicy, by name.
var engineAgents = []struct {
	daemonSet, name, denyMode string
}{
	{"calico-node", "Calico", "drop"},
	{"cilium", "Cilium", "drop"},
	{"kube-router", "kube-router", "reject"},
	{"antrea-agent", "Antrea", "drop"},
	{"weave-net", "Weave Net", "drop"},
	{"kube-network-policies", "kube-network-policies", "drop"},
}

// denyModeOverride reads the operator's statement of how denied packets
// end on this cluster, where the network changes what the engine does
// (an ICMP rejection dropped on the way, as on the local test cluster).
func denyModeOverride(annotations map[string]string) (string, bool) {
	switch v := annotations[ownership.DenyModeAnnotation]; v {
	case "drop", "reject":
		return v, true
	}
	return "", false
}

// CheckEngines finds the enforcing engines (ENGINE-*).
func CheckEngines(s *Snapshot) ([]Engine, []Finding) {
	if why, ok := s.UnreadableOf("daemonsets"); ok {
		return nil, []Finding{couldNotCheck("ENGINE-001", "NetworkPolicy engine", why)}
	}
	var engines []Engine
	var findings []Finding
	for _, ds := range s.DaemonSets {
		for _, a := range engineAgents {
			if ds.Name != a.daemonSet {
				continue
			}
			e := Engine{Name: a.name, Namespace: ds.Namespace, Version: imageVersion(ds.Spec.Template.Spec.Containers, ds.Name), DenyMode: a.denyMode,
				Ready: ds.Status.NumberReady, Desired: ds.Status.DesiredNumberScheduled}
			if mode, ok := denyModeOverride(ds.Annotations); ok {
				e.DenyMode, e.DenyModeSource = mode, ownership.DenyModeAnnotation
			}
			if a.daemonSet == "kube-router" && hasArg(ds.Spec.Template.Spec.Containers, "--run-firewall=false") {
				continue // kube-router without its firewall enforces nothing
			}
			if a.daemonSet == "cilium" {
				e.Note = ciliumNote(s)
			}
			engines = append(engines, e)
		}
		if ds.Name == "aws-node" && ds.Namespace == "kube-system" {
			e, f := awsNode(s, ds)
			if e != nil {
				engines = append(engines, *e)
			}
			findings = append(findings, f...)
		}
	}
	if autoMode(s) {
		engines = append(engines, Engine{Name: "AWS VPC CNI network policy agent (EKS Auto Mode)", DenyMode: "drop",
			Note: "managed by EKS Auto Mode: the node agent is not visible as a DaemonSet"})
	}
	if deployment(s, "tigera-operator") != nil && !hasEngine(engines, "Calico") {
		findings = append(findings, Finding{ID: "ENGINE-002", Severity: Warn, Subject: "Calico",
			Message: "the tigera-operator is installed but no calico-node DaemonSet was found", Fix: "kubectl get installation default -o yaml; kubectl get pods -n calico-system"})
	}
	for _, e := range engines {
		f := Finding{ID: "ENGINE-001", Severity: Pass, Subject: e.Name,
			Message: fmt.Sprintf("%s%s enforces NetworkPolicy; denied packets are %s", e.Name, versionSuffix(e.Version), map[string]string{"drop": "dropped (time out)", "reject": "rejected (refused)"}[e.DenyMode])}
		if e.DenyModeSource != "" {
			f.Message += " (as its DaemonSet's " + e.DenyModeSource + " annotation says)"
		}
		if e.Desired > 0 {
			f.Message += fmt.Sprintf("; %d/%d agents ready", e.Ready, e.Desired)
			if e.Ready < e.Desired {
				f.Severity = Warn
				f.Fix = fmt.Sprintf("kubectl -n %s get pods -o wide: nodes without a ready agent do not enforce policies", e.Namespace)
			}
		}
		if e.Note != "" {
			f.Message += " (" + e.Note + ")"
		}
		findings = append(findings, f)
	}
	if len(engines) == 0 && !hasSeverity(findings, Fail) {
		findings = append(findings, Finding{ID: "ENGINE-001", Severity: Fail, Subject: "NetworkPolicy engine",
			Message: "no NetworkPolicy engine found: NetworkPolicies would be stored but not enforced",
			Fix:     "install one: on EKS enable the VPC CNI network policy agent (enableNetworkPolicy: \"true\" in the vpc-cni add-on configuration), or install Calico (tigera-operator) or Cilium; elsewhere Calico, Cilium, Antrea or kube-router"})
	}
	return engines, findings
}

// awsNode: the VPC CNI alone does not enforce; its aws-eks-nodeagent
// container does when started with --enable-network-policy=true.
func awsNode(s *Snapshot, ds appsv1.DaemonSet) (*Engine, []Finding) {
	var agent *corev1.Container
	for i := range ds.Spec.Template.Spec.Containers {
		if ds.Spec.Template.Spec.Containers[i].Name == "aws-eks-nodeagent" {
			agent = &ds.Spec.Template.Spec.Containers[i]
		}
	}
	if agent == nil || !model.AWSAgentEnforces(ds.Spec.Template.Spec.Containers) {
		return nil, []Finding{{ID: "ENGINE-003", Severity: Fail, Subject: "AWS VPC CNI",
			Message: "the AWS VPC CNI (aws-node) runs without its network policy agent: the VPC CNI alone does not enforce NetworkPolicy",
			Fix:     "enable it: aws eks update-addon --addon-name vpc-cni --configuration-values '{\"enableNetworkPolicy\": \"true\"}' (VPC CNI 1.14+), or install Calico or Cilium"}}
	}
	e := &Engine{Name: awsAgent, Namespace: ds.Namespace, Version: imageTag(agent.Image), DenyMode: "drop",
		Ready: ds.Status.NumberReady, Desired: ds.Status.DesiredNumberScheduled}
	var findings []Finding
	switch mode, why := model.AWSModeOf(ds.Spec.Template.Spec.Containers); mode {
	case model.AWSModeStrict:
		e.Note = "strict mode: a pod no NetworkPolicy selects is denied both ways unless a ClusterNetworkPolicy accepts; explain decides with it"
	case model.AWSModeStandard:
		e.Note = "standard mode: a new pod is not enforced until its PolicyEndpoint lands"
	default:
		e.Note = why + "; explain leaves what strict mode would decide unspecified"
	}
	if !contains(s.CRDs, "policyendpoints.networking.k8s.aws") {
		findings = append(findings, Finding{ID: "ENGINE-004", Severity: Warn, Subject: "AWS VPC CNI",
			Message: "the PolicyEndpoint CRD (policyendpoints.networking.k8s.aws) is missing: the network policy controller cannot hand policies to the agents",
			Fix:     "the controller runs on the EKS control plane: check the vpc-cni add-on version and the amazon-vpc-cni ConfigMap's enable-network-policy-controller"})
	}
	return e, findings
}

// autoMode: EKS Auto Mode has no aws-node DaemonSet; the amazon-vpc-cni
// ConfigMap says whether the network policy controller is on.
func autoMode(s *Snapshot) bool {
	for _, ds := range s.DaemonSets {
		if ds.Name == "aws-node" {
			return false
		}
	}
	return strings.EqualFold(vpcCNIConfig(s, "enable-network-policy-controller"), "true")
}

func vpcCNIConfig(s *Snapshot, key string) string {
	for _, cm := range s.ConfigMaps {
		if cm.Namespace == "kube-system" && cm.Name == "amazon-vpc-cni" {
			return cm.Data[key]
		}
	}
	return ""
}

// checkNodes finds nodes where NetworkPolicy is not enforced (NODE-001).
func checkNodes(s *Snapshot) []Finding {
	if why, ok := s.UnreadableOf("nodes"); ok {
		return []Finding{couldNotCheck("NODE-001", "nodes", why)}
	}
	var out []Finding
	for _, n := range s.Nodes {
		reason := ""
		switch {
		case n.Labels["eks.amazonaws.com/compute-type"] == "fargate":
			reason = "a Fargate node: NetworkPolicy is not enforced on Fargate pods"
		case n.Labels["eks.amazonaws.com/compute-type"] == "hybrid":
			reason = "an EKS hybrid node: the VPC CNI network policy agent does not run there"
		case n.Labels["kubernetes.io/os"] == "windows":
			reason = "a Windows node: most engines (and the AWS agent's Linux eBPF programs) do not enforce there"
		}
		if reason != "" {
			out = append(out, Finding{ID: "NODE-001", Severity: Warn, Subject: n.Name, Message: n.Name + " is " + reason,
				Fix: "keep the baseline's workloads off these nodes (nodeSelector/affinity), or enforce by other means"})
		}
	}
	return out
}

func imageVersion(cs []corev1.Container, preferred string) string {
	for _, c := range cs {
		if c.Name == preferred || strings.Contains(c.Image, preferred) {
			return imageTag(c.Image)
		}
	}
	if len(cs) > 0 {
		return imageTag(cs[0].Image)
	}
	return ""
}

func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return ""
}

func hasArg(cs []corev1.Container, arg string) bool {
	for _, c := range cs {
		for _, a := range append(append([]string{}, c.Command...), c.Args...) {
			if a == arg {
				return true
			}
		}
	}
	return false
}

func deployment(s *Snapshot, name string) *appsv1.Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Name == name {
			return &s.Deployments[i]
		}
	}
	return nil
}

func hasEngine(es []Engine, name string) bool {
	for _, e := range es {
		if e.Name == name {
			return true
		}
	}
	return false
}

func hasSeverity(fs []Finding, s Severity) bool {
	for _, f := range fs {
		if f.Severity == s {
			return true
		}
	}
	return false
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return " " + v
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// DenyMode is --deny-mode (flag), or for "auto" the one the detected
// engines imply (probe.ChooseDenyMode).
func DenyMode(flag string, engines []Engine) probe.DenyMode {
	modes := make([]string, 0, len(engines))
	for _, e := range engines {
		modes = append(modes, e.DenyMode)
	}
	return probe.ChooseDenyMode(flag, modes)
}

// ciliumNote says how Cilium enforces: its policy enforcement mode
// (cilium-config's enable-policy: default, always or never) and the
// Cilium policies it holds, as the engine read them.
func ciliumNote(s *Snapshot) string {
	if s.Model == nil || s.Model.Cilium == nil {
		return ""
	}
	info := s.Model.Cilium
	mode := "enforcement mode unknown (cilium-config unreadable)"
	if !info.ConfigUnknown {
		m := info.Config[model.CiliumEnablePolicy]
		if m == "" {
			m = "default"
		}
		mode = "enable-policy=" + m
		if m == "never" {
			mode += ": nothing is enforced"
		}
	}
	var namespaced, clusterwide int
	for _, p := range s.Model.CiliumPolicies {
		if p.Clusterwide() {
			clusterwide++
		} else {
			namespaced++
		}
	}
	return fmt.Sprintf("%s; %d CiliumNetworkPolicies, %d CiliumClusterwideNetworkPolicies", mode, namespaced, clusterwide)
}
