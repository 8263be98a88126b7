#!/usr/bin/env bash
# Calico's policies (200: GlobalNetworkPolicy and NetworkPolicy in three tiers) beside 1,000 NetworkPolicies on 5,000 pods, side
# by side with the NetworkPolicies alone: hack/bench-layer.sh calico.
#   hack/bench-calico.sh                  # RUNS=3 REPEAT=10 CALICO=200
exec "$(dirname "$0")/bench-layer.sh" calico
