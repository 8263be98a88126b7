package doctor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/ownership"
)

// fixture reads a multi-document YAML file into a Snapshot.
func fixture(t *testing.T, name string) *Snapshot {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := &Snapshot{Unreadable: map[string]string{}}
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if doc == nil {
			continue
		}
		b, _ := yaml.Marshal(doc)
		into := func(v any) {
			if err := yaml.UnmarshalStrict(b, v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		switch doc["kind"] {
		case "DaemonSet":
			var o appsv1.DaemonSet
			into(&o)
			s.DaemonSets = append(s.DaemonSets, o)
		case "Deployment":
			var o appsv1.Deployment
			into(&o)
			s.Deployments = append(s.Deployments, o)
		case "Pod":
			var o corev1.Pod
			into(&o)
			o.Status.Phase = corev1.PodRunning
			s.Pods = append(s.Pods, o)
		case "ConfigMap":
			var o corev1.ConfigMap
			into(&o)
			s.ConfigMaps = append(s.ConfigMaps, o)
		case "Node":
			var o corev1.Node
			into(&o)
			s.Nodes = append(s.Nodes, o)
		case "Namespace":
			var o corev1.Namespace
			into(&o)
			s.Namespaces = append(s.Namespaces, o)
		case "Service":
			var o corev1.Service
			into(&o)
			s.Services = append(s.Services, o)
		case "EndpointSlice":
			var o discoveryv1.EndpointSlice
			into(&o)
			s.EndpointSlices = append(s.EndpointSlices, o)
		case "NetworkPolicy":
			var o networkingv1.NetworkPolicy
			into(&o)
			s.Policies = append(s.Policies, o)
		case "ClusterPolicy":
			s.KyvernoPolicies = append(s.KyvernoPolicies, unstructured.Unstructured{Object: doc})
		case "Application":
			s.ArgoApplications = append(s.ArgoApplications, unstructured.Unstructured{Object: doc})
		case "Secret": // metadata only, as ReadSnapshot reads them
			meta := doc["metadata"].(map[string]any)
			if s.SecretNames == nil {
				s.SecretNames = map[string][]string{}
			}
			s.SecretNames[meta["namespace"].(string)] = append(s.SecretNames[meta["namespace"].(string)], meta["name"].(string))
		case "CustomResourceDefinition":
			s.CRDs = append(s.CRDs, doc["metadata"].(map[string]any)["name"].(string))
		default:
			t.Fatalf("%s: unexpected kind %v", name, doc["kind"])
		}
	}
	return s
}

func summary(fs []Finding, prefix string) []string {
	var out []string
	for _, f := range fs {
		if strings.HasPrefix(f.ID, prefix) {
			out = append(out, f.ID+" "+string(f.Severity)+" "+f.Subject)
		}
	}
	sort.Strings(out)
	return out
}

func TestEngines(t *testing.T) {
	tests := []struct {
		fixture  string
		engines  []string // name/version/deny mode
		findings []string
		contains string
	}{
		{"eks-agent.yaml", []string{"AWS VPC CNI network policy agent/v1.1.5/drop"}, []string{"ENGINE-001 pass AWS VPC CNI network policy agent"}, "3/3 agents ready"},
		{"eks-no-agent.yaml", nil, []string{"ENGINE-003 fail AWS VPC CNI"}, "the VPC CNI alone does not enforce"},
		{"eks-auto.yaml", []string{"AWS VPC CNI network policy agent (EKS Auto Mode)//drop"}, []string{"ENGINE-001 pass AWS VPC CNI network policy agent (EKS Auto Mode)"}, "EKS Auto Mode"},
		{"calico.yaml", []string{"Calico/v3.29.1/drop"}, []string{"ENGINE-001 warn Calico"}, "2/3 agents ready"},
		{"cilium.yaml", []string{"Cilium/v1.16.5/drop"}, []string{"ENGINE-001 pass Cilium"}, "denied packets are dropped"},
		{"none.yaml", nil, []string{"ENGINE-001 fail NetworkPolicy engine"}, "no NetworkPolicy engine found"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			engines, findings := CheckEngines(fixture(t, tt.fixture))
			var got []string
			for _, e := range engines {
				got = append(got, e.Name+"/"+e.Version+"/"+e.DenyMode)
			}
			if !cmp.Equal(got, tt.engines) {
				t.Errorf("engines = %v, want %v", got, tt.engines)
			}
			if diff := cmp.Diff(tt.findings, summary(findings, "ENGINE")); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			all := ""
			for _, f := range findings {
				all += f.Message + " " + f.Fix + "\n"
			}
			if !strings.Contains(all, tt.contains) {
				t.Errorf("findings do not say %q:\n%s", tt.contains, all)
			}
		})
	}
}

