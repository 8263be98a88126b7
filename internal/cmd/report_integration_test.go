//go:build integration

package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/netbaseline/kubectl-netbaseline/internal/record"
	"github.com/netbaseline/kubectl-netbaseline/internal/testenv"
)

// installGitOpsCRDs installs minimal Kyverno ClusterPolicy and Argo CD
// Application CRDs (schemaless, as the checks read them unstructured) and
// the objects of doctor's gitops fixture.
func installGitOpsCRDs(t *testing.T, env *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	ext := apiextensionsclient.NewForConfigOrDie(env.Config)
	preserve := true
	schemaless := []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
		Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}}}}
	argoVersions := append([]apiextensionsv1.CustomResourceDefinitionVersion(nil), schemaless...)
	argoVersions[0].Name = "v1alpha1"
	crds := []*apiextensionsv1.CustomResourceDefinition{
		{ObjectMeta: metav1.ObjectMeta{Name: "clusterpolicies.kyverno.io"}, Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "kyverno.io", Scope: apiextensionsv1.ClusterScoped, Versions: schemaless,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "clusterpolicies", Singular: "clusterpolicy", Kind: "ClusterPolicy", ListKind: "ClusterPolicyList", ShortNames: []string{"cpol"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "applications.argoproj.io"}, Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "argoproj.io", Scope: apiextensionsv1.NamespaceScoped, Versions: argoVersions,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "applications", Singular: "application", Kind: "Application", ListKind: "ApplicationList", ShortNames: []string{"app"}}}},
	}
	for _, crd := range crds {
		if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		name := crd.Name
		t.Cleanup(func() {
			_ = ext.ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
	cs := kubernetes.NewForConfigOrDie(env.Config)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespaces(t, cs, "argocd") })

	data, err := os.ReadFile("../doctor/testdata/gitops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{Object: doc}
		if obj.GetKind() == "Secret" {
			// Data the checks must never need: only the name is read.
			obj.Object["stringData"] = map[string]any{"password": "not-for-doctor"}
		}
		gvr := map[string]schema.GroupVersionResource{
			"ClusterPolicy": {Group: "kyverno.io", Version: "v1", Resource: "clusterpolicies"},
			"Application":   {Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"},
			"Secret":        {Version: "v1", Resource: "secrets"},
		}[obj.GetKind()]
		// A new CRD takes a moment to be served.
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			_, err := dyn.Resource(gvr).Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{})
			return err == nil || apierrors.IsAlreadyExists(err), nil
		}); err != nil {
			t.Fatalf("create %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		if obj.GetKind() == "ClusterPolicy" {
			name := obj.GetName()
			t.Cleanup(func() { _ = dyn.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{}) })
		}
	}
}

