#!/bin/bash
# Build the CNCF distribution registry (version pinned in
# hack/tools/registry/go.mod) from the Go module proxy into
# $NB_TOOLS_HOME/registry/bin, unless it is built from the same go.mod/go.sum.
set -euo pipefail
source "$(dirname "$0")/../cluster/common.sh"
src="$LAB/../tools/registry"
stamp=$( { go version; cat "$src/go.mod" "$src/go.sum"; } | sha256sum | cut -c1-16)
if [ -x "$REGISTRY_BIN" ] && [ "$(cat "$REGISTRY_BIN.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
mkdir -p "$(dirname "$REGISTRY_BIN")"
t=$(date +%s)
(cd "$src" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$REGISTRY_BIN" github.com/distribution/distribution/v3/cmd/registry)
echo "$stamp" >"$REGISTRY_BIN.stamp"
log "registry built in $(( $(date +%s) - t ))s: $REGISTRY_BIN"
