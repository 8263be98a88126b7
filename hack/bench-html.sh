#!/usr/bin/env bash
# explain --matrix -A -o html on a generated cluster of about 5,000 pods,
# 50 namespaces and 1,000 policies whose replicas carry canary/version
# labels (3 pods per label set): wall time and peak RSS of the command,
# the page's size, then the page in headless Chromium: time until it is
# interactive, to open a namespace pair and a cell. No assertion.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
hack/tools/chromium.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go run ./hack/gen-cluster -pods "${PODS:-5000}" -namespaces "${NAMESPACES:-50}" -policies "${POLICIES:-1000}" -pods-per-label-set 3 >"$dir/cluster.yaml"
/usr/bin/time -f 'explain --matrix -A -o html: %e s, %M KiB peak RSS' \
  bin/kubectl-netbaseline explain -f "$dir/cluster.yaml" --matrix -A -o html >"$dir/matrix.html"
echo "page: $(( $(stat -c %s "$dir/matrix.html") / 1024 )) KiB"
NETBASELINE_REQUIRE_BROWSER=1 NETBASELINE_HTML_PAGE="$dir/matrix.html" NETBASELINE_ARTIFACTS="${NETBASELINE_ARTIFACTS:-$dir}" \
  go test -count=1 -tags browser -run 'TestBrowserHTMLPage$' -v ./internal/cmd | grep -E '^page interactive|^(ok|FAIL|---)'
