#!/usr/bin/env bash
# Build nixperf (CLI + plugin) against a Nix built by scripts/build-nix.sh, inside that Nix's
# build chroot: the same compiler, libstdc++, Boost and GC headers as the Nix it will load into.
#
#   scripts/build-plugin-for.sh [--dir DIR] VERSION     (VERSION: 2.26 or 2.34)
#
# Output: target/nix-VERSION/release/libnixperf.so (and nixperf). Use it with
#   target/release/nixperf eval --nix DIR/nix-VERSION …   (it finds the plugin for that Nix's
#   version there; NIXPERF_PLUGIN=… overrides)
# The repository, ~/.cargo and ~/.rustup are bind-mounted into the chroot at the same paths
# (cargo runs offline from the host's crate cache).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${NIXPERF_NIX_CACHE:-/var/cache/nixperf-nix}
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    2.26|2.34) v=$1; shift ;;
    *) echo "build-plugin-for: unknown argument $1 (versions: 2.26 2.34)" >&2; exit 2 ;;
  esac
done
v=${v:-2.26}
case "$v" in 2.26) suite=trixie ;; 2.34) suite=sid ;; esac
ch=$dir/chroot-$suite
prefix=$dir/nix-$v
[ -f "$prefix/.nixperf-built" ] || { echo "build-plugin-for: Nix $v not built: scripts/build-nix.sh $v" >&2; exit 1; }
home=${HOME:-/root}
mounted=()
cleanup() { local i; for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done; }
trap cleanup EXIT
bind() { mkdir -p "$2"; mountpoint -q "$2" || { mount --bind "$1" "$2"; mounted+=("$2"); }; }
bind /proc "$ch/proc"
bind /dev "$ch/dev"
bind "$root" "$ch$root"
bind "$home/.cargo" "$ch$home/.cargo"
bind "$home/.rustup" "$ch$home/.rustup"
bind "$prefix" "$ch$prefix"
t0=$(date +%s)
chroot "$ch" env HOME="$home" PATH="$home/.cargo/bin:/usr/bin:/bin" \
  PKG_CONFIG_PATH="$prefix/lib/x86_64-linux-gnu/pkgconfig" \
  sh -ec "cd '$root' && cargo build --release --locked --offline --target-dir target/nix-$v"
so=$root/target/nix-$v/release/libnixperf.so
[ -f "$so" ] || { echo "build-plugin-for: no plugin built (see cargo's warnings above)" >&2; exit 1; }
echo "build-plugin-for: $so for Nix $v in $(( $(date +%s) - t0 )) s"
