package probe

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netbaseline/kubectl-netbaseline/internal/endpoint"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
)

func TestParseResults(t *testing.T) {
	plan := Plan{Checks: []Check{{ID: "0", Kind: KindTCP, Target: "a", Port: 1}, {ID: "1", Kind: KindTCP, Target: "b", Port: 2}}}
	log := `some noise
{"id":"1","kind":"tcp","target":"b","port":2,"outcome":"timeout","ms":3000}
`
	got, err := ParseResults(strings.NewReader(log), plan)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Outcome != Error || !strings.Contains(got[0].Detail, "reported nothing") || got[1].Outcome != Timeout {
		t.Errorf("got %+v", got)
	}
}

func TestBuildContainer(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "netbaseline-probe-abcde"}}}}}
	calls := 0
	suffix := func() string {
		calls++
		if calls == 1 {
			return "abcde" // taken by an earlier probe
		}
		return "fghij"
	}
	ec := BuildContainer(ContainerName(pod, suffix), "img:1", corev1.PullNever, "PLAN")
	yes, no, uid := true, false, int64(65534)
	want := &corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "netbaseline-probe-fghij", Image: "img:1", ImagePullPolicy: corev1.PullNever, Args: []string{"--plan=PLAN"},
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		SecurityContext: &corev1.SecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid, AllowPrivilegeEscalation: &no,
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
	}}
	if diff := cmp.Diff(want, ec); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInterpret(t *testing.T) {
	tests := []struct {
		kind     string
		expected policy.Verdict
		outcome  string
		mode     DenyMode
		noEP     bool
		observed string
		result   string
	}{
		{KindTCP, policy.Allowed, Connected, Drop, false, ObservedAllowed, ResultOK},
		{KindTCP, policy.Denied, Connected, Drop, false, ObservedAllowed, ResultMismatch},
		{KindTCP, policy.Denied, Timeout, Drop, false, ObservedDenied, ResultOK},
		{KindTCP, policy.Allowed, Timeout, Drop, false, ObservedDenied, ResultMismatch},
		{KindTCP, policy.Allowed, Refused, Drop, false, ObservedNotListen, ResultFail},
		{KindTCP, policy.Denied, Refused, Drop, false, ObservedNotListen, ResultMismatch},
		{KindTCP, policy.Denied, Refused, Reject, false, ObservedRefused, ResultOK},
		{KindTCP, policy.Allowed, Refused, Reject, false, ObservedRefused, ResultInconclusive},
		{KindHTTP, policy.Allowed, HTTPStatus, Drop, false, ObservedAllowed, ResultFail},
		{KindHTTP, policy.Denied, HTTPStatus, Drop, false, ObservedAllowed, ResultMismatch},
		{KindTCP, policy.Allowed, Timeout, Drop, true, ObservedNoEndpoints, ResultFail},
		{KindTCP, policy.Allowed, Connected, Drop, true, ObservedAllowed, ResultOK},
		{KindTCP, policy.Unspecified, Connected, Drop, false, ObservedAllowed, ResultInfo},
		{KindTCP, policy.Allowed, DNSError, Drop, false, "dns-error", ResultError},
		{KindDNS, policy.Allowed, Timeout, Drop, false, ObservedDenied, ResultMismatch},
		{KindDNS, policy.Allowed, DNSError, Drop, false, "dns-error", ResultFail},
		{KindTCP, policy.Allowed, Error, Drop, false, "error", ResultError},
	}
	for _, tt := range tests {
		p := Planned{Check: Check{Kind: tt.kind}, Expected: tt.expected, NoEndpoints: tt.noEP}
		o := Interpret(p, Result{Outcome: tt.outcome}, tt.mode)
		if o.Observed != tt.observed || o.Result != tt.result {
			t.Errorf("%s expected %s, %s in %s mode (no endpoints %v): observed %q result %q; want %q %q", tt.kind, tt.expected, tt.outcome, tt.mode, tt.noEP, o.Observed, o.Result, tt.observed, tt.result)
		}
	}
}

