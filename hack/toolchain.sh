# Sourced by the scripts that build, test or release this module's own
# binaries (the plugin, the agent): exports GOTOOLCHAIN as the exact Go
# release named by go.mod's toolchain line, so they are built with that
# patched release and not with whatever Go the machine has (a machine's own
# Go ignores the toolchain line when GOTOOLCHAIN=local, as it is set here).
# The go command fetches that release from the Go module proxy once
# (golang.org/toolchain, into the module cache) and runs it from there.
# NB_GOTOOLCHAIN=goX.Y.Z overrides it (hack/vulncheck.sh's proof run).
# shellcheck shell=bash
nb_toolchain_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${NB_GOTOOLCHAIN:-}" ]; then
  NB_GOTOOLCHAIN=$(sed -n 's/^toolchain[[:space:]]\{1,\}\(go[0-9][0-9.]*\)[[:space:]]*$/\1/p' "$nb_toolchain_root/go.mod")
  [ -n "$NB_GOTOOLCHAIN" ] || { echo "hack/toolchain.sh: no 'toolchain goX.Y.Z' line in $nb_toolchain_root/go.mod" >&2; exit 1; }
fi
case $NB_GOTOOLCHAIN in
  go[0-9]*.[0-9]*) ;;
  *) echo "hack/toolchain.sh: NB_GOTOOLCHAIN=$NB_GOTOOLCHAIN is not an exact Go release (goX.Y.Z)" >&2; exit 1 ;;
esac
export NB_GOTOOLCHAIN GOTOOLCHAIN=$NB_GOTOOLCHAIN
unset nb_toolchain_root
