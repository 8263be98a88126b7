#!/bin/bash
# Builds everything the local cluster needs into $NB_CLUSTER_HOME (outside
# git; default /var/cache/netbaseline-cluster), offline except for Debian's
# archive (apt-get) and the Go module proxy (go command).
#   build.sh            build what is missing or whose inputs changed
#   FORCE=1 build.sh    rebuild every Go binary and image
# Each binary carries a stamp of its inputs (pinned versions, go.mod/go.sum,
# sources), so a warm machine rebuilds only what changed. The Go caches are
# the go command's defaults.
set -euo pipefail
source "$(dirname "$0")/common.sh"
# the agent is built with go.mod's toolchain ($NB_GOTOOLCHAIN, below); the
# cluster's third-party binaries with the machine's own Go
source "$(dirname "$0")/../toolchain.sh"
export GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOTOOLCHAIN=local
FORCE=${FORCE:-0}
mkdir -p "$BIN" "$IMAGES" "$NB_CLUSTER_HOME/logs"
TIMES="$NB_CLUSTER_HOME/logs/build-times.txt"; : >"$TIMES"
log "building what is missing; each step's time goes to $TIMES (a cold build of every binary takes 30-60 minutes on 2 cores)"
timed() { # timed LABEL CMD...: says when a step starts and how long it took
  local l=$1 t; shift; t=$(date +%s)
  log "$l: started"
  "$@"
  echo "$l $(( $(date +%s) - t ))s" >>"$TIMES"
  log "$l: done in $(( $(date +%s) - t ))s"
}
stamp_of() { # stamp_of INPUT-FILE...: hash of the Go version, pinned versions and inputs
  { go version; grep -E '^[A-Z_]+_VERSION=' "$LAB/common.sh"; cat "$@"; } | sha256sum | cut -c1-16
}
need() { # need NAME INPUT-FILE...: true when NAME is missing or its inputs changed
  local name=$1; shift
  [ "$FORCE" = 1 ] && return 0
  [ -e "$BIN/$name" ] || [ -e "$IMAGES/$name" ] || return 0
  [ "$(cat "$BIN/.$name.stamp" 2>/dev/null)" = "$(stamp_of "$@")" ] && return 1
  return 0
}
stamp() { local name=$1; shift; stamp_of "$@" >"$BIN/.$name.stamp"; }

