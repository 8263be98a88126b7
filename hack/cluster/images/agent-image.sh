#!/bin/bash
# Build the image of a node's NetworkPolicy agent (docker-archive in
# $IMAGES/NAME.tar) for its DaemonSet:
#   agent-image.sh kube-router   lab.local/kube-router:v2.1.0
#   agent-image.sh calico-node   lab.local/calico-node:v3.28.5 (felix)
#   agent-image.sh cilium        lab.local/cilium:v1.20.2 (the agent, cilium-dbg,
#                                the datapath sources from $CILIUM_BPF and
#                                Debian's clang-19, which compiles them at run time)
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
  cilium/nft) OUT="$IMAGES/cilium.tar" TAG=$CILIUM_IMAGE VERSION=$CILIUM_VERSION ;;
  *) die "usage: agent-image.sh kube-router|calico-node|cilium (IPTABLES_MODE=legacy: kube-router only)" ;;
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
  cilium)
    [ -d "${CILIUM_BPF:-}/include" ] || die "CILIUM_BPF must name the bpf/ folder of the cilium module"
    # clang-19 itself is a link to the versioned binary; it dlopens nothing
    tools+=(/usr/lib/llvm-19/bin/clang /usr/sbin/conntrack)
    args=(-file /usr/local/bin/cilium-agent="$BIN/cilium-agent":0755
          -file /usr/local/bin/cilium-dbg="$BIN/cilium-dbg":0755 -link /usr/local/bin/cilium=cilium-dbg
          -link /usr/bin/clang=/usr/lib/llvm-19/bin/clang
          -dir /var/run/cilium:0755 -dir /var/lib/cilium:0755 -dir /sys/fs/bpf:0755
          -entrypoint /usr/local/bin/cilium-agent)
    while IFS= read -r f; do
      args+=(-file "/var/lib/cilium/bpf/${f#"$CILIUM_BPF"/}=$f:0644")
    done < <(find "$CILIUM_BPF" -type f \( -name '*.h' -o -name '*.c' \) -not -path '*/tests/*' -not -path '*/complexity-tests/*' -not -path '*/test-progs/*')
    # clang's own headers (stddef.h, stdint.h) that the datapath includes
    res=$(/usr/lib/llvm-19/bin/clang -print-resource-dir)
    while IFS= read -r f; do args+=(-file "$f=$f:0644"); done < <(find "$res/include" -maxdepth 1 -type f -name '*.h') ;;
esac
for t in "${tools[@]}"; do args+=(-file "$t=$t:0755"); done
for l in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore \
         iptables-$MODE iptables-$MODE-save iptables-$MODE-restore ip6tables-$MODE ip6tables-$MODE-save ip6tables-$MODE-restore; do
  args+=(-link /usr/sbin/$l=$MULTI)
done
# shared libraries: closure of ldd over the tools and the xtables plugins
libs=$(for f in "${tools[@]}" $ML/xtables/*.so; do ldd "$f"; done |
       awk '/=> \//{print $3}' | sort -u)
for l in $libs; do
  case $l in
    /usr/lib/llvm-*) args+=(-file "$(dirname "$(readlink -f "$l")")/$(basename "$l")=$(readlink -f "$l"):0755") ;; # clang's RUNPATH ($ORIGIN/../lib)
    *) args+=(-file "$ML/$(basename "$l")=$(readlink -f "$l"):0755") ;;
  esac
done
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
