# Shared settings for build.sh / up.sh / down.sh. Source it, don't run it.
LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Built binaries and images live outside the git tree, shared by clones.
NB_CLUSTER_HOME="${NB_CLUSTER_HOME:-/var/cache/netbaseline-cluster}"
BIN="$NB_CLUSTER_HOME/bin"
ETC="$LAB/etc"
IMAGES="$NB_CLUSTER_HOME/images"
STATE="${LAB_STATE:-/var/lib/lab-k8s}"      # etcd data, kubelet root, containerd root
RUN="${LAB_RUN:-/run/lab-k8s}"              # sockets
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

K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
KUBE_ROUTER_VERSION=v2.1.0
COREDNS_VERSION=v1.15.0
GGCR_VERSION=v0.22.1

PAUSE_IMAGE=lab.local/pause:3.10
BUSYBOX_IMAGE=lab.local/busybox:1.35
BACKEND_IMAGE=lab.local/backend:1
COREDNS_IMAGE=lab.local/coredns:1.15.0

CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
export PATH="$BIN:/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export KUBECONFIG="$KCFG/admin.kubeconfig"

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
KR_IMAGE=${KR_IMAGE:-lab.local/kube-router:$KUBE_ROUTER_VERSION}
PROBE_IMAGE=lab.local/probe:1