func TestNodes(t *testing.T) {
	if got := summary(checkNodes(fixture(t, "eks-agent.yaml")), "NODE"); !cmp.Equal(got, []string{"NODE-001 warn fargate-ip-10-0-1-2"}) {
		t.Errorf("got %v", got)
	}
}

func TestWorkloadChecks(t *testing.T) {
	s := fixture(t, "workloads.yaml")
	rep := Run(s, config.Default(), "")
	want := []string{
		"ARGO-001 info Argo CD",
		"DNS-001 fail kube-system",
		"DNS-002 warn node-local-dns",
		"DNS-003 warn backend-dev/allow-dns",
		"ENGINE-001 fail NetworkPolicy engine",
		"KYVERNO-001 info Kyverno",
		"LABEL-001 pass frontend-dev",
		"LABEL-001 warn backend-dev",
		"LABEL-002 pass backend-dev app=backend",
		"LABEL-002 pass frontend-dev app=frontend",
		"LABEL-003 warn ingress app.kubernetes.io/name=ingress-nginx",
		"LABEL-004 pass monitoring",
		"PORT-001 fail backend-dev/svc/backend:81",
		"PORT-001 pass backend-dev/svc/backend:80",
		"PORT-002 warn frontend-dev/svc/frontend:80", // no EndpointSlice in the fixture
		"PORT-003 fail backend-dev/allow-from-frontend ingress[0]",
		"PORT-004 warn backend-dev/allow-from-frontend ingress[0]",
		"ROLLOUT-001 fail frontend-dev/deploy/frontend",
		"ROLLOUT-001 pass backend-dev/deploy/backend",
		"ROLLOUT-002 warn frontend-dev/deploy/frontend",
	}
	if diff := cmp.Diff(want, summary(rep.Findings, "")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	byID := map[string]Finding{}
	for _, f := range rep.Findings {
		byID[f.ID+f.Subject] = f
	}
	if f := byID["DNS-001kube-system"]; !strings.Contains(f.Fix, "your DNS pods carry app=coredns") {
		t.Errorf("DNS-001 fix: %q", f.Fix)
	}
	if f := byID["PORT-003backend-dev/allow-from-frontend ingress[0]"]; !strings.Contains(f.Message, "port 80, the port of svc/backend") {
		t.Errorf("PORT-003: %q", f.Message)
	}
	if f := byID["ROLLOUT-001backend-dev/deploy/backend"]; !strings.Contains(f.Message, "registry.example/backend:1.4.2") || !strings.Contains(f.Message, "2/2 updated, 2 available") {
		t.Errorf("ROLLOUT-001 should show the image and counts: %q", f.Message)
	}
	if Worst(rep.Findings) != Fail {
		t.Error("Worst should be fail")
	}

	// With namespaceLabel: name, the missing label breaks the policies.
	cfg := config.Default()
	cfg.NamespaceLabel = "name"
	for _, f := range checkLabels(s, cfg) {
		if f.ID == "LABEL-001" && f.Subject == "backend-dev" && f.Severity != Fail {
			t.Errorf("LABEL-001 with namespaceLabel name: %+v", f)
		}
	}
}

func TestForbiddenReadsAreNotFailures(t *testing.T) {
	s := fixture(t, "workloads.yaml")
	s.Unreadable = map[string]string{"daemonsets": "RBAC does not allow list daemonsets", "nodes": "RBAC does not allow list nodes", "namespaces": "RBAC does not allow list namespaces"}
	for _, f := range append(append(checkNodes(s), checkLabels(s, config.Default())...), func() []Finding { _, f := CheckEngines(s); return f }()...) {
		if f.ID == "ENGINE-001" || f.ID == "NODE-001" || (f.ID == "LABEL-001") {
			if f.Severity != Info || !strings.HasPrefix(f.Message, "could not check") {
				t.Errorf("%s: %+v", f.ID, f)
			}
		}
	}
}

func TestAWSCaveats(t *testing.T) {
	s := fixture(t, "eks-agent.yaml")
	w := fixture(t, "workloads.yaml")
	s.Namespaces, s.Pods, s.Services, s.Policies = w.Namespaces, w.Pods, w.Services, w.Policies
	s.PolicyEndpoints = map[string]int{"backend-dev": 1}
	rep := Run(s, config.Default(), "")
	got := summary(rep.Findings, "ENGINE-005")
	got = append(got, summary(rep.Findings, "PORT-005")...)
	want := []string{"ENGINE-005 warn backend-dev", "PORT-005 info backend-dev/svc/backend:80", "PORT-005 info backend-dev/svc/backend:81", "PORT-005 info frontend-dev/svc/frontend:80"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestKyvernoAndArgoCD(t *testing.T) {
	s := fixture(t, "gitops.yaml")
	cfg := config.Default()
	cfg.Doctor.Kyverno.ClusterPolicies[0].AllowedRegistries = []string{"registry.example/*", "mirror.example/*"}
	cfg.Doctor.ArgoCD.RepoSecret = "web-hosting-repo-secret"
	got := summary(append(checkKyverno(s, cfg, "netbaseline/netbaseline-probe:v0.1.0"), checkArgoCD(s, cfg)...), "")
	want := []string{
		"ARGO-001 warn root",
		"ARGO-002 fail frontend-sample",
		"ARGO-002 pass backend-sample",
		"ARGO-004 warn backend-sample",
		"ARGO-005 pass web-hosting-repo-secret",
		"KYVERNO-001 fail require-resource-limits",
		"KYVERNO-001 pass require-image-registry",
		"KYVERNO-001 pass require-run-as-non-root",
		"KYVERNO-002 warn require-image-registry",
		"KYVERNO-003 warn require-image-registry",
		"KYVERNO-004 warn require-resource-limits",
		"KYVERNO-006 warn default-deny",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRolloutStates(t *testing.T) {
	replicas := func(n int32) *int32 { return &n }
	dep := func(gen, observed int64, want int32, st appsv1.DeploymentStatus, image string) appsv1.Deployment {
		st.ObservedGeneration = observed
		d := appsv1.Deployment{}
		d.Name, d.Namespace, d.Generation = "backend", "backend-dev", gen
		d.Spec.Replicas = replicas(want)
		d.Spec.Template.Labels = map[string]string{"app": "backend", "pod-template-hash": "x"}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: image}}
		d.Status = st
		return d
	}
	cases := []struct {
		name string
		d    appsv1.Deployment
		want []string
	}{
		{"rolled out", dep(2, 2, 3, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}, "r.example/app:v2"), []string{"ROLLOUT-001 pass"}},
		{"spec not observed yet", dep(3, 2, 3, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}, "r.example/app:v3"), []string{"ROLLOUT-001 warn"}},
		{"old replicas still running", dep(2, 2, 3, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3, AvailableReplicas: 3}, "r.example/app:v2"), []string{"ROLLOUT-001 warn"}},
		{"updated but not available", dep(2, 2, 3, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 2}, "r.example/app:v2"), []string{"ROLLOUT-001 warn"}},
		{"scaled to zero", dep(2, 2, 0, appsv1.DeploymentStatus{}, "r.example/app:v2"), []string{"ROLLOUT-001 pass"}},
		{"digest is immutable", dep(1, 1, 1, appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}, "r.example/app@sha256:0123"), []string{"ROLLOUT-001 pass"}},
		{"untagged image", dep(1, 1, 1, appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}, "r.example:5000/app"), []string{"ROLLOUT-001 pass", "ROLLOUT-002 warn"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range checkRollout(&Snapshot{Deployments: []appsv1.Deployment{tc.d}}, config.Default()) {
				if f.Subject == "backend-dev/deploy/backend" {
					got = append(got, f.ID+" "+string(f.Severity))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if fs := checkRollout(&Snapshot{Unreadable: map[string]string{"deployments": "forbidden"}}, config.Default()); len(fs) != 1 || fs[0].Severity != Info {
		t.Errorf("unreadable deployments: %+v", fs)
	}
}

func TestCheckedNothing(t *testing.T) {
	none := []Finding{couldNotCheck("A", "x", "RBAC"), couldNotCheck("B", "y", "RBAC")}
	if !CheckedNothing(none) {
		t.Error("only could-not-check findings: checked nothing")
	}
	if CheckedNothing(append(none, Finding{ID: "C", Severity: Pass})) {
		t.Error("one real check ran")
	}
}

// kube-router rejects denied packets; an operator whose network swallows
// the rejections says so with the DaemonSet's annotation, and doctor (and
// with it probe's --deny-mode=auto) takes that word for it.
func TestDenyModeAnnotation(t *testing.T) {
	ds := func(annotations map[string]string) appsv1.DaemonSet {
		return appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "kube-router", Namespace: "kube-system", Annotations: annotations},
			Spec:   appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-router", Image: "kube-router:v2.1.0"}}}}},
			Status: appsv1.DaemonSetStatus{NumberReady: 1, DesiredNumberScheduled: 1}}
	}
	for _, tt := range []struct {
		annotations map[string]string
		mode, says  string
	}{
		{nil, "reject", "denied packets are rejected (refused); 1/1"},
		{map[string]string{"netbaseline.io/deny-mode": "drop"}, "drop", "denied packets are dropped (time out) (as its DaemonSet's netbaseline.io/deny-mode annotation says)"},
		{map[string]string{"netbaseline.io/deny-mode": "sometimes"}, "reject", "rejected (refused); 1/1"},
	} {
		engines, findings := CheckEngines(&Snapshot{DaemonSets: []appsv1.DaemonSet{ds(tt.annotations)}})
		if len(engines) != 1 || engines[0].DenyMode != tt.mode || len(findings) != 1 || !strings.Contains(findings[0].Message, tt.says) {
			t.Errorf("%v: engines %+v, findings %+v", tt.annotations, engines, findings)
		}
	}
}

