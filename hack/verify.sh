#!/usr/bin/env bash
# Checks that need no cluster: formatting, vet, a tidy go.mod, a thin
# command layer (internal/cmd at most 3,000 lines), the public
# Go API matching its api.txt, and the embedded kustomize tree matching its
# generator.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/toolchain.sh

echo "--- gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-ed:"; echo "$unformatted"; exit 1
fi

echo "--- go vet"
go vet ./...

echo "--- go mod tidy"
cp go.mod /tmp/netbaseline-go.mod.bak; cp go.sum /tmp/netbaseline-go.sum.bak
go mod tidy
if ! cmp -s go.mod /tmp/netbaseline-go.mod.bak || ! cmp -s go.sum /tmp/netbaseline-go.sum.bak; then
  diff -u /tmp/netbaseline-go.mod.bak go.mod || true
  cp /tmp/netbaseline-go.mod.bak go.mod; cp /tmp/netbaseline-go.sum.bak go.sum
  echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1
fi

echo "--- the command layer stays thin (docs/design.md: internal/cmd at most 3,000 lines)"
cmd_lines=$(cat $(ls internal/cmd/*.go | grep -v '_test\.go$') | wc -l)
if [ "$cmd_lines" -gt 3000 ]; then
  echo "internal/cmd has $cmd_lines lines (non-test): move the logic into its use case's package"; exit 1
fi

echo "--- public Go API (pkg/) as in its api.txt"
go run ./hack/apicheck $(go list -f '{{.Dir}}' ./pkg/...)

echo "--- kustomize/ up to date"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./hack/gen-kustomize -out "$tmp" >/dev/null
if ! diff -r "$tmp" kustomize --exclude=embed.go; then
  echo "kustomize/ is stale: run make generate"; exit 1
fi
echo "verify: ok"
