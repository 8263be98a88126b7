package read

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/netbaseline/kubectl-netbaseline/internal/input"
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

// otherLayerKinds are policy kinds evaluated besides NetworkPolicy that
// the engine does not decide (Calico's are read in calico.go, Cilium's in
// cilium.go; the
// cluster-scoped tiers of policy.networking.k8s.io in clusterpolicies.go).
var otherLayerKinds = map[string]bool{
	"AdminNetworkPolicy": true, "BaselineAdminNetworkPolicy": true, "ClusterNetworkPolicy": true,
	"ApplicationNetworkPolicy": true,
}

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
// or "-" for stdin) into a normalized model, within the default input
// bound.
func LoadFiles(paths []string, stdin io.Reader, defaultNamespace string) (*model.Model, error) {
	return Load(input.NewReader(stdin, 0), paths, defaultNamespace)
}

// Load reads every path through the run's bounded input reader.
func Load(in *input.Reader, paths []string, defaultNamespace string) (*model.Model, error) {
	if defaultNamespace == "" {
		defaultNamespace = "default"
	}
	l := &fileLoader{model: &model.Model{}, defaultNamespace: defaultNamespace, byKey: map[string]*entry{}}
	for _, p := range paths {
		files := []string{p}
		if p != "-" {
			var err error
			if files, err = manifestFiles(p); err != nil {
				return nil, err
			}
		}
		for _, f := range files {
			data, err := in.Text(f)
			if err != nil {
				return nil, asFileError(err)
			}
			err = l.load(input.Source(f), data)
			if errors.Is(err, errNotKubernetes) && f != p {
				// Found in a directory, as peers' tools do: a file that is
				// no manifest at all (values.yaml, package.json) is passed
				// over, and said so; one named on the command line is not.
				l.model.Warnings = append(l.model.Warnings, fmt.Sprintf("%v: skipped, not a Kubernetes manifest", err))
				continue
			}
			if err != nil {
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

// errNotKubernetes: a document that is no Kubernetes object at all (no
// kind and no apiVersion, or not a mapping).
var errNotKubernetes = errors.New("not a Kubernetes object")

// manifestAfter: a document that is no Kubernetes object after one that
// was is a broken manifest, not a file to pass over.
func manifestAfter(before []*docSink, err error) error {
	for _, d := range before {
		if d.seen && errors.Is(err, errNotKubernetes) {
			return fmt.Errorf("%s (after a Kubernetes object of the same file)", strings.Replace(err.Error(), errNotKubernetes.Error()+": ", "", 1))
		}
	}
	return err
}

// typedListItem gives an item of a typed List (PodList, NamespaceList, as
// the API server returns them) the kind and apiVersion its list implies
// when it carries none, as kubectl reads them.
func typedListItem(item map[string]any, list metav1.TypeMeta) {
	kind, _ := item["kind"].(string)
	if kind != "" || list.Kind == "List" {
		return
	}
	item["kind"] = strings.TrimSuffix(list.Kind, "List")
	if v, _ := item["apiVersion"].(string); v == "" && list.APIVersion != "" {
		item["apiVersion"] = list.APIVersion
	}
}

// asFileError words the input reader's refusals as the loader's own.
func asFileError(err error) error {
	var inErr *input.Error
	if errors.As(err, &inErr) {
		return &FileError{File: inErr.Source, Line: inErr.Line, Err: inErr.Err}
	}
	return err
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

// load decodes a stream of documents: by the block parser where it can
// (blockyaml.go), else by yaml.v3, whose errors are the ones reported.
// Documents are parsed and converted on every core, then recorded in
// their order.
func (l *fileLoader) load(file string, data []byte) error {
	docs, ok := splitDocuments(string(data))
	if !ok {
		return l.loadFull(file, data)
	}
	sinks := make([]*docSink, len(docs))
	read := func(i int) {
		d := &docSink{defaultNamespace: l.defaultNamespace}
		sinks[i] = d
		v, line, err := parseDocument(docs[i])
		if err != nil {
			d.parseErr = err
			return
		}
		d.err = d.document(file, line, v)
	}
	eachParallel(len(docs), read)
	for _, d := range sinks {
		if d.parseErr != nil {
			// Nothing is recorded yet: the full parser starts from nothing.
			return l.loadFull(file, data)
		}
	}
	// A file is recorded whole or not at all (a skipped file leaves
	// nothing behind).
	for i, d := range sinks {
		if d.err != nil {
			return manifestAfter(sinks[:i], d.err)
		}
	}
	for _, d := range sinks {
		d.replay(l)
	}
	return nil
}

// eachParallel calls f for 0..n-1 on every core; small inputs stay on one.
func eachParallel(n int, f func(int)) {
	workers := min(goruntime.GOMAXPROCS(0), n/32)
	if workers < 2 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}

// docSink collects what one document adds (objects, warnings, other
// policy layers) so that documents can be read concurrently and recorded
// in their order.
type docSink struct {
	defaultNamespace string
	// seen: the document held something (not an empty document).
	seen          bool
	ops           []func(*fileLoader)
	parseErr, err error
}

func (d *docSink) warn(msg string) {
	d.ops = append(d.ops, func(l *fileLoader) { l.model.Warnings = append(l.model.Warnings, msg) })
}

func (d *docSink) otherLayer(kind string) {
	d.ops = append(d.ops, func(l *fileLoader) { l.model.OtherLayers = append(l.model.OtherLayers, kind) })
}

func (d *docSink) put(key, where string, add func(*model.Model)) {
	d.ops = append(d.ops, func(l *fileLoader) { l.put(key, where, add) })
}

func (d *docSink) replay(l *fileLoader) {
	for _, op := range d.ops {
		op(l)
	}
}

// document reads one decoded document (nil when empty).
func (d *docSink) document(file string, line int, v any) error {
	if v == nil {
		return nil
	}
	d.seen = true
	obj, ok := v.(map[string]any)
	if !ok {
		return &FileError{File: file, Line: line, Err: fmt.Errorf("%w: a document must be a Kubernetes object (a mapping)", errNotKubernetes)}
	}
	if err := d.object(obj, file+":"+strconv.Itoa(line)); err != nil {
		return &FileError{File: file, Line: line, Err: err}
	}
	return nil
}

// loadFull decodes a stream of documents with the one YAML decoder
// (input.YAMLDocuments): YAML 1.2, so a namespace named y or on stays a
// string, with its budgets and its refusal of duplicate keys.
func (l *fileLoader) loadFull(file string, data []byte) error {
	docs, err := input.YAMLDocuments(file, data)
	if err != nil {
		return asFileError(err)
	}
	sinks := make([]*docSink, 0, len(docs))
	for _, doc := range docs {
		d := &docSink{defaultNamespace: l.defaultNamespace}
		if err := d.document(file, doc.Line, doc.Value); err != nil {
			return manifestAfter(sinks, err)
		}
		sinks = append(sinks, d)
	}
	for _, d := range sinks {
		d.replay(l)
	}
	return nil
}

// list reads the items of a List: kubectl get -o yaml gives one List of
// every object; its items are read on every core too, and recorded in
// their order.
func (d *docSink) list(obj map[string]any, tm metav1.TypeMeta, where string) error {
	items, _ := obj["items"].([]any)
	sinks := make([]*docSink, len(items))
	eachParallel(len(items), func(i int) {
		item := &docSink{defaultNamespace: d.defaultNamespace}
		sinks[i] = item
		m, ok := items[i].(map[string]any)
		if !ok {
			item.err = fmt.Errorf("items[%d]: not an object", i)
			return
		}
		typedListItem(m, tm)
		if err := item.object(m, where); err != nil {
			item.err = fmt.Errorf("items[%d]: %w", i, err)
		}
	})
	for _, item := range sinks {
		if item.err != nil {
			return item.err
		}
		d.ops = append(d.ops, item.ops...)
	}
	return nil
}

func (d *docSink) object(obj map[string]any, where string) error {
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	tm := metav1.TypeMeta{Kind: kind, APIVersion: apiVersion}
	if tm.Kind == "" && tm.APIVersion == "" {
		return fmt.Errorf("%w: no kind, no apiVersion", errNotKubernetes)
	}
	if tm.Kind == "" {
		return errors.New("missing kind")
	}
	if strings.HasSuffix(tm.Kind, "List") {
		return d.list(obj, tm, where)
	}
	if handled, err := d.layer(obj, tm, where); handled {
		return err
	}
	// A field the type does not have would be dropped silently (and
	// refused by kubectl apply's strict field validation): say so.
	warnUnknown := func(t reflect.Type) {
		for _, u := range strict.UnknownFields(obj, t, "") {
			d.warn(fmt.Sprintf("%s: %s %s: %s, ignored", where, tm.Kind, objectName(obj), u))
		}
	}
	convert := func(into any) error {
		// Straight from the decoded document into the type (json field
		// names, no JSON bytes in between): only kinds the model reads.
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, into); err != nil {
			return fmt.Errorf("%s: %w", tm.Kind, err)
		}
		return nil
	}
	decode := func(into any) error {
		if err := convert(into); err != nil {
			return err
		}
		warnUnknown(reflect.TypeOf(into).Elem())
		return nil
	}
	switch tm.Kind {
	case "Namespace":
		var ns corev1.Namespace
		if err := decode(&ns); err != nil {
			return err
		}
		d.put("Namespace "+ns.Name, where, func(m *model.Model) {
			m.Namespaces = append(m.Namespaces, &model.Namespace{Name: ns.Name, Labels: ns.Labels})
		})
	case "Pod":
		var pod corev1.Pod
		if !podFields(obj, &pod) {
			pod = corev1.Pod{}
			if err := convert(&pod); err != nil {
				return err
			}
		}
		warnUnknown(reflect.TypeFor[corev1.Pod]())
		p := model.PodFromAPI(&pod, d.ns(pod.Namespace))
		d.put("Pod "+p.Namespace+"/"+p.Name, where, func(m *model.Model) { m.Pods = append(m.Pods, p) })
	case "Service":
		var svc corev1.Service
		if err := decode(&svc); err != nil {
			return err
		}
		s := model.ServiceFromAPI(&svc, d.ns(svc.Namespace))
		d.put("Service "+s.Namespace+"/"+s.Name, where, func(m *model.Model) { m.Services = append(m.Services, s) })
	case "Ingress":
		var in networkingv1.Ingress
		if err := decode(&in); err != nil {
			return err
		}
		ing := model.IngressFromAPI(&in, d.ns(in.Namespace))
		d.put("Ingress "+ing.Key(), where, func(m *model.Model) { m.Ingresses = append(m.Ingresses, ing) })
	case "NetworkPolicy":
		np := &networkingv1.NetworkPolicy{}
		if err := decode(np); err != nil {
			return err
		}
		np.Namespace = d.ns(np.Namespace)
		if errs := policy.Validate(np); len(errs) > 0 {
			return fmt.Errorf("NetworkPolicy %s/%s would be refused by the API server: %v", np.Namespace, np.Name, errs.ToAggregate())
		}
		d.put("NetworkPolicy "+np.Namespace+"/"+np.Name, where, func(m *model.Model) { m.Policies = append(m.Policies, np) })
	case "ServiceAccount":
		var sa corev1.ServiceAccount
		if err := decode(&sa); err != nil {
			return err
		}
		acct := &model.ServiceAccount{Namespace: d.ns(sa.Namespace), Name: sa.Name, Labels: sa.Labels}
		d.put("ServiceAccount "+acct.Namespace+"/"+acct.Name, where, func(m *model.Model) { m.ServiceAccounts = append(m.ServiceAccounts, acct) })
	case "Node":
		var n corev1.Node
		if err := decode(&n); err != nil {
			return err
		}
		node := nodeFromDocument(&n)
		d.put("Node "+node.Name, where, func(m *model.Model) { m.Nodes = append(m.Nodes, node) })
	case "ConfigMap":
		d.ciliumConfigMap(obj)
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob":
		return d.workload(tm.Kind, obj, where, convert, warnUnknown)
	default:
		if known := nearKind(tm.Kind); known != "" {
			d.warn(fmt.Sprintf("%s: unknown kind %q (did you mean %s?), ignored", where, tm.Kind, known))
		}
	}
	return nil
}

// layer reads the kinds of policy layers besides NetworkPolicy: the
// cluster-scoped tiers, Calico's, Cilium's, and the kinds only counted.
func (d *docSink) layer(obj map[string]any, tm metav1.TypeMeta, where string) (bool, error) {
	if into := clusterPolicyType(tm.APIVersion, tm.Kind); into != nil {
		return true, d.clusterPolicy(obj, tm, into, where)
	}
	if group, ok := isCalicoGroup(tm.APIVersion); ok {
		return true, d.calico(obj, group, tm.Kind, where)
	}
	if isCiliumPolicy(tm.APIVersion, tm.Kind) {
		return true, d.cilium(obj, where)
	}
	if isGatewayKind(tm.APIVersion, tm.Kind) {
		return true, d.gatewayObject(obj, tm.Kind, where)
	}
	if otherLayerKinds[tm.Kind] {
		d.otherLayer(tm.Kind)
		return true, nil
	}
	return false, nil
}

// clusterPolicy reads an AdminNetworkPolicy, BaselineAdminNetworkPolicy or
// ClusterNetworkPolicy. What the API server would refuse is an error; a
// field this version does not know is a warning, and the engine fails
// closed on it as the API asks.
func (d *docSink) clusterPolicy(obj map[string]any, tm metav1.TypeMeta, into any, where string) error {
	unknown := strict.UnknownFields(obj, reflect.TypeOf(into).Elem(), "")
	for _, u := range unknown {
		d.warn(fmt.Sprintf("%s: %s %s: %s, ignored", where, tm.Kind, objectName(obj), u))
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
			d.warn(fmt.Sprintf("%s: %s %s: %s", where, tm.Kind, cp.Name, p))
		}
	}
	if cp.Unresolvable != "" {
		d.warn(fmt.Sprintf("%s: %s %s: %s; verdicts it could decide are unspecified", where, tm.Kind, cp.Name, cp.Unresolvable))
	}
	d.put(cp.Kind+" "+cp.Name, where, func(m *model.Model) { m.ClusterPolicies = append(m.ClusterPolicies, cp) })
	return nil
}

// calico reads Calico's kinds: its policies and tiers are decided; the
// network sets (whose addresses rule selectors also match) are another
// layer the engine does not decide yet; host endpoints do not touch pods.
func (d *docSink) calico(obj map[string]any, group, kind, where string) error {
	switch {
	case calicoPolicyKinds[kind]:
		p, unknown, err := decodeCalicoPolicy(obj, group, d.defaultNamespace)
		if err != nil {
			return err
		}
		for _, u := range unknown {
			d.warn(fmt.Sprintf("%s: %s %s: %s, ignored", where, kind, objectName(obj), u))
		}
		if len(p.Problems) > 0 && group == model.CalicoAPIGroup {
			return fmt.Errorf("%s would be refused by Calico's API server: %s", p.Ref(), strings.Join(p.Problems, "; "))
		}
		d.put(p.Ref(), where, func(m *model.Model) { m.CalicoPolicies = append(m.CalicoPolicies, p) })
	case kind == "Tier":
		t, err := decodeCalicoTier(obj)
		if err != nil {
			return err
		}
		d.put("Tier "+t.Name, where, func(m *model.Model) { m.CalicoTiers = append(m.CalicoTiers, t) })
	case kind == "NetworkSet" || kind == "GlobalNetworkSet":
		d.otherLayer(kind)
	case kind == "ClusterInformation":
		spec, _ := obj["spec"].(map[string]any)
		version, _ := spec["calicoVersion"].(string)
		d.ops = append(d.ops, func(l *fileLoader) { l.model.CalicoVersion = version })
	case kind == "HostEndpoint":
		d.warn(fmt.Sprintf("%s: HostEndpoint %s: host endpoints are out of scope (they govern node traffic, not pods), ignored", where, objectName(obj)))
	}
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
var readKinds = []string{"Namespace", "Pod", "Service", "ServiceAccount", "NetworkPolicy", "Node", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
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

func (d *docSink) ns(namespace string) string {
	if namespace == "" {
		return d.defaultNamespace
	}
	return namespace
}

// workload adds one pod that stands for the workload's pod template.
func (d *docSink) workload(kind string, obj map[string]any, where string, convert func(any) error, warnUnknown func(reflect.Type)) error {
	var typed any
	switch kind {
	case "Deployment":
		typed = &appsv1.Deployment{}
	case "StatefulSet":
		typed = &appsv1.StatefulSet{}
	case "DaemonSet":
		typed = &appsv1.DaemonSet{}
	case "ReplicaSet":
		typed = &appsv1.ReplicaSet{}
	case "Job":
		typed = &batchv1.Job{}
	case "CronJob":
		typed = &batchv1.CronJob{}
	}
	var meta metav1.ObjectMeta
	var tmpl corev1.PodTemplateSpec
	if !workloadFields(kind, obj, &meta, &tmpl) {
		if err := convert(typed); err != nil {
			return err
		}
		switch w := typed.(type) {
		case *appsv1.Deployment:
			meta, tmpl = w.ObjectMeta, w.Spec.Template
		case *appsv1.StatefulSet:
			meta, tmpl = w.ObjectMeta, w.Spec.Template
		case *appsv1.DaemonSet:
			meta, tmpl = w.ObjectMeta, w.Spec.Template
		case *appsv1.ReplicaSet:
			meta, tmpl = w.ObjectMeta, w.Spec.Template
		case *batchv1.Job:
			meta, tmpl = w.ObjectMeta, w.Spec.Template
		case *batchv1.CronJob:
			meta, tmpl = w.ObjectMeta, w.Spec.JobTemplate.Spec.Template
		}
	}
	warnUnknown(reflect.TypeOf(typed).Elem())
	p := templatePod(kind, &meta, &tmpl, d.ns(meta.Namespace))
	d.put(kind+" "+p.Namespace+"/"+meta.Name, where, func(m *model.Model) { m.Pods = append(m.Pods, p) })
	return nil
}

// templatePod is the pod that stands for a workload: its template, named
// and owned by the workload.
func templatePod(kind string, meta *metav1.ObjectMeta, tmpl *corev1.PodTemplateSpec, namespace string) *model.Pod {
	pod := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
	pod.Name = meta.Name
	pod.Namespace = namespace
	p := model.PodFromAPI(pod, pod.Namespace)
	p.Owner = &model.Owner{Kind: strings.ToLower(kind), Name: meta.Name}
	p.Controller = p.Owner
	p.FromTemplate = true
	return p
}
