package read

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a/ns.yaml", `apiVersion: v1
kind: Namespace
metadata:
  name: y
  labels:
    on: yes
    version: "1.0"
---
# an empty document and a comment-only one are fine
---
apiVersion: v1
kind: Namespace
metadata: {name: on}
`)
	writeFile(t, dir, "b/list.json", `{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "y", "labels": {"app": "x"},
   "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5f4b", "uid": "1", "controller": true}]},
   "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"name": "http", "containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]}]},
   "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}], "conditions": [{"type": "Ready", "status": "True"}]}}
]}`)
	writeFile(t, dir, "b/workloads.yml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      hostNetwork: true
      containers: [{name: c, image: i, ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: y}
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {job: nightly}}
        spec: {containers: [{name: c, image: i}], restartPolicy: Never}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: y}
spec:
  selector: {app: web}
  clusterIP: 198.19.0.20
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec: {podSelector: {}}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: c, namespace: y}
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: calico, namespace: y}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
`)
	m, err := LoadFiles([]string{dir}, nil, "team")
	if err != nil {
		t.Fatal(err)
	}
	// YAML 1.2: y and on are strings, not booleans.
	if ns := m.Namespace("y"); ns == nil || ns.Labels["on"] != "yes" || ns.Labels[model.MetadataNameLabel] != "y" {
		t.Errorf("namespace y = %+v", ns)
	}
	if m.Namespace("on") == nil {
		t.Error("namespace on missing")
	}
	// A namespace referenced but not declared gets its automatic label.
	if ns := m.Namespace("team"); ns == nil || !cmp.Equal(ns.Labels, map[string]string{model.MetadataNameLabel: "team"}) {
		t.Errorf("namespace team = %+v", ns)
	}
	p := m.Pod("y", "p")
	if p == nil || len(p.IPs) != 2 || !p.Ready || p.Owner.Kind != "replicaset" || p.Controller.Name != "web-5f4b" {
		t.Errorf("pod p = %+v", p)
	}
	if n, ok := p.NamedPort("http", "TCP"); !ok || n != 80 {
		t.Errorf("named port http = %d %v", n, ok)
	}
	if got := p.Ports[1].Protocol; got != "UDP" {
		t.Errorf("protocol = %q", got)
	}
	web := m.Pod("team", "web")
	if web == nil || !web.FromTemplate || !web.HostNetwork || web.Owner.Kind != "deployment" || len(web.IPs) != 0 {
		t.Errorf("deployment pod = %+v", web)
	}
	if cj := m.Pod("y", "nightly"); cj == nil || cj.Owner.Kind != "cronjob" || cj.Labels["job"] != "nightly" {
		t.Errorf("cronjob pod = %+v", cj)
	}
	if svc := m.Service("y", "web"); svc == nil || svc.Ports[0].TargetPort.StrVal != "http" || svc.Ports[0].Protocol != "TCP" || svc.ClusterIPs[0].String() != "198.19.0.20" {
		t.Errorf("service = %+v", svc)
	}
	if len(m.Policies) != 1 || m.Policies[0].Namespace != "team" {
		t.Errorf("policies = %+v", m.Policies)
	}
	if !cmp.Equal(m.OtherLayers, []string{"CiliumNetworkPolicy", "NetworkPolicy"}) {
		t.Errorf("other layers = %v", m.OtherLayers)
	}
}

func TestLoadFilesErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"bad.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: [\n", "bad.yaml: not valid YAML"},
		{"nokind.yaml", "apiVersion: v1\n---\napiVersion: v1\nmetadata: {}\n", "nokind.yaml:1: missing kind"},
		{"second.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: 5}\nspec: {containers: 3}\n", "second.yaml:5: Pod"},
		{"scalar.yaml", "just text\n", "must be a Kubernetes object"},
	}
	for _, tt := range tests {
		p := writeFile(t, dir, tt.name, tt.content)
		_, err := LoadFiles([]string{p}, nil, "")
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want FileError containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := LoadFiles([]string{filepath.Join(dir, "missing")}, nil, ""); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	m, err := LoadFiles([]string{"-"}, strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: stdin}\n"), "")
	if err != nil || m.Namespace("stdin") == nil {
		t.Errorf("stdin: %v %+v", err, m)
	}
}
