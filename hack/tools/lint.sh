#!/usr/bin/env bash
# Builds the pinned linter (version in hack/tools/lint/go.mod) into
# $NB_TOOLS_HOME/bin, unless it is built from the same go.mod/go.sum already,
# and runs it on the module with .golangci.yaml.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
NB_TOOLS_HOME="${NB_TOOLS_HOME:-/var/cache/netbaseline-tools}"
bin="$NB_TOOLS_HOME/lint/bin"
mkdir -p "$bin"
# Tools are not shipped: built with the machine's own Go (GOTOOLCHAIN=local),
# whatever toolchain the caller exports for the plugin; the stamp names it.
stamp=$( { GOTOOLCHAIN=local go version; cat "$root/hack/tools/lint/go.mod" "$root/hack/tools/lint/go.sum"; } | sha256sum | cut -c1-16)
if [ "$(cat "$bin/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$bin/golangci-lint" ]; then
  start=$(date +%s)
  (cd "$root/hack/tools/lint" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath -o "$bin/" github.com/golangci/golangci-lint/v2/cmd/golangci-lint)
  echo "$stamp" >"$bin/.stamp"
  echo "golangci-lint built in $(( $(date +%s) - start ))s into $bin" >&2
fi
cd "$root"
exec "$bin/golangci-lint" run --build-tags integration,e2e,browser "$@" ./...
