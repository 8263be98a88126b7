#!/bin/bash
# Stop the registries up.sh started (by PID); their storage stays in
# $STATE/registry until hack/cluster/down.sh --purge.
set -uo pipefail
source "$(dirname "$0")/../cluster/common.sh"
stop registry-public "$REGISTRY_BIN"
stop registry-private "$REGISTRY_BIN"