func TestClusterTiers(t *testing.T) {
	anp := &model.ClusterPolicy{Kind: model.KindAdminNetworkPolicy, Name: "guardrails", Tier: model.TierAdmin, Priority: 10}
	broken := &model.ClusterPolicy{Kind: model.KindClusterNetworkPolicy, Name: "future", Tier: model.TierAdmin, Problems: []string{"egress[0].peers[0]: exactly one field must be set (or it is one this version does not know); the rule denies all traffic"}}
	withPolicies := func(ps ...*model.ClusterPolicy) *Snapshot {
		m := &model.Model{ClusterPolicies: ps}
		return &Snapshot{Model: m, CRDs: []string{"adminnetworkpolicies.policy.networking.k8s.io", "clusternetworkpolicies.policy.networking.k8s.io"}}
	}
	kubeRouter := []Engine{{Name: "kube-router"}}
	calico := []Engine{{Name: "Calico", Version: "v3.29.1"}}
	calico328 := []Engine{{Name: "Calico", Version: "v3.28.5"}}
	untagged := []Engine{{Name: "Calico"}}
	for _, tt := range []struct {
		name    string
		s       *Snapshot
		engines []Engine
		want    []string
	}{
		{"none installed", &Snapshot{Model: &model.Model{}}, kubeRouter, nil},
		{"CRDs without objects", withPolicies(), kubeRouter, []string{"TIER-001 info cluster-scoped policies"}},
		{"kube-router does not enforce them", withPolicies(anp), kubeRouter, []string{"TIER-001 warn kube-router"}},
		{"Calico enforces AdminNetworkPolicy", withPolicies(anp), calico, []string{"TIER-001 pass Calico"}},
		{"Calico and ClusterNetworkPolicy", withPolicies(anp, broken), calico, []string{"TIER-001 warn Calico", "TIER-002 warn ClusterNetworkPolicy/future"}},
		{"Calico before v3.29 enforces no tier", withPolicies(anp), calico328, []string{"TIER-001 warn Calico"}},
		{"Calico of unknown version", withPolicies(anp), untagged, []string{"TIER-001 pass Calico"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range checkClusterTiers(tt.s, tt.engines) {
				got = append(got, fmt.Sprintf("%s %s %s", f.ID, f.Severity, f.Subject))
			}
			sort.Strings(got)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if fs := checkClusterTiers(withPolicies(anp), calico328); len(fs) != 1 || !strings.Contains(fs[0].Message, "Calico v3.28.5 does not enforce AdminNetworkPolicy (it enforces AdminNetworkPolicy from v3.29.0 on)") {
		t.Errorf("Calico v3.28: %+v", fs)
	}
	m := &model.Model{}
	m.MarkUnreadable("adminnetworkpolicies", "")
	fs := checkClusterTiers(&Snapshot{Model: m}, kubeRouter)
	if len(fs) != 1 || fs[0].ID != "TIER-003" || !fs[0].Unchecked || !strings.Contains(fs[0].Message, "every verdict is unspecified") {
		t.Errorf("unreadable: %+v", fs)
	}
}

// A bridge left by a killed run is a warning naming it and the command
// that removes it; ordinary members and foreign policies are not.
func TestLeftoverBridgeIsNamed(t *testing.T) {
	member := func(name, role string) networkingv1.NetworkPolicy {
		np := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "backend-dev", Labels: map[string]string{
			ownership.ApplySetPartOf: ownership.ApplySetID("backend-dev"), ownership.ManagedByLabel: ownership.ManagedByValue}}}
		if role != "" {
			np.Labels["netbaseline.io/transition"] = role
		}
		return np
	}
	foreign := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "netbaseline-bridge", Namespace: "other", Labels: map[string]string{"netbaseline.io/transition": "bridge"}}}
	s := &Snapshot{Policies: []networkingv1.NetworkPolicy{member("deny-all", ""), member("netbaseline-bridge", "bridge"), foreign}}
	got := checkLeftovers(s)
	if len(got) != 1 || got[0].Severity != Warn || got[0].Subject != "backend-dev/netbaseline-bridge" || !strings.Contains(got[0].Fix, "rollback -n backend-dev") {
		t.Fatalf("%+v", got)
	}
	s.Unreadable = map[string]string{"networkpolicies": "forbidden"}
	if got := checkLeftovers(s); len(got) != 1 || !got[0].Unchecked {
		t.Fatalf("unreadable: %+v", got)
	}
}

