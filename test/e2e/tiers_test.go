//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The cluster-scoped tiers on a cluster whose engine does not enforce them
// (kube-router; Calico v3.28, which predates its AdminNetworkPolicy
// support and never had ClusterNetworkPolicy): explain decides the
// ClusterNetworkPolicy as the API says, doctor warns that the engine
// ignores it, and the traffic proves doctor right — the flow the policy
// denies still connects.
func TestClusterTiersOnAnEngineWithoutThem(t *testing.T) {
	engine, _ := clusterEngine()
	deploySampleApp(t)
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/network-policy-api").Output()
	if err != nil {
		t.Fatalf("go list -m sigs.k8s.io/network-policy-api: %v", err)
	}
	crd := filepath.Join(strings.TrimSpace(string(dir)), "config", "crd", "standard", "policy.networking.k8s.io_clusternetworkpolicies.yaml")
	kube(t, "apply", "--server-side", "-f", crd)
	t.Cleanup(func() {
		kube(t, "delete", "clusternetworkpolicies.policy.networking.k8s.io", "--all", "--ignore-not-found")
		kube(t, "delete", "-f", crd, "--ignore-not-found")
	})
	waitEstablished(t, "clusternetworkpolicies.policy.networking.k8s.io")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	policy := `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: no-frontend-to-backend}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: backend-dev}}}
  ingress:
  - name: no-frontend
    action: Deny
    from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: frontend-dev}}}]
    protocols: [{tcp: {destinationPort: {number: 3001}}}]
`
	must(t, runCmd(ctx, policy, kubectl, "apply", "-f", "-"), "kubectl apply ClusterNetworkPolicy")

	var explained struct {
		Verdicts []struct {
			Verdict string
			Ingress struct {
				Tier  string
				Admin *struct{ Name, RuleName string }
			}
		}
	}
	if err := json.Unmarshal([]byte(netbaseline(t, "explain", "-o", "json", "frontend-dev/deploy/frontend", "backend-dev:3001")), &explained); err != nil {
		t.Fatal(err)
	}
	// Where Cilium is known to enforce, the engine decides with Cilium's
	// repository, which has no ClusterNetworkPolicy: whether something
	// else enforces it beside Cilium is unknown, so explain says
	// unspecified (docs/design.md, "Cilium"). Elsewhere it follows the API.
	vs := explained.Verdicts
	switch {
	case engine == "Cilium":
		if len(vs) != 1 || vs[0].Verdict != "unspecified" || vs[0].Ingress.Tier != "cilium" {
			t.Errorf("explain on Cilium: %+v", vs)
		}
	case len(vs) != 1 || vs[0].Verdict != "denied" || vs[0].Ingress.Tier != "admin" || vs[0].Ingress.Admin == nil || vs[0].Ingress.Admin.Name != "no-frontend-to-backend":
		t.Errorf("explain: %+v", vs)
	}

	o := runCmd(ctx, "", plugin, "doctor", "-o", "json")
	var doc struct {
		Findings []struct{ ID, Severity, Subject, Message string }
	}
	if err := json.Unmarshal([]byte(o.stdout), &doc); err != nil {
		t.Fatalf("doctor: %v\n%s", err, o.stdout)
	}
	warned := false
	for _, f := range doc.Findings {
		if f.ID == "TIER-001" && f.Severity == "warn" && f.Subject == engine && strings.Contains(f.Message, "does not enforce ClusterNetworkPolicy") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("doctor does not warn that %s ignores the ClusterNetworkPolicy: %+v", engine, doc.Findings)
	}
	// The engine does not enforce it: the connection still succeeds.
	expectReach(t, "frontend-dev", "frontend", "tcp", podIP(t, "backend-dev", "app=backend")+":3001")
}

// waitEstablished polls a CRD until it is Established. kubectl wait
// --for=condition fails at once, instead of waiting, while a new CRD has
// no status conditions yet.
func waitEstablished(t *testing.T, crd string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		o := runCmd(ctx, "", kubectl, "get", "crd", crd, "-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}`)
		cancel()
		if o.err == nil && strings.TrimSpace(o.stdout) == "True" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CRD %s not Established within a minute (last: %q, %v %s)", crd, o.stdout, o.err, o.stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
