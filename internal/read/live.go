// Package read is the one reader of the cluster: it lists namespaces,
// pods, services and NetworkPolicies once (falling back to the namespaces
// of the question when cluster-wide lists are refused), loads manifest
// files into the same model, and reads what doctor's checks need. Every
// API failure is an APIError naming the verb and resource.
package read

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Clients are what the live loader talks to; tests pass fakes.
type Clients struct {
	Kube      kubernetes.Interface
	Discovery discovery.DiscoveryInterface
	Dynamic   dynamic.Interface
	// Metadata lists objects without their content (secrets: never
	// their data).
	Metadata metadata.Interface
	// Config is the REST config the clients were made from (pods/exec
	// needs it); nil in tests with fakes.
	Config *rest.Config
}

// LiveOptions scope a live read.
type LiveOptions struct {
	// Namespaces the question involves: when cluster-wide lists are
	// forbidden, these are read one by one.
	Namespaces []string
	// PageSize is the objects per list request: PageSize when 0, every
	// object in one response when negative (benchmarks compare).
	PageSize int64
	// Ingresses lists the Ingresses too, and the Gateway API's Gateways,
	// routes and ReferenceGrants where the API is served (audit's entry
	// points); what cannot be listed is recorded as unreadable
	// ("ingresses", "gateways", "httproutes", …).
	Ingresses bool
}

// otherLayerResources are the API resources of policy layers besides
// NetworkPolicy, by group.
var otherLayerResources = map[string][]string{
	"policy.networking.k8s.io": {"adminnetworkpolicies", "baselineadminnetworkpolicies", "clusternetworkpolicies"},
	"cilium.io":                {"ciliumnetworkpolicies", "ciliumclusterwidenetworkpolicies"},
	model.CalicoCRDGroup:       calicoResources,
	model.CalicoAPIGroup:       calicoResources,
	"networking.k8s.aws":       {"clusternetworkpolicies", "applicationnetworkpolicies"},
}

// LoadLive lists namespaces, pods, services and NetworkPolicies once. A
// forbidden cluster-wide list falls back to the namespaces of the question;
// what stays unreadable is recorded in Warnings (and, for policies, in
// PoliciesPartial/PoliciesRead), never guessed. Other errors (an unreachable
// cluster) are returned.
func LoadLive(ctx context.Context, c Clients, opts LiveOptions) (*model.Model, error) {
	l, err := listCore(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	return l.m, nil
}

// listCore is the one listing of the objects the read model is made of;
// it keeps the API objects too, for doctor.
func listCore(ctx context.Context, c Clients, opts LiveOptions) (*liveLoader, error) {
	m := &model.Model{}
	l := &liveLoader{ctx: ctx, c: c, m: m, opts: opts, refused: map[string]bool{}}

	pageSize := opts.PageSize
	if pageSize == 0 {
		pageSize = PageSize
	}
	namespaces, err := listPages(ctx, pageSize, c.Kube.CoreV1().Namespaces().List, func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items })
	switch {
	case err == nil:
		l.namespaces = namespaces
	case apierrors.IsForbidden(err):
		l.refused["namespaces"] = true
		m.Warnings = append(m.Warnings, model.RBACRefusal("list", "namespaces", "")+": the labels of namespaces not fetched by name are unknown, so verdicts that depend on a namespaceSelector over other labels than kubernetes.io/metadata.name are unspecified")
		for _, name := range opts.Namespaces {
			ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				if !apierrors.IsForbidden(err) && !apierrors.IsNotFound(err) {
					return nil, wrapAPI(err, "get", "namespaces")
				}
				m.EnsureNamespace(name)
				continue
			}
			l.namespaces = append(l.namespaces, *ns)
		}
	default:
		return nil, wrapAPI(err, "list", "namespaces")
	}
	if err := l.each("pods", func(ns string) error {
		items, err := listPages(ctx, pageSize, c.Kube.CoreV1().Pods(ns).List, func(l *corev1.PodList) []corev1.Pod { return l.Items })
		l.pods = append(l.pods, items...)
		return err
	}); err != nil {
		return nil, err
	}
	if err := l.each("services", func(ns string) error {
		items, err := listPages(ctx, pageSize, c.Kube.CoreV1().Services(ns).List, func(l *corev1.ServiceList) []corev1.Service { return l.Items })
		l.services = append(l.services, items...)
		return err
	}); err != nil {
		return nil, err
	}
	if err := l.each("networkpolicies", func(ns string) error {
		items, err := listPages(ctx, pageSize, c.Kube.NetworkingV1().NetworkPolicies(ns).List, func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items })
		l.policies = append(l.policies, items...)
		return err
	}); err != nil {
		return nil, err
	}
	var ingresses []networkingv1.Ingress
	if opts.Ingresses {
		if err := l.each("ingresses", func(ns string) error {
			items, err := listPages(ctx, pageSize, c.Kube.NetworkingV1().Ingresses(ns).List, func(l *networkingv1.IngressList) []networkingv1.Ingress { return l.Items })
			ingresses = append(ingresses, items...)
			return err
		}); err != nil {
			return nil, err
		}
	}
	built := model.FromObjects(l.namespaces, l.pods, l.services, l.policies)
	for i := range ingresses {
		built.Ingresses = append(built.Ingresses, model.IngressFromAPI(&ingresses[i], ingresses[i].Namespace))
	}
	// What the listing learnt (warnings, unreadable namespaces, namespaces
	// known only by name) stays; the objects come from the lists.
	built.Warnings, built.Unreadable, built.PoliciesPartial, built.PoliciesRead = m.Warnings, m.Unreadable, m.PoliciesPartial, m.PoliciesRead
	for _, ns := range m.Namespaces {
		if built.Namespace(ns.Name) == nil {
			built.Namespaces = append(built.Namespaces, ns)
		}
	}
	l.m = built
	if c.Discovery != nil && c.Dynamic != nil {
		l.otherLayers()
	}
	built.Normalize()
	if l.refused["namespaces"] {
		l.markUnknownLabels()
	}
	return l, nil
}

