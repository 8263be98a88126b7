// Command gen-cluster writes a deterministic random cluster (Namespaces,
// Pods, NetworkPolicies) as one multi-document YAML file, for benchmarking
// explain on files: go run ./hack/gen-cluster -pods 5000 > /tmp/cluster.yaml
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/netbaseline/kubectl-netbaseline/internal/model"
	"github.com/netbaseline/kubectl-netbaseline/internal/synth"
)

func main() {
	pods := flag.Int("pods", 5000, "about this many pods (10 per workload on average)")
	namespaces := flag.Int("namespaces", 50, "namespaces")
	policies := flag.Int("policies", 1000, "NetworkPolicies")
	seed := flag.Uint64("seed", 42, "random seed")
	perLabelSet := flag.Int("pods-per-label-set", 0, "give each run of this many replicas its own labels (canary/track), as rollouts do; 0: every replica alike")
	queries := flag.Int("queries", 0, "instead of the cluster, write this many questions about it for explain --queries (JSON lines)")
	clusterPolicies := flag.Int("cluster-policies", 0, "also write this many cluster-scoped policies with distinct priorities, and 10 Nodes")
	clusterAPI := flag.String("cluster-api", "cnp", "which cluster-scoped API: cnp (ClusterNetworkPolicy), anp (AdminNetworkPolicy and the baseline), or mixed")
	calico := flag.Int("calico", 0, "also write this many Calico policies (GlobalNetworkPolicy and NetworkPolicy in three tiers)")
	calicoVersion := flag.String("calico-version", "v3.30.2", "with -calico: the ClusterInformation's calicoVersion (\"\" leaves it out: the engine then follows both orders of tiers)")
	cilium := flag.Int("cilium", 0, "also write this many Cilium policies (CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy) and the cilium-config ConfigMap")
	flag.Parse()

	api := *clusterAPI
	if api == "mixed" {
		api = ""
	}
	nodes := 0
	if *clusterPolicies > 0 {
		nodes = 10
	}
	m, clusterObjects := synth.ModelAndObjects(synth.Options{Seed: *seed, Namespaces: *namespaces, Workloads: max(1, *pods / *namespaces / 10), MaxReplicas: 19, Policies: *policies, PodsPerLabelSet: *perLabelSet,
		ClusterPolicies: *clusterPolicies, Nodes: nodes, DistinctPriorities: true, ClusterPolicyAPI: api, ValidOnly: true})
	w := bufio.NewWriter(os.Stdout)
	defer func() {
		if err := w.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}()
	if *queries > 0 {
		writeQueries(w, m, *queries, *seed)
		return
	}
	if err := synth.WriteManifests(w, m, clusterObjects); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *calico > 0 {
		writeCalico(w, m, *calico, *seed, *calicoVersion)
	}
	if *cilium > 0 {
		writeCilium(w, m, *cilium, *seed)
	}
}

// writeQueries writes n questions from random pods to random pods on ports
// they declare (or 8080), half of them with an expectation.
func writeQueries(w *bufio.Writer, m *model.Model, n int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range n {
		src, dst := m.Pods[r.IntN(len(m.Pods))], m.Pods[r.IntN(len(m.Pods))]
		port := "8080"
		if len(dst.Ports) > 0 {
			port = strconv.Itoa(int(dst.Ports[r.IntN(len(dst.Ports))].Port))
		}
		q := map[string]string{"from": src.Key(), "to": dst.Key(), "port": port}
		if i%2 == 0 {
			q["expect"] = []string{"allowed", "denied"}[r.IntN(2)]
		}
		b, _ := json.Marshal(q)
		fmt.Fprintf(w, "%s\n", b)
	}
}
