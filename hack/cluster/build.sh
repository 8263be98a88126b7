#!/bin/bash
# Build/install everything the lab cluster needs, offline except for the
# Debian archive (apt-get) and the Go module proxy (go command).
#   build.sh            build what is missing
#   FORCE=1 build.sh    rebuild all Go binaries and images
# Go caches: the go command's defaults (GOMODCACHE, GOCACHE), so CI can keep them.
# so that CI can cache them (or cache bin/ + images/out directly).
set -euo pipefail
source "$(dirname "$0")/common.sh"
export GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOTOOLCHAIN=local
FORCE=${FORCE:-0}
mkdir -p "$BIN" "$IMAGES" "$NB_CLUSTER_HOME/logs"
TIMES="$NB_CLUSTER_HOME/logs/build-times.txt"; : >"$TIMES"
timed() { # timed LABEL CMD...
  local l=$1 t; shift; t=$(date +%s)
  "$@"
  echo "$l $(( $(date +%s) - t ))s" | tee -a "$TIMES" >&2
}
need() { [ "$FORCE" = 1 ] || [ ! -x "$BIN/$1" ]; }

# ---------------------------------------------------------------- apt
PKGS="containerd runc containernetworking-plugins iptables ipset conntrack busybox-static openssl curl ca-certificates"
missing=$(for p in $PKGS; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
  apt_install() {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  }
  timed apt apt_install
fi

# ---------------------------------------------------------------- artifact cache
# LAB_ARTIFACT_CACHE=/some/dir: reuse bin/ + images/out built from the same
# inputs (go.mod/go.sum files, sources, versions, Go and busybox versions).
# Keep that dir outside the repository clone so that CI runs on the same
# machine share it; a new machine simply builds (about 15 minutes).
CACHE_KEY=$( { go version; dpkg-query -W busybox-static; grep -E '^[A-Z_]+_VERSION=' "$LAB/common.sh";
  cat "$LAB"/build/*/go.mod "$LAB"/build/*/go.sum "$LAB"/build/coredns/*.go "$LAB"/images/go.* "$LAB"/images/cmd/*/*.go;
  sed -n '/^# ---.* Kubernetes$/,$p' "$0"; } | sha256sum | cut -c1-16)
CACHED="${LAB_ARTIFACT_CACHE:-}/$CACHE_KEY"
if [ -n "${LAB_ARTIFACT_CACHE:-}" ] && [ "$FORCE" != 1 ] && [ -f "$CACHED/done" ]; then
  restore() { mkdir -p "$BIN" "$IMAGES"; cp -a "$CACHED/bin/." "$BIN/"; cp -a "$CACHED/images/." "$IMAGES/"; }
  timed restore-from-cache restore
  log "restored binaries and images from $CACHED"
  exit 0
fi

# ---------------------------------------------------------------- Kubernetes
K8S_LD="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LD="$K8S_LD -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  need $c || continue
  (cd "$LAB/build/k8s" && timed "$c" go build -trimpath -ldflags "$K8S_LD" -o "$BIN/$c" "k8s.io/kubernetes/cmd/$c")
done

# ---------------------------------------------------------------- etcd
if need etcd; then
  (cd "$LAB/build/etcd" && timed etcd go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
fi

# ---------------------------------------------------------------- kube-router (firewall only)
# build/kube-router/go.mod was made with `go get .../cmd/kube-router@v2.1.0` (the
# only version the proxy serves) and has no importing file on purpose: do not
# run `go mod tidy` there, it would lift many dependencies to newer versions.
if need kube-router; then
  KR_LD="-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=1970-01-01"
  (cd "$LAB/build/kube-router" && timed kube-router go build -trimpath -ldflags "$KR_LD" -o "$BIN/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router)
fi

# ---------------------------------------------------------------- CoreDNS (no forward plugin)
if need coredns; then
  (cd "$LAB/build/coredns" && timed coredns go build -trimpath -ldflags "-s -w" -o "$BIN/coredns" .)
fi

# ---------------------------------------------------------------- images
if need imgbuild || [ ! -f "$IMAGES/coredns.tar" ]; then
  build_small() {
    cd "$LAB/images"
    for p in imgbuild pause backend probe; do go build -trimpath -ldflags "-s -w" -o "$BIN/$p" "./cmd/$p"; done
  }
  timed small-programs build_small
  build_images() {
    local ib="$BIN/imgbuild"
    "$ib" -o "$IMAGES/pause.tar" -tag "$PAUSE_IMAGE" -file /pause="$BIN/pause":0755 -entrypoint /pause
    local bb=(-file /bin/busybox=/bin/busybox:0755 -file /bin/probe="$BIN/probe":0755 -dir /tmp:1777 -dir /root:0700
      -text /etc/passwd='root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false'
      -text /etc/group='root:x:0:\nnobody:x:65534:' -text /etc/hosts='127.0.0.1 localhost'
      -env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
    local a; for a in $(/bin/busybox --list-full); do bb+=(-link "/$a=/bin/busybox"); done
    "$ib" -o "$IMAGES/busybox.tar" -tag "$BUSYBOX_IMAGE" "${bb[@]}" -cmd sh
    "$ib" -o "$IMAGES/backend.tar" -tag "$BACKEND_IMAGE" -file /backend="$BIN/backend":0755 \
      -file /bin/probe="$BIN/probe":0755 -entrypoint /backend -expose 3001 -expose 8080 -user 65534:65534
    "$ib" -o "$IMAGES/coredns.tar" -tag "$COREDNS_IMAGE" -file /coredns="$BIN/coredns":0755 \
      -entrypoint /coredns -expose 53/udp -expose 53/tcp
    # static probe as numeric non-root user (kubectl debug --profile=restricted)
    "$ib" -o "$IMAGES/probe.tar" -tag "$PROBE_IMAGE" -file /probe="$BIN/probe":0755 -entrypoint /probe -user 65534:65534 \
      -text /etc/passwd='nobody:x:65534:65534:nobody:/:/sbin/nologin' -text /etc/group='nobody:x:65534:'
    # kube-router + host iptables-nft/ipset userspace, for the DaemonSet
    "$LAB/images/kube-router-image.sh"
  }
  timed images build_images
fi
if [ -n "${LAB_ARTIFACT_CACHE:-}" ]; then
  rm -rf "$CACHED.tmp" && mkdir -p "$CACHED.tmp/bin" "$CACHED.tmp/images"
  cp -a "$BIN/." "$CACHED.tmp/bin/" && cp -a "$IMAGES/." "$CACHED.tmp/images/" && touch "$CACHED.tmp/done"
  rm -rf "$CACHED" && mv "$CACHED.tmp" "$CACHED" && log "saved artifacts to $CACHED"
fi
ls -la "$BIN" "$IMAGES" >&2
log "build done; times in $TIMES"
