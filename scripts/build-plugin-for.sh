#!/usr/bin/env bash
# Build nixperf (CLI + plugin) against a Nix built by scripts/build-nix.sh, inside that Nix's
# build chroot: the same compiler, libstdc++, Boost and GC headers as the Nix it will load into.
#
#   scripts/build-plugin-for.sh [--dir DIR] VERSION     (VERSION: 2.26 … 2.35, built by
#                                                        scripts/build-nix.sh VERSION)
#
# Output: target/nix-VERSION/release/libnixperf.so (and nixperf). Use it with
#   target/release/nixperf eval --nix DIR/nix-VERSION …   (it finds the plugin for that Nix's
#   version there; NIXPERF_PLUGIN=… overrides)
# The repository, the rustup toolchain ($CARGO_HOME and $RUSTUP_HOME, default ~/.cargo and
# ~/.rustup) are bind-mounted into the chroot at the same paths; cargo runs offline there from
# the host's crate cache, which is filled first on the host (crates.io) if a crate is missing.
# The build must produce a plugin with its hooks (NIXPERF_REQUIRE_PLUGIN=1 makes build.rs fail
# on a Nix it has no shims for, instead of building a .so without hooks that nix would load
# only to warn "unknown setting 'nixperf-profile'"); a .so without them fails this script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${NIXPERF_NIX_CACHE:-/var/cache/nixperf-nix}
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    2.2[6-9]|2.3[0-5]) v=$1; shift ;;
    *) echo "build-plugin-for: unknown argument $1 (versions: 2.26 … 2.35)" >&2; exit 2 ;;
  esac
done
# One script at a time uses the build chroots: each one unmounts on exit what it bind-mounted,
# which would pull /proc or the repository out from under another (seen: a plugin build beside
# check-plugin-compiles.sh failed the compile check). Nested calls inherit the lock.
if [ -z "${NIXPERF_CHROOT_LOCKED:-}" ]; then
  mkdir -p "$dir"; exec 9>"$dir/.chroot-lock"; flock 9; export NIXPERF_CHROOT_LOCKED=1
fi
v=${v:-2.26}
suite=$("$root/scripts/build-nix.sh" --print-suite "$v")
ch=$dir/chroot-$suite
prefix=$dir/nix-$v
[ -f "$prefix/.nixperf-built" ] || { echo "build-plugin-for: Nix $v not built: scripts/build-nix.sh $v" >&2; exit 1; }
home=${HOME:-/root}
cargo_home=${CARGO_HOME:-$home/.cargo}
rustup_home=${RUSTUP_HOME:-$home/.rustup}
# The chroot runs rustup's toolchain from these directories (a distribution's cargo in /usr/bin
# is not visible inside the chroot). Exit status 3: this machine cannot build the plugin.
[ -x "$cargo_home/bin/cargo" ] && [ -d "$rustup_home/toolchains" ] || {
  echo "build-plugin-for: needs a rustup toolchain in $cargo_home and $rustup_home (set CARGO_HOME/RUSTUP_HOME)" >&2; exit 3; }
# Every crate of Cargo.lock for this host in the crate cache (a no-op when the host build ran).
host=$("$cargo_home/bin/rustc" -vV | sed -n 's/^host: //p')
(cd "$root" && { "$cargo_home/bin/cargo" fetch --locked --offline --target "$host" >/dev/null 2>&1 \
  || "$cargo_home/bin/cargo" fetch --locked --target "$host"; })
mounted=()
cleanup() { local i; for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done; }
trap cleanup EXIT
bind() { mkdir -p "$2"; mountpoint -q "$2" || { mount --bind "$1" "$2"; mounted+=("$2"); }; }
bind /proc "$ch/proc"
bind /dev "$ch/dev"
bind "$root" "$ch$root"
bind "$cargo_home" "$ch$cargo_home"
bind "$rustup_home" "$ch$rustup_home"
bind "$prefix" "$ch$prefix"
t0=$(date +%s)
so=$root/target/nix-$v/release/libnixperf.so
rm -f "$so"
chroot "$ch" env HOME="$home" NIXPERF_REQUIRE_PLUGIN=1 ${CARGO_BUILD_JOBS:+CARGO_BUILD_JOBS=$CARGO_BUILD_JOBS} CARGO_HOME="$cargo_home" RUSTUP_HOME="$rustup_home" PATH="$cargo_home/bin:/usr/bin:/bin" \
  PKG_CONFIG_PATH="$prefix/lib/x86_64-linux-gnu/pkgconfig" \
  sh -ec "cd '$root' && cargo build --release --locked --offline --target-dir target/nix-$v"
[ -f "$so" ] || { echo "build-plugin-for: no plugin built (see cargo's warnings above)" >&2; exit 1; }
# The C++ hooks' load message is in a .so that has them (not a setting's name: g++ 16 builds
# short strings from immediates, so 'nixperf-let-threshold' is not in the file as one string).
grep -qa 'nixperf: plugin partly inactive' "$so" || {
  echo "build-plugin-for: $so has no hooks (build.rs built the CLI only; see its warning above)" >&2; rm -f "$so"; exit 1; }
echo "build-plugin-for: $so for Nix $v in $(( $(date +%s) - t0 )) s"