// Sidecar meshes are bypassed by the proxy's UID (MESH-001), ambient mode
// makes probes inconclusive (MESH-002), a namespace set for injection
// without sidecars yet is named (MESH-003); a cluster without a mesh gets
// no MESH finding.
func TestMeshes(t *testing.T) {
	got := map[string]string{}
	for _, f := range checkMeshes(fixture(t, "meshes.yaml")) {
		got[f.ID+" "+f.Subject] = string(f.Severity) + ": " + f.Message
	}
	want := map[string][]string{
		"MESH-001 shop":       {"info: ", "2 pod(s) istio (uid 1337)", "runs its agent as the proxy's user"},
		"MESH-001 payments":   {"info: ", "1 pod(s) linkerd (uid 2103)"},
		"MESH-002 ambient-ns": {"warn: ", "1 pod(s)", "inconclusive", "without verifying or undoing"},
		"MESH-003 next":       {"info: ", "istio sidecar injection (label istio.io/rev=canary)"},
	}
	if len(got) != len(want) {
		t.Errorf("findings:\n%s", strings.Join(sortedFindings(got), "\n"))
	}
	for key, parts := range want {
		for _, part := range parts {
			if !strings.Contains(got[key], part) {
				t.Errorf("%s = %q, want it to contain %q", key, got[key], part)
			}
		}
	}
	if fs := checkMeshes(fixture(t, "workloads.yaml")); len(fs) != 0 {
		t.Errorf("a cluster without a mesh: %+v", fs)
	}
	forbidden := &Snapshot{Unreadable: map[string]string{"pods": "forbidden"}}
	if fs := checkMeshes(forbidden); len(fs) != 1 || !fs[0].Unchecked {
		t.Errorf("pods unreadable: %+v", fs)
	}
}

