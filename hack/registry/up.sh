#!/bin/bash
# Start the test bed's OCI registries (idempotent), loopback only:
#   $REGISTRY          127.0.0.1:5000, anonymous pull and push
#   $PRIVATE_REGISTRY  127.0.0.1:5002, basic auth (user netbaseline, a
#                      random password in $STATE/registry/private/password)
# Both serve TLS with a certificate from the cluster's CA ($PKI/ca.crt,
# made by hack/cluster/pki.sh), which containerd trusts for exactly these
# two addresses (hack/cluster/up.sh). Storage: $STATE/registry/NAME/data.
set -euo pipefail
source "$(dirname "$0")/../cluster/common.sh"
"$(dirname "$0")/build.sh"
"$LAB/pki.sh" >/dev/null
mkdir -p "$STATE/registry" "$LOGS" "$PIDS"
# no tracing exporter, no proxy: nothing may leave the machine
export OTEL_TRACES_EXPORTER=none OTEL_SDK_DISABLED=true
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy

# serve NAME ADDR [htpasswd]
serve() {
  local n=$1 addr=$2 auth=${3:-} dir="$STATE/registry/$1"
  mkdir -p "$dir/data"
  {
    echo "version: 0.1"
    echo "log: {level: warn, accesslog: {disabled: true}}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $dir/data}"
    echo "  delete: {enabled: true}"
    echo "http:"
    echo "  addr: $addr"
    echo "  tls: {certificate: $PKI/registry.crt, key: $PKI/registry.key}"
    if [ -n "$auth" ]; then
      echo "auth:"
      echo "  htpasswd: {realm: netbaseline-test-bed, path: $dir/htpasswd}"
    fi
  } >"$dir/config.yml"
  start "registry-$n" "$REGISTRY_BIN" serve "$dir/config.yml"
  local end=$(( $(date +%s) + 30 )) code
  until code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' --cacert "$PKI/ca.crt" "https://$addr/v2/") &&
        { [ "$code" = 200 ] || { [ -n "$auth" ] && [ "$code" = 401 ]; }; }; do
    [ "$(date +%s)" -lt "$end" ] || die "registry $n on $addr did not answer (HTTP $code): see $LOGS/registry-$n.log"
    sleep 0.3
  done
  log "registry $n on https://$addr"
}

serve public "$REGISTRY"
private="$STATE/registry/private"
mkdir -p "$private"
if [ ! -s "$private/password" ]; then
  (umask 077; openssl rand -hex 16 >"$private/password")
  registrytool htpasswd netbaseline "$private/password" >"$private/htpasswd"
fi
serve private "$PRIVATE_REGISTRY" htpasswd
