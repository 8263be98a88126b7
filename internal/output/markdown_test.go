package output

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netbaseline/kubectl-netbaseline/internal/apply"
	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/doctor"
	"github.com/netbaseline/kubectl-netbaseline/internal/golden"
	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/record"
)

// The record package's golden record, rendered as the Markdown section.
func TestRecordMarkdownGolden(t *testing.T) {
	b, err := os.ReadFile("../record/testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec record.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "report.md", md.Bytes())
}

func TestRecordWithoutAnything(t *testing.T) {
	cfg := config.Default()
	empty := map[string]record.RollbackPlan{"frontend-dev": &apply.RollbackPlan{Namespace: "frontend-dev"}, "backend-dev": &apply.RollbackPlan{Namespace: "backend-dev"}}
	rec := record.BuildRecord(record.Inputs{Now: time.Unix(0, 0), Config: cfg, Snapshot: &doctor.Snapshot{}, DenyMode: "drop", Rollback: empty})
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No NetworkPolicy engine found", "| frontend-dev | **no** | - | frontend |", "No NetworkPolicy: every pod of backend-dev is open.", "nothing to roll back", "No probe results"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("missing %q in:\n%s", want, md.String())
		}
	}
	js, _ := json.Marshal(rec)
	if !strings.Contains(string(js), `"engines":[]`) || !strings.Contains(string(js), `"findings":[]`) {
		t.Errorf("empty lists should be [] in JSON: %s", js)
	}
}

// What could not be read is recorded as unknown, never as "none": no
// "no engine", no "namespace does not exist", no "every pod is open".
func TestRecordOfUnreadableCluster(t *testing.T) {
	cfg := config.Default()
	snap := &doctor.Snapshot{Unreadable: map[string]string{}}
	for _, r := range []string{"daemonsets", "namespaces", "pods", "networkpolicies", "deployments"} {
		snap.Unreadable[r] = "RBAC does not allow list " + r
	}
	rec := record.BuildRecord(record.Inputs{Now: time.Unix(0, 0), Config: cfg, Snapshot: snap, DenyMode: "drop", Rollback: map[string]record.RollbackPlan{}})
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"No NetworkPolicy engine found", "**no**", "every pod of", "| 0 |"} {
		if strings.Contains(md.String(), bad) {
			t.Errorf("the record of an unreadable cluster says %q:\n%s", bad, md.String())
		}
	}
	for _, want := range []string{"**Unknown**: the engine could not be detected (RBAC does not allow list daemonsets)", "unknown (not readable)", "Unknown: its NetworkPolicies could not be read"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("missing %q in:\n%s", want, md.String())
		}
	}
	js, _ := json.Marshal(rec)
	if !strings.Contains(string(js), `"exists":null`) || !strings.Contains(string(js), `"pods":null`) || !strings.Contains(string(js), `"unreadable":{`) {
		t.Errorf("JSON does not say unknown: %s", js)
	}
}

// -o wide lists every finding and the probes' check, outcome, time and
// detail.
func TestRecordMarkdownWide(t *testing.T) {
	b, err := os.ReadFile("../record/testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec record.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	var md, wide bytes.Buffer
	if err := WriteMarkdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdownWide(&wide, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(wide.String(), "| from | to | port | check | expected | outcome | observed | result | ms | detail |") ||
		strings.Count(wide.String(), "| pass |") <= strings.Count(md.String(), "| pass |") {
		t.Errorf("wide markdown:\n%s", wide.String())
	}
}

// The EKS agent's policies are listed like the others, with a line saying
// their rule order does not count; unreadable, the section says unknown.
func TestRecordMarkdownEKSClusterPolicies(t *testing.T) {
	rec := record.Record{ClusterPolicies: []record.ClusterPolicyRecord{{Kind: model.KindAWSClusterNetworkPolicy, Name: "tenant-guard", Tier: "admin"}}}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "ClusterNetworkPolicy.networking.k8s.aws/tenant-guard") || !strings.Contains(md.String(), "whatever their order") {
		t.Errorf("markdown:\n%s", md.String())
	}
	rec.Unreadable = map[string]string{model.AWSClusterPolicyResource: "could not be listed"}
	md.Reset()
	if err := WriteMarkdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "**Unknown**: the AdminNetworkPolicies") {
		t.Errorf("unreadable:\n%s", md.String())
	}
}

// A posture that could not be worked out says so and shows no table: no
// "no finding" from an unread cluster.
func TestRecordPostureUnknown(t *testing.T) {
	rec := record.Record{Posture: &record.PostureRecord{Unknown: "could not list pods in shop (RBAC)"}}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "### Exposure and posture\n\nUnknown: could not list pods in shop (RBAC).\n") || strings.Contains(md.String(), "#### Findings by severity") {
		t.Fatalf("%s", md.String())
	}
	if err := WriteMarkdown(&md, record.Record{}); err != nil || strings.Count(md.String(), "Exposure and posture") != 1 {
		t.Fatalf("a record without a posture has no section: %v\n%s", err, md.String())
	}
}
