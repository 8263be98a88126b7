//go:build integration

package apply_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

const (
	// The lease annotations (docs/design.md); package apply does not
	// export them.
	leaseHolder  = "netbaseline.io/lease-holder"
	leaseExpires = "netbaseline.io/lease-expires"
	tooling      = "kubectl-netbaseline/test"
	// faultWorkers run cases at once: a case mostly waits on the API
	// server or on client-go's Retry-After, so more than the two cores
	// keep the server busy.
	faultWorkers = 6
)

// A fault injected at the HTTP layer, between client-go and the server.
type faultKind string

const (
	// The request lands, but the answer is lost: a 504 as the apiserver
	// sends when it gives up waiting, or a connection reset.
	lostAfterLanding  faultKind = "lostAfterLanding"
	resetAfterLanding faultKind = "resetAfterLanding"
	// Ctrl-C while the write is in flight: it lands, the run's context is
	// cancelled and the answer never comes, so the run cannot even read
	// the object back; the undo has to settle the write.
	interruptedAfterLanding faultKind = "interruptedAfterLanding"
	// The request never reaches the server.
	serverError faultKind = "serverError"
	conflict    faultKind = "conflict"
	throttled   faultKind = "throttled"
)

// timeoutMessage is the apiserver's when it stops waiting for a write.
const timeoutMessage = "Timeout: the server was unable to return a response in the time allotted, but may still be processing the request"

var faultKinds = []faultKind{lostAfterLanding, resetAfterLanding, interruptedAfterLanding, serverError, conflict, throttled}

// The invariants checked after every faulted run, in the table's order.
const (
	invTarget  = "target"      // no error: the fault-free result
	invUndone  = "undone"      // a namespace reported undone is as before
	invError   = "failedError" // a run that wrote fails with *apply.FailedError
	invForeign = "foreign"     // the foreign spec is live or saved
	invBridge  = "bridge"      // every live transition object is named in the error
	invLease   = "lease"       // no lease is left on the parent
	invCleanup = "cleanup"     // a fault-free rollback restores the pristine state
)

var invariants = []string{invTarget, invUndone, invError, invForeign, invBridge, invLease, invCleanup}

var errVerify = errors.New("verification failed (injected by the test)")

// Every mutating request of apply, takeover, an undone apply and
// rollback fails in turn at the HTTP layer, with every kind of fault, on
// a real API server; after each run the cluster must be in a state the
// run's result describes, and a fault-free rollback must restore it.
func TestIntegrationFaultsAtTheHTTPLayer(t *testing.T) {
	env := testenv.Require(t)
	start := time.Now()
	h := newHarness(t, env)
	var jobs []job
	for _, sc := range scenarios {
		ref := h.reference(t, sc)
		t.Logf("%s: %d mutating requests without faults", sc.name, ref.writes)
		for _, kind := range faultKinds {
			for n := 1; n <= ref.writes; n++ {
				jobs = append(jobs, job{sc: sc, ref: ref, kind: kind, n: n})
			}
		}
	}
	results := h.runAll(t, jobs)
	tl := newTally(results)
	t.Logf("%d faulted cases in %s (%d broke an invariant; %d never reached their fault)",
		len(jobs), time.Since(start).Round(time.Second), tl.failing, tl.unfired)
	t.Log("violations (cases) by scenario, fault and invariant:\n" + tl.table())
	if tl.failing > 0 {
		t.Errorf("%d of %d cases broke an invariant (see the table and the cases above)", tl.failing, len(jobs))
	}
}

// scenario is one kind of run, started on fresh namespaces.
type scenario struct {
	name string
	// both: the run covers backend-dev as well as frontend-dev.
	both bool
	// foreign: frontend-dev holds a foreign allow-dns.
	foreign bool
	// earlier: backend-dev holds members of an earlier apply that the run
	// changes and prunes.
	earlier bool
	// takenOver: frontend-dev was applied with --force-conflicts before
	// the run, which is a rollback of it.
	takenOver bool
	force     bool
	prune     bool
	// verify: the verification of the last namespace fails, so the run
	// is undone (the fault then also hits the undo's writes).
	verify bool
}

var scenarios = []scenario{
	{name: "apply", both: true, earlier: true, prune: true},
	{name: "takeover", foreign: true, force: true},
	{name: "verifyUndo", both: true, foreign: true, earlier: true, force: true, prune: true, verify: true},
	{name: "rollback", foreign: true, takenOver: true},
}

