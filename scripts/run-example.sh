#!/usr/bin/env bash
# The main job on the bundled example: provision (first run only), build CLI + plugin, profile
# the evaluation of nix-tests/example, and write the report and the flamegraph into
# nixperf-out/ (or the directory given as $1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/nixperf-out}
cd "$root"
./scripts/setup-debian.sh
cargo build --release --locked
mkdir -p "$out"
./target/release/nixperf eval -f nix-tests/example -A config -o "$out/nixperf-profile.db"
./target/release/nixperf report "$out/nixperf-profile.db" -o "$out" --top 10 >/dev/null
echo
echo "report:     $out/performance-report.md"
echo "flamegraph: $out/flamegraph.svg  (open it in a browser)"
echo "stacks:     $out/stacks.folded"
