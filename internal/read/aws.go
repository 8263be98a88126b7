package read

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// The EKS network policy agent's own ClusterNetworkPolicy, in the one
// version its controller serves.
var awsClusterPolicies = schema.GroupVersionResource{Group: model.AWSPolicyGroup, Version: "v1alpha1", Resource: "clusternetworkpolicies"}

// awsModeVariable is the aws-node container's setting the agent takes its
// enforcing mode from (through ipamd); unset means standard.
const awsModeVariable = "NETWORK_POLICY_ENFORCING_MODE"

// decodeAWSClusterPolicy converts one networking.k8s.aws ClusterNetworkPolicy.
func decodeAWSClusterPolicy(obj map[string]any) (*model.ClusterPolicy, error) {
	var cnp model.AWSClusterNetworkPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &cnp); err != nil {
		return nil, fmt.Errorf("%s: %w", model.KindAWSClusterNetworkPolicy, err)
	}
	return model.FromAWSClusterNetworkPolicy(&cnp), nil
}

// isAWSClusterPolicy reports whether a document is the agent's kind in
// the version this plugin reads.
func isAWSClusterPolicy(apiVersion, kind string) bool {
	return kind == model.KindClusterNetworkPolicy && apiVersion == awsClusterPolicies.GroupVersion().String()
}

// awsPolicies reads the agent's ClusterNetworkPolicies (when served) and
// its enforcing mode. groupServed: the networking.k8s.aws group exists,
// so the agent's controller runs and the mode matters.
func (l *liveLoader) awsPolicies(groupServed, policiesServed bool) {
	if !groupServed {
		return
	}
	l.m.AWSPolicyMode = l.awsMode()
	if !policiesServed {
		return
	}
	list, err := l.c.Dynamic.Resource(awsClusterPolicies).List(l.ctx, metav1.ListOptions{})
	if err != nil {
		l.m.MarkUnreadable(model.AWSClusterPolicyResource, "")
		l.m.Warnings = append(l.m.Warnings, describeListError(err, model.AWSClusterPolicyResource)+": they can decide any flow, so verdicts are unspecified")
		return
	}
	for i := range list.Items {
		cp, err := decodeAWSClusterPolicy(list.Items[i].Object)
		if err != nil {
			l.m.MarkUnreadable(model.AWSClusterPolicyResource, "")
			l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not read %s %s: %v; verdicts are unspecified", model.KindAWSClusterNetworkPolicy, list.Items[i].GetName(), err))
			continue
		}
		if cp.Unresolvable != "" {
			l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("%s: %s; verdicts it could decide are unspecified", cp.Ref(), cp.Unresolvable))
		}
		l.m.ClusterPolicies = append(l.m.ClusterPolicies, cp)
	}
}

// awsMode reads the agent's enforcing mode from the aws-node DaemonSet.
// What cannot be read is AWSModeUnknown, never a guess of "standard".
func (l *liveLoader) awsMode() string {
	ds, err := l.c.Kube.AppsV1().DaemonSets("kube-system").Get(l.ctx, "aws-node", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		l.m.Warnings = append(l.m.Warnings, "the EKS network policy agent's mode is unknown: there is no aws-node DaemonSet (EKS Auto Mode sets the default per NodeClass, spec.networkPolicy); what it decides for pods no NetworkPolicy selects is unspecified")
		return model.AWSModeUnknown
	case apierrors.IsForbidden(err):
		l.m.Warnings = append(l.m.Warnings, model.RBACRefusal("get", "daemonsets", "kube-system")+": the EKS network policy agent's mode (aws-node's "+awsModeVariable+") is unknown; what strict mode would decide is unspecified")
		return model.AWSModeUnknown
	case err != nil:
		l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not read the aws-node DaemonSet: %v; the EKS network policy agent's mode is unknown", err))
		return model.AWSModeUnknown
	}
	mode, why := AWSModeOf(ds.Spec.Template.Spec.Containers)
	if why != "" {
		l.m.Warnings = append(l.m.Warnings, why)
	}
	return mode
}

// AWSModeOf reads the enforcing mode from aws-node's containers, and says
// why when it cannot.
func AWSModeOf(containers []corev1.Container) (mode, why string) {
	for _, c := range containers {
		if c.Name != "aws-node" {
			continue
		}
		for _, env := range c.Env {
			if env.Name != awsModeVariable {
				continue
			}
			switch {
			case env.ValueFrom != nil:
				return model.AWSModeUnknown, "aws-node takes " + awsModeVariable + " from another object; the EKS network policy agent's mode is unknown"
			case strings.EqualFold(env.Value, model.AWSModeStrict):
				return model.AWSModeStrict, ""
			case env.Value == "" || strings.EqualFold(env.Value, model.AWSModeStandard):
				return model.AWSModeStandard, ""
			}
			return model.AWSModeUnknown, fmt.Sprintf("aws-node's %s is %q, neither standard nor strict; the EKS network policy agent's mode is unknown", awsModeVariable, env.Value)
		}
		return model.AWSModeStandard, ""
	}
	return model.AWSModeUnknown, "the aws-node DaemonSet has no aws-node container; the EKS network policy agent's mode is unknown"
}
