#!/usr/bin/env bash
# Measures discover on the local cluster (make cluster-up first): 50 pods
# observed for a 60 s window while they call each other. The workload is
# not 50 identical replicas: 4 APIs, each a stable Deployment (6 replicas,
# version=v1) and a canary (2 replicas, version=v2, track=canary) behind one
# Service, and 3 callers (6 replicas each) that poll different APIs through
# their Services, one of them also the external test host.
#   hack/bench-discover.sh            # DURATION=60s by default
# Prints the CLI's wall time, the size of each agent's summary (the last
# line of its log: what the CLI reads) and the Config's size.
set -euo pipefail
cd "$(dirname "$0")/.."
. /var/lib/netbaseline-cluster/env
export PATH="$NETBASELINE_CLUSTER_BIN:$PATH"
DURATION=${DURATION:-60s}
NS=bench-discover
go build -o bin/kubectl-netbaseline ./cmd/kubectl-netbaseline

deployment() { # deployment NAME REPLICAS LABELS(yaml flow) ARGS(yaml flow)
  echo "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, namespace: $NS}
spec:
  replicas: $2
  selector: {matchLabels: $3}
  template:
    metadata: {labels: $3}
    spec:
      containers:
      - name: app
        image: $NETBASELINE_SAMPLEAPP_IMAGE
        args: $4
        ports: [{name: http, containerPort: 3001}, {name: metrics, containerPort: 8080}]"
}
{
  echo "apiVersion: v1
kind: Namespace
metadata: {name: $NS}"
  for i in 0 1 2 3; do
    backend="[-role, backend, -addr, '0.0.0.0:3001', -metrics-addr, '0.0.0.0:8080']"
    deployment "api-$i" 6 "{app: api-$i, version: v1}" "$backend"
    deployment "api-$i-canary" 2 "{app: api-$i, version: v2, track: canary}" "$backend"
    echo "---
apiVersion: v1
kind: Service
metadata: {name: api-$i, namespace: $NS}
spec:
  selector: {app: api-$i}
  ports: [{name: http, port: 80, targetPort: http}]"
  done
  svc() { echo "http://api-$1.$NS.svc.cluster.local/api/health"; }
  deployment caller-0 6 "{app: caller-0}" "[-role, prometheus, -interval, 1s, -targets, '$(svc 0),$(svc 1),http://198.51.100.10/']"
  deployment caller-1 6 "{app: caller-1, version: v3}" "[-role, prometheus, -interval, 1s, -targets, '$(svc 1),$(svc 2)']"
  deployment caller-2 6 "{app: caller-2}" "[-role, prometheus, -interval, 2s, -targets, '$(svc 3)']"
} | kubectl apply -f - >/dev/null
for d in $(kubectl -n $NS get deploy -o name); do kubectl -n $NS rollout status "$d" --timeout=300s >/dev/null; done
pods=$(kubectl -n $NS get pods --field-selector=status.phase=Running -o name | wc -l)
sleep 5 # a few calls before the window opens

echo "== kubectl netbaseline discover -n $NS --duration $DURATION ($pods pods)"
start=$(date +%s.%N)
bin/kubectl-netbaseline discover -n $NS --duration "$DURATION" >/tmp/bench-discover.yaml 2>/tmp/bench-discover.err
wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
echo "   wall time $wall s for a $DURATION window; Config $(wc -c </tmp/bench-discover.yaml) bytes, $(grep -c '^ *- namespace:' /tmp/bench-discover.yaml) relation(s)"
grep -E '^Observed|^Allowed now' /tmp/bench-discover.err | sed 's/^/   /'

# Each pod's newest ephemeral container is the one just added.
sizes=$(for p in $(kubectl -n $NS get pods -o name); do
  c=$(kubectl -n $NS get "$p" -o jsonpath='{.spec.ephemeralContainers[-1:].name}')
  kubectl -n $NS logs "$p" -c "$c" | tail -n 1 | wc -c
done | sort -n)
echo "   summary per pod (bytes): min $(head -1 <<<"$sizes"), median $(awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}' <<<"$sizes"), max $(tail -1 <<<"$sizes"), total $(awk '{s+=$1} END{print s}' <<<"$sizes")"
kubectl delete namespace $NS --wait=false >/dev/null
