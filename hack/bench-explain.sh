#!/usr/bin/env bash
# Measures explain on generated clusters: the engine benchmarks (go test
# -bench) and the CLI on a file (YAML parsing included), with peak RSS.
#   hack/bench-explain.sh            # 500, 2000 and 5000 pods
#   TIERS=50 hack/bench-explain.sh   # the same with 50 ClusterNetworkPolicies (both tiers) and 10 nodes
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== engine (go test -bench, 1,000 policies over 50 namespaces)"
go test ./internal/policy/ -run '^$' -bench 'Compile|Matrix' -benchmem -benchtime 5x | grep -E '^Benchmark'

go build -o "$out/kubectl-netbaseline" ./cmd/kubectl-netbaseline
for pods in 500 2000 5000; do
  go run ./hack/gen-cluster -pods "$pods" -cluster-policies "${TIERS:-0}" > "$out/cluster-$pods.yaml"
  size=$(du -h "$out/cluster-$pods.yaml" | cut -f1)
  for format in table json; do
    /usr/bin/time -f "%e s, %M KiB peak RSS" -o "$out/time" \
      "$out/kubectl-netbaseline" explain -f "$out/cluster-$pods.yaml" --matrix -A -o "$format" > "$out/result" 2>/dev/null
    echo "== CLI: explain --matrix -A -o $format on $pods pods ($size of YAML): $(cat "$out/time"), $(wc -l < "$out/result") lines out"
  done
  /usr/bin/time -f "%e s, %M KiB peak RSS" -o "$out/time" \
    "$out/kubectl-netbaseline" explain -f "$out/cluster-$pods.yaml" ns-0 ns-1:80 > /dev/null 2>&1 || true
  echo "== CLI: explain ns-0 ns-1:80 on $pods pods: $(cat "$out/time")"
done
