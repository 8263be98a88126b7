#!/usr/bin/env bash
# Release checks with the real tools (built by hack/release/tools.sh):
#   goreleaser check; a snapshot release (every target with ALL=1, else
#   linux/amd64 only); the probe image as an OCI tarball; plugin.yaml
#   rendered into dist/netbaseline.yaml and checked by krew's validator;
#   the archive installed with krew into a temporary KREW_ROOT, and the
#   krew-installed binary run.
set -euo pipefail
cd "$(dirname "$0")/../.."
NB_TOOLS_HOME="${NB_TOOLS_HOME:-/var/cache/netbaseline-tools}"
hack/release/tools.sh
export PATH="$NB_TOOLS_HOME/bin:$PATH"

echo "--- goreleaser check"
goreleaser check

config=.goreleaser.yaml
only=()
if [ "${ALL:-0}" != 1 ]; then
  # One target keeps CI inside its budget; make dist builds them all.
  config=$(mktemp --suffix=.yaml)
  trap 'rm -f "$config"' EXIT
  sed -e 's/goos: \[linux, darwin, windows\]/goos: [linux]/' -e 's/goarch: \[amd64, arm64\]/goarch: [amd64]/' .goreleaser.yaml >"$config"
  only=(-only-built)
fi
echo "--- goreleaser release --snapshot"
goreleaser release --snapshot --clean --skip=publish --config "$config"
tag=$(sed -n 's/.*"tag":"\([^"]*\)".*/\1/p' dist/metadata.json)
version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' dist/metadata.json)
echo "snapshot of $tag ($version)"

echo "--- probe image (OCI layout tarball, linux/amd64 and linux/arm64)"
for arch in amd64 arm64; do
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "-s -w" -o "dist/netbaseline-probe-linux-$arch" ./cmd/netbaseline-probe
done
(cd hack/cluster/images && go run ./cmd/ociimage -o "../../../dist/netbaseline-probe_${tag}_oci.tar" -tag "$tag" \
  -binary linux/amd64=../../../dist/netbaseline-probe-linux-amd64 -binary linux/arm64=../../../dist/netbaseline-probe-linux-arm64)

echo "--- krew manifest"
go run ./hack/krew-manifest -tag "$tag" -dist dist "${only[@]}"
validate-krew-manifest -manifest dist/netbaseline.yaml -skip-install

echo "--- krew install --manifest --archive"
root=$(mktemp -d)
KREW_ROOT=$root KREW_NO_UPGRADE_CHECK=1 KREW_OS=linux KREW_ARCH=amd64 \
  krew install --manifest=dist/netbaseline.yaml --archive="dist/kubectl-netbaseline_${tag}_linux_amd64.tar.gz"
"$root/bin/kubectl-netbaseline" version
store=$(ls -d "$root"/store/netbaseline/*)
for f in LICENSE kubectl_complete-netbaseline kubectl-netbaseline; do
  [ -e "$store/$f" ] || { echo "the archive lacks $f" >&2; exit 1; }
done
rm -rf "$root"
echo "release checks: ok"
