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
#   1. cargo test --test nix_versions 2_26 with NIXPERF_REQUIRE_NIX_2_26=1 (exact counts,
#      per-file attribution, findings, IFD, failing evaluations on 2.26);
#   2. Nix 2.26's own language tests (tests/functional/lang) through scripts/lang-suite.sh with
#      and without the plugin: the same verdicts, and byte-identical outputs and stderr;
#   3. nixpkgs lib/tests/modules.sh with and without the plugin (scripts/nixpkgs-modules-oracle.sh;
#      it says SKIPPED where no nixpkgs lib/ is available, as in the 2.8 suite).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=${NIXPERF_NIX_CACHE:-/var/cache/nixperf-nix}
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
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

# 1. The nix_versions tests that use Nix 2.26 (their names contain 2_26).
t0=$(now)
out=$(mktemp); trap 'rm -f "$out"' EXIT
set +e
cargo test --release --locked --test nix_versions 2_26 -- --test-threads 2 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
ran=$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed.*/\1/p' "$out" | tail -n 1)
if [ "$rc" != 0 ]; then failed+=("nix_versions 2.26 tests")
elif [ "${ran:-0}" -lt 1 ]; then failed+=("nix_versions: no 2.26 test ran"); fi
echo "ci-nix-2.26: nix_versions 2.26 tests: ${ran:-0} passed, status $rc ($(( $(now) - t0 )) s)"

# 2. Nix 2.26's language tests, plain and with the plugin: the same verdicts and outputs.
t0=$(now)
lang=$dir/chroot-trixie/build/nix-2.26/tests/functional/lang
work=$(mktemp -d "${TMPDIR:-/tmp}/ci-nix-2.26.XXXXXX")
trap 'rm -f "$out"; rm -rf "$work"' EXIT
mkdir -p "$work/plain" "$work/plugin"
set +e
PATH=$prefix/bin:$PATH TMPDIR=$work/plain "$root/scripts/lang-suite.sh" --lang-dir "$lang" \
  > "$work/plain.out" 2> "$work/plain.err"
rc_plain=$?
PATH=$prefix/bin:$PATH TMPDIR=$work/plugin "$root/scripts/lang-suite.sh" --lang-dir "$lang" \
  -- --option plugin-files "$plugin" > "$work/plugin.out" 2> "$work/plugin.err"
rc_plugin=$?
set -e
# lang-suite keeps its work directory (outputs *.out, stderr in err/) when a check failed; the
# paths in its report and in Nix's messages name that directory, so compare with it renamed.
norm() { sed -E "s#$work/(plain|plugin)/lang-suite\.[A-Za-z0-9]+#WORK#g"; }
summary_plain=$(tail -n 1 "$work/plain.out"); summary_plugin=$(tail -n 1 "$work/plugin.out")
passed_plain=$(sed -n 's/^lang-suite: \([0-9][0-9]*\) passed.*/\1/p' "$work/plain.out")
echo "ci-nix-2.26: lang-suite without plugin: $summary_plain (status $rc_plain)"
echo "ci-nix-2.26: lang-suite with plugin:    $summary_plugin (status $rc_plugin)"
if [ "$rc_plain" -ge 2 ] || [ "$rc_plugin" -ge 2 ]; then
  cat "$work/plain.err" "$work/plugin.err" >&2
  failed+=("lang-suite did not run")
elif [ "${passed_plain:-0}" -lt 1 ]; then
  failed+=("lang-suite: no language test passed even without the plugin")
elif ! diff <(norm < "$work/plain.out") <(norm < "$work/plugin.out") >&2; then
  failed+=("lang-suite verdicts differ with the plugin")
elif [ "$rc_plain" = 1 ]; then
  # Both failed the same checks: the outputs and stderr of every test must be the same too.
  kp=$(ls -d "$work"/plain/lang-suite.* 2>/dev/null) kq=$(ls -d "$work"/plugin/lang-suite.* 2>/dev/null)
  if [ -z "$kp" ] || [ -z "$kq" ]; then failed+=("lang-suite kept no outputs to compare")
  else
    { grep -rlF "$work/" "$kp" "$kq" || true; } | while IFS= read -r f; do norm < "$f" > "$f.n" && mv "$f.n" "$f"; done
    diff -r --no-dereference "$kp/lang" "$kq/lang" >&2 && diff -r --no-dereference "$kp/err" "$kq/err" >&2 \
      || failed+=("lang-suite outputs or stderr differ with the plugin")
  fi
fi
# Checks that plain Nix 2.26 fails too (its expectations differ from 2.8's lang.sh runner).
grep '^FAIL' "$work/plain.out" | sed 's/^/ci-nix-2.26:   without plugin: /' || true
echo "ci-nix-2.26: lang-suite ×2 in $(( $(now) - t0 )) s"

# 3. nixpkgs' module-system tests, plain and with the plugin.
t0=$(now)
PATH=$prefix/bin:$PATH NIXPERF_PLUGIN=$plugin "$root/scripts/nixpkgs-modules-oracle.sh" \
  || failed+=("nixpkgs modules.sh oracle")
echo "ci-nix-2.26: modules oracle in $(( $(now) - t0 )) s"

if [ ${#failed[@]} -gt 0 ]; then
  printf 'ci-nix-2.26: FAILED on Nix 2.26: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "ci-nix-2.26: Nix 2.26 covered: all 2.26 checks passed"
