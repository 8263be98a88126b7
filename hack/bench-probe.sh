#!/usr/bin/env bash
# Measures probe on the local cluster (make cluster-up first): 10 source
# groups x 10 destination groups x 2 ports, as one command, against the
# same checks made by a kubectl exec loop, one pair at a time.
#   hack/bench-probe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. /var/lib/netbaseline-cluster/env
export PATH="$NETBASELINE_CLUSTER_BIN:$PATH"
go build -o bin/kubectl-netbaseline ./cmd/kubectl-netbaseline

manifest() { # manifest NAMESPACE ROLE
  echo "apiVersion: v1
kind: Namespace
metadata: {name: $1}"
  for i in $(seq 0 9); do
    echo "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $2-$i, namespace: $1}
spec:
  selector: {matchLabels: {app: $2-$i}}
  template:
    metadata: {labels: {app: $2-$i}}
    spec:
      containers:
      - name: app
        image: $NETBASELINE_SAMPLEAPP_IMAGE
        args: [-role, backend, -addr, '0.0.0.0:3001', -metrics-addr, '0.0.0.0:8080']
        ports: [{name: http, containerPort: 3001}, {name: metrics, containerPort: 8080}]"
  done
}
{ manifest bench-src src; echo ---; manifest bench-dst dst; } | kubectl apply -f - >/dev/null
for ns in bench-src bench-dst; do
  for i in $(seq 0 9); do kubectl -n $ns rollout status deploy/${ns#bench-}-$i --timeout=180s >/dev/null; done
done
# Only dst-0..4 may be reached on 3001; the rest is dropped (exercises timeouts).
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: some, namespace: bench-dst}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [dst-0, dst-1, dst-2, dst-3, dst-4]}]}
  ingress: [{ports: [{port: 3001}]}]
YAML
sleep 2

echo "== kubectl netbaseline probe bench-src bench-dst --port 3001 --port 8080 (200 checks, 10 containers)"
start=$(date +%s.%N)
bin/kubectl-netbaseline probe bench-src bench-dst --port 3001 --port 8080 --parallel 10 --check-timeout 2s \
  --deny-mode "$NETBASELINE_DENY_MODE" >/tmp/bench-probe.out 2>/dev/null || true
probe_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
echo "   $probe_s s, $(grep -c ' ok$' /tmp/bench-probe.out) ok of $(($(wc -l < /tmp/bench-probe.out) - 1)) rows"

echo "== the same 200 checks with a kubectl exec loop (one pair at a time, /bin/probe tcp, 2s timeout)"
ips=$(kubectl -n bench-dst get pods -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}')
start=$(date +%s.%N)
for i in $(seq 0 9); do
  for ip in $ips; do
    for port in 3001 8080; do
      kubectl -n bench-src exec deploy/src-$i -- /bin/probe tcp "$ip:$port" 2s >/dev/null 2>&1 || true
    done
  done
done
exec_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
echo "   $exec_s s"
kubectl delete namespace bench-src bench-dst --wait=false >/dev/null