func sortedFindings(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+" "+v)
	}
	sort.Strings(out)
	return out
}

// CALICO-001 counts Calico's policies and says how the running version
// orders tiers; CALICO-002 names those with matches the engine leaves
// open.
func TestCalicoFindings(t *testing.T) {
	m := &model.Model{CalicoPolicies: []*model.CalicoPolicy{
		{Kind: model.CalicoGlobalNetworkPolicy, Name: "default-app-policy"},
		{Kind: model.CalicoNetworkPolicy, Namespace: "web", Name: "http-only", Ingress: []model.CalicoRule{{Action: "Allow", HTTP: true}}},
		{Kind: model.CalicoStagedGlobalNetworkPolicy, Name: "next"},
	}}
	fs := checkCalico(&Snapshot{Model: m}, []Engine{{Name: "Calico", Version: "v3.28.5"}})
	if len(fs) != 2 || fs[0].ID != "CALICO-001" || !strings.Contains(fs[0].Message, "1 GlobalNetworkPolicy, 1 NetworkPolicy, 1 StagedGlobalNetworkPolicy") ||
		!strings.Contains(fs[0].Message, "Calico v3.28.5 has no tiers") {
		t.Fatalf("findings: %+v", fs)
	}
	if fs[1].ID != "CALICO-002" || fs[1].Severity != Warn || !strings.Contains(fs[1].Message, "NetworkPolicy/web/http-only (an HTTP match)") {
		t.Errorf("CALICO-002: %+v", fs[1])
	}
	if fs := checkCalico(&Snapshot{Model: &model.Model{}}, nil); len(fs) != 0 {
		t.Errorf("no Calico policies: %+v", fs)
	}
}

