#!/usr/bin/env bash
# make demo: build and start the local cluster with the sample app, then
# walk the runbook with the plugin, showing each command and its output.
# The cluster stays up for you to try commands; make cluster-down removes it.
# Needs root (the cluster is real: containerd, kubelet, kube-router).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:${PATH}"

if [ "$(id -u)" != 0 ]; then
  echo "make demo starts a real single-node cluster and needs root: run it as root (or with sudo where it exists)" >&2
  exit 1
fi

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
# show CMD...: print the command, run it, and keep going on exit 3 (done,
# expectations not met: the demo shows it); OK_CODES adds more (diff: 1).
show() {
  printf '\033[36m$ %s\033[0m\n' "$*"
  local code=0
  "$@" || code=$?
  case " 0 3 ${OK_CODES:-} " in
    *" $code "*) [ "$code" = 0 ] || echo "(exit $code)" ;;
    *) echo "demo: '$*' failed with exit $code" >&2; exit "$code" ;;
  esac
}

say "Building the plugin and the local cluster (first run on 2 cores: 30-60 minutes, each binary announced as it starts and ends; then seconds)"
log=/tmp/netbaseline-demo-build.log
: >"$log"
# The stages show as they run (build.sh and up.sh log one line per stage);
# the full output goes to the log.
stage() {
  local what=$1; shift
  printf '  %s ...\n' "$what"
  local start=$SECONDS
  if ! "$@" > >(tee -a "$log" | grep --line-buffered -E '^\[|^[0-9:]{8} \[|built|up:' | sed 's/^/    /') 2>&1; then
    tail -n 40 "$log" >&2
    echo "demo: $what failed; the whole log is in $log" >&2
    exit 1
  fi
  printf '  %s: done in %ds\n' "$what" $((SECONDS - start))
}
stage "plugin" make --no-print-directory build
stage "cluster binaries and images (cached after the first run)" make --no-print-directory cluster-build
stage "cluster start" make --no-print-directory cluster-up
echo "cluster up (log: $log)"
# shellcheck disable=SC1091
source /var/lib/netbaseline-cluster/env
export PATH="$PWD/bin:$NETBASELINE_CLUSTER_BIN:$PATH"   # kubectl finds kubectl-netbaseline on PATH

say "The runbook's sample app: frontend-dev calls backend-dev; ingress and monitoring stand-ins"
sed "s|127.0.0.1:5000/netbaseline/sampleapp:1|$NETBASELINE_SAMPLEAPP_IMAGE|" hack/cluster/manifests/sample-app.yaml | kubectl apply -f - >/dev/null
for d in backend-dev/backend frontend-dev/frontend ingress/ingress-nginx-controller monitoring/prometheus; do
  kubectl -n "${d%%/*}" rollout status "deploy/${d#*/}" --timeout=180s >/dev/null
done
kubectl netbaseline rollback -n frontend-dev -n backend-dev >/dev/null 2>&1 || true   # start open
kubectl get pods -A --field-selector metadata.namespace!=kube-system -o wide


say "Is NetworkPolicy enforced, are the labels right?"
show kubectl netbaseline doctor

say "What the baseline would change, connection by connection"
OK_CODES=1 show kubectl netbaseline diff -n frontend-dev -n backend-dev --flows

say "Apply, probing what each namespace change does (progress on stderr)"
show kubectl netbaseline apply -n frontend-dev -n backend-dev --verify

say "Real connections from inside the pods"
show kubectl netbaseline probe frontend-dev backend-dev/svc/backend:80 --http /api/health --dns backend.backend-dev.svc.cluster.local --save /tmp/netbaseline-demo-probe.json
show kubectl netbaseline probe monitoring backend-dev:metrics backend-dev:http
show kubectl netbaseline probe local http://198.18.0.1:30080/api/health

say "Why is a flow denied? (the policy, the rule, the near misses)"
show kubectl netbaseline explain monitoring backend-dev:http

say "The record for observability.md"
show kubectl netbaseline report --probe-results /tmp/netbaseline-demo-probe.json

say "One command undoes exactly what was applied"
show kubectl netbaseline rollback -n frontend-dev -n backend-dev
show kubectl netbaseline probe monitoring backend-dev:http

cat <<MSG

The cluster is still running. To try commands yourself:
  source /var/lib/netbaseline-cluster/env
  export PATH="$PWD/bin:\$NETBASELINE_CLUSTER_BIN:\$PATH"
  kubectl netbaseline apply -n backend-dev
  kubectl netbaseline probe frontend-dev backend-dev:3001
Remove it with: make cluster-down
MSG
