package read

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// clusterFile writes a generated cluster (replicas with canary/version
// labels, as hack/gen-cluster writes it) and returns its path.
func clusterFile(b testing.TB, namespaces, policies int) string {
	b.Helper()
	m := synth.Model(synth.Options{Seed: 42, Namespaces: namespaces, Workloads: 10, MaxReplicas: 19, Policies: policies, PodsPerLabelSet: 4})
	var sb strings.Builder
	if err := synth.WriteManifests(&sb, m, nil); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchmarkLoad(b *testing.B, namespaces, policies int) {
	path := clusterFile(b, namespaces, policies)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadFiles([]string{path}, nil, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// About 500 pods and 100 policies; about 5,000 pods and 1,000 policies.
func BenchmarkLoadFiles500(b *testing.B)  { benchmarkLoad(b, 5, 100) }
func BenchmarkLoadFiles5000(b *testing.B) { benchmarkLoad(b, 50, 1000) }
