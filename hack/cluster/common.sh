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

K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
KUBE_ROUTER_VERSION=v2.1.0
COREDNS_VERSION=v1.15.0
GGCR_VERSION=v0.22.1

PAUSE_IMAGE=lab.local/pause:3.10
BUSYBOX_IMAGE=lab.local/busybox:1.35
SAMPLEAPP_IMAGE=lab.local/sampleapp:1
COREDNS_IMAGE=lab.local/coredns:1.15.0

CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
export PATH="$BIN:/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export KUBECONFIG="$KCFG/admin.kubeconfig"

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
KR_IMAGE=${KR_IMAGE:-lab.local/kube-router:$KUBE_ROUTER_VERSION}
PROBE_IMAGE=lab.local/probe:1
NB_PROBE_IMAGE=lab.local/netbaseline-probe:1
