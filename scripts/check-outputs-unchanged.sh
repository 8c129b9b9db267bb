#!/usr/bin/env bash
# Are nixperf's outputs unchanged by a refactor? Builds the CLI of BASE_COMMIT (in a temporary git
# worktree) and of this checkout, runs both on the same fixed inputs and prints a unified diff of
# everything they wrote: stdout, stderr, exit status and the files the commands write.
# Exit 0: byte-identical; 1: differences (each one is either a deliberate change, to be named by
# its commit, or a regression); 2: usage or build error. Written for issue #17's "outputs
# byte-identical before and after" (base 03eae72); works for any base commit.
#
#   scripts/check-outputs-unchanged.sh [--profile FILE]... [--history DB]
#       [--build-profile FILE [--baseline-file FILE]] [--keep DIR] BASE_COMMIT
#
# Inputs (never written: each side gets its own copy):
# - the recorded evaluation profiles of this checkout's tests/data/*.db (no nix needed), plus any
#   --profile FILE (e.g. a `nixperf eval -f nix-tests/example -A config` profile): `report` as
#   text with its files (flamegraph.svg, flamegraph-modules.svg, stacks.folded,
#   performance-report.md), `report --json`, `report --by-file`;
# - --history DB (a history database, with the `analyses/` directory `nixperf analyze` keeps
#   beside it, if any): `compare` (latest run vs its baseline or previous run) and `compare 1 2`,
#   each as text + Markdown + differential flamegraph and as --json; the tracking reports
#   `report --format md|json|html`; `baseline --show`; `analyze --suggest --json` (reads the
#   recorded analysis, runs nothing);
# - --build-profile FILE (written by `nixperf build`): `report FILE` (text, --json) and
#   `analyze --quick --json --build-profile FILE [--baseline-file FILE]` against an empty store
#   (its settings part asks this machine's nix, the same for both sides);
# - `--help` of nixperf, report, compare, analyze.
# Commands that measure (eval, build, store) are not run. HOME and the XDG dirs point into the
# temporary directory (no user config, no user history), TZ=UTC, LC_ALL=C; both sides run as
# the same path (…/nixperf) in the same directory, one after the other.
# Normalized before the diff, in both trees alike: values that differ between two runs of one
# binary — "generated_at", and analyze's "mem_available", "fs_free", "analysis_ms",
# "db_read_ms" become N; flamegraph-diff.folded is sorted (inferno's differential writer emits
# its lines in hash-map order, which changes from run to run).
#
# The base commit's CLI is built with a copy of this checkout's target/release (dependencies
# reused) and no Nix headers (CLI only: the plugin is not needed). --keep DIR keeps both sides'
# outputs there. tests/data need not exist at BASE_COMMIT: this checkout's copy is used for both.
set -euo pipefail

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

profiles=()
history=""
build_profile=""
baseline_file=""
keep=""
base=""
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profiles+=("$(realpath "$2")"); shift 2 ;;
    --history) history=$(realpath "$2"); shift 2 ;;
    --build-profile) build_profile=$(realpath "$2"); shift 2 ;;
    --baseline-file) baseline_file=$(realpath "$2"); shift 2 ;;
    --keep) keep=$(realpath -m "$2"); shift 2 ;;
    -h|--help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) [ -z "$base" ] || usage; base=$1; shift ;;
  esac
done
[ -n "$base" ] || usage
[ -z "$baseline_file" ] || [ -n "$build_profile" ] || { echo "--baseline-file needs --build-profile" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
base_rev=$(git -C "$root" rev-parse --verify "$base^{commit}") || { echo "not a commit: $base" >&2; exit 2; }
head_rev=$(git -C "$root" rev-parse HEAD)
[ -z "$(git -C "$root" status --porcelain --untracked-files=no)" ] || head_rev="$head_rev (+ uncommitted changes)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nixperf-outcheck.XXXXXX")
wt="$tmp/base-src"
cleanup() {
  if [ -d "$wt" ]; then git -C "$root" worktree remove --force "$wt" >/dev/null 2>&1 || true; fi
  git -C "$root" worktree prune >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "check-outputs: $*" >&2; }

# ---- build both CLIs ------------------------------------------------------------------------
log "building this checkout's CLI ($head_rev)"
(cd "$root" && nice cargo build --release --locked --quiet --bin nixperf) || exit 2
mkdir -p "$tmp/bin/base" "$tmp/bin/head"
cp "$root/target/release/nixperf" "$tmp/bin/head/nixperf"

log "building the CLI of $base_rev in a temporary worktree"
git -C "$root" worktree add --detach --quiet "$wt" "$base_rev"
if [ -d "$root/target/release" ]; then
  mkdir -p "$wt/target"
  cp -a "$root/target/release" "$wt/target/release"
fi
# The copied artifacts may be newer than the checked-out files: make the sources newer, or cargo
# would take this checkout's build script and crate as fresh for the base commit.
(cd "$wt" && git ls-files -z | xargs -0 touch)
(cd "$wt" && nice cargo build --release --locked --quiet --bin nixperf) || exit 2
cp "$wt/target/release/nixperf" "$tmp/bin/base/nixperf"

