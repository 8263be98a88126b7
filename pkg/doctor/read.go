package doctor

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/netbaseline/kubectl-netbaseline/pkg/cluster"
)

var policyEndpointResource = schema.GroupVersionResource{Group: "networking.k8s.aws", Version: "v1alpha1", Resource: "policyendpoints"}

var (
	kyvernoResource = schema.GroupVersionResource{Group: "kyverno.io", Version: "v1", Resource: "clusterpolicies"}
	argoResource    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	secretResource  = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// ReadSnapshot lists what the checks need, once each. Forbidden lists are
// recorded in Unreadable; other errors (an unreachable cluster) are
// returned.
func ReadSnapshot(ctx context.Context, c cluster.Clients, argoNamespace string) (*Snapshot, error) {
	s := &Snapshot{Unreadable: map[string]string{}}
	all := metav1.ListOptions{}
	steps := []struct {
		resource string
		list     func() error
	}{
		{"daemonsets", func() error {
			l, err := c.Kube.AppsV1().DaemonSets("").List(ctx, all)
			if err == nil {
				s.DaemonSets = l.Items
			}
			return err
		}},
		{"deployments", func() error {
			l, err := c.Kube.AppsV1().Deployments("").List(ctx, all)
			if err == nil {
				s.Deployments = l.Items
			}
			return err
		}},
		{"pods", func() error {
			l, err := c.Kube.CoreV1().Pods("").List(ctx, all)
			if err == nil {
				s.Pods = l.Items
			}
			return err
		}},
		{"configmaps", func() error {
			l, err := c.Kube.CoreV1().ConfigMaps("kube-system").List(ctx, all)
			if err == nil {
				s.ConfigMaps = l.Items
			}
			return err
		}},
		{"nodes", func() error {
			l, err := c.Kube.CoreV1().Nodes().List(ctx, all)
			if err == nil {
				s.Nodes = l.Items
			}
			return err
		}},
		{"namespaces", func() error {
			l, err := c.Kube.CoreV1().Namespaces().List(ctx, all)
			if err == nil {
				s.Namespaces = l.Items
			}
			return err
		}},
		{"services", func() error {
			l, err := c.Kube.CoreV1().Services("").List(ctx, all)
			if err == nil {
				s.Services = l.Items
			}
			return err
		}},
		{"endpointslices", func() error {
			l, err := c.Kube.DiscoveryV1().EndpointSlices("").List(ctx, all)
			if err == nil {
				s.EndpointSlices = l.Items
			}
			return err
		}},
		{"networkpolicies", func() error {
			l, err := c.Kube.NetworkingV1().NetworkPolicies("").List(ctx, all)
			if err == nil {
				s.Policies = l.Items
			}
			return err
		}},
	}
	if c.Dynamic != nil {
		steps = append(steps, struct {
			resource string
			list     func() error
		}{"customresourcedefinitions", func() error {
			l, err := c.Dynamic.Resource(crdResource).List(ctx, all)
			if err == nil {
				for _, item := range l.Items {
					s.CRDs = append(s.CRDs, item.GetName())
				}
			}
			return err
		}})
	}
	if c.Dynamic != nil {
		steps = append(steps, struct {
			resource string
			list     func() error
		}{"policyendpoints", func() error {
			l, err := c.Dynamic.Resource(policyEndpointResource).List(ctx, all)
			if apierrors.IsNotFound(err) {
				return nil // no AWS agent: nothing to count
			}
			if err == nil {
				s.PolicyEndpoints = map[string]int{}
				for _, item := range l.Items {
					s.PolicyEndpoints[item.GetNamespace()]++
				}
			}
			return err
		}})
	}
	if c.Dynamic != nil {
		steps = append(steps, struct {
			resource string
			list     func() error
		}{"clusterpolicies", func() error {
			l, err := c.Dynamic.Resource(kyvernoResource).List(ctx, all)
			if apierrors.IsNotFound(err) {
				return nil // Kyverno is not installed
			}
			if err == nil {
				s.KyvernoPolicies = append([]unstructured.Unstructured{}, l.Items...)
			}
			return err
		}}, struct {
			resource string
			list     func() error
		}{"applications", func() error {
			l, err := c.Dynamic.Resource(argoResource).Namespace(argoNamespace).List(ctx, all)
			if apierrors.IsNotFound(err) {
				return nil // Argo CD is not installed
			}
			if err == nil {
				s.ArgoApplications = append([]unstructured.Unstructured{}, l.Items...)
			}
			return err
		}})
	}
	if c.Metadata != nil {
		steps = append(steps, struct {
			resource string
			list     func() error
		}{"secrets", func() error {
			l, err := c.Metadata.Resource(secretResource).Namespace(argoNamespace).List(ctx, all)
			if err == nil {
				s.SecretNames = map[string][]string{}
				for _, item := range l.Items {
					s.SecretNames[item.Namespace] = append(s.SecretNames[item.Namespace], item.Name)
				}
			}
			return err
		}})
	}
	for _, step := range steps {
		if err := step.list(); err != nil {
			if apierrors.IsForbidden(err) {
				s.Unreadable[step.resource] = "RBAC does not allow list " + step.resource
				continue
			}
			return nil, &cluster.APIError{Verb: "list", Resource: step.resource, Err: err}
		}
	}
	return s, nil
}
