#!/usr/bin/env bash
# Runs go test and prints a summary line per package plus the totals, so a
# CI log shows at a glance what ran.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/toolchain.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -count=1 "$@" 2>&1 | tee "$log" || status=$?

passed=$(grep -c '^ok ' "$log" || true)
failed=$(grep -c '^FAIL[[:space:]]' "$log" || true)
notests=$(grep -c 'no test files' "$log" || true)
echo "go test summary: ${passed} package(s) ok, ${failed} failed, ${notests} without tests; exit ${status}"
exit "$status"
