package read

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/netbaseline/kubectl-netbaseline/internal/inventory"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

var policyEndpointResource = schema.GroupVersionResource{Group: "networking.k8s.aws", Version: "v1alpha1", Resource: "policyendpoints"}

var (
	kyvernoResource = schema.GroupVersionResource{Group: "kyverno.io", Version: "v1", Resource: "clusterpolicies"}
	argoResource    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	secretResource  = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// readStep lists one resource into the snapshot.
type readStep struct {
	resource string
	list     func() error
}

// engineSteps read what CheckEngines needs: the DaemonSets, the
// Deployments and kube-system's ConfigMaps.
func engineSteps(ctx context.Context, c Clients, s *inventory.Snapshot) []readStep {
	all := metav1.ListOptions{}
	return []readStep{
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
		{"configmaps", func() error {
			l, err := c.Kube.CoreV1().ConfigMaps("kube-system").List(ctx, all)
			if err == nil {
				s.ConfigMaps = l.Items
			}
			return err
		}},
	}
}

// Engines reads only what engine detection needs (probe's deny mode,
// apply --verify's enforcement check).
func Engines(ctx context.Context, c Clients) (*inventory.Snapshot, error) {
	s := &inventory.Snapshot{Unreadable: map[string]string{}}
	return s, runSteps(s, engineSteps(ctx, c, s))
}

// Doctor lists what doctor's checks need, once each; namespaces, pods,
// services and NetworkPolicies come from the same listing as the read
// model (Snapshot.Model). Forbidden lists are recorded in Unreadable;
// other errors (an unreachable cluster) are returned.
//
// Of Secrets it reads one, and only its metadata: Argo CD's repository
// secret, by name (repoSecret; none when empty), so that the role it needs
// is a get on that one name, never a list of every Secret (which RBAC
// cannot limit to metadata).
func Doctor(ctx context.Context, c Clients, argoNamespace, repoSecret string, opts LiveOptions) (*inventory.Snapshot, error) {
	core, err := listCore(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	s := &inventory.Snapshot{Unreadable: map[string]string{}, Model: core.m,
		Namespaces: core.namespaces, Pods: core.pods, Services: core.services, Policies: core.policies}
	for resource := range core.refused {
		s.Unreadable[resource] = model.RBACRefusal("list", resource, "")
	}
	all := metav1.ListOptions{}
	steps := append(engineSteps(ctx, c, s), []readStep{
		{"nodes", func() error {
			l, err := c.Kube.CoreV1().Nodes().List(ctx, all)
			if err == nil {
				s.Nodes = l.Items
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
	}...)
	if c.Dynamic != nil {
		steps = append(steps, readStep{"customresourcedefinitions", func() error {
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
		steps = append(steps, readStep{"policyendpoints", func() error {
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
		steps = append(steps, readStep{"clusterpolicies", func() error {
			l, err := c.Dynamic.Resource(kyvernoResource).List(ctx, all)
			if apierrors.IsNotFound(err) {
				return nil // Kyverno is not installed
			}
			if err == nil {
				s.KyvernoPolicies = append([]unstructured.Unstructured{}, l.Items...)
			}
			return err
		}}, readStep{"applications", func() error {
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
	if err := runSteps(s, steps); err != nil {
		return nil, err
	}
	if c.Metadata != nil && repoSecret != "" {
		if err := readRepoSecret(ctx, c, s, argoNamespace, repoSecret); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readRepoSecret records whether the named secret exists (metadata only).
func readRepoSecret(ctx context.Context, c Clients, s *inventory.Snapshot, namespace, name string) error {
	_, err := c.Metadata.Resource(secretResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		s.SecretNames = map[string][]string{namespace: {name}}
	case apierrors.IsNotFound(err):
		s.SecretNames = map[string][]string{}
	case apierrors.IsForbidden(err):
		s.Unreadable["secrets"] = model.RBACRefusal("get", "secrets", namespace)
	default:
		return &APIError{Verb: "get", Resource: "secrets", Err: err}
	}
	return nil
}

func runSteps(s *inventory.Snapshot, steps []readStep) error {
	for _, step := range steps {
		if err := step.list(); err != nil {
			if apierrors.IsForbidden(err) {
				s.Unreadable[step.resource] = model.RBACRefusal("list", step.resource, "")
				continue
			}
			return &APIError{Verb: "list", Resource: step.resource, Err: err}
		}
	}
	return nil
}
