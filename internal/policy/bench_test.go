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

func BenchmarkEvaluateExplain(b *testing.B) {
	m := synth.Model(benchOptions(5000))
	e := New(m)
	f := Flow{From: PodEndpoint(m.Pods[0]), To: PodEndpoint(m.Pods[len(m.Pods)-1]), Port: 80, Protocol: "TCP"}
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(f, true)
	}
}
