#!/usr/bin/env bash
# govulncheck over the release builds of the plugin and the agent, against
# the pinned Go vulnerability database; fails when a vulnerability is
# reachable (a symbol-level finding) in either.
#   hack/vulncheck.sh             build both as released (CGO_ENABLED=0,
#                                 -trimpath, -s -w, linux/amd64, go.mod's
#                                 toolchain) and scan them (-mode=binary:
#                                 the symbols linked in), then scan each
#                                 command's source (-mode=source: the call
#                                 graph from its main)
#   hack/vulncheck.sh BINARY...   scan only these binaries (e.g. dist/*/…)
#   NB_GOTOOLCHAIN=go1.26.8 hack/vulncheck.sh   the same with another Go
# Tools and data, outside git in $NB_TOOLS_HOME (default
# /var/cache/netbaseline-tools), built once from the Go module proxy:
#   vuln/bin/govulncheck     golang.org/x/vuln, pinned in hack/tools/vuln/go.mod
#   vulndb/VERSION/          the database: the golang.org/x/vulndb module
#                            (pinned in hack/tools/vulndb/go.mod, checked
#                            against its go.sum) holds every report as an OSV
#                            entry in data/osv; its own cmd/indexdb writes
#                            them with the index govulncheck -db file://…
#                            reads (index/db.json, index/modules.json,
#                            ID/GO-….json)
# The counts per binary come from hack/vulnreport (govulncheck's JSON).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
given=()
for b in "$@"; do given+=("$(realpath -m -- "$b")"); done   # before the cd
cd "$root"
source hack/toolchain.sh
NB_TOOLS_HOME="${NB_TOOLS_HOME:-/var/cache/netbaseline-tools}"
die() { echo "vulncheck: $*" >&2; exit 1; }

# Tools are built with the machine's own Go (GOTOOLCHAIN=local), like the
# linter and the release tools; the stamps name it.
tool_go() { GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 go "$@"; }
stamp_of() { { GOTOOLCHAIN=local go version; cat "$@"; } | sha256sum | cut -c1-16; }

# ---------------------------------------------------------------- govulncheck
vbin=$NB_TOOLS_HOME/vuln/bin
mkdir -p "$vbin"
stamp=$(stamp_of hack/tools/vuln/go.mod hack/tools/vuln/go.sum)
if [ "$(cat "$vbin/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$vbin/govulncheck" ]; then
  start=$(date +%s)
  (cd hack/tools/vuln && tool_go build -trimpath -o "$vbin/" golang.org/x/vuln/cmd/govulncheck)
  echo "$stamp" >"$vbin/.stamp"
  echo "govulncheck built in $(( $(date +%s) - start ))s into $vbin" >&2
fi
govulncheck=$vbin/govulncheck

# ---------------------------------------------------------------- the database
dbmod=golang.org/x/vulndb
version=$(cd hack/tools/vulndb && tool_go list -m -f '{{.Version}}' "$dbmod")
[ -n "$version" ] || die "no version of $dbmod in hack/tools/vulndb/go.mod"
dbhome=$NB_TOOLS_HOME/vulndb
db=$dbhome/$version
stamp=$(stamp_of hack/tools/vulndb/go.mod hack/tools/vulndb/go.sum)
if [ "$(cat "$db/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -s "$db/index/modules.json" ]; then
  start=$(date +%s)
  mkdir -p "$dbhome/bin"
  (cd hack/tools/vulndb && tool_go build -trimpath -o "$dbhome/bin/" "$dbmod/cmd/indexdb")
  src=$(cd hack/tools/vulndb && tool_go mod download -json "$dbmod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -d "$src/data/osv" ] || die "$dbmod@$version has no data/osv (module at '${src}')"
  rm -rf "$db.tmp" && mkdir -p "$db.tmp"
  "$dbhome/bin/indexdb" -vulns "$src/data/osv" -out "$db.tmp"
  want=$(find "$src/data/osv" -name 'GO-*.json' | wc -l)
  got=$(find "$db.tmp/ID" -name 'GO-*.json' | wc -l)
  [ "$want" -gt 0 ] && [ "$got" = "$want" ] || die "indexdb wrote $got entries of $want"
  [ -s "$db.tmp/index/db.json" ] && [ -s "$db.tmp/index/modules.json" ] || die "indexdb wrote no index"
  echo "$stamp" >"$db.tmp/.stamp"
  rm -rf "$db" && mv "$db.tmp" "$db"
  echo "vulnerability database $dbmod@$version ($got entries) built in $(( $(date +%s) - start ))s into $db" >&2
fi

# ---------------------------------------------------------------- the binaries
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "${#given[@]}" -gt 0 ]; then
  bins=("${given[@]}")
else
  echo "--- release builds (linux/amd64) with $(go version | cut -d' ' -f3)"
  export CGO_ENABLED=0 GOOS=linux GOARCH=amd64
  go build -trimpath -ldflags "-s -w" -o "$work/kubectl-netbaseline" ./cmd/kubectl-netbaseline
  go build -trimpath -ldflags "-s -w" -o "$work/netbaseline-probe" ./cmd/netbaseline-probe
  unset CGO_ENABLED GOOS GOARCH
  bins=("$work/kubectl-netbaseline" "$work/netbaseline-probe")
fi
(cd hack/vulnreport && go build -o "$work/vulnreport" .)

# ---------------------------------------------------------------- the scans
failed=0 summary=()
scan() { # scan NAME GOVULNCHECK-ARG...: prints the findings and the counts
  local name=$1 out="$work/scan.json" rc=0; shift
  echo "--- govulncheck $* ($name)"
  "$govulncheck" -db "file://$db" -format json "$@" >"$out" || die "govulncheck failed on $* (exit $?)"
  "$work/vulnreport" -name "$name" <"$out" | tee "$work/scan.txt" || rc=${PIPESTATUS[0]}
  case $rc in
    0) ;;
    1) failed=1 ;;
    *) die "could not read govulncheck's output for $*" ;;
  esac
  summary+=("$(tail -1 "$work/scan.txt")")
}
# binary mode: the symbols linked into the release build, the Go release it
# was built with (its build info)
for b in "${bins[@]}"; do
  [ -f "$b" ] || die "no binary $b"
  scan "$(basename "$b") binary, $(go version "$b" | awk '{print $2}')" -mode=binary "$b"
done
# source mode: the call graph from each command's main, over the standard
# library of $GOTOOLCHAIN (what the builds above used)
if [ "${#given[@]}" -eq 0 ]; then
  for c in kubectl-netbaseline netbaseline-probe; do
    scan "$c source, $(go env GOVERSION)" -mode=source "./cmd/$c"
  done
fi
echo "--- vulncheck ($dbmod@$version)"
printf '%s\n' "${summary[@]}"
if [ "$failed" = 1 ]; then
  echo "vulncheck: reachable vulnerabilities (above); a newer Go patch release in go.mod's toolchain line or a newer module fixes them" >&2
  exit 1
fi
echo "vulncheck: nothing reachable"
