package posture

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// maxRegions bounds the regions of one namespace's workloads: past it the
// exposure is unspecified rather than sampled.
const maxRegions = 20000

// region is one class of possible peers of the workloads of a namespace:
// a namespace region (the namespace itself, existing namespaces alike to
// the selectors, or a namespace that does not exist yet) and a pod label
// region. Every pod in it is matched by the same selectors.
type region struct {
	key string
	rep *model.Pod
	// future: no existing namespace is in it, so only pods of a namespace
	// created later are.
	future bool
}

// namespaceRegion is one namespace class and the namespace standing for it.
type namespaceRegion struct {
	key     string
	rep     *model.Namespace
	future  bool
	members []string
}

// regions are a namespace's regions and how to place any pod in them.
type regions struct {
	namespace string
	vocab     *vocabulary
	unknown   map[string]bool
	list      []region
	// tooMany: the selectors make more regions than maxRegions.
	tooMany int
	// members caches the region of existing pods.
	members map[*model.Pod]string
}

// space holds the representatives of every namespace's regions, added to
// one copy of the model so that one engine decides them all.
type space struct {
	base     *model.Model
	next     *model.Model
	pods     map[string]*model.Pod
	futureNS map[string]*model.Namespace
	// futureNames are the name labels of the future namespaces: a
	// namespace that does not exist yet is only its labels to the
	// selectors, and several of one name (each with other labels) must
	// coexist in one model, so each has a name of its own and carries the
	// name it stands for in its label (seal puts it back after Normalize).
	nameLabels map[*model.Namespace]string
	byNS       map[string]*regions
}

func newSpace(base *model.Model) *space {
	return &space{base: base, next: base.Derive(), pods: map[string]*model.Pod{}, futureNS: map[string]*model.Namespace{}, nameLabels: map[*model.Namespace]string{}, byNS: map[string]*regions{}}
}

// vocabularyOf is what the policies that may decide the sides of a
// namespace's pods name: its NetworkPolicies and every cluster-scoped one.
func vocabularyOf(m *model.Model, namespace string) *vocabulary {
	v := newVocabulary()
	for _, np := range m.Policies {
		if np.Namespace == namespace {
			v.addNetworkPolicy(np)
		}
	}
	for _, cp := range m.ClusterPolicies {
		v.addClusterPolicy(cp)
	}
	return v
}

// regionsOf builds (once) the regions of a namespace's workloads' peers.
func (s *space) regionsOf(namespace string) *regions {
	if r, ok := s.byNS[namespace]; ok {
		return r
	}
	r := &regions{namespace: namespace, vocab: vocabularyOf(s.base, namespace), unknown: map[string]bool{}, members: map[*model.Pod]string{}}
	for _, ns := range s.base.NamespaceLabelsUnknown() {
		r.unknown[ns] = true
	}
	s.byNS[namespace] = r
	// Counted before anything is enumerated: a product past the bound is
	// never built.
	if size(r.vocab.pod)*size(r.vocab.namespace) > maxRegions {
		r.tooMany = size(r.vocab.pod) * size(r.vocab.namespace)
		return r
	}
	namespaces := s.namespaceRegions(r)
	podSets := labelSets(r.vocab.pod, "")
	if n := len(namespaces) * len(podSets); n > maxRegions {
		r.tooMany = n
		return r
	}
	for _, nr := range namespaces {
		for _, labels := range podSets {
			key := nr.key + "|" + classOf(r.vocab.pod, labels, "")
			r.list = append(r.list, region{key: key, rep: s.pod(nr.rep, labels), future: nr.future})
		}
	}
	return r
}

// namespaceKey is a namespace's region: its own namespace, one whose
// labels could not be read (alone: its labels say nothing), or the class
// of its labels.
func (r *regions) namespaceKey(name string, labels map[string]string) string {
	switch {
	case name == r.namespace:
		return "own"
	case r.unknown[name]:
		return "unread:" + name
	}
	return classOf(r.vocab.namespace, labels, "")
}

