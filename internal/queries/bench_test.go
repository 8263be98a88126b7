package queries

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/netbaseline/kubectl-netbaseline/internal/policy"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

// BenchmarkAnswer20000 parses, resolves and answers 20,000 questions on a
// 5,000-pod model whose replicas carry canary/version labels (the engine
// is built outside the loop, as the CLI builds it once).
func BenchmarkAnswer20000(b *testing.B) {
	m := synth.Model(synth.Options{Seed: 42, Namespaces: 50, Workloads: 10, MaxReplicas: 19, Policies: 1000})
	e := policy.New(m)
	r := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	for range 20000 {
		src, dst := m.Pods[r.IntN(len(m.Pods))], m.Pods[r.IntN(len(m.Pods))]
		line, _ := json.Marshal(map[string]string{"from": src.Key(), "to": dst.Key(), "port": "8080"})
		fmt.Fprintf(&sb, "%s\n", line)
	}
	input := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		qs, err := Parse(strings.NewReader(input), "bench", "")
		if err != nil {
			b.Fatal(err)
		}
		resolved, err := Resolve(m, "bench", qs, false)
		if err != nil {
			b.Fatal(err)
		}
		for _, q := range resolved {
			if _, err := q.Answer(e, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	}
}
