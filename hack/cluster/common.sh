# Shared settings for build.sh / up.sh / down.sh. Source it, don't run it.
LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Built binaries and images live outside the git tree, shared by clones.
NB_CLUSTER_HOME="${NB_CLUSTER_HOME:-/var/cache/netbaseline-cluster}"
BIN="$NB_CLUSTER_HOME/bin"
ETC="$LAB/etc"
IMAGES="$NB_CLUSTER_HOME/images"
STATE="${NB_CLUSTER_STATE:-/var/lib/netbaseline-cluster}"   # etcd data, kubelet root, containerd root
RUN="${NB_CLUSTER_RUN:-/run/netbaseline-cluster}"            # sockets
PKI="$STATE/pki"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
KCFG="$STATE/kubeconfig"
NODE_NAME="${NODE_NAME:-$(hostname | tr 'A-Z' 'a-z')}"

# Addresses: RFC 2544 benchmark range only, all local to this machine.
NODE_IP=198.18.0.1                 # on bridge cni0, node InternalIP + apiserver
POD_CIDR=198.18.0.0/16             # cluster CIDR, the node gets 198.18.0.0/24
NODE_POD_CIDR=198.18.0.0/24
SVC_CIDR=198.19.0.0/16
KUBE_SVC_IP=198.19.0.1
DNS_SVC_IP=198.19.0.10
BRIDGE=cni0

# The "external" test host: its own network namespace on a documentation
# range, reachable from pods through the guard's single exception. Not
# 203.0.113.0/24 or 192.0.2.0/24: this workplace puts its package registries
# and its own network there, and a route for them would cut the machine off.
EXTERNAL_NETNS=nb-external
EXTERNAL_HOST_IF=nb-ext0
EXTERNAL_GW=198.51.100.1
EXTERNAL_IP=198.51.100.10
EXTERNAL_CIDR=198.51.100.0/24
EXTERNAL_NAME=external.test

# How denied packets end: drop (time out, as Calico, Cilium and the AWS
# agent do) or reject (refused at once, kube-router's own behaviour).
DENY_MODE="${NB_DENY_MODE:-drop}"

# Which engine enforces NetworkPolicy: kube-router (the default), calico or cilium.
ENGINE="${NB_ENGINE:-kube-router}"
case "$ENGINE" in kube-router|calico|cilium) ;; *) echo "NB_ENGINE must be kube-router, calico or cilium, not $ENGINE" >&2; exit 2 ;; esac

K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
KUBE_ROUTER_VERSION=v2.1.0
# Calico (NB_ENGINE=calico): felix and the CNI plugin of the release-v3.28
# branch at a0db560f0520 (calico/node v3.28.5), the module proxy's
# pseudo-version of that commit; projectcalico/api comes from the tarball
# below (the proxy refuses that nested module), checked by its sha256.
CALICO_VERSION=v3.28.5
CALICO_MODULE_VERSION=v1.11.0-cni-plugin.0.20250813170300-a0db560f0520
# build/calico/api.sha256 names the tarball and its checksum; build.sh keeps
# a checked copy in $NB_CLUSTER_HOME/third-party, so that a clone anywhere
# (CI's among them) finds it once any build on the machine has.
read -r CALICO_API_SHA256 CALICO_API_NAME <"$LAB/build/calico/api.sha256"
calico_api_tarball() { # the first copy found; NB_CALICO_API_TARBALL names another
  local f
  for f in "${NB_CALICO_API_TARBALL:-}" "$NB_CLUSTER_HOME/third-party/$CALICO_API_NAME" \
           "$(cd "$LAB/../../.." && pwd)/shared/third-party/calico-api/$CALICO_API_NAME" \
           "/work/shared/third-party/calico-api/$CALICO_API_NAME"; do
    [ -n "$f" ] && [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}
# Cilium (NB_ENGINE=cilium): the agent, its CNI plugin and cilium-dbg from
# the module github.com/cilium/cilium (build/cilium/go.mod), the datapath
# (bpf/ of the same module) compiled at run time by Debian's clang-19.
CILIUM_VERSION=v1.20.2
# the agent's endpoints get addresses from the upper half of the node's pod
# CIDR: the lower half holds the node's own 198.18.0.1 (Cilium's host-scope
# allocator picks at random and knows no exclusions)
CILIUM_POD_RANGE=198.18.0.128/25
COREDNS_VERSION=v1.15.0
GGCR_VERSION=v0.22.1

PAUSE_IMAGE=lab.local/pause:3.10
BUSYBOX_IMAGE=lab.local/busybox:1.35
SAMPLEAPP_IMAGE=lab.local/sampleapp:1
COREDNS_IMAGE=lab.local/coredns:1.15.0

# The test bed's OCI registry (hack/registry: the CNCF distribution
# registry) on loopback only, TLS from the cluster's CA; the private one asks
# for a password (pull-secret tests); the tampering one is plain HTTP and
# listens only while e2e's digest-mismatch test runs.
REGISTRY=127.0.0.1:5000
PRIVATE_REGISTRY=127.0.0.1:5002
TAMPER_REGISTRY=127.0.0.1:5001
NB_TOOLS_HOME="${NB_TOOLS_HOME:-/var/cache/netbaseline-tools}"
REGISTRY_BIN="$NB_TOOLS_HOME/registry/bin/registry"

CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
export PATH="$BIN:/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export KUBECONFIG="$KCFG/admin.kubeconfig"

# alive NAME [PROGRAM]: the PID file's process still runs our program (a
# stale PID may belong to anything after a reboot or an ended session)
alive() {
  local pid
  [ -f "$PIDS/$1.pid" ] || return 1
  pid=$(cat "$PIDS/$1.pid")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "${2:-$1}"
}
start() { # start NAME CMD... : run detached, log to $LOGS/NAME.log, pid in $PIDS/NAME.pid
  local n=$1; shift
  if alive "$n" "$1"; then log "$n already running (pid $(cat "$PIDS/$n.pid"))"; return 0; fi
  mkdir -p "$LOGS" "$PIDS"
  setsid "$@" >>"$LOGS/$n.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$n.pid"
  log "started $n (pid $!)"
}
stop() { # stop NAME [PROGRAM]: SIGTERM, wait up to 15s, then SIGKILL
  local n=$1 program=${2:-$1} f="$PIDS/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  # A PID file can outlive its process (a reboot, a session that ended):
  # only signal the PID if it still runs our program.
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$program"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { log "$n (pid $pid) ignored SIGTERM, SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
    log "stopped $n (pid $pid)"
  fi
  rm -f "$f"
}
log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
KR_IMAGE=${KR_IMAGE:-lab.local/kube-router:$KUBE_ROUTER_VERSION}
CALICO_NODE_IMAGE=lab.local/calico-node:$CALICO_VERSION
CILIUM_IMAGE=lab.local/cilium:$CILIUM_VERSION
PROBE_IMAGE=lab.local/probe:1
NB_PROBE_IMAGE=lab.local/netbaseline-probe:1
