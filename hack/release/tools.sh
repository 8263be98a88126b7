#!/usr/bin/env bash
# Builds the pinned release tools (goreleaser, krew, validate-krew-manifest;
# versions in hack/tools/go.mod) into $NB_TOOLS_HOME/bin, outside git,
# unless they are built from the same go.mod/go.sum already.
set -euo pipefail
cd "$(dirname "$0")/../tools"
NB_TOOLS_HOME="${NB_TOOLS_HOME:-/var/cache/netbaseline-tools}"
mkdir -p "$NB_TOOLS_HOME/bin"
# Tools are not shipped: built with the machine's own Go (GOTOOLCHAIN=local),
# whatever toolchain the caller exports for the plugin; the stamp names it.
stamp=$( { GOTOOLCHAIN=local go version; cat go.mod go.sum; } | sha256sum | cut -c1-16)
if [ "$(cat "$NB_TOOLS_HOME/bin/.stamp" 2>/dev/null)" = "$stamp" ] && [ -x "$NB_TOOLS_HOME/bin/goreleaser" ]; then
  exit 0
fi
start=$(date +%s)
GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath -o "$NB_TOOLS_HOME/bin/" \
  github.com/goreleaser/goreleaser/v2 sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest
echo "$stamp" >"$NB_TOOLS_HOME/bin/.stamp"
echo "release tools built in $(( $(date +%s) - start ))s into $NB_TOOLS_HOME/bin" >&2