type liveLoader struct {
	ctx  context.Context
	c    Clients
	m    *model.Model
	opts LiveOptions
	// The API objects as listed, and the resources whose cluster-wide
	// list was refused.
	namespaces []corev1.Namespace
	pods       []corev1.Pod
	services   []corev1.Service
	policies   []networkingv1.NetworkPolicy
	refused    map[string]bool
}

// each runs list for all namespaces, or namespace by namespace when the
// cluster-wide list is forbidden.
func (l *liveLoader) each(resource string, list func(ns string) error) error {
	err := list(metav1.NamespaceAll)
	if err == nil {
		return nil
	}
	if !apierrors.IsForbidden(err) {
		return wrapAPI(err, "list", resource)
	}
	l.refused[resource] = true
	var denied []string
	for _, ns := range l.opts.Namespaces {
		if err := list(ns); err != nil {
			if !apierrors.IsForbidden(err) {
				return wrapAPI(err, "list", resource)
			}
			denied = append(denied, ns)
			l.m.MarkUnreadable(resource, ns)
		} else if resource == "networkpolicies" {
			l.m.PoliciesRead = append(l.m.PoliciesRead, ns)
		}
	}
	if resource == "networkpolicies" {
		l.m.PoliciesPartial = true
	}
	if len(l.opts.Namespaces) == 0 {
		l.m.MarkUnreadable(resource, "") // only the cluster-wide list was tried
	}
	msg := model.RBACRefusal("list", resource, "")
	if len(l.opts.Namespaces) > 0 {
		msg += "; read " + strings.Join(l.opts.Namespaces, ", ") + " one by one"
	}
	if len(denied) > 0 {
		msg += "; forbidden in " + strings.Join(denied, ", ")
	}
	l.m.Warnings = append(l.m.Warnings, msg)
	return nil
}

// markUnknownLabels records the namespaces whose labels were not read
// (neither listed nor fetched one by one): the model knows only their
// automatic name label, and the engine must not read a missing label as
// "does not match".
func (l *liveLoader) markUnknownLabels() {
	fetched := make(map[string]bool, len(l.namespaces))
	for _, ns := range l.namespaces {
		fetched[ns.Name] = true
	}
	for _, ns := range l.m.Namespaces {
		if !fetched[ns.Name] {
			l.m.MarkUnreadable("namespaces", ns.Name)
		}
	}
}

// otherLayers records policy kinds besides NetworkPolicy that have objects.
func (l *liveLoader) otherLayers() {
	groups := make([]string, 0, len(otherLayerResources))
	for g := range otherLayerResources {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	_, lists, err := l.c.Discovery.ServerGroupsAndResources()
	if err != nil && len(lists) == 0 {
		l.m.Warnings = append(l.m.Warnings, "could not check for other policy layers (API discovery failed): "+err.Error())
		l.gatewayUnknown()
		return
	}
	l.readLayers(lists)
	if l.opts.Ingresses {
		l.gatewayAPI(lists, err)
	}
}

// readLayers reads the policy layers the served resources hold.
func (l *liveLoader) readLayers(lists []*metav1.APIResourceList) {
	// The cluster-scoped tiers and Calico's policies are read (in the
	// versions served); the others only counted.
	tiers := map[string][]string{}
	calicoServed := map[string]string{} // group → version
	ciliumServed := map[string]bool{}
	awsGroup, awsPolicies := false, false
	for _, rl := range lists {
		gv, err := schema.ParseGroupVersion(rl.GroupVersion)
		if err != nil {
			continue
		}
		wanted, ok := otherLayerResources[gv.Group]
		if !ok {
			continue
		}
		awsGroup = awsGroup || gv.Group == model.AWSPolicyGroup
		for _, r := range rl.APIResources {
			if strings.Contains(r.Name, "/") || !contains(wanted, r.Name) {
				continue
			}
			if gv == awsClusterPolicies.GroupVersion() && r.Name == awsClusterPolicies.Resource {
				awsPolicies = true
				continue
			}
			if gv.Group == clusterPolicyGroup {
				tiers[r.Name] = append(tiers[r.Name], gv.Version)
				continue
			}
			if gv.Group == model.CalicoAPIGroup || gv.Group == model.CalicoCRDGroup {
				calicoServed[gv.Group] = gv.Version
				continue
			}
			if gv.Group == model.CiliumGroup && gv.Version == "v2" {
				ciliumServed[r.Name] = true
				continue
			}
			list, err := l.c.Dynamic.Resource(gv.WithResource(r.Name)).List(l.ctx, metav1.ListOptions{Limit: 1})
			switch {
			case apierrors.IsForbidden(err):
				l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not check for %s (%s); verdicts assume there are none", r.Kind, model.RBACRefusal("list", r.Name+"."+gv.Group, "")))
			case err != nil:
				l.m.Warnings = append(l.m.Warnings, fmt.Sprintf("could not list %s: %v", r.Kind, err))
			case len(list.Items) > 0:
				l.m.OtherLayers = append(l.m.OtherLayers, r.Kind)
			}
		}
	}
	l.clusterPolicies(tiers)
	l.calico(calicoServed)
	l.cilium(ciliumServed)
	l.awsPolicies(awsGroup, awsPolicies)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func wrapAPI(err error, verb, resource string) error {
	return &APIError{Verb: verb, Resource: resource, Err: err}
}
