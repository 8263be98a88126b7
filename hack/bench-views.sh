#!/usr/bin/env bash
# The matrix views at scale, whole commands on generated files whose
# replicas carry canary/version labels (3 pods per label set): about
# 5,000 pods / 1,000 policies / 50 namespaces, every format of
# --matrix -A, then 50,000 pods / 10,000 policies / 500 namespaces per
# namespace. Wall time and peak RSS; output goes to /dev/null (its size is
# counted). No assertion: speed is measured, not tested.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bin=bin/kubectl-netbaseline
t() { # label, then the command
  local label=$1; shift
  /usr/bin/time -f '%e s, %M KiB peak RSS' -o "$dir/time" "$@" 2>/dev/null | wc -c >"$dir/bytes" || true
  printf '%-58s %s, %s MB out\n' "$label" "$(cat "$dir/time")" "$(( $(cat "$dir/bytes") / 1000000 ))"
}
go run ./hack/gen-cluster -pods 5000 -namespaces 50 -policies 1000 -pods-per-label-set 3 >"$dir/c5000.yaml"
for o in jsonl table json csv; do
  t "5,000 pods: --matrix -A -o $o" $bin explain -f "$dir/c5000.yaml" --matrix -A -o $o
done
t "5,000 pods: --matrix -A --group-by namespace -o json" $bin explain -f "$dir/c5000.yaml" --matrix -A --group-by namespace -o json
t "5,000 pods: --matrix -A -o html" $bin explain -f "$dir/c5000.yaml" --matrix -A -o html
if [ -z "${SKIP_50K:-}" ]; then
  go run ./hack/gen-cluster -pods 50000 -namespaces 500 -policies 10000 -pods-per-label-set 3 >"$dir/c50000.yaml"
  t "50,000 pods: --matrix -A --group-by namespace -o json" $bin explain -f "$dir/c50000.yaml" --matrix -A --group-by namespace -o json
fi