# ---------------------------------------------------------------- apt
PKGS="containerd runc containernetworking-plugins iptables ipset conntrack iproute2 busybox-static openssl curl ca-certificates"
# Cilium compiles its datapath at run time with clang (bpf target)
[ "$ENGINE" != cilium ] || PKGS="$PKGS clang-19 llvm-19"
missing=$(for p in $PKGS; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
  apt_install() {
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
  }
  timed apt apt_install
fi

# ---------------------------------------------------------------- Kubernetes
K8S_IN=("$LAB/build/k8s/go.mod" "$LAB/build/k8s/go.sum")
K8S_LD="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LD="$K8S_LD -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  need $c "${K8S_IN[@]}" || continue
  (cd "$LAB/build/k8s" && timed "$c" go build -trimpath -ldflags "$K8S_LD" -o "$BIN/$c" "k8s.io/kubernetes/cmd/$c")
  stamp $c "${K8S_IN[@]}"
done

# ---------------------------------------------------------------- etcd
ETCD_IN=("$LAB/build/etcd/go.mod" "$LAB/build/etcd/go.sum")
if need etcd "${ETCD_IN[@]}"; then
  (cd "$LAB/build/etcd" && timed etcd go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
  stamp etcd "${ETCD_IN[@]}"
fi

# ---------------------------------------------------------------- kube-router (firewall only)
# build/kube-router/go.mod was made with `go get .../cmd/kube-router@v2.1.0` (the
# only version the proxy serves) and has no importing file on purpose: do not
# run `go mod tidy` there, it would lift many dependencies to newer versions.
KR_IN=("$LAB/build/kube-router/go.mod" "$LAB/build/kube-router/go.sum")
if need kube-router "${KR_IN[@]}"; then
  KR_LD="-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=1970-01-01"
  (cd "$LAB/build/kube-router" && timed kube-router go build -trimpath -ldflags "$KR_LD" -o "$BIN/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router)
  stamp kube-router "${KR_IN[@]}"
fi

# ---------------------------------------------------------------- Calico (NB_ENGINE=calico)
# felix (iptables dataplane, Kubernetes datastore) and the calico CNI plugin,
# static. Built in a copy of build/calico next to the unpacked api tarball
# (see calico_api_tarball in common.sh); -mod=mod because the calico module's
# Windows code needs a module the proxy refuses, so go.mod cannot be tidied.
CALICO_IN=("$LAB/build/calico/go.mod" "$LAB/build/calico/go.sum" "$LAB/build/calico/api.sha256")
CALICO_SRC="$NB_CLUSTER_HOME/src/calico"
calico_src() { # the build copy: go.mod/go.sum next to the checked api tarball
  local tarball
  tarball=$(calico_api_tarball) || die "Calico's api module $CALICO_API_NAME is missing: set NB_CALICO_API_TARBALL (see hack/cluster/README.md)"
  echo "$CALICO_API_SHA256  $tarball" | sha256sum -c --quiet - || die "$tarball does not have the sha256 $CALICO_API_SHA256"
  if [ "$tarball" != "$NB_CLUSTER_HOME/third-party/$CALICO_API_NAME" ]; then
    mkdir -p "$NB_CLUSTER_HOME/third-party" && install -m 0644 "$tarball" "$NB_CLUSTER_HOME/third-party/$CALICO_API_NAME"
  fi
  rm -rf "$CALICO_SRC" && mkdir -p "$CALICO_SRC"
  cp "$LAB/build/calico/go.mod" "$LAB/build/calico/go.sum" "$CALICO_SRC/"
  tar -C "$CALICO_SRC" -xzf "$tarball"   # -> $CALICO_SRC/api
  [ -f "$CALICO_SRC/api/go.mod" ] || die "$tarball holds no api/go.mod"
}
if [ "$ENGINE" = calico ] && { need calico-felix "${CALICO_IN[@]}" || need calico "${CALICO_IN[@]}"; }; then
  calico_src
  CALICO_LD="-s -w -X github.com/projectcalico/calico/felix/buildinfo.GitVersion=$CALICO_VERSION -X github.com/projectcalico/calico/felix/buildinfo.GitRevision=a0db560f0520 -X github.com/projectcalico/calico/felix/buildinfo.BuildDate=1970-01-01"
  (cd "$CALICO_SRC" && GOFLAGS="$GOFLAGS -mod=mod" timed calico-felix go build -trimpath -ldflags "$CALICO_LD" -o "$BIN/calico-felix" github.com/projectcalico/calico/felix/cmd/calico-felix)
  (cd "$CALICO_SRC" && GOFLAGS="$GOFLAGS -mod=mod" timed calico-cni go build -trimpath -ldflags "-s -w" -o "$BIN/calico" github.com/projectcalico/calico/cni-plugin/cmd/calico)
  ln -f "$BIN/calico" "$BIN/calico-ipam"     # one binary: it picks its role from argv[0]
  stamp calico-felix "${CALICO_IN[@]}"
  stamp calico "${CALICO_IN[@]}"
fi
# Calico's CRDs (manifests/crds.yaml of the same module version, checked by
# go.sum): felix in Kubernetes-datastore mode reads its configuration there
if [ "$ENGINE" = calico ] && need calico-crds.yaml "${CALICO_IN[@]}"; then
  [ -f "$CALICO_SRC/go.mod" ] || calico_src
  crds="$(cd "$CALICO_SRC" && GOFLAGS="$GOFLAGS -mod=mod" go list -m -f '{{.Dir}}' github.com/projectcalico/calico)/manifests/crds.yaml"
  [ "$(grep -c '^kind: CustomResourceDefinition' "$crds")" -ge 18 ] || die "$crds does not hold Calico's CRDs"
  install -m 0644 "$crds" "$IMAGES/calico-crds.yaml"
  stamp calico-crds.yaml "${CALICO_IN[@]}"
fi

# ---------------------------------------------------------------- Cilium (NB_ENGINE=cilium)
# The agent, the CNI plugin and cilium-dbg of github.com/cilium/cilium, built
# as dependencies of build/cilium/go.mod (made with `go get` of the three
# commands at the pinned version; its replace line says why gobgp differs).
# The datapath sources (bpf/) and the CRDs come from the same module.
CILIUM_IN=("$LAB/build/cilium/go.mod" "$LAB/build/cilium/go.sum")
# the version string as Cilium's release builds stamp it: version, revision, date
CILIUM_LD="-s -w -X 'github.com/cilium/cilium/pkg/version.ciliumVersion=${CILIUM_VERSION#v} $CILIUM_VERSION 1970-01-01T00:00:00Z'"
cilium_dir() { (cd "$LAB/build/cilium" && go list -m -f '{{.Dir}}' github.com/cilium/cilium); }
if [ "$ENGINE" = cilium ]; then
  for c in cilium-agent:daemon cilium-cni:plugins/cilium-cni cilium-dbg:cilium-dbg; do
    need "${c%%:*}" "${CILIUM_IN[@]}" || continue
    (cd "$LAB/build/cilium" && timed "${c%%:*}" go build -trimpath -ldflags "$CILIUM_LD" -o "$BIN/${c%%:*}" "github.com/cilium/cilium/${c#*:}")
    stamp "${c%%:*}" "${CILIUM_IN[@]}"
  done
  if need cilium-crds.yaml "${CILIUM_IN[@]}"; then
    dir=$(cilium_dir)
    for f in "$dir"/pkg/k8s/apis/cilium.io/client/crds/v2/*.yaml "$dir"/pkg/k8s/apis/cilium.io/client/crds/v2alpha1/*.yaml; do
      echo "---"; cat "$f"
    done >"$IMAGES/cilium-crds.yaml.tmp" && mv "$IMAGES/cilium-crds.yaml.tmp" "$IMAGES/cilium-crds.yaml"
    stamp cilium-crds.yaml "${CILIUM_IN[@]}"
  fi
fi

# ---------------------------------------------------------------- CoreDNS (no forward plugin; hosts for external.test)
DNS_IN=("$LAB/build/coredns/go.mod" "$LAB/build/coredns/go.sum" "$LAB/build/coredns/main.go")
if need coredns "${DNS_IN[@]}"; then
  (cd "$LAB/build/coredns" && timed coredns go build -trimpath -ldflags "-s -w" -o "$BIN/coredns" .)
  stamp coredns "${DNS_IN[@]}"
fi

# ---------------------------------------------------------------- small programs
SMALL_IN=("$LAB/images/go.mod" "$LAB/images/go.sum")
for p in imgbuild registrytool pause sampleapp probe; do
  need $p "${SMALL_IN[@]}" "$LAB/images/cmd/$p/main.go" || continue
  (cd "$LAB/images" && timed $p go build -trimpath -ldflags "-s -w" -o "$BIN/$p" "./cmd/$p")
  stamp $p "${SMALL_IN[@]}" "$LAB/images/cmd/$p/main.go"
done

# ---------------------------------------------------------------- the plugin's probe agent (from this repository)
REPO="$(cd "$LAB/../.." && pwd)"
AGENT_IN=("$REPO/go.mod" "$REPO/go.sum" $(ls "$REPO"/cmd/netbaseline-probe/*.go "$REPO"/internal/probe/agent/*.go | grep -v _test.go))
# built as released: with go.mod's toolchain, which is in its stamp (go version)
if GOTOOLCHAIN=$NB_GOTOOLCHAIN need netbaseline-probe "${AGENT_IN[@]}"; then
  (cd "$REPO" && GOTOOLCHAIN=$NB_GOTOOLCHAIN timed netbaseline-probe go build -trimpath -ldflags "-s -w" -o "$BIN/netbaseline-probe" ./cmd/netbaseline-probe)
  GOTOOLCHAIN=$NB_GOTOOLCHAIN stamp netbaseline-probe "${AGENT_IN[@]}"
fi

# ---------------------------------------------------------------- images
# An image is rebuilt when the binaries in it (or this script) changed.
image() { # image NAME BINARY... -- IMGBUILD-ARGS...
  local name=$1; shift
  local inputs=("$0")
  while [ "$1" != -- ]; do inputs+=("$BIN/$1"); shift; done
  shift
  need "$name.tar" "${inputs[@]}" || return 0
  "$BIN/imgbuild" -o "$IMAGES/$name.tar" "$@"
  stamp "$name.tar" "${inputs[@]}"
  log "image $name"
}
image pause pause -- -tag "$PAUSE_IMAGE" -file /pause="$BIN/pause":0755 -entrypoint /pause
bb=(-file /bin/busybox=/bin/busybox:0755 -file /bin/probe="$BIN/probe":0755 -dir /tmp:1777 -dir /root:0700
  -text /etc/passwd='root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false'
  -text /etc/group='root:x:0:\nnobody:x:65534:' -text /etc/hosts='127.0.0.1 localhost'
  -env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for a in $(/bin/busybox --list-full); do bb+=(-link "/$a=/bin/busybox"); done
# the debug image: busybox and /bin/probe
image busybox probe -- -tag "$BUSYBOX_IMAGE" "${bb[@]}" -cmd sh
# the sample app and its neighbours (roles by flag), plus /bin/probe for kubectl exec checks
image sampleapp sampleapp probe -- -tag "$SAMPLEAPP_IMAGE" -file /sampleapp="$BIN/sampleapp":0755 \
  -file /bin/probe="$BIN/probe":0755 -entrypoint /sampleapp -expose 3001 -expose 3000 -expose 8080 -user 65534:65534
image coredns coredns -- -tag "$COREDNS_IMAGE" -file /coredns="$BIN/coredns":0755 \
  -entrypoint /coredns -expose 53/udp -expose 53/tcp
# static probe as numeric non-root user (kubectl debug --profile=restricted)
image probe probe -- -tag "$PROBE_IMAGE" -file /probe="$BIN/probe":0755 -entrypoint /probe -user 65534:65534 \
  -text /etc/passwd='nobody:x:65534:65534:nobody:/:/sbin/nologin' -text /etc/group='nobody:x:65534:'
# the plugin's agent as a numeric non-root user, as released
image netbaseline-probe netbaseline-probe -- -tag "$NB_PROBE_IMAGE" -file /netbaseline-probe="$BIN/netbaseline-probe":0755 \
  -entrypoint /netbaseline-probe -user 65534:65534 \
  -text /etc/passwd='nobody:x:65534:65534:nobody:/:/sbin/nologin' -text /etc/group='nobody:x:65534:'
# kube-router + host iptables-nft/ipset userspace, for the DaemonSet
if need kube-router.tar "$BIN/kube-router" "$LAB/images/agent-image.sh"; then
  timed kube-router-image "$LAB/images/agent-image.sh" kube-router
  stamp kube-router.tar "$BIN/kube-router" "$LAB/images/agent-image.sh"
fi
# felix + the same userspace, for the calico-node DaemonSet (NB_ENGINE=calico)
if [ "$ENGINE" = calico ] && need calico-node.tar "$BIN/calico-felix" "$LAB/images/agent-image.sh"; then
  timed calico-node-image "$LAB/images/agent-image.sh" calico-node
  stamp calico-node.tar "$BIN/calico-felix" "$LAB/images/agent-image.sh"
fi
# the agent, its datapath sources and clang, for the cilium DaemonSet (NB_ENGINE=cilium)
if [ "$ENGINE" = cilium ] && need cilium.tar "$BIN/cilium-agent" "$BIN/cilium-dbg" "$LAB/images/agent-image.sh"; then
  CILIUM_BPF="$(cilium_dir)/bpf" timed cilium-image "$LAB/images/agent-image.sh" cilium
  stamp cilium.tar "$BIN/cilium-agent" "$BIN/cilium-dbg" "$LAB/images/agent-image.sh"
fi
# the test bed's registry (hack/registry), into the tools cache
"$LAB/../registry/build.sh"
ls -la "$BIN" "$IMAGES" >&2
log "build done; times in $TIMES"
