package policy

import (
	"fmt"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// benchOptions gives ~pods pods (10 per workload on average) with 1,000
// policies over 50 namespaces.
func benchOptions(pods int) synth.Options {
	workloads := pods / 50 / 10
	return synth.Options{Seed: 42, Namespaces: 50, Workloads: workloads, MaxReplicas: 19, Policies: 1000}
}

func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{500, 2000, 5000} {
		m := synth.Model(benchOptions(n))
		b.Run(fmt.Sprintf("pods=%d", len(m.Pods)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				New(m)
			}
		})
	}
}

// BenchmarkMatrix is compile plus the full group matrix on every declared
// port: what `explain --matrix -A` does after reading.
func BenchmarkMatrix(b *testing.B) {
	for _, n := range []int{500, 2000, 5000} {
		m := synth.Model(benchOptions(n))
		b.Run(fmt.Sprintf("pods=%d", len(m.Pods)), func(b *testing.B) {
			b.ReportAllocs()
			var cells int
			for b.Loop() {
				cells = len(New(m).Matrix(m.Pods, nil))
			}
			b.ReportMetric(float64(cells), "cells")
		})
	}
}

// BenchmarkMatrixWithTiers is BenchmarkMatrix on 5,000 pods whose
// replicas carry canary/track labels, without and with 50 cluster-scoped
// policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// ClusterNetworkPolicy of both tiers) and 10 nodes: the tiers' cost. As
// clusters hold them: one API generation with distinct priorities (cnp:
// ClusterNetworkPolicy, anp: AdminNetworkPolicy and the baseline); and the
// worst case: both generations mixed and priorities drawn from three
// values, so the order is open nearly everywhere and many verdicts are
// unspecified and explained.
func BenchmarkMatrixWithTiers(b *testing.B) {
	for _, c := range []struct {
		name     string
		tiers    int
		api      string
		distinct bool
	}{{"tiers=0", 0, "", false}, {"tiers=50-cnp", 50, "cnp", true}, {"tiers=50-anp", 50, "anp", true}, {"tiers=50-mixed-ties", 50, "", false}} {
		o := benchOptions(5000)
		o.PodsPerLabelSet = 4
		o.ClusterPolicies, o.Nodes, o.DistinctPriorities, o.ClusterPolicyAPI = c.tiers, 10, c.distinct, c.api
		m := synth.Model(o)
		b.Run(fmt.Sprintf("pods=%d/%s", len(m.Pods), c.name), func(b *testing.B) {
			b.ReportAllocs()
			var cells int
			for b.Loop() {
				cells = 0
				_ = New(m).MatrixEach(m.Pods, nil, func(Explanation) error { cells++; return nil })
			}
			b.ReportMetric(float64(cells), "cells")
		})
	}
}

func BenchmarkEvaluateExplain(b *testing.B) {
	m := synth.Model(benchOptions(5000))
	e := New(m)
	f := Flow{From: PodEndpoint(m.Pods[0]), To: PodEndpoint(m.Pods[len(m.Pods)-1]), Port: 80, Protocol: "TCP"}
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(f, true)
	}
}
