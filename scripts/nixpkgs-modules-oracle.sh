#!/usr/bin/env bash
# Non-interference on real code: nixpkgs' lib/tests/modules.sh (the module system every NixOS
# configuration is evaluated with) must report the same result with the plugin loaded as
# without it. Runs on a copy (the tests write next to themselves).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lib=${NIXPKGS_LIB:-$root/../shared/nixpkgs-lib/lib}
if [ ! -f "$lib/tests/modules.sh" ]; then
  echo "nixpkgs-modules-oracle: SKIPPED: no nixpkgs lib/ at $lib (set NIXPKGS_LIB)"
  exit 0
fi
plugin=$("$root/target/release/nixperf" plugin-path)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$lib" "$work/lib"; chmod -R u+w "$work/lib"
cd "$work/lib"
plain=$(bash tests/modules.sh 2>&1 | tail -2 | tr '\n' ' ')
with=$(NIX_CONFIG="plugin-files = $plugin
nixperf-profile = $work/modules.db" bash tests/modules.sh 2>&1 | tail -2 | tr '\n' ' ')
echo "nixpkgs-modules-oracle: without plugin: $plain; with plugin: $with"
[ "$plain" = "$with" ] || { echo "nixpkgs-modules-oracle: results differ" >&2; exit 1; }
case "$with" in *" 0 Fail"*) ;; *) echo "nixpkgs-modules-oracle: failures" >&2; exit 1;; esac
[ -s "$work/modules.db" ] || { echo "nixpkgs-modules-oracle: the plugin wrote no profile" >&2; exit 1; }