func (sc scenario) options(fx *fixture, holder string, progress io.Writer) apply.Options {
	o := apply.Options{ForceConflicts: sc.force, Prune: sc.prune, Holder: holder, Tooling: tooling,
		RestoreTimeout: 30 * time.Second, Sleep: shortSleep, Progress: progress}
	if sc.verify {
		last := fx.ns[fx.roles[len(fx.roles)-1]]
		o.Verify = func(_ context.Context, p *apply.NamespacePlan) error {
			if p.Namespace == last {
				return errVerify
			}
			return nil
		}
	}
	return o
}

// shortSleep keeps retries from taking seconds of real time.
func shortSleep(ctx context.Context, _ time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Millisecond):
	}
}

// ---- the fault injector ----

// injector counts the mutating requests that reach the server for real
// (server dry runs change nothing, so they do not count) and faults the
// Nth. Every counted request is logged, so a failing case shows the run.
type injector struct {
	at   int // 0: never
	kind faultKind
	// interrupt cancels the run's context (Ctrl-C).
	interrupt context.CancelFunc

	mu      sync.Mutex
	n       int
	log     []string
	request string // the faulted request
	fired   bool
}

func (inj *injector) wrap(rt http.RoundTripper) http.RoundTripper {
	return &faultTransport{next: rt, inj: inj}
}

func (inj *injector) count() int {
	inj.mu.Lock()
	defer inj.mu.Unlock()
	inj.n++
	return inj.n
}

func (inj *injector) note(n int, request, outcome string, fault bool) {
	inj.mu.Lock()
	defer inj.mu.Unlock()
	inj.log = append(inj.log, fmt.Sprintf("%3d %s -> %s", n, request, outcome))
	if fault {
		inj.request, inj.fired = request, true
	}
}

type faultTransport struct {
	next http.RoundTripper
	inj  *injector
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !mutating(req) {
		return f.next.RoundTrip(req)
	}
	n := f.inj.count()
	desc := describe(req)
	if n != f.inj.at {
		resp, err := f.next.RoundTrip(req)
		f.inj.note(n, desc, answer(resp, err), false)
		return resp, err
	}
	resp, outcome, err := f.fault(req)
	f.inj.note(n, desc, outcome, true)
	return resp, err
}

