#!/usr/bin/env bash
# Evaluation regression gate for CI: profiles the evaluation of BASE and HEAD revisions of the
# git repository in the current directory (RUNS times each, in worktrees), compares them with
# `nixperf compare --runs`, writes a Markdown summary, and exits 2 on a regression beyond the
# noise (0 otherwise). The GitHub workflow .github/workflows/nixperf.yml runs exactly this.
#
# Usage: ci-compare.sh BASE_REV HEAD_REV FILE [ATTR]
#   env: RUNS (default 3), NIXPERF (default: nixperf on PATH), SUMMARY (Markdown output;
#        default $GITHUB_STEP_SUMMARY, else nixperf-compare.md), OUT (artifacts dir, default
#        nixperf-ci), THRESHOLD (regression %, default the history's 10).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BASE_REV HEAD_REV FILE [ATTR]" >&2; exit 64; }
base=$1 head=$2 file=$3 attr=${4:-}
runs=${RUNS:-3}
nixperf=${NIXPERF:-nixperf}
out=${OUT:-nixperf-ci}
summary=${SUMMARY:-${GITHUB_STEP_SUMMARY:-nixperf-compare.md}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export NIXPERF_HISTORY="$out/history.db"
# Both revisions are the same target, whatever directory they are checked out in.
export NIXPERF_TARGET="ci: $file${attr:+ -A $attr}"
rm -f "$NIXPERF_HISTORY"*

trees=$(mktemp -d)
cleanup() {
  for r in base head; do git worktree remove --force "$trees/$r" 2>/dev/null || true; done
  rm -rf "$trees"
}
trap cleanup EXIT

last_run() { "$nixperf" history list --limit 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])'; }

for side in base head; do
  rev=${!side}
  git worktree add --detach --quiet "$trees/$side" "$rev"
  # From inside the tree, so module paths (relative to the working directory) match across sides.
  for i in $(seq "$runs"); do
    (cd "$trees/$side" && "$nixperf" eval -f "$file" ${attr:+-A "$attr"} -o "$out/$side.db" >/dev/null)
  done
  declare "${side}_id=$(last_run)"
done

set +e
"$nixperf" compare "$base_id" "$head_id" --runs "$runs" --fail-on-regression \
  ${THRESHOLD:+--threshold "$THRESHOLD"} \
  --flamegraph "$out/flamegraph-diff.svg" --markdown "$out/summary.md"
status=$?
set -e
cat "$out/summary.md" >> "$summary"
exit $status
