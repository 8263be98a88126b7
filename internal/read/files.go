package read

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/strict"
)

// FileError is bad input in a manifest file: which file, which line.
type FileError struct {
	File string
	Line int
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// otherLayerKinds are policy kinds evaluated besides NetworkPolicy.
var otherLayerKinds = map[string]bool{
	"AdminNetworkPolicy": true, "BaselineAdminNetworkPolicy": true, "ClusterNetworkPolicy": true,
	"CiliumNetworkPolicy": true, "CiliumClusterwideNetworkPolicy": true,
	"GlobalNetworkPolicy": true, "StagedGlobalNetworkPolicy": true, "StagedNetworkPolicy": true,
	"ApplicationNetworkPolicy": true,
}

// calicoGroups distinguish Calico's namespaced NetworkPolicy from the
// networking.k8s.io one.
var calicoGroups = []string{"crd.projectcalico.org/", "projectcalico.org/"}

// fileLoader reads manifests: multi-document YAML or JSON, Lists,
// kustomize build and helm template output. Workloads stand for pods
// through their pod templates.
type fileLoader struct {
	model *model.Model
	// defaultNamespace is used for namespaced objects without one, as
	// kubectl apply -f would.
	defaultNamespace string
	// entries hold one object per kind/namespace/name, in the order first
	// seen; a later document of the same object replaces it, as a later
	// kubectl apply would.
	entries []*entry
	byKey   map[string]*entry
}

// entry is one object of the files and where it was read.
type entry struct {
	key, where string
	add        func(*model.Model)
}

// put records an object, or replaces the one of the same key with a
// warning naming both places.
func (l *fileLoader) put(key, where string, add func(*model.Model)) {
	if e, ok := l.byKey[key]; ok {
		l.model.Warnings = append(l.model.Warnings, fmt.Sprintf("%s: %s is defined again (first at %s); the later one is used", where, key, e.where))
		e.where, e.add = where, add
		return
	}
	e := &entry{key: key, where: where, add: add}
	l.entries = append(l.entries, e)
	l.byKey[key] = e
}

// LoadFiles reads every path (a file, a directory of *.yaml|*.yml|*.json,
// or "-" for stdin) into a normalized model.
func LoadFiles(paths []string, stdin io.Reader, defaultNamespace string) (*model.Model, error) {
	if defaultNamespace == "" {
		defaultNamespace = "default"
	}
	l := &fileLoader{model: &model.Model{}, defaultNamespace: defaultNamespace, byKey: map[string]*entry{}}
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, &FileError{File: "stdin", Err: err}
			}
			if err := l.load("stdin", data); err != nil {
				return nil, err
			}
			continue
		}
		files, err := manifestFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, &FileError{File: f, Err: err}
			}
			if err := l.load(f, data); err != nil {
				return nil, err
			}
		}
	}
	for _, e := range l.entries {
		e.add(l.model)
	}
	l.model.Normalize()
	return l.model, nil
}

func manifestFiles(p string) ([]string, error) {
	info, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &FileError{File: p, Err: errors.New("no such file or directory")}
		}
		return nil, &FileError{File: p, Err: err}
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, &FileError{File: p, Err: err}
	}
	sort.Strings(files)
	return files, nil
}

// load decodes a stream of documents. YAML is read as YAML 1.2 (yaml.v3),
// so a namespace named y or on stays a string rather than a boolean.
func (l *fileLoader) load(file string, data []byte) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var doc yamlv3.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &FileError{File: file, Err: fmt.Errorf("not valid YAML: %w", err)}
		}
		line := doc.Line
		if len(doc.Content) > 0 {
			line = doc.Content[0].Line // past the --- marker
		}
		v, err := nodeValue(&doc)
		if err != nil {
			return &FileError{File: file, Line: line, Err: err}
		}
		if v == nil {
			continue // an empty document
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return &FileError{File: file, Line: line, Err: errors.New("a document must be a Kubernetes object (a mapping)")}
		}
		if err := l.object(obj, fmt.Sprintf("%s:%d", file, line)); err != nil {
			return &FileError{File: file, Line: line, Err: err}
		}
	}
}

