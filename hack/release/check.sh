#!/usr/bin/env bash
# Release checks with the real tools (built by hack/release/tools.sh):
#   goreleaser check; the multi-arch probe image (linux/amd64, arm64) built
#   as an OCI layout and pushed to a registry ($NB_RELEASE_REGISTRY, else the
#   test bed's loopback one, started if it does not run), its digest read
#   back; a snapshot release (every target with ALL=1, else linux/amd64 only)
#   stamped with REGISTRY/netbaseline-probe@sha256:… as its default image,
#   checked against the pushed digest; govulncheck on the agent's and the
#   snapshot's binaries (hack/vulncheck.sh); plugin.yaml rendered into
#   dist/netbaseline.yaml and checked by krew's validator; the archive
#   installed with krew into a temporary KREW_ROOT; and, on the local cluster
#   (required with NB_RELEASE_REQUIRE_CLUSTER=1), the krew-installed binary
#   probing with its default image, pulled by digest.
#
# Why go-containerregistry (hack/cluster/images: ociimage, registrytool)
# and not goreleaser's dockers/kos pipes: the digest must be known before
# the binary is linked, and goreleaser builds binaries before its image
# pipes run; dockers needs a docker engine, ko a base image from a remote
# registry. go-containerregistry is the library under ko and crane.
set -euo pipefail
cd "$(dirname "$0")/../.."
NB_TOOLS_HOME="${NB_TOOLS_HOME:-/var/cache/netbaseline-tools}"
hack/release/tools.sh
export PATH="$NB_TOOLS_HOME/bin:$PATH"
# the agent and goreleaser's builds of the plugin: go.mod's toolchain
source hack/toolchain.sh
echo "--- release builds with $(go version)"

echo "--- goreleaser check"
goreleaser check

# The snapshot's tag, as goreleaser derives it (checked after the build).
tag=$(git describe --tags --abbrev=0 2>/dev/null || echo v0.0.0)
registry=${NB_RELEASE_REGISTRY:-127.0.0.1:5000/netbaseline}
ca=${NB_RELEASE_REGISTRY_CA:-/var/lib/netbaseline-cluster/pki/ca.crt}
work=$(mktemp -d)
started_registry=0
cleanup() {
  rm -rf "$work"
  if [ "$started_registry" = 1 ]; then hack/registry/down.sh >/dev/null; fi
}
trap cleanup EXIT
tools=$work/bin
(cd hack/cluster/images && CGO_ENABLED=0 go build -o "$tools/" ./cmd/ociimage ./cmd/registrytool)

echo "--- probe image (OCI layout, linux/amd64 and linux/arm64) pushed to $registry"
for arch in amd64 arm64; do
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "-s -w" -o "$work/netbaseline-probe-linux-$arch" ./cmd/netbaseline-probe
done
image_tar="$work/netbaseline-probe_${tag}_oci.tar"
"$tools/ociimage" -o "$image_tar" -tag "$tag" \
  -binary linux/amd64="$work/netbaseline-probe-linux-amd64" -binary linux/arm64="$work/netbaseline-probe-linux-arm64"
if [ -z "${NB_RELEASE_REGISTRY:-}" ] && ! curl -s -o /dev/null --noproxy '*' --cacert "$ca" "https://${registry%%/*}/v2/" 2>/dev/null; then
  # the loopback registry needs registrytool where hack/cluster keeps binaries
  mkdir -p "${NB_CLUSTER_HOME:-/var/cache/netbaseline-cluster}/bin"
  cp "$tools/registrytool" "${NB_CLUSTER_HOME:-/var/cache/netbaseline-cluster}/bin/"
  hack/registry/up.sh
  started_registry=1
fi
push_args=()
[ -f "$ca" ] && push_args+=(-ca "$ca")
probe_image=$("$tools/registrytool" push "${push_args[@]}" "$registry/netbaseline-probe:$tag" "$image_tar")
echo "pushed $probe_image"
export NETBASELINE_RELEASE_PROBE_IMAGE=$probe_image

config=.goreleaser.yaml
only=()
if [ "${ALL:-0}" != 1 ]; then
  # One target keeps CI inside its budget; make dist builds them all.
  config=$work/goreleaser.yaml
  sed -e 's/goos: \[linux, darwin, windows\]/goos: [linux]/' -e 's/goarch: \[amd64, arm64\]/goarch: [amd64]/' .goreleaser.yaml >"$config"
  only=(-only-built)
