package policy

import (
	"slices"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

// Cilium's endpoint selectors over identity labels.
//
// An identity's labels carry a source: a pod's own labels, its
// namespace's and its ServiceAccount are `k8s:` labels
// (pkg/k8s/utils/utils.go, pkg/k8s/apis/cilium.io/const.go:
// io.kubernetes.pod.namespace, io.cilium.k8s.namespace.labels.<key>,
// io.cilium.k8s.policy.serviceaccount, io.cilium.k8s.policy.cluster);
// entities are `reserved:` labels (pkg/labels/labels.go). A selector key
// written without a source is an `any:` key (api.NewESFromK8sLabelSelector
// with an empty source, pkg/labels GetExtendedKeyFrom), which matches a
// label of any source.

const (
	ciliumNamespaceKey    = "k8s:io.kubernetes.pod.namespace"
	ciliumAnyNamespaceKey = "any:io.kubernetes.pod.namespace"
	ciliumNSLabelsK8s     = "k8s:io.cilium.k8s.namespace.labels."
	ciliumNSLabelsAny     = "any:io.cilium.k8s.namespace.labels."
	ciliumServiceAccount  = "k8s:io.cilium.k8s.policy.serviceaccount"
	ciliumClusterKey      = "k8s:io.cilium.k8s.policy.cluster"
	ciliumReserved        = "reserved:"
)

// ciliumIgnoredLabels are pod labels Cilium's default label filter leaves
// out of identities (pkg/labelsfilter/filter.go defaultLabelPrefixCfg:
// pod-template-hash, controller-revision-hash, pod-template-generation,
// statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index,
// batch.kubernetes.io/job-completion-index, controller-uid and job-name
// of batch jobs): a selector on them matches no pod.
var ciliumIgnoredLabels = map[string]bool{
	"pod-template-hash": true, "controller-revision-hash": true, "pod-template-generation": true,
	"statefulset.kubernetes.io/pod-name": true, "apps.kubernetes.io/pod-index": true,
	"batch.kubernetes.io/job-completion-index": true, "controller-uid": true, "batch.kubernetes.io/controller-uid": true,
	"job-name": true, "batch.kubernetes.io/job-name": true,
}

// ciliumKey is a selector key with its source: "k8s:app", "any:app",
// "reserved:host".
func ciliumKey(k string) string {
	if i := strings.Index(k, ":"); i > 0 {
		return k
	}
	return "any:" + k
}

type ciliumReq struct {
	key    string
	op     metav1.LabelSelectorOperator
	values []string
}

// ciliumSel is one compiled selector and, computed on first use, its
// answer for every class of pods.
type ciliumSel struct {
	reqs    []ciliumReq
	text    string
	once    sync.Once
	classes []bool
}

func newCiliumSel(ls *metav1.LabelSelector) *ciliumSel {
	s := &ciliumSel{}
	if ls == nil {
		return s
	}
	keys := make([]string, 0, len(ls.MatchLabels))
	for k := range ls.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.reqs = append(s.reqs, ciliumReq{key: ciliumKey(k), op: metav1.LabelSelectorOpIn, values: []string{ls.MatchLabels[k]}})
	}
	for _, e := range ls.MatchExpressions {
		s.reqs = append(s.reqs, ciliumReq{key: ciliumKey(e.Key), op: e.Operator, values: e.Values})
	}
	return s
}

// hasKey reports whether a requirement is on the key (EndpointSelector.HasKey).
func (s *ciliumSel) hasKey(key string) bool {
	return slices.ContainsFunc(s.reqs, func(r ciliumReq) bool { return r.key == key })
}

// hasKeyPrefix reports whether a requirement's key starts with prefix.
func (s *ciliumSel) hasKeyPrefix(prefix string) bool {
	return slices.ContainsFunc(s.reqs, func(r ciliumReq) bool { return strings.HasPrefix(r.key, prefix) })
}

// addMatch is EndpointSelector.AddMatch: key=value, replacing a
// matchLabels entry of the same key.
func (s *ciliumSel) addMatch(key, value string) {
	s.reqs = slices.DeleteFunc(s.reqs, func(r ciliumReq) bool {
		return r.key == key && r.op == metav1.LabelSelectorOpIn && len(r.values) == 1
	})
	s.reqs = append(s.reqs, ciliumReq{key: key, op: metav1.LabelSelectorOpIn, values: []string{value}})
}