func (l *fileLoader) object(obj map[string]any, where string) error {
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	tm := metav1.TypeMeta{Kind: kind, APIVersion: apiVersion}
	if tm.Kind == "" {
		return errors.New("missing kind")
	}
	if strings.HasSuffix(tm.Kind, "List") {
		items, _ := obj["items"].([]any)
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return fmt.Errorf("items[%d]: not an object", i)
			}
			if err := l.object(m, where); err != nil {
				return fmt.Errorf("items[%d]: %w", i, err)
			}
		}
		return nil
	}
	if into := clusterPolicyType(tm.APIVersion, tm.Kind); into != nil {
		return l.clusterPolicy(obj, tm, into, where)
	}
	if otherLayerKinds[tm.Kind] || (tm.Kind == "NetworkPolicy" && hasPrefixAny(tm.APIVersion, calicoGroups)) {
		l.model.OtherLayers = append(l.model.OtherLayers, tm.Kind)
		return nil
	}
	decode := func(into any) error {
		// Straight from the decoded document into the type (json field
		// names, no JSON bytes in between): only kinds the model reads.
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, into); err != nil {
			return fmt.Errorf("%s: %w", tm.Kind, err)
		}
		// A field the type does not have would be dropped silently (and
		// refused by kubectl apply's strict field validation): say so.
		for _, u := range strict.UnknownFields(obj, reflect.TypeOf(into).Elem(), "") {
			l.model.Warnings = append(l.model.Warnings, fmt.Sprintf("%s: %s %s: %s, ignored", where, tm.Kind, objectName(obj), u))
		}
		return nil
	}
	switch tm.Kind {
	case "Namespace":
		var ns corev1.Namespace
		if err := decode(&ns); err != nil {
			return err
		}
		l.put("Namespace "+ns.Name, where, func(m *model.Model) {
			m.Namespaces = append(m.Namespaces, &model.Namespace{Name: ns.Name, Labels: ns.Labels})
		})
	case "Pod":
		var pod corev1.Pod
		if err := decode(&pod); err != nil {
			return err
		}
		p := model.PodFromAPI(&pod, l.ns(pod.Namespace))
		l.put("Pod "+p.Namespace+"/"+p.Name, where, func(m *model.Model) { m.Pods = append(m.Pods, p) })
	case "Service":
		var svc corev1.Service
		if err := decode(&svc); err != nil {
			return err
		}
		s := model.ServiceFromAPI(&svc, l.ns(svc.Namespace))
		l.put("Service "+s.Namespace+"/"+s.Name, where, func(m *model.Model) { m.Services = append(m.Services, s) })
	case "NetworkPolicy":
		np := &networkingv1.NetworkPolicy{}
		if err := decode(np); err != nil {
			return err
		}
		np.Namespace = l.ns(np.Namespace)
		if errs := policy.Validate(np); len(errs) > 0 {
			return fmt.Errorf("NetworkPolicy %s/%s would be refused by the API server: %v", np.Namespace, np.Name, errs.ToAggregate())
		}
		l.put("NetworkPolicy "+np.Namespace+"/"+np.Name, where, func(m *model.Model) { m.Policies = append(m.Policies, np) })
	case "Node":
		var n corev1.Node
		if err := decode(&n); err != nil {
			return err
		}
		node := nodeFromDocument(&n)
		l.put("Node "+node.Name, where, func(m *model.Model) { m.Nodes = append(m.Nodes, node) })
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob":
		return l.workload(tm.Kind, where, decode)
	default:
		if known := nearKind(tm.Kind); known != "" {
			l.model.Warnings = append(l.model.Warnings, fmt.Sprintf("%s: unknown kind %q (did you mean %s?), ignored", where, tm.Kind, known))
		}
	}
	return nil
}

// clusterPolicy reads an AdminNetworkPolicy, BaselineAdminNetworkPolicy or
// ClusterNetworkPolicy. What the API server would refuse is an error; a
// field this version does not know is a warning, and the engine fails
// closed on it as the API asks.
func (l *fileLoader) clusterPolicy(obj map[string]any, tm metav1.TypeMeta, into any, where string) error {
	unknown := strict.UnknownFields(obj, reflect.TypeOf(into).Elem(), "")
	for _, u := range unknown {
		l.model.Warnings = append(l.model.Warnings, fmt.Sprintf("%s: %s %s: %s, ignored", where, tm.Kind, objectName(obj), u))
	}
	cp, _, err := decodeClusterPolicy(tm.APIVersion, tm.Kind, obj)
	if err != nil {
		return err
	}
	if len(cp.Problems) > 0 {
		if len(unknown) == 0 {
			return fmt.Errorf("%s %s would be refused by the API server: %s", tm.Kind, cp.Name, strings.Join(cp.Problems, "; "))
		}
		for _, p := range cp.Problems {
			l.model.Warnings = append(l.model.Warnings, fmt.Sprintf("%s: %s %s: %s", where, tm.Kind, cp.Name, p))
		}
	}
	l.put(tm.Kind+" "+cp.Name, where, func(m *model.Model) { m.ClusterPolicies = append(m.ClusterPolicies, cp) })
	return nil
}

