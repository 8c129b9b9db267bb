#!/usr/bin/env bash
# Deep recursion (issue #16): the whole `nixperf eval` (plugin, profile, report tables, history
# record) and `nixperf report` (flamegraph, stacks.folded) against plain nix, on 100 000-deep
# recursion, measured in one run: wall time (mean of N runs each, hyperfine) and peak memory
# (max RSS of the process tree, GNU time). The stack limit is raised for both (Nix 2.8 needs
# more than 8 MB for 100 000 levels).
# Usage: scripts/bench-deep.sh [RUNS] [DEPTH]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${1:-5} depth=${2:-100000}
nixperf=$root/target/release/nixperf
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export NIX_CONFIG="substituters =" NIXPERF_HISTORY=$tmp/history.db
: "${NIXPKGS_LIB:=$root/../shared/nixpkgs-lib/lib}"
ulimit -s unlimited 2>/dev/null || ulimit -s 4000000
cd "$tmp"
echo "{ n }: let f = n: if n == 0 then 0 else 1 + f (n - 1); in f n" > f.nix
declare -a names=(f) files=(f.nix)
if [ -f "$NIXPKGS_LIB/default.nix" ]; then
  echo "{ n }: let lib = import $NIXPKGS_LIB; in lib.foldr (a: b: a + b) 0 (lib.range 1 n)" > foldr.nix
  names+=(lib.foldr); files+=(foldr.nix)
fi
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
printf '%-10s %8s %10s %10s %7s %10s %10s %10s\n' workload depth plain eval ratio report plain-MB eval-MB
for i in "${!names[@]}"; do
  f=${files[$i]}
  plain="nix-instantiate --eval $f --arg n $depth"
  eval="$nixperf eval -o p$i.db -f $f --arg n $depth"
  hyperfine -N -w 1 -r "$runs" --export-json h$i.json "$plain" "$eval" >/dev/null 2>&1
  report="$nixperf report p$i.db -o rep$i --no-history"
  hyperfine -N -w 1 -r "$runs" --export-json r$i.json "$report" >/dev/null 2>&1
  read -r tp te tr < <(python3 -c "
import json; h=json.load(open('h$i.json'))['results']; r=json.load(open('r$i.json'))['results']
print(h[0]['mean'], h[1]['mean'], r[0]['mean'])")
  mp=$(rss $plain) me=$(rss $eval)
  printf '%-10s %8s %9.3fs %9.3fs %6.2fx %9.3fs %10d %10d\n' "${names[$i]}" "$depth" "$tp" "$te" \
    "$(python3 -c "print($te/$tp)")" "$tr" $((mp / 1024)) $((me / 1024))
done
echo "history: $(du -k history.db* | awk '{s+=$1} END {print s}') kB for $(sqlite3 history.db 'select count(*) from runs' 2>/dev/null || echo '?') runs"