// The EKS agent's mode comes from aws-node's NETWORK_POLICY_ENFORCING_MODE
// (the agent takes it from ipamd); its own ClusterNetworkPolicy is a tier
// it enforces, and one with a named port is one its controller cannot
// resolve.
func TestEKSAgentModeAndClusterPolicies(t *testing.T) {
	s := fixture(t, "eks-agent.yaml")
	for i := range s.DaemonSets {
		if s.DaemonSets[i].Name == "aws-node" {
			c := &s.DaemonSets[i].Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: model.AWSModeVariable, Value: "strict"})
		}
	}
	engines, _ := CheckEngines(s)
	if len(engines) != 1 || !strings.Contains(engines[0].Note, "strict mode: a pod no NetworkPolicy selects is denied both ways") {
		t.Fatalf("engines = %+v", engines)
	}
	named := model.FromAWSClusterNetworkPolicy(&model.AWSClusterNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "named"},
		Spec: model.AWSClusterNetworkPolicySpec{Tier: "Admin", Priority: 1, Subject: model.AWSClusterNetworkSubject{Namespaces: &metav1.LabelSelector{}},
			Ingress: []model.AWSIngressRule{{Action: "Deny", From: []model.AWSIngressPeer{{Namespaces: &metav1.LabelSelector{}}}, Ports: &[]model.AWSPort{{NamedPort: ptrTo("http")}}}}}})
	var got []string
	for _, f := range checkClusterTiers(&Snapshot{Model: &model.Model{ClusterPolicies: []*model.ClusterPolicy{named}}}, engines) {
		got = append(got, fmt.Sprintf("%s %s %s", f.ID, f.Severity, f.Subject))
	}
	sort.Strings(got)
	if want := "TIER-001 pass AWS VPC CNI network policy agent|TIER-004 warn ClusterNetworkPolicy.networking.k8s.aws/named"; strings.Join(got, "|") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestCiliumNote(t *testing.T) {
	policies := []*model.CiliumPolicy{
		{Kind: model.CiliumNetworkPolicyKind, Namespace: "web", Name: "a"},
		{Kind: model.CiliumClusterwideNetworkPolicyKind, Name: "b"},
		{Kind: model.CiliumClusterwideNetworkPolicyKind, Name: "c"},
	}
	tests := []struct {
		info *model.CiliumInfo
		want string
	}{
		{nil, ""},
		{&model.CiliumInfo{Config: map[string]string{}, ConfigRead: true}, "enable-policy=default; 1 CiliumNetworkPolicies, 2 CiliumClusterwideNetworkPolicies"},
		{&model.CiliumInfo{Config: map[string]string{"enable-policy": "never"}, ConfigRead: true}, "enable-policy=never: nothing is enforced; 1 CiliumNetworkPolicies, 2 CiliumClusterwideNetworkPolicies"},
		{&model.CiliumInfo{ConfigUnknown: true}, "enforcement mode unknown (cilium-config unreadable); 1 CiliumNetworkPolicies, 2 CiliumClusterwideNetworkPolicies"},
	}
	for _, tt := range tests {
		s := &Snapshot{Model: &model.Model{Cilium: tt.info, CiliumPolicies: policies}}
		if got := ciliumNote(s); got != tt.want {
			t.Errorf("ciliumNote(%+v) = %q, want %q", tt.info, got, tt.want)
		}
	}
}