// Key is the region of a pod in a namespace with those labels.
func (r *regions) Key(namespace string, nsLabels, podLabels map[string]string) string {
	return r.namespaceKey(namespace, nsLabels) + "|" + classOf(r.vocab.pod, podLabels, "")
}

// namespaceRegions are the existing namespaces' regions and, for every
// other combination the namespace selectors tell apart, a namespace that
// does not exist yet.
func (s *space) namespaceRegions(r *regions) []*namespaceRegion {
	var out []*namespaceRegion
	index := map[string]*namespaceRegion{}
	for _, ns := range s.base.Namespaces {
		key := r.namespaceKey(ns.Name, ns.Labels)
		if nr, ok := index[key]; ok {
			nr.members = append(nr.members, ns.Name)
			continue
		}
		nr := &namespaceRegion{key: key, rep: ns, members: []string{ns.Name}, future: r.admitsNew(ns, key)}
		index[key] = nr
		out = append(out, nr)
	}
	for _, name := range s.futureNames(r.vocab) {
		for _, labels := range labelSets(r.vocab.namespace, model.MetadataNameLabel) {
			ns := s.futureNamespace(labels, name)
			key := r.namespaceKey(ns.Name, ns.Labels)
			if _, ok := index[key]; ok {
				continue
			}
			nr := &namespaceRegion{key: key, rep: ns, future: true}
			index[key] = nr
			out = append(out, nr)
		}
	}
	return out
}

// admitsNew: a namespace created later with the same labels would be in
// the region of this existing one: the region is a class of labels, and
// no selector pins the namespace's name.
func (r *regions) admitsNew(ns *model.Namespace, key string) bool {
	named := slices.Contains(r.vocab.namespace[model.MetadataNameLabel], ns.Name)
	return key != "own" && !r.unknown[ns.Name] && !named
}

// futureNames are the names a namespace created later could have, as the
// selectors tell them apart: each name they name that no namespace has
// yet, and another one ("" here: futureNamespace invents it).
func (s *space) futureNames(v *vocabulary) []string {
	var out []string
	for _, name := range v.namespace[model.MetadataNameLabel] {
		if s.base.Namespace(name) == nil {
			out = append(out, name)
		}
	}
	return append(out, "")
}

// futureNamespace is a namespace that does not exist and carries those
// labels, named name, or a new name no selector names when name is "".
func (s *space) futureNamespace(labels map[string]string, name string) *model.Namespace {
	key := labelKey(labels) + "|" + name
	if ns, ok := s.futureNS[key]; ok {
		return ns
	}
	object := fmt.Sprintf("netbaseline-audit-namespace-%d", len(s.futureNS))
	if name == "" {
		name = object
	}
	ns := &model.Namespace{Name: object, Labels: withLabel(labels, model.MetadataNameLabel, name)}
	s.futureNS[key] = ns
	s.nameLabels[ns] = name
	s.next.Namespaces = append(s.next.Namespaces, ns)
	return ns
}

// seal normalizes the model with the representatives and gives the
// future namespaces back the name label they stand for.
func (s *space) seal() *model.Model {
	s.next.Normalize()
	for ns, name := range s.nameLabels {
		ns.Labels[model.MetadataNameLabel] = name
	}
	return s.next
}

// pod is the representative pod with those labels in that namespace: no
// address (it does not exist), no declared port, not host-networked.
func (s *space) pod(ns *model.Namespace, labels map[string]string) *model.Pod {
	key := ns.Name + "|" + labelKey(labels)
	if p, ok := s.pods[key]; ok {
		return p
	}
	p := &model.Pod{Namespace: ns.Name, Name: fmt.Sprintf("netbaseline-audit-peer-%d", len(s.pods)), Labels: labels, ServiceAccount: "default"}
	s.pods[key] = p
	s.next.Pods = append(s.next.Pods, p)
	return p
}

// labelKey is a label set in a canonical form.
func labelKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + labels[k] + ",")
	}
	return b.String()
}
