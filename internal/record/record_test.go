package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	npav1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/audit/posture"
	"github.com/netbaseline/kubectl-netbaseline/internal/baseline"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/golden"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/probe"
)

// appliedBaseline renders the embedded baseline of a namespace as apply
// leaves it: members of the namespace's ApplySet.
func appliedBaseline(t *testing.T, namespace string) []networkingv1.NetworkPolicy {
	t.Helper()
	src, err := baseline.EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := src.Render(namespace)
	if err != nil {
		t.Fatal(err)
	}
	var out []networkingv1.NetworkPolicy
	for _, o := range objs {
		var np networkingv1.NetworkPolicy
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &np); err != nil {
			t.Fatal(err)
		}
		np.Labels[ownership.ApplySetPartOf] = ownership.ApplySetID(namespace)
		out = append(out, np)
	}
	return out
}

func sampleInputs(t *testing.T) Inputs {
	t.Helper()
	replicas := int32(1)
	deploy := func(ns, app, image string, st appsv1.DeploymentStatus) appsv1.Deployment {
		d := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns, Generation: 2}}
		d.Spec.Replicas = &replicas
		d.Spec.Template.Labels = map[string]string{"app": app}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: app, Image: image}}
		st.ObservedGeneration = 2
		d.Status = st
		return d
	}
	pod := func(ns, name, app string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	}
	tcp := corev1.ProtocolTCP
	foreign := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "legacy-allow-office", Namespace: "backend-dev"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"api", "web"}}}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptrIntOrString(8000), EndPort: ptrInt32(8080)}},
			}},
		}}
	snap := &doctor.Snapshot{
		Namespaces: []corev1.Namespace{
			{ObjectMeta: metav1.ObjectMeta{Name: "frontend-dev", Labels: map[string]string{"kubernetes.io/metadata.name": "frontend-dev", "name": "frontend-dev"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "backend-dev", Labels: map[string]string{"kubernetes.io/metadata.name": "backend-dev"}}},
		},
		Pods: []corev1.Pod{pod("frontend-dev", "frontend-1", "frontend"), pod("backend-dev", "backend-1", "backend"), pod("backend-dev", "backend-2", "backend")},
		Deployments: []appsv1.Deployment{
			deploy("frontend-dev", "frontend", "lab.local/sampleapp:1", appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}),
			deploy("backend-dev", "backend", "lab.local/sampleapp:latest", appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1}),
		},
		DaemonSets: []appsv1.DaemonSet{{ObjectMeta: metav1.ObjectMeta{Name: "kube-router", Namespace: "kube-system"},
			Spec:   appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-router", Image: "lab.local/kube-router:v2.6.2", Args: []string{"--run-firewall=true"}}}}}},
			Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 1, NumberReady: 1}}},
		Policies:   append(append(appliedBaseline(t, "frontend-dev"), appliedBaseline(t, "backend-dev")...), foreign),
		Unreadable: map[string]string{},
	}
	cfg := config.Default()
	doc := doctor.Run(snap, cfg, "lab.local/netbaseline-probe:1")
	plans := map[string]RollbackPlan{}
	for _, ns := range []string{"frontend-dev", "backend-dev"} {
		plan := &apply.RollbackPlan{Namespace: ns, HasParent: true}
		for _, np := range snap.Policies {
			if np.Namespace == ns && ownership.IsMember(&np) {
				plan.Members = append(plan.Members, np.Name)
			}
		}
		plans[ns] = plan
	}
	obs := []probe.Observation{
		{From: "frontend-dev/frontend-1", To: "svc/backend (backend-dev, DNS)", Port: "svc 80/TCP", Kind: probe.KindHTTP, Expected: policy.Allowed, Outcome: probe.Connected, Observed: probe.ObservedAllowed, Result: probe.ResultOK, MS: 4},
		{From: "monitoring/prometheus-1", To: "backend-dev/backend-1", Port: "http (3001/TCP)", Kind: probe.KindTCP, Expected: policy.Denied, Outcome: probe.Timeout, Observed: probe.ObservedDenied, Result: probe.ResultOK, MS: 2000},
		{From: "frontend-dev/frontend-1", To: "198.51.100.10", Port: "80/TCP", Kind: probe.KindTCP, Expected: policy.Denied, Outcome: probe.Connected, Observed: probe.ObservedAllowed, Result: probe.ResultMismatch, MS: 1},
	}
	pr := probe.NewDocument(probe.Drop, "lab.local/netbaseline-probe:1", obs)
	pr.ProbedAt = "2026-11-25T10:00:00Z"
	return Inputs{Now: time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC), Context: "lab", Config: cfg, Snapshot: snap, Doctor: doc, DenyMode: "drop",
		Rollback: plans, Probe: &pr, ProbeSource: "probe.json", Posture: samplePosture(snap, cfg)}
}

