package policy_test

import (
	"os"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// BenchmarkMatrixCilium evaluates the whole matrix of a generated cluster
// (NETBASELINE_BENCH_CLUSTER, hack/bench-cilium.sh), verdicts with
// reasons, as explain --matrix -o jsonl does.
func BenchmarkMatrixCilium(b *testing.B) {
	path := os.Getenv("NETBASELINE_BENCH_CLUSTER")
	if path == "" {
		b.Skip("NETBASELINE_BENCH_CLUSTER names a generated cluster (hack/bench-cilium.sh)")
	}
	m, err := read.LoadFiles([]string{path}, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		e := policy.New(m)
		groups := e.PodGroups(m.Pods)
		n := 0
		if err := e.MatrixEachOf(groups, nil, func(policy.Explanation) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "flows")
	}
}
