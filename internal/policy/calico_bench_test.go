package policy_test

import (
	"os"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/read"
)

// BenchmarkCompileCalico compiles the engine of a generated cluster
// (NETBASELINE_BENCH_CLUSTER, e.g. gen-cluster -pods 5000 -calico 200):
// the cost a single question pays before its answer.
func BenchmarkCompileCalico(b *testing.B) {
	path := os.Getenv("NETBASELINE_BENCH_CLUSTER")
	if path == "" {
		b.Skip("NETBASELINE_BENCH_CLUSTER names a generated cluster (hack/bench-calico.sh)")
	}
	m, err := read.LoadFiles([]string{path}, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = policy.New(m)
	}
}

// BenchmarkCompileCilium compiles the engine of a generated cluster with
// Cilium's policies (gen-cluster -pods 5000 -cilium 300,
// hack/bench-cilium.sh).
func BenchmarkCompileCilium(b *testing.B) {
	path := os.Getenv("NETBASELINE_BENCH_CLUSTER")
	if path == "" {
		b.Skip("NETBASELINE_BENCH_CLUSTER names a generated cluster (hack/bench-cilium.sh)")
	}
	m, err := read.LoadFiles([]string{path}, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = policy.New(m)
	}
}