// samplePosture audits the sample's namespaces, with an Ingress (its
// controller's pods are not in the sample: unspecified) and an HTTPRoute
// to a Gateway that does not exist (denied).
func samplePosture(snap *doctor.Snapshot, cfg *config.Config) *posture.Document {
	m := model.FromObjects(snap.Namespaces, snap.Pods, nil, snap.Policies)
	m.Services = append(m.Services, &model.Service{Namespace: "frontend-dev", Name: "frontend", Selector: map[string]string{"app": "frontend"},
		Ports: []model.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(3000)}}})
	m.Ingresses = append(m.Ingresses, &model.Ingress{Namespace: "frontend-dev", Name: "frontend", Class: "nginx",
		Backends: []model.IngressBackend{{Host: "shop.example.com", Path: "/", Service: "frontend", Port: 80}}})
	m.Routes = append(m.Routes, &model.Route{Kind: "HTTPRoute", Namespace: "backend-dev", Name: "api",
		Parents:  []model.ParentRef{{Group: model.GatewayGroup, Kind: "Gateway", Namespace: "infra", Name: "edge"}},
		Backends: []model.RouteBackend{{Kind: "Service", Namespace: "backend-dev", Name: "backend", Port: 80}}})
	m.Normalize()
	ctrl := &posture.IngressController{Namespace: cfg.IngressController.Namespace, PodLabels: cfg.IngressController.PodLabels}
	return posture.Audit(m, posture.Options{Namespaces: []string{"backend-dev", "frontend-dev"}, IngressController: ctrl})
}

func ptrInt32(v int32) *int32 { return &v }

func TestRecordGolden(t *testing.T) {
	rec := BuildRecord(sampleInputs(t))
	// testdata/report.json is also the input of output's Markdown golden.
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "report.json", append(js, '\n'))
}

func TestRecordContents(t *testing.T) {
	rec := BuildRecord(sampleInputs(t))
	byNS := map[string]NamespaceRecord{}
	for _, ns := range rec.Namespaces {
		byNS[ns.Name] = ns
	}
	be := byNS["backend-dev"]
	// Ours first, in phase order; the foreign policy last and unmarked.
	var names, phases []string
	for _, p := range be.Policies {
		names, phases = append(names, p.Name), append(phases, p.Phase)
	}
	if names[0] != "deny-all" || phases[0] != "00" || names[len(names)-1] != "legacy-allow-office" || phases[len(phases)-1] != "" {
		t.Errorf("policy order: %v %v", names, phases)
	}
	for _, p := range be.Policies {
		if p.Managed == (p.Name == "legacy-allow-office") {
			t.Errorf("%s: managed=%v", p.Name, p.Managed)
		}
		if p.Name == "legacy-allow-office" && (p.PodSelector != "tier in (api,web)" || p.Ingress[0] != "from 10.0.0.0/8 except 10.1.0.0/16 on 8000-8080/TCP") {
			t.Errorf("foreign policy summary: %+v", p)
		}
	}
	// The rollback lists members, never the foreign policy.
	if strings.Contains(be.Rollback.Kubectl, "legacy") || !strings.Contains(be.Rollback.Kubectl, "kubectl delete networkpolicy -n backend-dev") || be.Rollback.Command != "kubectl netbaseline rollback -n backend-dev" {
		t.Errorf("rollback: %+v", be.Rollback)
	}
	if be.Apps[0].Pods == nil || *be.Apps[0].Pods != 2 || be.Apps[0].Deployments[0].Rollout != doctor.Warn {
		t.Errorf("backend app: %+v", be.Apps[0])
	}
	if e := byNS["frontend-dev"].Exists; e == nil || !*e || rec.Engines[0].Name != "kube-router" || rec.ProbeCounts[probe.ResultMismatch] != 1 {
		t.Errorf("record: %+v", rec)
	}
}

