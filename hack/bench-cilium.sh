#!/usr/bin/env bash
# Cilium's policies (300: CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy) beside 1,000 NetworkPolicies on 5,000 pods, side
# by side with the NetworkPolicies alone: hack/bench-layer.sh cilium.
#   hack/bench-cilium.sh                  # RUNS=3 REPEAT=10 CILIUM=300
exec "$(dirname "$0")/bench-layer.sh" cilium
