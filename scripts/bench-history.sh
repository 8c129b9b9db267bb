#!/usr/bin/env bash
# Benchmark: `nixperf compare` on a history of 10 000 runs (target ≤ 200 ms). The history is
# filled through the library's own recording path (one transaction per run, as `nixperf eval`
# records) with eval-shaped runs: ~25 headline metrics and 40 per-module self times each, plus
# folded stacks; then hyperfine (or a loop) times `nixperf compare` and `compare --runs 5`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --locked --quiet
runs=${RUNS:-10000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db="$dir/history.db"
start=$(date +%s.%N)
cargo run --release --locked --quiet --example fill_history -- "$db" "$runs"
echo "filled $runs runs in $(echo "$(date +%s.%N) - $start" | bc) s ($(du -h "$db" | cut -f1))"
export NIXPERF_HISTORY="$db"
./target/release/nixperf compare --no-flamegraph >/dev/null
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 3 --runs 20 \
    "./target/release/nixperf compare --no-flamegraph" \
    "./target/release/nixperf compare --runs 5 --no-flamegraph" \
    "./target/release/nixperf compare --flamegraph $dir/d.svg" \
    "./target/release/nixperf track --no-charts --since 2025-12-01" \
    "./target/release/nixperf track --monthly -o $dir/charts"
else
  for c in "compare --no-flamegraph" "compare --runs 5 --no-flamegraph"; do
    s=$(date +%s%N); ./target/release/nixperf $c >/dev/null; e=$(date +%s%N)
    echo "nixperf $c: $(( (e - s) / 1000000 )) ms"
  done
fi
