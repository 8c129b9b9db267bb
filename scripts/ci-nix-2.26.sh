#!/usr/bin/env bash
# CI step for Nix 2.26 with shared libraries (what nixpkgs ships): provision it and the plugin
# built against it, then run the 2.26 checks with NIXPERF_REQUIRE_NIX_2_26=1, so that a 2.26
# regression fails CI instead of the tests saying SKIPPED. scripts/test.sh runs it last.
#
#   scripts/ci-nix-2.26.sh [--dir DIR]     (DIR: $NIXPERF_NIX_CACHE or /var/cache/nixperf-nix)
#
# Provisioning (scripts/build-nix.sh 2.26: trixie chroot + Nix 2.26.3, ~22 min on an idle
# 2-core machine; scripts/build-plugin-for.sh 2.26: ~5-10 min) is cached in DIR, so a second run
# takes seconds. It runs under a time budget: what is left of the CI's limit since the run
# started, minus a reserve for the checks. If it does not finish in time, or Nix 2.26 cannot be
# built (Debian mirror down, ...), it prints one line
#   CI: Nix 2.26 NOT covered in this run: WHY
# and exits 0 (a timed-out build resumes from where it stopped on the next run if DIR is kept).
# Once Nix 2.26 is built, the plugin failing to compile against it or any check failing makes
# this exit non-zero.
#
# Environment:
#   NIXPERF_SKIP_NIX_2_26=1   skip this step (developers' machines; says so in one line)
#   NIXPERF_CI_START          when the CI run started (epoch seconds; .ci/run and test.sh set it)
#   NIXPERF_CI_MINUTES        the CI's hard limit in minutes (default 90)
#   NIXPERF_CI_RESERVE_MIN    minutes kept free after provisioning for the checks (default 8)
#   NIXPKGS_LIB               nixpkgs lib/ for the modules.sh oracle (scripts/nixpkgs-modules-oracle.sh)
#
# The checks (all with the plugin of target/nix-2.26/release/ and Nix from DIR/nix-2.26):
#   1. cargo test 2_26 of nix_versions, lang_suite and failures with NIXPERF_REQUIRE_NIX_2_26=1:
#      exact counts, per-file attribution, findings, IFD, flakes, failing evaluations on 2.26;
#      Nix 2.26's own language tests (tests/functional/lang) as its lang.sh runs them, every run
#      byte-identical with and without the plugin (scripts/lang-suite.sh --compare-plain); SIGINT;
#   2. nixpkgs lib/tests/modules.sh with and without the plugin (scripts/nixpkgs-modules-oracle.sh;
#      it says SKIPPED where no nixpkgs lib/ is available, as in the 2.8 suite).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=${NIXPERF_NIX_CACHE:-/var/cache/nixperf-nix}
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "ci-nix-2.26: unknown argument $1" >&2; exit 2 ;;
  esac
done

not_covered() {
  echo "CI: Nix 2.26 NOT covered in this run: $*"
  exit 0
}
if [ -n "${NIXPERF_SKIP_NIX_2_26:-}" ]; then
  echo "ci-nix-2.26: skipped (NIXPERF_SKIP_NIX_2_26 is set); the Nix 2.26 checks did not run"
  exit 0
fi

now() { date +%s; }
start=${NIXPERF_CI_START:-$(now)}
limit=$(( ${NIXPERF_CI_MINUTES:-90} * 60 ))
reserve=$(( ${NIXPERF_CI_RESERVE_MIN:-8} * 60 ))
# Seconds left for provisioning.
budget() { echo $(( start + limit - reserve - $(now) )); }

mkdir -p "$dir"
dir=$(realpath "$dir")
prefix=$dir/nix-2.26
plugin=$root/target/nix-2.26/release/libnixperf.so
log=$dir/ci-provision.log