func sampleModel(t *testing.T) *model.Model {
	t.Helper()
	ready := func(ns, name string, labels map[string]string, ip string, ports ...model.ContainerPort) *model.Pod {
		return &model.Pod{Namespace: ns, Name: name, Labels: labels, IPs: []netip.Addr{netip.MustParseAddr(ip)}, Ports: ports,
			Phase: corev1.PodRunning, Ready: true, Owner: &model.Owner{Kind: "deployment", Name: labels["app"]}}
	}
	m := &model.Model{
		Pods: []*model.Pod{
			ready("a", "client-1", map[string]string{"app": "client"}, "10.0.0.1"),
			ready("a", "client-2", map[string]string{"app": "client"}, "10.0.0.2"),
			ready("b", "server-1", map[string]string{"app": "server"}, "10.0.1.1", model.ContainerPort{Name: "http", Port: 3001, Protocol: "TCP"}),
			{Namespace: "a", Name: "pending", Labels: map[string]string{"app": "client"}, Phase: corev1.PodPending},
		},
		Services: []*model.Service{
			{Namespace: "b", Name: "server", Selector: map[string]string{"app": "server"}, ClusterIPs: []netip.Addr{netip.MustParseAddr("198.19.0.5")},
				Ports: []model.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: "TCP"}}},
			{Namespace: "b", Name: "empty", Selector: map[string]string{"app": "nothing"}, Ports: []model.ServicePort{{Port: 80, Protocol: "TCP"}}},
		},
	}
	m.Normalize()
	return m
}

func target(t *testing.T, m *model.Model, s string, role endpoint.Role) endpoint.Target {
	t.Helper()
	ep, err := endpoint.Parse(s, role)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := endpoint.Resolve(m, ep)
	var noPods *endpoint.NoPodsError
	if err != nil && !errors.As(err, &noPods) {
		t.Fatal(err)
	}
	return tg
}

func TestBuildPlans(t *testing.T) {
	m := sampleModel(t)
	e := policy.New(m)
	req := Request{
		Sources: []endpoint.Target{target(t, m, "a", endpoint.Source)},
		Dests: []endpoint.Target{target(t, m, "b:http", endpoint.Destination), target(t, m, "b/svc/server:80", endpoint.Destination),
			target(t, m, "b/svc/empty:80", endpoint.Destination), target(t, m, "198.51.100.0/24:443", endpoint.Destination)},
		DNSNames: []string{"server.b.svc.cluster.local"},
		Timeout:  2 * time.Second,
	}
	plans, err := BuildPlans(e, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 1 || plans[0].Pod.Name != "client-1" {
		t.Fatalf("one source pod per group, Running and Ready: %+v", plans)
	}
	var got []string
	for _, c := range plans[0].Checks {
		got = append(got, c.ID+" "+c.Kind+" "+c.Target+":"+strconv.Itoa(int(c.Port))+c.Name+" "+string(c.Expected)+" "+strconv.FormatBool(c.NoEndpoints))
		if c.TimeoutMS != 2000 || c.From != "a/client-1" {
			t.Errorf("check %+v", c)
		}
	}
	want := []string{
		"0 tcp 10.0.1.1:3001 allowed false",
		"1 tcp server.b.svc.cluster.local:80 allowed false",
		"2 tcp 198.19.0.5:80 allowed false",
		"3 tcp empty.b.svc.cluster.local:80 unspecified true",
		"4 tcp 198.51.100.1:443 allowed false",
		"5 dns :0server.b.svc.cluster.local unspecified false",
		"6 dns :0server.b.svc.cluster.local unspecified false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	for _, bad := range []struct {
		dest, want string
	}{
		{"b", "has no port"},
		{"b:grpc", "declares port grpc/TCP"},
		{"b/svc/server:8080", "has no port 8080/TCP"},
		{"b:9/sctp", "SCTP cannot be probed"},
	} {
		req := Request{Sources: []endpoint.Target{target(t, m, "a", endpoint.Source)}, Dests: []endpoint.Target{target(t, m, bad.dest, endpoint.Destination)}}
		if _, err := BuildPlans(e, req); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.dest, err, bad.want)
		}
	}
	req = Request{Sources: []endpoint.Target{target(t, m, "a/pending", endpoint.Source)}, Dests: []endpoint.Target{target(t, m, "b:3001", endpoint.Destination)}}
	if _, err := BuildPlans(e, req); err == nil || !strings.Contains(err.Error(), "no Running and Ready pod") {
		t.Errorf("pending source: %v", err)
	}
}

