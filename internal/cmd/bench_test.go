package cmd

import (
	"path/filepath"
	"strconv"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/netbaseline/kubectl-netbaseline/internal/config"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// benchmarkOneQuestion runs `explain -f FILE SRC DST:PORT/tcp` in process,
// everything a process does after it has started: flags, Config, reading
// the file, the engine, the answer. Replicas carry canary/version labels.
func benchmarkOneQuestion(b *testing.B, namespaces int) {
	m := synth.Model(synth.Options{Seed: 42, Namespaces: namespaces, Workloads: 10, MaxReplicas: 19, Policies: namespaces * 20, PodsPerLabelSet: 4})
	path := filepath.Join(b.TempDir(), "cluster.yaml")
	if err := synth.WriteManifestsFile(path, m); err != nil {
		b.Fatal(err)
	}
	b.Setenv(config.EnvConfig, "")
	b.Setenv("KUBECONFIG", filepath.Join(b.TempDir(), "no-kubeconfig"))
	src, dst := m.Pods[0], m.Pods[len(m.Pods)/2]
	port := "8080"
	if len(dst.Ports) > 0 {
		port = strconv.Itoa(int(dst.Ports[0].Port))
	}
	b.ReportMetric(float64(len(m.Pods)), "pods")
	b.ReportAllocs()
	for b.Loop() {
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		root := NewCmdNetBaseline(streams)
		root.SetArgs([]string{"explain", "-f", path, src.Key(), dst.Key() + ":" + port + "/tcp"})
		if err := root.Execute(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExplainOneQuestion500(b *testing.B)  { benchmarkOneQuestion(b, 5) }
func BenchmarkExplainOneQuestion5000(b *testing.B) { benchmarkOneQuestion(b, 50) }
