#!/bin/bash
# Build the image of a node's NetworkPolicy agent (docker-archive in
# $IMAGES/NAME.tar) for its DaemonSet:
#   agent-image.sh kube-router   lab.local/kube-router:v2.1.0
#   agent-image.sh calico-node   lab.local/calico-node:v3.28.5 (felix)
# The static agent binary plus the host's own (Debian 12) iptables-nft,
# ipset and conntrack userspace with every shared library and the xtables
# extension plugins they dlopen: the same iptables backend (nf_tables) and
# version as the host's kube-proxy, so all of them write into the same
# kernel tables.
set -euo pipefail
source "$(dirname "$0")/../common.sh"
AGENT=${1:-kube-router}
# IPTABLES_MODE=legacy builds kube-router's xtables-legacy variant instead
# (experiment only: this host's iptables and kube-proxy use nf_tables).
MODE=${IPTABLES_MODE:-nft}
case $AGENT/$MODE in
  kube-router/nft) OUT="$IMAGES/kube-router.tar" TAG=$KR_IMAGE VERSION=$KUBE_ROUTER_VERSION ;;
  kube-router/legacy) OUT="$IMAGES/kube-router-legacy.tar" TAG=$KR_IMAGE-legacy VERSION=$KUBE_ROUTER_VERSION ;;
  calico-node/nft) OUT="$IMAGES/calico-node.tar" TAG=$CALICO_NODE_IMAGE VERSION=$CALICO_VERSION ;;
  *) die "usage: agent-image.sh kube-router|calico-node (IPTABLES_MODE=legacy: kube-router only)" ;;
esac
MULTI=xtables-$MODE-multi
ML=/usr/lib/x86_64-linux-gnu
tools=(/usr/sbin/$MULTI /usr/sbin/ipset)
case $AGENT in
  kube-router)
    args=(-file /usr/local/bin/kube-router="$BIN/kube-router":0755 -dir /var/lib/kube-router:0755
          -entrypoint /usr/local/bin/kube-router) ;;
  calico-node)
    # felix also flushes conntrack entries of removed endpoints
    tools+=(/usr/sbin/conntrack)
    args=(-file /usr/local/bin/calico-felix="$BIN/calico-felix":0755
          -dir /var/run/calico:0755 -dir /var/lib/calico:0755 -dir /var/log/calico:0755
          -entrypoint /usr/local/bin/calico-felix) ;;
esac
for t in "${tools[@]}"; do args+=(-file "$t=$t:0755"); done
for l in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore \
         iptables-$MODE iptables-$MODE-save iptables-$MODE-restore ip6tables-$MODE ip6tables-$MODE-save ip6tables-$MODE-restore; do
  args+=(-link /usr/sbin/$l=$MULTI)
done
# shared libraries: closure of ldd over the tools and the xtables plugins
libs=$(for f in "${tools[@]}" $ML/xtables/*.so; do ldd "$f"; done |
       awk '/=> \//{print $3}' | sort -u)
for l in $libs; do args+=(-file "$ML/$(basename "$l")=$(readlink -f "$l"):0755"); done
args+=(-file "$ML/ld-linux-x86-64.so.2=$(readlink -f /lib64/ld-linux-x86-64.so.2):0755"
       -link /lib64/ld-linux-x86-64.so.2=$ML/ld-linux-x86-64.so.2 -link /lib=usr/lib
       -link /sbin=usr/sbin -link /bin=usr/bin)
# xtables match/target plugins (dlopen'ed by libxtables from $ML/xtables; ldd cannot see them)
for p in $ML/xtables/*.so; do args+=(-file "$ML/xtables/$(basename "$p")=$(readlink -f "$p"):0644"); done
args+=(-file /etc/protocols=/etc/protocols:0644 -file /etc/ethertypes=/etc/ethertypes:0644
       -dir /tmp:1777 -dir /run:0755 -dir /usr/bin
       -text /etc/passwd='root:x:0:0:root:/root:/sbin/nologin' -text /etc/group='root:x:0:'
       -env PATH=/usr/local/bin:/usr/sbin:/usr/bin
       -label org.opencontainers.image.version=$VERSION)
"$BIN/imgbuild" -o "$OUT" -tag "$TAG" "${args[@]}"
log "built $OUT ($TAG): $(echo "$libs" | wc -l) libs + ld.so, $(ls $ML/xtables/*.so | wc -l) xtables plugins"
