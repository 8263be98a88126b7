// Package inventory is what doctor and report read of the cluster: the
// API objects their checks look at, the read model built from the same
// lists, and what could not be read. The reader fills it; doctor and
// record read it. Pure: no client-go.
package inventory

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

// Snapshot is what doctor and report read of the cluster. Unreadable
// names the resources that could not be listed (RBAC), with the reason:
// checks that need them say "could not check" instead of failing the
// cluster.
type Snapshot struct {
	// Model is the read model built from the same lists of namespaces,
	// pods, services and policies: checks match selectors through the
	// engine on it.
	Model          *model.Model
	DaemonSets     []appsv1.DaemonSet
	Deployments    []appsv1.Deployment
	Pods           []corev1.Pod
	ConfigMaps     []corev1.ConfigMap
	Nodes          []corev1.Node
	Namespaces     []corev1.Namespace
	Services       []corev1.Service
	EndpointSlices []discoveryv1.EndpointSlice
	Policies       []networkingv1.NetworkPolicy
	// CRDs are CustomResourceDefinition names (plural.group).
	CRDs []string
	// KyvernoPolicies and ArgoApplications are nil when the API is absent.
	KyvernoPolicies  []unstructured.Unstructured
	ArgoApplications []unstructured.Unstructured
	// SecretNames lists secret names per namespace (metadata only: secret
	// data is never read).
	SecretNames map[string][]string
	// PolicyEndpoints counts the AWS PolicyEndpoints per namespace (when
	// the CRD exists).
	PolicyEndpoints map[string]int
	Unreadable      map[string]string

	engine *policy.Engine
}

// Engine is the engine over the snapshot's model (built from its lists
// when the reader did not): every selector doctor matches, it matches
// through the engine.
func (s *Snapshot) Engine() *policy.Engine {
	if s.engine == nil {
		if s.Model == nil {
			s.Model = model.FromObjects(s.Namespaces, s.Pods, s.Services, s.Policies)
		}
		s.engine = policy.New(s.Model)
	}
	return s.engine
}

// UnreadableOf is why the first of the resources that could not be
// listed was not, if one was not.
func (s *Snapshot) UnreadableOf(resources ...string) (string, bool) {
	for _, r := range resources {
		if why, ok := s.Unreadable[r]; ok {
			return why, true
		}
	}
	return "", false
}