fi
echo "--- goreleaser release --snapshot"
goreleaser release --snapshot --clean --skip=publish --config "$config"
built_tag=$(sed -n 's/.*"tag":"\([^"]*\)".*/\1/p' dist/metadata.json)
version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' dist/metadata.json)
[ "$built_tag" = "$tag" ] || { echo "goreleaser built $built_tag, the image was tagged $tag" >&2; exit 1; }
echo "snapshot of $tag ($version)"
cp "$image_tar" dist/

# stamped image == pushed digest == what the registry serves for the tag
stamped() { "$1" version -o json | sed -n 's/.*"probeImage":"\([^"]*\)".*/\1/p'; }
served="$registry/netbaseline-probe@$("$tools/registrytool" digest "${push_args[@]}" "$registry/netbaseline-probe:$tag")"
binary=$(ls dist/kubectl-netbaseline_linux_amd64*/kubectl-netbaseline)
for want in "$probe_image" "$served"; do
  [ "$(stamped "$binary")" = "$want" ] || { echo "$binary names probe image '$(stamped "$binary")', not $want" >&2; exit 1; }
done
echo "stamped default image: $probe_image"

echo "--- govulncheck on the released binaries (hack/vulncheck.sh: fails on reachable vulnerabilities)"
mapfile -t released < <(find dist -mindepth 2 -maxdepth 2 -type f -name 'kubectl-netbaseline*' -path 'dist/kubectl-netbaseline_*/*' | sort)
[ "${#released[@]}" -gt 0 ] || { echo "no binaries under dist/" >&2; exit 1; }
hack/vulncheck.sh "${released[@]}" "$work"/netbaseline-probe-linux-*

echo "--- krew manifest"
go run ./hack/krew-manifest -tag "$tag" -dist dist "${only[@]}"
validate-krew-manifest -manifest dist/netbaseline.yaml -skip-install

echo "--- krew install --manifest --archive"
root=$work/krew
KREW_ROOT=$root KREW_NO_UPGRADE_CHECK=1 KREW_OS=linux KREW_ARCH=amd64 \
  krew install --manifest=dist/netbaseline.yaml --archive="dist/kubectl-netbaseline_${tag}_linux_amd64.tar.gz"
installed=$root/bin/kubectl-netbaseline
"$installed" version
[ "$(stamped "$installed")" = "$probe_image" ] || { echo "the krew-installed binary names probe image '$(stamped "$installed")'" >&2; exit 1; }
store=$(ls -d "$root"/store/netbaseline/*)
for f in LICENSE kubectl_complete-netbaseline kubectl-netbaseline; do
  [ -e "$store/$f" ] || { echo "the archive lacks $f" >&2; exit 1; }
done

env_file=/var/lib/netbaseline-cluster/env
if [ -f "$env_file" ] && [ -z "${NB_RELEASE_REGISTRY:-}" ]; then
  echo "--- the krew-installed binary probes the local cluster with its default image"
  # shellcheck disable=SC1090
  . "$env_file"
  unset NETBASELINE_PROBE_IMAGE   # the stamped default, nothing else
  export PATH="$NETBASELINE_CLUSTER_BIN:$PATH"
  sed "s|127.0.0.1:5000/netbaseline/sampleapp:1|$NETBASELINE_SAMPLEAPP_IMAGE|" hack/cluster/manifests/sample-app.yaml | kubectl apply -f - >/dev/null
  for d in backend-dev/backend frontend-dev/frontend; do
    kubectl -n "${d%%/*}" rollout status "deploy/${d#*/}" --timeout=180s >/dev/null
  done
  out=$work/probe.json
  # open or not, the verdict must agree with the policies; what matters here is that the agent ran
  "$installed" probe frontend-dev/deploy/frontend backend-dev/deploy/backend:http -o json >"$out" ||
    { echo "the krew-installed binary could not probe (exit $?)" >&2; cat "$out" >&2; exit 1; }
  grep -q '"result": "ok"' "$out" || { echo "probe did not pass:" >&2; cat "$out" >&2; exit 1; }
  pod=$(kubectl -n frontend-dev get pods -l app=frontend -o jsonpath='{.items[0].metadata.name}')
  ran=$(kubectl -n frontend-dev get pod "$pod" -o jsonpath='{range .status.ephemeralContainerStatuses[*]}{.image}{" "}{.imageID}{"\n"}{end}' | grep -F "${probe_image#*@}" || true)
  [ -n "$ran" ] || { echo "no probe container of $pod ran ${probe_image}" >&2; exit 1; }
  echo "ran: $(echo "$ran" | tail -1)"
elif [ "${NB_RELEASE_REQUIRE_CLUSTER:-0}" = 1 ]; then
  echo "no local cluster ($env_file): make cluster-up first" >&2
  exit 1
fi
echo "release checks: ok"
