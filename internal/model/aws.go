package model

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The EKS network policy agent's own cluster-scoped kind: a
// ClusterNetworkPolicy of networking.k8s.aws/v1alpha1. It mirrors the
// upstream kind's words (tiers Admin and Baseline, priority, subject,
// Accept/Deny/Pass) but the agent decides it its own way (see
// docs/design.md, "The EKS agent's ClusterNetworkPolicy"): the rules of
// one priority are unordered and Deny wins over Accept over Pass.
const (
	AWSPolicyGroup              = "networking.k8s.aws"
	KindAWSClusterNetworkPolicy = "ClusterNetworkPolicy." + AWSPolicyGroup
	// AWSClusterPolicyResource names the resource where an unreadable
	// list is recorded (model.Unreadable).
	AWSClusterPolicyResource = "clusternetworkpolicies." + AWSPolicyGroup
	// FamilyAWS separates the agent's policies from the upstream kinds.
	FamilyAWS = "aws"
)

// The EKS agent's enforcing modes (NETWORK_POLICY_ENFORCING_MODE).
const (
	AWSModeStandard = "standard"
	// AWSModeStrict: a pod no NetworkPolicy selects is denied both ways
	// unless a ClusterNetworkPolicy accepts the traffic.
	AWSModeStrict = "strict"
	// AWSModeUnknown: the agent runs but its mode could not be read.
	AWSModeUnknown = "unknown"
)

// AWSModeVariable is the aws-node container's setting the agent takes its
// enforcing mode from (through ipamd); unset means standard.
const AWSModeVariable = "NETWORK_POLICY_ENFORCING_MODE"

// AWSClusterNetworkPolicy is the networking.k8s.aws/v1alpha1 kind as the
// AWS network policy controller's CRD defines it.
type AWSClusterNetworkPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              AWSClusterNetworkPolicySpec    `json:"spec,omitempty"`
	Status            *AWSClusterNetworkPolicyStatus `json:"status,omitempty"`
}

// AWSClusterNetworkPolicyStatus is the controller's status (conditions).
type AWSClusterNetworkPolicyStatus struct {
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AWSClusterNetworkPolicySpec is the policy's spec.
type AWSClusterNetworkPolicySpec struct {
	Tier     string                   `json:"tier"`
	Priority int32                    `json:"priority"`
	Subject  AWSClusterNetworkSubject `json:"subject"`
	Ingress  []AWSIngressRule         `json:"ingress,omitempty"`
	Egress   []AWSEgressRule          `json:"egress,omitempty"`
}

// AWSClusterNetworkSubject selects the pods: exactly one field is set.
type AWSClusterNetworkSubject struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *AWSNamespacedPod     `json:"pods,omitempty"`
}