// gitopsConfig is the sample app's config with the fixture's registries
// and repository secret.
func gitopsConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	cfg := `apiVersion: netbaseline.io/v1alpha1
kind: Config
namespaces:
- name: frontend-dev
  apps:
  - name: frontend
    ports: [{name: http, port: 3000}]
    ingress: true
    talksTo: [{namespace: backend-dev, app: backend}]
- name: backend-dev
  apps:
  - name: backend
    ports: [{name: http, port: 3001}]
    ingress: true
doctor:
  kyverno:
    clusterPolicies:
    - {name: require-image-registry, action: Enforce, allowedRegistries: ["registry.example/*", "mirror.example/*"]}
    - {name: require-run-as-non-root, action: Audit}
    - {name: require-resource-limits, action: Enforce}
  argocd:
    applications: [root, backend-sample, frontend-sample]
    repoSecret: web-hosting-repo-secret
`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIntegrationDoctorKyvernoArgoCD(t *testing.T) {
	env := testenv.Require(t)
	installGitOpsCRDs(t, env)
	var doc doctorDoc
	// Discovery of the new APIs can lag a moment behind the CRDs.
	r := runUntil(t, env.Config, func(r result) bool {
		doc = doctorDoc{}
		_ = json.Unmarshal([]byte(r.stdout), &doc)
		return severityOf(doc, "KYVERNO-006") != "" && severityOf(doc, "ARGO-005") != ""
	}, "doctor", "--config", gitopsConfig(t), "--image", "netbaseline/netbaseline-probe:v0.1.0", "-o", "json")
	got := map[string]bool{}
	for _, f := range doc.Findings {
		if strings.HasPrefix(f.ID, "KYVERNO") || strings.HasPrefix(f.ID, "ARGO") {
			got[f.ID+" "+f.Severity+" "+f.Subject] = true
		}
	}
	// The same verdicts as the unit test over the same objects, now read
	// from a real API server.
	for _, want := range []string{
		"ARGO-001 warn root", "ARGO-002 fail frontend-sample", "ARGO-002 pass backend-sample", "ARGO-004 warn backend-sample", "ARGO-005 pass web-hosting-repo-secret",
		"KYVERNO-001 fail require-resource-limits", "KYVERNO-001 pass require-image-registry", "KYVERNO-001 pass require-run-as-non-root",
		"KYVERNO-002 warn require-image-registry", "KYVERNO-003 warn require-image-registry", "KYVERNO-004 warn require-resource-limits", "KYVERNO-006 warn default-deny",
	} {
		if !got[want] {
			t.Errorf("missing %q; got %v\n%s", want, got, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "not-for-doctor") {
		t.Error("doctor printed secret data")
	}

	// The documented read roles are enough for these checks: the Secret
	// is read by name, no list of Secrets is needed.
	cs := kubernetes.NewForConfigOrDie(env.Config)
	for _, role := range installRoles(t, cs, "read.yaml") {
		bind(t, cs, "gitops-reader", role, "")
	}
	r = runUntil(t, as(t, env, "gitops-reader"), func(r result) bool {
		doc = doctorDoc{}
		_ = json.Unmarshal([]byte(r.stdout), &doc)
		return severityOf(doc, "ARGO-005") == "pass" && severityOf(doc, "KYVERNO-006") != ""
	}, "doctor", "--config", gitopsConfig(t), "--image", "netbaseline/netbaseline-probe:v0.1.0", "-o", "json")
	for _, f := range doc.Findings {
		if (strings.HasPrefix(f.ID, "KYVERNO") || strings.HasPrefix(f.ID, "ARGO")) && strings.Contains(f.Message, "could not check") {
			t.Errorf("with the read roles: %s %s", f.ID, f.Message)
		}
	}
	if severityOf(doc, "ARGO-005") != "pass" {
		t.Errorf("with the read roles, ARGO-005 is %q:\n%s", severityOf(doc, "ARGO-005"), r.stderr)
	}
}

func TestIntegrationReport(t *testing.T) {
	env := testenv.Require(t)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sampleNamespaces(t, cs)
	kc := "--kubeconfig=" + env.Kubeconfig
	config := gitopsConfig(t)

	// Before apply: nothing to roll back, the namespaces open.
	var rec record.Record
	r := run(t, "report", kc, "--config", config, "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 {
		t.Fatalf("exit %d %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	for _, ns := range rec.Namespaces {
		if len(ns.Policies) != 0 || ns.Rollback.Command != "" || ns.Exists == nil || !*ns.Exists {
			t.Errorf("before apply: %+v", ns)
		}
	}

	// A Deployment that cannot finish rolling out (no nodes in light mode).
	replicas := int32(2)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: "backend-dev"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "backend"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "backend"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "backend", Image: "registry.example/backend:1.4.2"}}}}}}
	if _, err := cs.AppsV1().Deployments("backend-dev").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "apply", kc, "--config", config, "-n", "frontend-dev", "-n", "backend-dev"); r.code != 0 {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	probeFile := filepath.Join(t.TempDir(), "probe.json")
	saved := `{"apiVersion": "netbaseline.io/v1alpha1", "kind": "ProbeResult", "denyMode": "reject", "probedAt": "2026-11-25T10:00:00Z",
 "observations": [{"from": "frontend-dev/frontend-1", "to": "backend-dev/backend-1", "port": "3001/TCP", "kind": "tcp", "expected": "allowed", "outcome": "connected", "observed": "allowed", "result": "ok", "ms": 3}]}`
	if err := os.WriteFile(probeFile, []byte(saved), 0o644); err != nil {
		t.Fatal(err)
	}
	rec = record.Record{}
	r = runUntil(t, env.Config, func(r result) bool {
		rec = record.Record{}
		_ = json.Unmarshal([]byte(r.stdout), &rec)
		for _, f := range rec.Findings {
			if f.ID == "ROLLOUT-001" && f.Subject == "backend-dev/deploy/backend" {
				return true
			}
		}
		return false
	}, "report", "--config", config, "-o", "json", "--probe-results", probeFile)
	if r.code != 0 {
		t.Fatalf("report: exit %d\n%s", r.code, r.stderr)
	}
	for _, ns := range rec.Namespaces {
		phases := map[string]string{}
		for _, p := range ns.Policies {
			if !p.Managed {
				t.Errorf("%s/%s should be ours", ns.Name, p.Name)
			}
			phases[p.Name] = p.Phase
		}
		if phases["deny-all"] != "00" || phases["allow-dns"] != "05" || phases["allow-from-ingress"] != "15" {
			t.Errorf("%s phases: %v", ns.Name, phases)
		}
		if ns.Rollback.Command != "kubectl netbaseline rollback -n "+ns.Name || !strings.Contains(ns.Rollback.Kubectl, "deny-all") || len(ns.Rollback.Members) != len(ns.Policies) {
			t.Errorf("%s rollback: %+v", ns.Name, ns.Rollback)
		}
	}
	be := rec.Namespaces[1]
	if be.Name != "backend-dev" || len(be.Apps) != 1 || len(be.Apps[0].Deployments) != 1 || be.Apps[0].Deployments[0].Images[0] != "registry.example/backend:1.4.2" || be.Apps[0].Deployments[0].Rollout != "warn" {
		t.Errorf("backend app: %+v", be.Apps)
	}
	if rec.Probe == nil || rec.ProbeCounts["ok"] != 1 || rec.ProbeSource != probeFile {
		t.Errorf("probe results: %+v", rec.Probe)
	}

	// The Markdown record names the rollback commands.
	md := run(t, "report", kc, "--config", config, "-n", "backend-dev")
	if md.code != 0 || !strings.Contains(md.stdout, "kubectl netbaseline rollback -n backend-dev") || strings.Contains(md.stdout, "rollback -n frontend-dev") {
		t.Errorf("md -n backend-dev: exit %d\n%s", md.code, md.stdout)
	}

	// Bad input: a missing file and a file that is not a probe result.
	if r := run(t, "report", kc, "--probe-results", filepath.Join(t.TempDir(), "missing.json")); r.code != ExitUsage {
		t.Errorf("missing file: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "report", kc, "--probe-results", config); r.code != ExitUsage || !strings.Contains(r.stderr, "not a file written by probe --save") {
		t.Errorf("not a probe result: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, "report", kc, "--probe", "--probe-results", probeFile); r.code != ExitUsage {
		t.Errorf("--probe with --probe-results: exit %d", r.code)
	}
}
