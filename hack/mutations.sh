#!/usr/bin/env bash
# Mutation checks of apply's safety: each mutation breaks one guard (a
# precondition, the undo, the lease, the settling of lost answers) in a
# scratch copy of the tree, and the tests named with it must then FAIL.
# A mutation the tests do not catch fails this script.
#   hack/mutations.sh            every mutation
#   hack/mutations.sh NAME...    only these
# Needs the light-mode binaries (make cluster-build); about a minute each.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scratch=$(mktemp -d /tmp/netbaseline-mutations.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# name # file # exact text (\n, \t escapes) # replacement # go test -run pattern
mutations=(
  'apply-guard#internal/apply/execute.go#w.guard, w.force = j.currentRV(name, s.Before), true#w.force = true#IntegrationEditBetweenPlanAndWrite'
  'replace-guard#internal/apply/execute.go#w.guard = j.currentRV(name, s.Before)\n\t\tw.sent.ResourceVersion = w.guard#w.sent.ResourceVersion = ""#IntegrationGuardedTakeoverAndPrune'
  'delete-guard#internal/apply/execute.go#if w.guard != "" {\n\t\topts.Preconditions#if false {\n\t\topts.Preconditions#IntegrationGuardedTakeoverAndPrune'
  'lease-refusal#internal/apply/lease.go#if holder == "" || holder == a.holder() {#if true {#IntegrationLease'
  'lease-renewal#internal/apply/keeper.go#every := a.leaseDuration() / 6#every := 100 * a.leaseDuration()#IntegrationLeaseLivesThroughALongVerify'
  'lease-clock-trusted#internal/apply/lease.go#return a.observeLease(ctx, cm, held)#return nil#IntegrationLeaseLivesThroughALongVerify|IntegrationDeadLease'
  'lease-kept-on-failure#internal/apply/keeper.go#if !j.leased {\n\t\treturn nil\n\t}\n\tj.leased = false#if true {\n\t\treturn nil\n\t}#IntegrationStoppedRollbackReleasesItsLease'
  'settle-never-landed#internal/apply/settle.go#func outcomeOf(w *pendingWrite, live *networkingv1.NetworkPolicy) outcome {#func outcomeOf(w *pendingWrite, live *networkingv1.NetworkPolicy) outcome {\n\treturn notLanded#IntegrationFault'
  'undo-no-pending#internal/apply/execute.go#settlePending(j, live, a.manager())#_ = settlePending#TestUnreadableLostWritesAreSettledByTheUndo'
  'undo-no-takeover-restore#internal/apply/execute.go#writes = append(writes, transition.Write{Op: transition.Replace, Object: restoreInPlace(cur, orig), Before: cur})\n\t\t}\n\t}\n\treturn writes, left#}\n\t}\n\treturn writes, left#IntegrationFault'
  'undo-drops-backup#internal/apply/execute.go#if policiesLeft {\n\t\treturn nil\n\t}\n\tvar left#var left#IntegrationFault'
  'leftovers-unnamed#internal/apply/execute.go#role := live[name].Labels[ownership.TransitionLabel]#role := ""#IntegrationFault'
)

want=("$@")
missed=0; ran=0
for m in "${mutations[@]}"; do
  IFS='#' read -r name file from to run <<<"$m"
  if [ "${#want[@]}" -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  rm -rf "$scratch/tree" && mkdir -p "$scratch/tree"
  git ls-files -z | xargs -0 cp --parents -t "$scratch/tree"
  if ! python3 - "$scratch/tree/$file" "$from" "$to" <<'EOF'
import sys
path, old, new = sys.argv[1], sys.argv[2].encode().decode('unicode_escape'), sys.argv[3].encode().decode('unicode_escape')
src = open(path).read()
if src.count(old) != 1:
    sys.exit(f"mutation text found {src.count(old)} times in {path}: {old!r}")
open(path, 'w').write(src.replace(old, new))
EOF
  then
    echo "mutation $name: could not be applied (the code moved): fix hack/mutations.sh" >&2; missed=$((missed+1)); continue
  fi
  ran=$((ran+1))
  if (cd "$scratch/tree" && NETBASELINE_REQUIRE_TESTENV=1 go test -count=1 -tags integration -run "$run" ./internal/apply/ >"$scratch/$name.log" 2>&1); then
    echo "mutation $name: MISSED (tests $run passed)"; missed=$((missed+1))
  else
    if grep -q -- '--- FAIL' "$scratch/$name.log"; then
      echo "mutation $name: caught by $(grep -- '--- FAIL' "$scratch/$name.log" | head -1 | awk '{print $3}')"
    else
      echo "mutation $name: the build or the test setup failed, not a test:"; tail -5 "$scratch/$name.log"; missed=$((missed+1))
    fi
  fi
done
echo "mutations: $ran run, $((ran - missed < 0 ? 0 : ran - missed)) caught, $missed missed or not applied"
[ "$missed" -eq 0 ]