func TestBuildPod(t *testing.T) {
	src := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5f4b-abcde", Namespace: "a", UID: "u1",
			Labels: map[string]string{"app": "web", "pod-template-hash": "5f4b"}},
		Spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}},
	}
	p := BuildPod(src, "img:1", corev1.PullIfNotPresent, "PLAN")
	if !cmp.Equal(p.Labels, map[string]string{"app": "web"}) {
		t.Errorf("labels %v: the source's, without the controller hash", p.Labels)
	}
	if ref := p.OwnerReferences; len(ref) != 1 || ref[0].Kind != "Pod" || ref[0].UID != "u1" || !*ref[0].Controller {
		t.Errorf("owner %+v: owned by the source so nothing adopts it", ref)
	}
	if len(p.Spec.ReadinessGates) != 1 || p.Spec.RestartPolicy != corev1.RestartPolicyNever || *p.Spec.AutomountServiceAccountToken {
		t.Errorf("spec %+v", p.Spec)
	}
	if p.Spec.ImagePullSecrets[0].Name != "regcred" || p.Spec.Containers[0].Args[0] != "--plan=PLAN" || *p.Spec.Containers[0].SecurityContext.RunAsUser != probeUID {
		t.Errorf("container %+v", p.Spec.Containers[0])
	}
}

// A plan larger than one argument may be is split, checks in order.
func TestSplitPlan(t *testing.T) {
	p := Plan{DeadlineMS: 5000}
	for i := range 3000 {
		p.Checks = append(p.Checks, Check{ID: strconv.Itoa(i), Kind: KindTCP, Target: "198.18.0.10", Port: int32(1 + i%60000), TimeoutMS: 2000})
	}
	parts, err := SplitPlan(p, MaxPlanArg)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 2 {
		t.Fatalf("%d checks in %d part(s)", len(p.Checks), len(parts))
	}
	next := 0
	for _, part := range parts {
		enc, err := EncodePlan(part)
		if err != nil || len(enc) > MaxPlanArg || part.DeadlineMS != 5000 {
			t.Errorf("part of %d bytes (deadline %d): %v", len(enc), part.DeadlineMS, err)
		}
		for _, c := range part.Checks {
			if c.ID != strconv.Itoa(next) {
				t.Fatalf("check %s where %d was next", c.ID, next)
			}
			next++
		}
	}
	if next != len(p.Checks) {
		t.Errorf("%d of %d checks kept", next, len(p.Checks))
	}
	small := Plan{Checks: p.Checks[:3]}
	if parts, _ := SplitPlan(small, MaxPlanArg); len(parts) != 1 {
		t.Errorf("a small plan was split in %d", len(parts))
	}
}

func TestMerge(t *testing.T) {
	a, b := &model.Pod{Namespace: "x", Name: "a"}, &model.Pod{Namespace: "x", Name: "b"}
	check := func(to string) Planned { return Planned{Check: Check{ID: "0"}, To: to} }
	merged, origin := Merge([]SourcePlan{
		{Pod: a, Checks: []Planned{check("1"), check("2")}},
		{Pod: b, Checks: []Planned{check("3")}},
		{Pod: a, Checks: []Planned{check("4")}},
	})
	if len(merged) != 2 || len(merged[0].Checks) != 3 || merged[0].Checks[2].To != "4" || merged[0].Checks[2].ID != "2" || merged[1].Checks[0].To != "3" {
		t.Errorf("merged = %+v", merged)
	}
	if !cmp.Equal(origin, []int{0, 0, 2, 1}) {
		t.Errorf("origin = %v", origin)
	}
}

func TestChooseDenyMode(t *testing.T) {
	tests := []struct {
		flag  string
		modes []string
		want  DenyMode
	}{
		{"reject", nil, Reject},
		{"drop", []string{"reject"}, Drop},
		{"", []string{"reject"}, Reject},
		{"auto", []string{"reject"}, Reject},
		{"auto", []string{"drop"}, Drop},
		{"", nil, Drop},
		{"", []string{"reject", "reject"}, Drop},
		{"", []string{"reject", "drop"}, Drop},
	}
	for _, tt := range tests {
		if got := ChooseDenyMode(tt.flag, tt.modes); got != tt.want {
			t.Errorf("ChooseDenyMode(%q, %v) = %s, want %s", tt.flag, tt.modes, got, tt.want)
		}
	}
}
