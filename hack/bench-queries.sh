#!/usr/bin/env bash
# Times whole processes of explain on generated clusters (about 500 and
# 5,000 pods whose replicas carry canary/version labels): one question
# per process, and --queries with 20,000 questions in one process. Prints
# wall time and peak RSS; no assertion (speed is measured, not tested).
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bin=bin/kubectl-netbaseline
t() { /usr/bin/time -f '%e s, %M KiB peak RSS' "$@" >/dev/null 2>"$dir/time" || true; tail -1 "$dir/time"; }
# avg20: mean wall time of 20 runs (one run is too noisy for tens of ms)
avg20() { local s; s=$(date +%s%N); for _ in $(seq 20); do "$@" >/dev/null 2>&1 || true; done; echo "$(( ($(date +%s%N) - s) / 20000000 )) ms mean of 20"; }
echo "process start (version):      $(t $bin version); $(avg20 $bin version)"
for pods in 500 5000; do
  go run ./hack/gen-cluster -pods $pods -namespaces $((pods / 100)) -policies $((pods / 5)) -pods-per-label-set 4 >"$dir/c$pods.yaml"
  go run ./hack/gen-cluster -pods $pods -namespaces $((pods / 100)) -policies $((pods / 5)) -pods-per-label-set 4 -queries 20000 >"$dir/q$pods.jsonl"
  q=$(head -1 "$dir/q$pods.jsonl")
  from=$(echo "$q" | sed 's/.*"from":"\([^"]*\)".*/\1/'); to=$(echo "$q" | sed 's/.*"to":"\([^"]*\)".*/\1/'); port=$(echo "$q" | sed 's/.*"port":"\([^"]*\)".*/\1/')
  echo "$pods pods, one question:       $(t $bin explain -f "$dir/c$pods.yaml" "$from" "$to:$port/tcp"); $(avg20 $bin explain -f "$dir/c$pods.yaml" "$from" "$to:$port/tcp")"
  echo "$pods pods, 20,000 questions:   $(t $bin explain -f "$dir/c$pods.yaml" --queries "$dir/q$pods.jsonl")"
done