func (s *ciliumSel) addExists(key string) {
	s.reqs = append(s.reqs, ciliumReq{key: key, op: metav1.LabelSelectorOpExists})
}

// lookup finds a key in identity labels, any: matching every source.
func ciliumLookup(labels map[string]string, key string) (string, bool) {
	if rest, ok := strings.CutPrefix(key, "any:"); ok {
		if v, ok := labels["k8s:"+rest]; ok {
			return v, true
		}
		v, ok := labels[ciliumReserved+rest]
		return v, ok
	}
	v, ok := labels[key]
	return v, ok
}

// matches evaluates the selector on identity labels.
func (s *ciliumSel) matches(labels map[string]string) bool {
	for _, r := range s.reqs {
		v, ok := ciliumLookup(labels, r.key)
		switch r.op {
		case metav1.LabelSelectorOpIn:
			if !ok || !slices.Contains(r.values, v) {
				return false
			}
		case metav1.LabelSelectorOpNotIn:
			if ok && slices.Contains(r.values, v) {
				return false
			}
		case metav1.LabelSelectorOpExists:
			if !ok {
				return false
			}
		case metav1.LabelSelectorOpDoesNotExist:
			if ok {
				return false
			}
		default:
			return false // an operator Cilium does not know selects nothing
		}
	}
	return true
}

// String renders the selector for reasons ("{k8s:app=web, any:tier}").
func (s *ciliumSel) String() string {
	if s.text != "" {
		return s.text
	}
	parts := make([]string, 0, len(s.reqs))
	for _, r := range s.reqs {
		switch r.op {
		case metav1.LabelSelectorOpIn:
			if len(r.values) == 1 {
				parts = append(parts, r.key+"="+r.values[0])
				continue
			}
			parts = append(parts, r.key+" in ("+strings.Join(r.values, ",")+")")
		case metav1.LabelSelectorOpNotIn:
			parts = append(parts, r.key+" notin ("+strings.Join(r.values, ",")+")")
		case metav1.LabelSelectorOpExists:
			parts = append(parts, r.key)
		case metav1.LabelSelectorOpDoesNotExist:
			parts = append(parts, "!"+r.key)
		default:
			parts = append(parts, r.key+" "+string(r.op))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// ciliumClass is pods alike for Cilium's selectors: one identity.
type ciliumClass struct {
	labels map[string]string
	// dirs are, for ingress and egress, the rules that select the class
	// in that direction and what they make of it, computed on first use.
	once sync.Once
	dirs [2]ciliumDir
}

// ciliumDir is what the rules selecting a class do in one direction.
type ciliumDir struct {
	rules []int32
	// selectedBy names their policies (shared by every side reporting
	// them); enforced: one of them is default-deny; deny: one has deny
	// entries; requires: their fromRequires/toRequires.
	selectedBy []string
	enforced   bool
	deny       bool
	requires   []*ciliumSel
	// l7: an allow entry of theirs has L7 rules.
	l7 bool
	// npNames are the Kubernetes NetworkPolicies among them (the side's
	// isolatedBy).
	npNames []string
}

// ciliumIdentityLabels are the labels of a pod's security identity.
func ciliumIdentityLabels(p *model.Pod, ns *model.Namespace) map[string]string {
	out := make(map[string]string, len(p.Labels)+8)
	for k, v := range p.Labels {
		if !ciliumIgnoredLabels[k] {
			out["k8s:"+k] = v
		}
	}
	out[ciliumNamespaceKey] = p.Namespace
	if ns != nil {
		for k, v := range ns.Labels {
			out[ciliumNSLabelsK8s+k] = v
		}
	}
	sa := p.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	out[ciliumServiceAccount] = sa
	out[ciliumClusterKey] = "default"
	return out
}

// ciliumIdentityKey identifies equal label sets.
func ciliumIdentityKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		b = appendString(appendString(b, k), labels[k])
	}
	return string(b)
}