// AWSNamespacedPod selects pods of some namespaces.
type AWSNamespacedPod struct {
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`
	PodSelector       metav1.LabelSelector `json:"podSelector"`
}

// AWSIngressRule is one ingress rule.
type AWSIngressRule struct {
	Name   string           `json:"name,omitempty"`
	Action string           `json:"action"`
	From   []AWSIngressPeer `json:"from"`
	Ports  *[]AWSPort       `json:"ports,omitempty"`
}

// AWSEgressRule is one egress rule.
type AWSEgressRule struct {
	Name   string          `json:"name,omitempty"`
	Action string          `json:"action"`
	To     []AWSEgressPeer `json:"to"`
	Ports  *[]AWSPort      `json:"ports,omitempty"`
}

// AWSIngressPeer is a source: exactly one field is set.
type AWSIngressPeer struct {
	Namespaces *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods       *AWSNamespacedPod     `json:"pods,omitempty"`
}

// AWSEgressPeer is a destination: exactly one field is set.
type AWSEgressPeer struct {
	Namespaces  *metav1.LabelSelector `json:"namespaces,omitempty"`
	Pods        *AWSNamespacedPod     `json:"pods,omitempty"`
	Networks    []string              `json:"networks,omitempty"`
	DomainNames []string              `json:"domainNames,omitempty"`
}

// AWSPort is one ports entry; the controller reads every field that is
// set, so one entry may add a number, a range and a name.
type AWSPort struct {
	PortNumber *AWSPortNumber `json:"portNumber,omitempty"`
	PortRange  *AWSPortRange  `json:"portRange,omitempty"`
	NamedPort  *string        `json:"namedPort,omitempty"`
}

// AWSPortNumber is one port; the protocol defaults to TCP.
type AWSPortNumber struct {
	Protocol corev1.Protocol `json:"protocol,omitempty"`
	Port     int32           `json:"port"`
}

// AWSPortRange is Start to End inclusive; the protocol defaults to TCP.
type AWSPortRange struct {
	Protocol corev1.Protocol `json:"protocol,omitempty"`
	Start    int32           `json:"start"`
	End      int32           `json:"end"`
}

// FromAWSClusterNetworkPolicy converts the EKS agent's kind. What the
// controller would do differently from the upstream kind it mirrors is
// kept on the rules (Gate) and the policy (Unresolvable).
func FromAWSClusterNetworkPolicy(cnp *AWSClusterNetworkPolicy) *ClusterPolicy {
	p := &ClusterPolicy{Kind: KindAWSClusterNetworkPolicy, Name: cnp.Name, Priority: cnp.Spec.Priority, Family: FamilyAWS}
	p.placeInTier(cnp.Spec.Tier)
	var pods *NamespacedPods
	if s := cnp.Spec.Subject.Pods; s != nil {
		pods = &NamespacedPods{NamespaceSelector: s.NamespaceSelector, PodSelector: s.PodSelector}
	}
	p.Subject = p.subject(cnp.Spec.Subject.Namespaces, pods)
	for i, r := range cnp.Spec.Ingress {
		at := fmt.Sprintf("ingress[%d]", i)
		peers := make([]ClusterPeer, 0, len(r.From))
		for _, f := range r.From {
			peers = append(peers, egressPeer(f.Namespaces, awsPods(f.Pods), nil, nil, nil))
		}
		rule := p.awsRule(at, r.Name, r.Action, peers, r.Ports)
		rule.Gate = ingressGate(r.From)
		p.Ingress = append(p.Ingress, rule)
	}
	for i, r := range cnp.Spec.Egress {
		at := fmt.Sprintf("egress[%d]", i)
		peers := make([]ClusterPeer, 0, len(r.To))
		for _, t := range r.To {
			peers = append(peers, egressPeer(t.Namespaces, awsPods(t.Pods), nil, t.Networks, t.DomainNames))
		}
		p.Egress = append(p.Egress, p.awsRule(at, r.Name, r.Action, peers, r.Ports))
	}
	return p
}

// ingressGate: the controller resolves an ingress rule in the namespaces
// its first peer's selector matches, and resolves nothing when there are
// none, whatever the other peers select.
func ingressGate(from []AWSIngressPeer) *Gate {
	if len(from) == 0 {
		return &Gate{}
	}
	switch first := from[0]; {
	case first.Namespaces != nil:
		return &Gate{Namespaces: first.Namespaces}
	case first.Pods != nil:
		sel := first.Pods.NamespaceSelector
		return &Gate{Namespaces: &sel}
	}
	return &Gate{}
}

func awsPods(np *AWSNamespacedPod) *NamespacedPods {
	if np == nil {
		return nil
	}
	return &NamespacedPods{NamespaceSelector: np.NamespaceSelector, PodSelector: np.PodSelector}
}

func (p *ClusterPolicy) awsRule(at, name, action string, peers []ClusterPeer, ports *[]AWSPort) ClusterRule {
	if action != "Accept" && action != "Deny" && action != "Pass" {
		// The agent reads any other word as Pass; the API server refuses it.
		p.problem("%s: action %q is not Accept, Deny or Pass (the API server refuses it); the agent reads it as Pass", at, action)
		action = "Pass"
	}
	if action == "Deny" {
		// The controller drops domain names from a Deny rule (the API
		// server refuses them there): such a peer matches nothing.
		for j := range peers {
			if len(peers[j].DomainNames) > 0 {
				peers[j] = ClusterPeer{}
			}
		}
	}
	r := p.rule(at, name, action, peers)
	if ports == nil {
		return r
	}
	for k, port := range *ports {
		if port.PortNumber != nil {
			n := port.PortNumber
			r.Ports = append(r.Ports, ClusterPort{Protocol: defaultProtocol(n.Protocol), Port: n.Port, EndPort: n.Port})
		}
		if port.PortRange != nil {
			g := port.PortRange
			r.Ports = append(r.Ports, ClusterPort{Protocol: defaultProtocol(g.Protocol), Port: g.Start, EndPort: g.End})
		}
		if port.NamedPort != nil {
			// The controller builds the port without a protocol: where it
			// resolves it, it fails on the whole policy; elsewhere the
			// rule resolves into nothing (the engine tells which).
			r.NamedPorts = true
			if p.Unresolvable == "" {
				p.Unresolvable = fmt.Sprintf("%s.ports[%d] names port %q, and the AWS network policy controller cannot resolve a named port of a ClusterNetworkPolicy (it gives it no protocol)", at, k, *port.NamedPort)
			}
		}
	}
	// Entries with no field add nothing; with none at all the controller
	// builds a rule without ports, which matches every port.
	return r
}

// AWSAgentEnforces reports whether aws-node's aws-eks-nodeagent container
// runs with --enable-network-policy=true: without it the VPC CNI enforces
// nothing (another engine, Calico on the runbook's clusters, may).
func AWSAgentEnforces(containers []corev1.Container) bool {
	for _, c := range containers {
		if c.Name != "aws-eks-nodeagent" {
			continue
		}
		for _, a := range append(append([]string{}, c.Command...), c.Args...) {
			if a == "--enable-network-policy=true" {
				return true
			}
		}
	}
	return false
}

// AWSModeOf reads the enforcing mode from aws-node's containers, and says
// why when it cannot.
func AWSModeOf(containers []corev1.Container) (mode, why string) {
	for _, c := range containers {
		if c.Name != "aws-node" {
			continue
		}
		for _, env := range c.Env {
			if env.Name != AWSModeVariable {
				continue
			}
			switch {
			case env.ValueFrom != nil:
				return AWSModeUnknown, "aws-node takes " + AWSModeVariable + " from another object; the EKS network policy agent's mode is unknown"
			case strings.EqualFold(env.Value, AWSModeStrict):
				return AWSModeStrict, ""
			case env.Value == "" || strings.EqualFold(env.Value, AWSModeStandard):
				return AWSModeStandard, ""
			}
			return AWSModeUnknown, fmt.Sprintf("aws-node's %s is %q, neither standard nor strict; the EKS network policy agent's mode is unknown", AWSModeVariable, env.Value)
		}
		return AWSModeStandard, ""
	}
	return AWSModeUnknown, "the aws-node DaemonSet has no aws-node container; the EKS network policy agent's mode is unknown"
}
