#!/usr/bin/env bash
# Another enforcer's own policies beside the Kubernetes ones, side by
# side with the Kubernetes-only cluster: 5,000 pods (replicas in label sets
# of 3), 1,000 NetworkPolicies over 50 namespaces, plus LAYER's policies:
# calico (200 by default: GlobalNetworkPolicy and NetworkPolicy, three
# tiers) or cilium (300: CiliumNetworkPolicy and
# CiliumClusterwideNetworkPolicy). Reports CPU
# seconds (user+system; the best of RUNS runs, so that a busy machine
# does not decide; a single question asked REPEAT times per run) and peak RSS for a single question and for
# explain --matrix -A -o jsonl, and the ratios.
#   hack/bench-layer.sh calico|cilium     # RUNS=3 REPEAT=10 COUNT=200|300
# (hack/bench-calico.sh and hack/bench-cilium.sh run it for one layer).
set -euo pipefail
layer=${1:?usage: hack/bench-layer.sh calico|cilium}
case $layer in
  calico) count=${COUNT:-${CALICO:-200}}; Layer=Calico ;;
  cilium) count=${COUNT:-${CILIUM:-300}}; Layer=Cilium ;;
  *) echo "hack/bench-layer.sh: $layer: calico or cilium" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
runs=${RUNS:-3}
go build -o "$out/kubectl-netbaseline" ./cmd/kubectl-netbaseline
go run ./hack/gen-cluster -pods 5000 -namespaces 50 -policies 1000 -pods-per-label-set 3 > "$out/k8s.yaml"
go run ./hack/gen-cluster -pods 5000 -namespaces 50 -policies 1000 -pods-per-label-set 3 -"$layer" "$count" > "$out/$layer.yaml"

# best prints the least CPU time of $runs runs of the command, and that
# run's RSS and wall time, per question: a single question is asked
# $repeat times in a row per run, since its 0.2 s are near the clock's
# 10 ms grain and a busy machine's noise.
best() {
  local repeat=$1 min="" rss="" wall=""
  shift
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%U %S %M %e" -o "$out/time" sh -c 'n=$1; shift; while [ "$n" -gt 0 ]; do "$@" > /dev/null 2>&1; n=$((n-1)); done' _ "$repeat" "$@" || true
    read -r user sys kb elapsed < "$out/time"
    t=$(awk -v u="$user" -v s="$sys" -v n="$repeat" 'BEGIN { printf "%.3f", (u + s) / n }')
    if [ -z "$min" ] || awk -v a="$t" -v b="$min" 'BEGIN { exit !(a < b) }'; then
      min=$t rss=$kb wall=$(awk -v e="$elapsed" -v n="$repeat" 'BEGIN { printf "%.3f", e / n }')
    fi
  done
  echo "$min $rss $wall"
}

for what in single matrix; do
  args=(explain ns-1/pod/api-4-0 ns-2/pod/backend-4-0) repeat=${REPEAT:-10}
  [ "$what" = matrix ] && args=(explain --matrix -A -o jsonl) repeat=1
  read -r k8s k8srss k8swall < <(best "$repeat" "$out/kubectl-netbaseline" "${args[@]}" -f "$out/k8s.yaml")
  read -r cal calrss calwall < <(best "$repeat" "$out/kubectl-netbaseline" "${args[@]}" -f "$out/$layer.yaml")
  ratio=$(awk -v a="$cal" -v b="$k8s" 'BEGIN { printf "%.2f", a / b }')
  echo "== $what: NetworkPolicy only ${k8s} s CPU, ${k8swall} s wall (${k8srss} KiB); with $Layer ${cal} s CPU, ${calwall} s wall (${calrss} KiB): ${ratio}x CPU"
done
echo "== engine compile (go test -bench)"
for f in k8s "$layer"; do
  NETBASELINE_BENCH_CLUSTER="$out/$f.yaml" go test ./internal/policy/ -run '^$' -bench "BenchmarkCompile$Layer" -benchmem -benchtime 10x | grep -E '^Benchmark' | sed "s/^/$f: /"
done