# Runs a provisioning step under the remaining budget; its output goes to the terminal and to
# the log. Returns the step's status (124: out of time).
step() {
  local left rc t0
  left=$(budget); last_left=$left
  [ "$left" -gt 60 ] || return 124
  t0=$(now)
  echo "ci-nix-2.26: $* (budget ${left} s)"
  set +e
  timeout -k 30 "$left" "$@" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  set -e
  # timeout says 124, or 137 when it had to KILL after the grace period.
  [ "$rc" = 137 ] && rc=124
  echo "ci-nix-2.26: $1 finished in $(( $(now) - t0 )) s (status $rc)"
  return "$rc"
}

: > "$log"
t_prov=$(now)
# The last line build-nix.sh said about itself, and the last line of output if it differs.
why() {
  local a b; a=$(grep '^build-nix:' "$log" | tail -n 1); b=$(grep -v '^ci-nix' "$log" | tail -n 1)
  if [ "$a" = "$b" ]; then echo "$a"; else echo "$a / $b"; fi
}
rc=0; step "$root/scripts/build-nix.sh" --dir "$dir" 2.26 || rc=$?
case $rc in
  0) ;;
  124) not_covered "building Nix 2.26 did not fit in the time budget ($last_left s were left of $(( (limit - reserve) / 60 )) min after the CI run started); a later run resumes from $dir" ;;
  *) not_covered "scripts/build-nix.sh 2.26 failed (status $rc; Debian mirror or build environment): $(why)" ;;
esac
# Nix 2.26 is built: from here on a failure is the project's, not the infrastructure's, except
# running out of time.
rc=0; step "$root/scripts/build-plugin-for.sh" --dir "$dir" 2.26 || rc=$?
case $rc in
  0) ;;
  124) not_covered "building the plugin against Nix 2.26 did not fit in the time budget ($last_left s were left)" ;;
  3) not_covered "no rustup toolchain to build the plugin in the chroot (see scripts/build-plugin-for.sh)" ;;
  *) echo "ci-nix-2.26: FAILED: the plugin does not build against Nix 2.26 (status $rc)" >&2; exit 1 ;;
esac
echo "ci-nix-2.26: Nix 2.26 and its plugin ready in $(( $(now) - t_prov )) s; running the 2.26 checks"

failed=()
export NIXPERF_NIX_2_26=$prefix NIXPERF_REQUIRE_NIX_2_26=1
# The 2.26 tests compare with 2.8, through the host's plugin: test.sh built it. Not rebuilt when
# present: `cargo build` after `cargo test` relinks the crate (the cdylib and the binary have no
# hash in their names, and dev-dependencies change the features of shared dependencies).
[ -f target/release/libnixperf.so ] || cargo build --release --locked

# 1. The tests that use Nix 2.26 (their names contain 2_26): nix_versions (counts, attribution,
# findings, IFD, flakes against 2.8), lang_suite (Nix 2.26's own language tests as its lang.sh
# runs them, every run byte-identical with and without the plugin) and failures (SIGINT).
t0=$(now)
out=$(mktemp); trap 'rm -f "$out"' EXIT
set +e
cargo test --release --locked --test nix_versions --test lang_suite --test failures 2_26 \
  -- --test-threads 2 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
ran=$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed.*/\1/p' "$out" | awk '{n += $1} END {print n + 0}')
if [ "$rc" != 0 ]; then failed+=("2.26 tests (nix_versions, lang_suite, failures)")
elif [ "$ran" -lt 12 ]; then failed+=("only $ran of the 2.26 tests ran"); fi
echo "ci-nix-2.26: 2.26 tests: $ran passed, status $rc ($(( $(now) - t0 )) s)"

# 2. nixpkgs' module-system tests, plain and with the plugin.
t0=$(now)
PATH=$prefix/bin:$PATH NIXPERF_PLUGIN=$plugin "$root/scripts/nixpkgs-modules-oracle.sh" \
  || failed+=("nixpkgs modules.sh oracle")
echo "ci-nix-2.26: modules oracle in $(( $(now) - t0 )) s"

if [ ${#failed[@]} -gt 0 ]; then
  printf 'ci-nix-2.26: FAILED on Nix 2.26: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "ci-nix-2.26: Nix 2.26 covered: all 2.26 checks passed"
