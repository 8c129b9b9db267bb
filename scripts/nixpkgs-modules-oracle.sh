#!/usr/bin/env bash
# Non-interference on real code: nixpkgs' lib/tests/modules.sh (the module system every NixOS
# configuration is evaluated with) must report the same result with the plugin loaded as
# without it. Runs on a copy (the tests write next to themselves), against a store of its own:
# modules.sh evaluates with --read-write-mode and import-from-store.nix writes
# `builtins.toFile "drv"` into the store, which must not be the machine's (issue #18).
#
#   scripts/nixpkgs-modules-oracle.sh [--nix PREFIX]
#     --nix  a Nix built by scripts/build-nix.sh (DIR/nix-VERSION), with the plugin built for it
#            by scripts/build-plugin-for.sh VERSION; default: the nix on PATH and its plugin
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=""
case "${1:-}" in
  --nix) prefix=$(realpath "$2") ;;
  "") ;;
  *) echo "nixpkgs-modules-oracle: unknown argument $1" >&2; exit 2 ;;
esac
lib=${NIXPKGS_LIB:-$root/../shared/nixpkgs-lib/lib}
if [ ! -f "$lib/tests/modules.sh" ]; then
  echo "nixpkgs-modules-oracle: SKIPPED: no nixpkgs lib/ at $lib (set NIXPKGS_LIB)"
  exit 0
fi
if [ -n "$prefix" ]; then
  export PATH=$prefix/bin:$PATH
  [ -f "$prefix/etc/nix/nix.conf" ] && export NIX_CONF_DIR=$prefix/etc/nix
  mm=$(nix-instantiate --version | sed 's/.* //' | cut -d. -f1,2)
  plugin=$root/target/nix-$mm/release/libnixperf.so
  [ -f "$plugin" ] || { echo "nixpkgs-modules-oracle: no plugin $plugin (scripts/build-plugin-for.sh $mm)" >&2; exit 2; }
else
  plugin=$("$root/target/release/nixperf" plugin-path)
fi
echo "nixpkgs-modules-oracle: $(nix-instantiate --version), plugin $plugin"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$lib" "$work/lib"; chmod -R u+w "$work/lib"
cd "$work/lib"
# A chroot store: the paths are still /nix/store/…, the files and the database live in $work.
store="store = local?root=$work/store"
plain=$(NIX_CONFIG="$store" bash tests/modules.sh 2>&1 | tail -2 | tr '\n' ' ')
with=$(NIX_CONFIG="$store
plugin-files = $plugin
nixperf-profile = $work/modules.db" bash tests/modules.sh 2>&1 | tail -2 | tr '\n' ' ')
echo "nixpkgs-modules-oracle: without plugin: $plain; with plugin: $with"
[ "$plain" = "$with" ] || { echo "nixpkgs-modules-oracle: results differ" >&2; exit 1; }
case "$with" in *" 0 Fail"*) ;; *) echo "nixpkgs-modules-oracle: failures" >&2; exit 1;; esac
[ -n "$(find "$work/store/nix/store" -maxdepth 1 -name '*-drv' 2>/dev/null)" ] \
  || { echo "nixpkgs-modules-oracle: nothing was written to the private store $work/store" >&2; exit 1; }
[ -s "$work/modules.db" ] || { echo "nixpkgs-modules-oracle: the plugin wrote no profile" >&2; exit 1; }
