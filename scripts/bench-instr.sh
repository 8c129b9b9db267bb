#!/usr/bin/env bash
# Overhead in instructions (callgrind: deterministic, immune to the noise of a shared machine)
# of the plugin on one Nix, against plain nix and, on Nix >= 2.30, against Nix's own sampling
# profiler at its default 99 Hz, on fib 25, the bundled example and (with a nixpkgs lib/)
# lib.evalModules with 5000 modules. One callgrind run per cell.
#
#   scripts/bench-instr.sh [--nix PREFIX] [--plugin SO]
#     --nix     a Nix prefix (scripts/build-nix.sh: DIR/nix-VERSION); default: the nix on PATH
#     --plugin  the plugin for it; default: target/nix-VERSION/release/libnixperf.so for a
#               prefix, `nixperf plugin-path` otherwise
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
prefix="" plugin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --nix) prefix=$(realpath "$2"); shift 2 ;;
    --plugin) plugin=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "bench-instr: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "bench-instr: needs valgrind" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export NIX_CONFIG="substituters ="
if [ -n "$prefix" ]; then
  export PATH=$prefix/bin:$PATH
  [ -f "$prefix/etc/nix/nix.conf" ] && export NIX_CONF_DIR=$prefix/etc/nix
fi
version=$(nix-instantiate --version | sed 's/.* //')
mm=$(echo "$version" | cut -d. -f1,2)
if [ -z "$plugin" ]; then
  if [ -n "$prefix" ]; then plugin=$root/target/nix-$mm/release/libnixperf.so
  else plugin=$(./target/release/nixperf plugin-path); fi
fi
[ -f "$plugin" ] || { echo "bench-instr: no plugin $plugin" >&2; exit 2; }
: "${NIXPKGS_LIB:=$root/../shared/nixpkgs-lib/lib}"
export NIXPKGS_LIB
minor=$(echo "$version" | cut -d. -f2)
builtin=0; [ "$minor" -ge 30 ] && builtin=1

declare -a names=() args=()
names+=("fib 25");           args+=("--eval nix-tests/fixtures/fib25.nix")
names+=("bundled example");  args+=("--eval --strict nix-tests/example -A config")
if [ -f "$NIXPKGS_LIB/default.nix" ]; then
  names+=("lib.evalModules (5000 modules)"); args+=("--eval --strict nix-tests/bench/evalmodules.nix")
fi
instr() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
g() { python3 -c "print(f'{$1/1e9:.3f} G')"; }
r() { python3 -c "print(f'{$1/$2:.2f}x')"; }

echo "Nix $version ($(command -v nix-instantiate)), plugin $plugin"
if [ "$builtin" = 1 ]; then
  printf '%-32s %12s %12s %8s %12s %8s\n' workload plain plugin ratio "builtin 99Hz" ratio
else
  printf '%-32s %12s %12s %8s\n' workload plain plugin ratio
fi
for i in "${!names[@]}"; do
  a=${args[$i]}
  # shellcheck disable=SC2086
  ip=$(instr nix-instantiate $a)
  # shellcheck disable=SC2086
  ii=$(instr nix-instantiate --option plugin-files "$plugin" --option nixperf-profile "$tmp/p$i.db" $a)
  [ -s "$tmp/p$i.db" ] || { echo "bench-instr: the plugin wrote no profile for ${names[$i]}" >&2; exit 1; }
  # A profile without calls means the hooks were off (it happened: a guard that misread
  # valgrind's stack): its instruction count would be plain nix's, not the plugin's.
  "$root/target/release/nixperf" report --json --no-files "$tmp/p$i.db" 2>/dev/null \
    | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["functions"] else 1)' \
    || { echo "bench-instr: the plugin recorded no calls for ${names[$i]}: its count is not the plugin's" >&2; exit 1; }
  if [ "$builtin" = 1 ]; then
    # shellcheck disable=SC2086
    ib=$(instr nix-instantiate --eval-profiler flamegraph --eval-profiler-frequency 99 --eval-profile-file "$tmp/b$i.folded" $a)
    printf '%-32s %12s %12s %8s %12s %8s\n' "${names[$i]}" "$(g "$ip")" "$(g "$ii")" "$(r "$ii" "$ip")" "$(g "$ib")" "$(r "$ib" "$ip")"
  else
    printf '%-32s %12s %12s %8s\n' "${names[$i]}" "$(g "$ip")" "$(g "$ii")" "$(r "$ii" "$ip")"
  fi
done