func ptrIntOrString(v int) *intstr.IntOrString { p := intstr.FromInt(v); return &p }

func TestRecordClusterTiers(t *testing.T) {
	in := sampleInputs(t)
	name := "metrics"
	in.Snapshot.Model = &model.Model{ClusterPolicies: []*model.ClusterPolicy{
		model.FromBaselineAdminNetworkPolicy(&npav1alpha1.BaselineAdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: npav1alpha1.BaselineAdminNetworkPolicySpec{Subject: npav1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
				Ingress: []npav1alpha1.BaselineAdminNetworkPolicyIngressRule{{Name: "default-deny", Action: "Deny", From: []npav1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: &metav1.LabelSelector{}}}}}}}),
		model.FromAdminNetworkPolicy(&npav1alpha1.AdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "guardrails"},
			Spec: npav1alpha1.AdminNetworkPolicySpec{Priority: 10, Subject: npav1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
				Ingress: []npav1alpha1.AdminNetworkPolicyIngressRule{{Action: "Allow", From: []npav1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}}},
					Ports: &[]npav1alpha1.AdminNetworkPolicyPort{{NamedPort: &name}}}}}}),
	}}
	rec := BuildRecord(in)
	got, _ := json.Marshal(rec.ClusterPolicies)
	want := `[{"kind":"AdminNetworkPolicy","name":"guardrails","tier":"admin","priority":10,"subject":"pods of namespaces all","ingress":["Allow from namespaces kubernetes.io/metadata.name=monitoring on named port metrics"]},` +
		`{"kind":"BaselineAdminNetworkPolicy","name":"default","tier":"baseline","priority":null,"subject":"pods of namespaces all","ingress":["default-deny: Deny from namespaces all on all ports"]}]`
	if string(got) != want {
		t.Errorf("cluster policies\n got %s\nwant %s", got, want)
	}
	in.Snapshot.Model.MarkUnreadable("adminnetworkpolicies", "")
	if rec := BuildRecord(in); rec.ClusterPolicies != nil || !rec.Unknown("adminnetworkpolicies") {
		t.Errorf("unreadable tiers: %v, unreadable %v", rec.ClusterPolicies, rec.Unreadable)
	}
}

// The report lists Calico's policies in felix's order: order (none last),
// then the stored name; one line per rule.
func TestCalicoPolicyRecords(t *testing.T) {
	o := func(f float64) *float64 { return &f }
	m := &model.Model{CalicoPolicies: []*model.CalicoPolicy{
		{Kind: model.CalicoGlobalNetworkPolicy, Name: "default-app-policy", Group: model.CalicoAPIGroup,
			Egress: []model.CalicoRule{{Action: "Allow", Protocol: &model.CalicoProtocol{Name: "UDP"}, Destination: model.CalicoEntity{Selector: "k8s-app == 'kube-dns'", Ports: []model.CalicoPort{{First: 53, Last: 53}}}}}},
		{Kind: model.CalicoGlobalNetworkPolicy, Name: "guard", Order: o(200), Group: model.CalicoAPIGroup},
		{Kind: model.CalicoNetworkPolicy, Namespace: "web", Name: "first", Order: o(100), Group: model.CalicoAPIGroup},
		{Kind: model.CalicoStagedGlobalNetworkPolicy, Name: "staged", Order: o(1)},
	}}
	recs := calicoPolicyRecords(m)
	var got []string
	for _, r := range recs {
		got = append(got, r.Name)
	}
	if strings.Join(got, ",") != "first,guard,default-app-policy" {
		t.Fatalf("order = %v", got)
	}
	if e := recs[2].Egress; len(e) != 1 || e[0] != "Allow UDP to k8s-app == 'kube-dns' ports 53" {
		t.Errorf("rules = %q", e)
	}
}