// objectName is "namespace/name" (or "name") from a document's metadata.
func objectName(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if ns, _ := meta["namespace"].(string); ns != "" {
		return ns + "/" + name
	}
	return name
}

// readKinds are the kinds the loader reads; a kind that differs from one
// only in case or by a letter or two is a typo that would drop the object.
var readKinds = []string{"Namespace", "Pod", "Service", "NetworkPolicy", "Node", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
	"AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"}

func nearKind(kind string) string {
	for _, k := range readKinds {
		if strings.EqualFold(k, kind) || (len(kind) > 4 && editDistance(strings.ToLower(k), strings.ToLower(kind)) <= 2) {
			return k
		}
	}
	return ""
}

// editDistance is Levenshtein's distance.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (l *fileLoader) ns(namespace string) string {
	if namespace == "" {
		return l.defaultNamespace
	}
	return namespace
}

// workload adds one pod that stands for the workload's pod template.
func (l *fileLoader) workload(kind, where string, decode func(any) error) error {
	var meta metav1.ObjectMeta
	var tmpl corev1.PodTemplateSpec
	switch kind {
	case "Deployment":
		var w appsv1.Deployment
		if err := decode(&w); err != nil {
			return err
		}
		meta, tmpl = w.ObjectMeta, w.Spec.Template
	case "StatefulSet":
		var w appsv1.StatefulSet
		if err := decode(&w); err != nil {
			return err
		}
		meta, tmpl = w.ObjectMeta, w.Spec.Template
	case "DaemonSet":
		var w appsv1.DaemonSet
		if err := decode(&w); err != nil {
			return err
		}
		meta, tmpl = w.ObjectMeta, w.Spec.Template
	case "ReplicaSet":
		var w appsv1.ReplicaSet
		if err := decode(&w); err != nil {
			return err
		}
		meta, tmpl = w.ObjectMeta, w.Spec.Template
	case "Job":
		var w batchv1.Job
		if err := decode(&w); err != nil {
			return err
		}
		meta, tmpl = w.ObjectMeta, w.Spec.Template
	case "CronJob":
		var w batchv1.CronJob
		if err := decode(&w); err != nil {
			return err
		}
		meta, tmpl = w.ObjectMeta, w.Spec.JobTemplate.Spec.Template
	}
	pod := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
	pod.Name = meta.Name
	pod.Namespace = l.ns(meta.Namespace)
	p := model.PodFromAPI(pod, pod.Namespace)
	p.Owner = &model.Owner{Kind: strings.ToLower(kind), Name: meta.Name}
	p.Controller = p.Owner
	p.FromTemplate = true
	l.put(kind+" "+pod.Namespace+"/"+meta.Name, where, func(m *model.Model) { m.Pods = append(m.Pods, p) })
	return nil
}

func hasPrefixAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// nodeValue turns a decoded YAML 1.2 document into JSON's values (maps
// with string keys, lists, strings, int64, float64, bools, nil) without
// reflection; aliases are followed, with yaml.v3's own limits applied when
// the document was decoded.
func nodeValue(n *yamlv3.Node) (any, error) {
	switch n.Kind {
	case yamlv3.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0])
	case yamlv3.AliasNode:
		return nodeValue(n.Alias)
	case yamlv3.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yamlv3.ScalarNode && k.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: merge keys (<<) are not supported", k.Line)
			}
			if k.Kind != yamlv3.ScalarNode {
				return nil, fmt.Errorf("line %d: keys must be strings", k.Line)
			}
			val, err := nodeValue(v)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yamlv3.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		return l, nil
	case yamlv3.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!binary", "!!timestamp":
			return n.Value, nil
		case "!!null":
			return nil, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		switch t := v.(type) {
		case int:
			return int64(t), nil
		case uint64:
			return int64(t), nil
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}