# ---- the inputs -----------------------------------------------------------------------------
in="$tmp/in"
mkdir -p "$in"
for f in "$root"/tests/data/*.db; do cp "$f" "$in/"; done
for f in ${profiles[@]+"${profiles[@]}"}; do cp "$f" "$in/$(basename "$f")"; done
if [ -n "$history" ]; then
  mkdir -p "$in/history"
  cp "$history" "$in/history/history.db"
  hdir=$(dirname "$history")
  if [ -d "$hdir/analyses" ]; then cp -a "$hdir/analyses" "$in/history/analyses"; fi
fi
if [ -n "$build_profile" ]; then
  mkdir -p "$in/build"
  cp "$build_profile" "$in/build/build.db"
  log_json="${build_profile%.db}.log.json"
  if [ -f "$log_json" ]; then cp "$log_json" "$in/build/build.log.json"; fi
  if [ -n "$baseline_file" ]; then cp "$baseline_file" "$in/build/performance-baseline.json"; fi
fi

# ---- run one side ---------------------------------------------------------------------------
run="$tmp/run"    # both sides run here, so that any path they print is the same
# out NAME ARGS…: stdout, stderr and exit status of `nixperf ARGS…` as NAME.{out,err,rc}
out() {
  local name=$1; shift
  local rc=0
  "$bin" "$@" >"$run/$name.out" 2>"$run/$name.err" </dev/null || rc=$?
  echo "$rc" >"$run/$name.rc"
}

side() {
  local dest=$2
  local bin="$tmp/nixperf"   # one path for both: --help and recorded command lines print it
  cp "$1" "$bin"
  rm -rf "$run"
  mkdir -p "$run/home/config" "$run/home/state" "$run/home/cache" "$run/profiles"
  cp "$in"/*.db "$run/profiles/"
  cd "$run"
  export HOME="$run/home" XDG_CONFIG_HOME="$run/home/config" XDG_STATE_HOME="$run/home/state" \
    XDG_CACHE_HOME="$run/home/cache" TZ=UTC LC_ALL=C
  unset NIXPERF_HISTORY NIXPERF_TARGET NIX_CONFIG || true

  mkdir -p "$run/empty-store/store" "$run/empty-store/var" "$run/empty-store/conf"
  out help --help
  out help-report report --help
  out help-compare compare --help
  out help-analyze analyze --help

  local p s
  for p in profiles/*.db; do
    s=$(basename "$p" .db)
    out "report-$s" --no-history report "$p" -o "report-$s"
    out "report-$s-json" --no-history report "$p" --json --no-files
    out "report-$s-by-file" --no-history report "$p" --by-file --no-files
  done

  if [ -d "$in/history" ]; then
    cp -a "$in/history" "$run/history"
    local h=(--history history/history.db)
    mkdir -p compare compare-1-2 tracking-md tracking-json tracking-html baseline suggest
    out compare "${h[@]}" compare --markdown compare/compare.md --flamegraph compare/flamegraph-diff.svg
    out compare-json "${h[@]}" compare --json --no-flamegraph
    out compare-1-2 "${h[@]}" compare 1 2 --markdown compare-1-2/compare.md --flamegraph compare-1-2/flamegraph-diff.svg
    out compare-1-2-json "${h[@]}" compare 1 2 --json --no-flamegraph
    out tracking-md "${h[@]}" report --format md -o tracking-md
    out tracking-json "${h[@]}" report --format json -o tracking-json
    out tracking-html "${h[@]}" report --format html -o tracking-html
    out baseline-show "${h[@]}" baseline --show -o baseline/performance-baseline.json
    out analyze-suggest-json "${h[@]}" analyze --suggest --json --out-dir suggest
    rm -rf history   # the input, not an output
  fi

  if [ -d "$in/build" ]; then
    cp -a "$in/build" "$run/build"
    out report-build --no-history report build/build.db
    out report-build-json --no-history report build/build.db --json
    local bf=()
    [ ! -f build/performance-baseline.json ] || bf=(--baseline-file build/performance-baseline.json)
    mkdir -p analyze-quick
    NIX_STORE_DIR="$run/empty-store/store" NIX_STATE_DIR="$run/empty-store/var" \
      out analyze-quick-json --no-history analyze --quick --json --build-profile build/build.db \
      ${bf[@]+"${bf[@]}"} --out-dir analyze-quick --undo-dir empty-store/undo \
      --store-dir "$run/empty-store/store" --state-dir "$run/empty-store/var"
    rm -rf build analyze-quick/analyses   # the input; analyses/<time>-<pid>.json = analysis.json
  fi
  rm -rf profiles home empty-store
  cd "$tmp"
  mv "$run" "$dest"
}

log "running both CLIs on the same inputs"
side "$tmp/bin/base/nixperf" "$tmp/base"
side "$tmp/bin/head/nixperf" "$tmp/head"

# Values that differ between two runs of the same binary (see the header).
normalize() {
  find "$1" -type f -name flamegraph-diff.folded -exec sort -o {} {} \;
  find "$1" -type f \( -name '*.out' -o -name '*.json' \) -exec sed -i -E \
    -e 's/"(generated_at|mem_available|fs_free|db_read_ms|analysis_ms)": [0-9.e+-]+/"\1": N/' {} +
}
normalize "$tmp/base"
normalize "$tmp/head"

if [ -n "$keep" ]; then
  rm -rf "$keep"; mkdir -p "$keep"
  cp -a "$tmp/base" "$tmp/head" "$keep/"
  log "outputs kept in $keep/{base,head}"
fi

cd "$tmp"
if diff -ruN base head; then
  log "identical: $(find base -type f | wc -l) outputs of $base_rev and $head_rev"
  exit 0
else
  log "outputs differ between $base_rev (---) and $head_rev (+++)"
  exit 1
fi
