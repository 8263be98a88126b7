#!/usr/bin/env bash
# Times the live reader against a real API server (light mode: etcd and
# kube-apiserver from hack/cluster, no nodes) holding about 5,000 pods,
# 50 namespaces and 1,000 policies: protobuf in pages of 500 (what the
# plugin does), JSON in pages, JSON in one response. The benchmark creates
# the objects first (about a minute). Needs make cluster-build.
set -euo pipefail
cd "$(dirname "$0")/.."
NETBASELINE_REQUIRE_TESTENV=1 go test -tags integration -run '^$' -bench 'IntegrationLoadLive5000' -benchtime "${BENCHTIME:-5x}" -timeout 30m ./internal/read