// fault answers req with the injector's fault, and says what happened.
func (f *faultTransport) fault(req *http.Request) (*http.Response, string, error) {
	kind := f.inj.kind
	if kind == lostAfterLanding || kind == resetAfterLanding || kind == interruptedAfterLanding {
		return f.landThenLose(req)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	var resp *http.Response
	switch kind {
	case serverError:
		resp = statusResponse(req, http.StatusInternalServerError, metav1.StatusReasonInternalError, "Internal error occurred: injected by the test")
	case conflict:
		resp = statusResponse(req, http.StatusConflict, metav1.StatusReasonConflict,
			"Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again")
	case throttled:
		resp = statusResponse(req, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, "Too many requests, please try again later.")
		resp.Header.Set("Retry-After", "1")
	}
	return resp, fmt.Sprintf("FAULT %s (not sent)", kind), nil
}

// landThenLose sends req, so the write lands, and loses the answer: a
// 504 as the apiserver's own timeout, or a reset connection.
func (f *faultTransport) landThenLose(req *http.Request) (*http.Response, string, error) {
	kind := f.inj.kind
	resp, err := f.next.RoundTrip(req)
	if err != nil {
		return nil, "not landed: " + err.Error(), err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	what := fmt.Sprintf("FAULT %s (landed: %s)", kind, resp.Status)
	switch kind {
	case lostAfterLanding:
		return statusResponse(req, http.StatusGatewayTimeout, metav1.StatusReasonTimeout, timeoutMessage), what, nil
	case interruptedAfterLanding:
		f.inj.interrupt()
		return nil, what, context.Canceled
	}
	return nil, what, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

// statusResponse is an error answer as the apiserver writes it.
func statusResponse(req *http.Request, code int, reason metav1.StatusReason, message string) *http.Response {
	body, _ := json.Marshal(&metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: message})
	return &http.Response{
		Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), StatusCode: code,
		Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: http.Header{"Content-Type": []string{"application/json"}},
		Body:   io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

func answer(resp *http.Response, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return resp.Status
}

func mutating(req *http.Request) bool {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	if slices.Contains(req.URL.Query()["dryRun"], metav1.DryRunAll) {
		return false
	}
	// A DELETE carries its options, dryRun included, in the body.
	if req.Method == http.MethodDelete {
		if opts, ok := bodyObject(req).(*metav1.DeleteOptions); ok && slices.Contains(opts.DryRun, metav1.DryRunAll) {
			return false
		}
	}
	return true
}

// describe is "METHOD namespace/resource/name", the name of a create read
// from its body.
func describe(req *http.Request) string {
	path := req.URL.Path
	if _, tail, ok := strings.Cut(path, "/namespaces/"); ok {
		path = tail
	}
	if req.Method == http.MethodPost {
		if obj, err := meta.Accessor(bodyObject(req)); err == nil && obj.GetName() != "" {
			path += "/" + obj.GetName()
		}
	}
	return req.Method + " " + path
}

// bodyObject decodes a copy of the body, JSON or protobuf (nil if it
// cannot).
func bodyObject(req *http.Request) runtime.Object {
	if req.GetBody == nil {
		return nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return nil
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		return nil
	}
	return obj
}

// ---- the harness: namespaces, runs, snapshots ----

type harness struct {
	env *testenv.Env
	// cs is fault-free: setup, snapshots and the cleanup's rollback.
	cs       kubernetes.Interface
	rendered map[string][]baseline.Object // by overlay
	nextID   atomic.Int64
}

func newHarness(t *testing.T, env *testenv.Env) *harness {
	t.Helper()
	src, err := baseline.EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{env: env, rendered: map[string][]baseline.Object{}}
	for _, overlay := range []string{"frontend-dev", "backend-dev"} {
		if h.rendered[overlay], err = src.Render(overlay); err != nil {
			t.Fatal(err)
		}
	}
	h.cs = kubernetes.NewForConfigOrDie(h.config(nil))
	return h
}

// config is the test server's, unthrottled on the client side, with the
// injector (if any) between client-go and the wire.
func (h *harness) config(inj *injector) *rest.Config {
	cfg := rest.CopyConfig(h.env.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	if inj != nil {
		cfg.WrapTransport = inj.wrap
	}
	return cfg
}

// render is an overlay's objects moved to namespace ns: the overlays
// exist for the sample's names only, and apply takes the namespace from
// the plan (the specs' selectors keep naming the sample's namespaces).
func (h *harness) render(overlay, ns string) []baseline.Object {
	var out []baseline.Object
	for _, o := range h.rendered[overlay] {
		u := o.DeepCopy()
		u.SetNamespace(ns)
		out = append(out, baseline.Object{Unstructured: u, Phase: o.Phase})
	}
	return out
}

// earlierRender is backend-dev as an earlier apply left it: one member
// the run changes (another port) and one it prunes.
func (h *harness) earlierRender(ns string) []baseline.Object {
	var out []baseline.Object
	for _, o := range h.render("backend-dev", ns) {
		switch o.GetName() {
		case "allow-from-ingress":
			ingress, _, _ := unstructured.NestedSlice(o.Object, "spec", "ingress")
			ports := ingress[0].(map[string]any)["ports"].([]any)
			ports[0].(map[string]any)["port"] = int64(3002)
			_ = unstructured.SetNestedSlice(o.Object, ingress, "spec", "ingress")
			out = append(out, o)
		case "allow-from-monitoring":
			o.SetName("allow-legacy")
			out = append(out, o)
		}
	}
	return out
}

// fixture is one case's namespaces and their states.
type fixture struct {
	// roles are the overlays the run covers, in the run's order; ns maps
	// them to the case's namespaces.
	roles []string
	ns    map[string]string
	// pristine: before the plugin wrote anything; before: just before
	// the run.
	pristine, before map[string]*nsState
}

func (fx *fixture) names() []string {
	var out []string
	for _, r := range fx.roles {
		out = append(out, fx.ns[r])
	}
	return out
}

func (fx *fixture) role(ns string) string {
	for r, n := range fx.ns {
		if n == ns {
			return r
		}
	}
	return ns
}

// prepare makes the case's namespaces, with pods, the foreign policy and
// earlier applies as the scenario asks.
func (h *harness) prepare(ctx context.Context, t *testing.T, sc scenario) *fixture {
	t.Helper()
	id := h.nextID.Add(1)
	fx := &fixture{roles: []string{"frontend-dev"}, ns: map[string]string{"frontend-dev": fmt.Sprintf("fault-fe-%d", id)}}
	if sc.both {
		fx.roles = append(fx.roles, "backend-dev")
		fx.ns["backend-dev"] = fmt.Sprintf("fault-be-%d", id)
	}
	for _, role := range fx.roles {
		h.createNamespace(ctx, t, role, fx.ns[role])
	}
	if sc.foreign {
		if _, err := h.cs.NetworkingV1().NetworkPolicies(fx.ns["frontend-dev"]).Create(ctx, foreignDNS(fx.ns["frontend-dev"]), metav1.CreateOptions{FieldManager: "platform-team"}); err != nil {
			t.Fatal(err)
		}
	}
	fx.pristine = h.snapshotAll(ctx, t, fx)
	setup := &apply.Applier{Client: h.cs, Options: apply.Options{Holder: "setup", Tooling: tooling, ForceConflicts: true, Sleep: shortSleep}}
	if sc.earlier {
		if _, err := setup.Apply(ctx, fx.ns["backend-dev"], h.earlierRender(fx.ns["backend-dev"])); err != nil {
			t.Fatalf("earlier apply: %v", err)
		}
	}
	if sc.takenOver {
		if _, err := setup.Apply(ctx, fx.ns["frontend-dev"], h.render("frontend-dev", fx.ns["frontend-dev"])); err != nil {
			t.Fatalf("takeover before the rollback: %v", err)
		}
	}
	fx.before = h.snapshotAll(ctx, t, fx)
	return fx
}

// foreignDNS is another team's allow-dns, written with kubectl apply: it
// isolates the frontend's egress, so the takeover needs a keep copy.
func foreignDNS(ns string) *networkingv1.NetworkPolicy {
	udp, port := corev1.ProtocolUDP, intstr.FromInt32(53)
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "allow-dns", Namespace: ns, Labels: map[string]string{"team": "platform"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"NetworkPolicy","metadata":{"name":"allow-dns"}}`}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "frontend"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &port}}}},
		}}
}

// podsOf are the sample app's pods per overlay, so that the transitions
// have pods to keep open and their bridges select real label sets.
var podsOf = map[string][]*corev1.Pod{
	"frontend-dev": {samplePod("frontend", map[string]string{"app": "frontend"}, 3000)},
	"backend-dev":  {samplePod("backend", map[string]string{"app": "backend"}, 3001), samplePod("worker", map[string]string{"app": "worker"}, 0)},
}

func samplePod(name string, labels map[string]string, http int32) *corev1.Pod {
	c := corev1.Container{Name: "app", Image: "x", Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 8080}}}
	if http != 0 {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: "http", ContainerPort: http})
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
}

func (h *harness) createNamespace(ctx context.Context, t *testing.T, role, ns string) {
	t.Helper()
	if _, err := h.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, pod := range podsOf[role] {
		pod = pod.DeepCopy()
		pod.Namespace = ns
		// Admission refuses pods until the namespace's default service
		// account exists.
		var last error
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, last = h.cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
			return last == nil || apierrors.IsAlreadyExists(last), nil
		})
		if err != nil {
			t.Fatalf("create pod %s/%s: %v (%v)", ns, pod.Name, err, last)
		}
	}
}

// run carries out the scenario's run with applier a.
func (h *harness) run(ctx context.Context, sc scenario, a *apply.Applier, fx *fixture) error {
	if sc.takenOver {
		rp, err := a.PlanRollback(ctx, fx.ns["frontend-dev"])
		if err != nil {
			return err
		}
		_, err = a.Rollback(ctx, rp)
		return err
	}
	rendered := map[string][]baseline.Object{}
	for _, role := range fx.roles {
		rendered[fx.ns[role]] = h.render(role, fx.ns[role])
	}
	plans, err := a.Plan(ctx, fx.names(), rendered)
	if err != nil {
		return err
	}
	_, err = a.Execute(ctx, plans)
	return err
}

// ---- snapshots ----

// nsState is what the invariants compare in one namespace. Pictures are
// namespace-neutral, so that cases compare with the reference run.
type nsState struct {
	// policies: name → labels, annotations and spec.
	policies map[string]string
	// configMaps: the plugin's ConfigMaps → labels, annotations (without
	// the lease's) and data.
	configMaps map[string]string
	// bridges are the live policies labelled as a transition's.
	bridges []string
	// lease is the parent's lease holder ("": none).
	lease string
	// allowDNS is the live allow-dns spec; saved the specs in the backup,
	// by name (YAML).
	allowDNS string
	saved    map[string]string
}

func (h *harness) snapshotAll(ctx context.Context, t *testing.T, fx *fixture) map[string]*nsState {
	t.Helper()
	out := map[string]*nsState{}
	for _, role := range fx.roles {
		st, err := h.snapshot(ctx, fx.ns[role])
		if err != nil {
			t.Fatalf("snapshot of %s: %v", fx.ns[role], err)
		}
		out[role] = st
	}
	return out
}

func (h *harness) snapshot(ctx context.Context, ns string) (*nsState, error) {
	list, err := h.cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	st := &nsState{policies: map[string]string{}, configMaps: map[string]string{}, saved: map[string]string{}}
	for i := range list.Items {
		np := &list.Items[i]
		st.policies[np.Name] = picture(ns, np.Labels, np.Annotations, np.Spec)
		if np.Labels[ownership.TransitionLabel] != "" {
			st.bridges = append(st.bridges, np.Name)
		}
		if np.Name == "allow-dns" {
			st.allowDNS = specYAML(np.Spec)
		}
	}
	for _, name := range []string{ownership.ParentName, ownership.BackupName} {
		cm, err := h.cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		st.configMaps[name] = picture(ns, cm.Labels, withoutLease(cm.Annotations), cm.Data)
		if name == ownership.ParentName {
			st.lease = cm.Annotations[leaseHolder]
		} else {
			st.saved = savedSpecs(cm.Data)
		}
	}
	return st, nil
}

// picture is a comparable, namespace-neutral rendering of an object.
func picture(ns string, labels, annotations map[string]string, content any) string {
	b, _ := json.Marshal(map[string]any{"labels": labels, "annotations": annotations, "content": content})
	s := strings.ReplaceAll(string(b), ownership.ApplySetID(ns), "<applyset-id>")
	return strings.ReplaceAll(s, ns, "<ns>")
}

func withoutLease(annotations map[string]string) map[string]string {
	out := maps.Clone(annotations)
	delete(out, leaseHolder)
	delete(out, leaseExpires)
	return out
}

func specYAML(spec networkingv1.NetworkPolicySpec) string {
	b, _ := yaml.Marshal(spec)
	return string(b)
}

// savedSpecs reads the backup's policies, whatever its keys.
func savedSpecs(data map[string]string) map[string]string {
	out := map[string]string{}
	for _, v := range data {
		np := &networkingv1.NetworkPolicy{}
		if yaml.Unmarshal([]byte(v), np) == nil {
			out[np.Name] = specYAML(np.Spec)
		}
	}
	return out
}

// ---- one case ----

type job struct {
	sc   scenario
	ref  *reference
	kind faultKind
	n    int
}

// reference is a scenario's fault-free run: how many mutating requests
// it makes and the state it ends in.
type reference struct {
	writes int
	after  map[string]*nsState
}

type violation struct{ invariant, detail string }

type caseResult struct {
	scenario   string
	kind       faultKind
	n          int
	inj        *injector
	err        error
	progress   string
	after      map[string]*nsState
	violations []violation
}

// reference runs the scenario without faults; the run must itself keep
// every invariant.
func (h *harness) reference(t *testing.T, sc scenario) *reference {
	t.Helper()
	var res *caseResult
	t.Run(sc.name+"/reference", func(t *testing.T) {
		res = h.runCase(t, sc, nil, "", 0)
		if (res.err != nil) != sc.verify {
			res.violations = append(res.violations, violation{invError, fmt.Sprintf("the fault-free run returned %v", res.err)})
		}
		report(t, res)
	})
	if res == nil || len(res.violations) > 0 || res.inj.n == 0 {
		t.Fatalf("the fault-free %s run is not a usable reference", sc.name)
	}
	return &reference{writes: res.inj.n, after: res.after}
}

// runAll runs the jobs on faultWorkers goroutines, each case a subtest.
func (h *harness) runAll(t *testing.T, jobs []job) []*caseResult {
	results := make([]*caseResult, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range faultWorkers {
		wg.Go(func() {
			for i := range next {
				j := jobs[i]
				t.Run(fmt.Sprintf("%s/%s/%d", j.sc.name, j.kind, j.n), func(t *testing.T) {
					results[i] = h.runCase(t, j.sc, j.ref, j.kind, j.n)
					report(t, results[i])
				})
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// runCase prepares fresh namespaces, runs the scenario with the fault at
// mutating request n (0: none), checks the invariants, and rolls back
// without faults.
func (h *harness) runCase(t *testing.T, sc scenario, ref *reference, kind faultKind, n int) *caseResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fx := h.prepare(ctx, t, sc)
	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	inj := &injector{at: n, kind: kind, interrupt: interrupt}
	var progress bytes.Buffer
	a := &apply.Applier{Client: kubernetes.NewForConfigOrDie(h.config(inj)), Options: sc.options(fx, "faulted", &progress)}
	err := h.run(runCtx, sc, a, fx)
	res := &caseResult{scenario: sc.name, kind: kind, n: n, inj: inj, err: err, progress: progress.String()}
	res.after = h.snapshotAll(ctx, t, fx)
	res.violations = check(sc, fx, ref, err, res.after)
	res.violations = append(res.violations, h.cleanup(ctx, fx)...)
	return res
}

// report fails a case that broke an invariant, with what it did.
func report(t *testing.T, res *caseResult) {
	t.Helper()
	if len(res.violations) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s at mutating request %d (%s)\n", res.scenario, res.kind, res.n, res.inj.request)
	for _, v := range res.violations {
		fmt.Fprintf(&b, "  broken %s: %s\n", v.invariant, v.detail)
	}
	fmt.Fprintf(&b, "  error: %v\n  requests:\n    %s\n", res.err, strings.Join(res.inj.log, "\n    "))
	fmt.Fprintf(&b, "  progress:\n    %s", strings.ReplaceAll(strings.TrimSpace(res.progress), "\n", "\n    "))
	t.Error(b.String())
}

// ---- invariants ----

func check(sc scenario, fx *fixture, ref *reference, err error, after map[string]*nsState) []violation {
	vs := checkOutcome(fx, ref, err, after)
	if sc.foreign {
		vs = append(vs, checkForeign(fx, after)...)
	}
	vs = append(vs, checkBridges(fx, err, after)...)
	return append(vs, checkLease(fx, after)...)
}

// checkOutcome: success means the fault-free result; a failure is a
// FailedError, and a namespace it reports undone is as before the run.
func checkOutcome(fx *fixture, ref *reference, err error, after map[string]*nsState) []violation {
	var vs []violation
	if err == nil {
		if ref == nil {
			return nil
		}
		for _, role := range fx.roles {
			if d := diffState(after[role], ref.after[role]); d != "" {
				vs = append(vs, violation{invTarget, fx.ns[role] + ": " + d})
			}
		}
		return vs
	}
	var failed *apply.FailedError
	if !errors.As(err, &failed) {
		return []violation{{invError, fmt.Sprintf("%T: %v", err, err)}}
	}
	for _, ns := range failed.Undone {
		if d := diffState(after[fx.role(ns)], fx.before[fx.role(ns)]); d != "" {
			vs = append(vs, violation{invUndone, ns + " reported undone, but " + d})
		}
	}
	return vs
}

// checkForeign: the foreign allow-dns is live with its spec or saved.
func checkForeign(fx *fixture, after map[string]*nsState) []violation {
	want := fx.pristine["frontend-dev"].allowDNS
	st := after["frontend-dev"]
	if st.allowDNS == want || st.saved["allow-dns"] == want {
		return nil
	}
	return []violation{{invForeign, fmt.Sprintf("%s: the foreign allow-dns spec is neither live nor in %s", fx.ns["frontend-dev"], ownership.BackupName)}}
}

// checkBridges: a transition object left behind is named in the error.
func checkBridges(fx *fixture, err error, after map[string]*nsState) []violation {
	var vs []violation
	for _, role := range fx.roles {
		for _, name := range after[role].bridges {
			if err == nil || !mentions(err.Error(), name) {
				vs = append(vs, violation{invBridge, fmt.Sprintf("%s/%s is live and not reported", fx.ns[role], name)})
			}
		}
	}
	return vs
}

// mentions reports whether text names name as a whole word (a bridge's
// name is a prefix of its keep copies').
func mentions(text, name string) bool {
	return regexp.MustCompile(`(^|[^a-z0-9-])` + regexp.QuoteMeta(name) + `($|[^a-z0-9-])`).MatchString(text)
}

// checkLease: the run returned, so it holds no lease.
func checkLease(fx *fixture, after map[string]*nsState) []violation {
	var vs []violation
	for _, role := range fx.roles {
		if h := after[role].lease; h != "" {
			vs = append(vs, violation{invLease, fmt.Sprintf("%s/%s still leased to %q", fx.ns[role], ownership.ParentName, h)})
		}
	}
	return vs
}

// cleanup rolls every namespace back without faults, as another run
// would; the namespace must then be as before the plugin wrote anything.
func (h *harness) cleanup(ctx context.Context, fx *fixture) []violation {
	var vs []violation
	for _, role := range fx.roles {
		ns := fx.ns[role]
		a := &apply.Applier{Client: h.cs, Options: apply.Options{Holder: "cleanup", Tooling: tooling, Sleep: shortSleep, RestoreTimeout: 30 * time.Second}}
		rp, err := a.PlanRollback(ctx, ns)
		if err == nil {
			_, err = a.Rollback(ctx, rp)
		}
		if err != nil {
			vs = append(vs, violation{invCleanup, fmt.Sprintf("%s: rollback: %v", ns, err)})
			continue
		}
		st, err := h.snapshot(ctx, ns)
		if err != nil {
			vs = append(vs, violation{invCleanup, fmt.Sprintf("%s: %v", ns, err)})
			continue
		}
		if d := diffState(st, fx.pristine[role]); d != "" {
			vs = append(vs, violation{invCleanup, fmt.Sprintf("%s after rollback: %s", ns, d)})
		}
	}
	return vs
}

// diffState says how got differs from want ("" if not).
func diffState(got, want *nsState) string {
	d := append(diffPictures("networkpolicy", got.policies, want.policies), diffPictures("configmap", got.configMaps, want.configMaps)...)
	return strings.Join(d, "; ")
}

func diffPictures(kind string, got, want map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(got, want))) {
		g, inGot := got[k]
		w, inWant := want[k]
		switch {
		case !inWant:
			out = append(out, fmt.Sprintf("%s %s is extra", kind, k))
		case !inGot:
			out = append(out, fmt.Sprintf("%s %s is missing", kind, k))
		case g != w:
			out = append(out, fmt.Sprintf("%s %s differs: %s, want %s", kind, k, g, w))
		}
	}
	return out
}

func mergeKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// ---- the table ----

type tallyKey struct {
	scenario string
	kind     faultKind
}

type tally struct {
	cases, broken map[tallyKey]int
	byInvariant   map[tallyKey]map[string]int
	failing       int
	unfired       int
}

func newTally(results []*caseResult) *tally {
	tl := &tally{cases: map[tallyKey]int{}, broken: map[tallyKey]int{}, byInvariant: map[tallyKey]map[string]int{}}
	for _, res := range results {
		if res == nil {
			tl.failing++ // the setup failed; the subtest says why
			continue
		}
		k := tallyKey{res.scenario, res.kind}
		tl.cases[k]++
		if !res.inj.fired {
			tl.unfired++
		}
		if len(res.violations) == 0 {
			continue
		}
		tl.failing++
		tl.broken[k]++
		if tl.byInvariant[k] == nil {
			tl.byInvariant[k] = map[string]int{}
		}
		seen := map[string]bool{}
		for _, v := range res.violations {
			if !seen[v.invariant] {
				seen[v.invariant] = true
				tl.byInvariant[k][v.invariant]++
			}
		}
	}
	return tl
}

// table counts cases per scenario and fault: in all, breaking anything,
// and breaking each invariant.
func (tl *tally) table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "scenario\tfault\tcases\tbroken\t%s\t\n", strings.Join(invariants, "\t"))
	total := map[string]int{}
	var cases, broken int
	for _, sc := range scenarios {
		for _, kind := range faultKinds {
			k := tallyKey{sc.name, kind}
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t", sc.name, kind, tl.cases[k], tl.broken[k])
			for _, inv := range invariants {
				fmt.Fprintf(w, "%d\t", tl.byInvariant[k][inv])
				total[inv] += tl.byInvariant[k][inv]
			}
			fmt.Fprintln(w)
			cases, broken = cases+tl.cases[k], broken+tl.broken[k]
		}
	}
	fmt.Fprintf(w, "total\t\t%d\t%d\t", cases, broken)
	for _, inv := range invariants {
		fmt.Fprintf(w, "%d\t", total[inv])
	}
	fmt.Fprintln(w)
	_ = w.Flush()
	return b.String()
}
