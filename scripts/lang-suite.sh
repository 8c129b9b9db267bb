#!/usr/bin/env bash
# Runs Nix's own language tests (tests/lang of the Nix source tree) as a non-interference oracle:
# with a plugin loaded, every test must still give exactly the output it gives without one.
#
# Usage: scripts/lang-suite.sh [--lang-dir DIR] [-- extra nix options...]
#   --lang-dir DIR   the tests/lang directory (default: .nix-src/nix-<version>/tests/lang under the
#                    repo root, <version> from `nix-instantiate --version`)
#   -- OPTS...       inserted as the FIRST arguments of every nix-instantiate call, e.g.
#                    -- --option plugin-files "$PWD/target/release/libnixperf.so"
#
# Prints one line per failure and a final `lang-suite: N passed, M failed`; exits 1 if any check
# failed (2 on usage errors). One check = one nix-instantiate run compared against lang.sh's
# expectation, so an eval-okay test with both .exp and .exp.xml counts twice, and the three
# trace/addErrorContext checks at the top of lang.sh count once each.
#
# This follows tests/lang.sh of Nix 2.8 step by step (same commands, same arguments, same order,
# same NIX_PATH rules: NIX_PATH=lang/dir3:lang/dir4 only for the .exp runs, unset everywhere else;
# the tests run from the directory that contains `lang/`, as lang.sh runs from tests/). The
# environment is the part of tests/common.sh.in + tests/init.sh that reaches evaluation:
#   - NIX_REMOTE=dummy:// and TEST_VAR=foo, exactly as lang.sh exports them. The dummy store keeps
#     the real store directory (/nix/store, as the .exp files' store paths require) but never
#     touches the disk, so no store or database is needed and none is written.
#   - HOME is a fresh empty directory, XDG_CONFIG_HOME/XDG_CONFIG_DIRS/XDG_CACHE_HOME and
#     NIX_USER_CONF_FILES are unset, NIX_PATH is unset (common.sh), so no user configuration or
#     channel can leak in.
#   - NIX_CONF_DIR is a fresh directory holding the nix.conf that init.sh writes (show-trace,
#     experimental features, ...), so /etc/nix/nix.conf does not leak in either.
#   - PAGER=cat, IMPURE_VAR1/2, _NIX_TEST_NO_LSOF as common.sh sets them.
#   Not copied: NIX_STORE_DIR/NIX_STATE_DIR/NIX_LOG_DIR/... pointing into a test root (the tests
#   must see the real store directory; the dummy store needs no state), and the daemon setup.
# Outputs (*.out, *.out.xml) go into a temporary copy of the lang directory, never into DIR; the
# copy is removed at the end unless something failed (then its path is printed on stderr).
#
# One addition to lang.sh: a "should fail" check (parse-fail, eval-fail, the negative
# addErrorContext check) whose nix-instantiate is killed by a signal (exit status >= 128, e.g. a
# segfault in a plugin) fails; lang.sh would count any non-zero exit as the expected failure.
# Plain Nix 2.8 fails all of them with exit status 1, so this changes nothing without a plugin.
#
# Skipped tests: none. eval-okay-* tests that have neither .exp nor .exp.xml (e.g. eval-okay-path,
# eval-okay-eq with .exp.disabled, eval-okay-tail-call-1 with .exp-disabled) are not run, exactly
# as in lang.sh, and are not counted.
#
# No pipefail: the preamble checks pipe a failing nix-instantiate into grep, as lang.sh does.
set -u

usage() { sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lang_dir=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --lang-dir) [ $# -ge 2 ] || usage; lang_dir=$2; shift 2 ;;
    --lang-dir=*) lang_dir=${1#--lang-dir=}; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage ;;
    *) echo "lang-suite: unknown argument '$1'" >&2; usage ;;
  esac
done

command -v nix-instantiate >/dev/null || { echo "lang-suite: nix-instantiate not found" >&2; exit 2; }
if [ -z "$lang_dir" ]; then
  version=$(nix-instantiate --version | awk '{print $NF}')
  lang_dir="$root/.nix-src/nix-$version/tests/lang"
fi
[ -d "$lang_dir" ] || { echo "lang-suite: no such directory: $lang_dir" >&2; exit 2; }
lang_dir=$(cd "$lang_dir" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/lang-suite.XXXXXX")
cp -a "$lang_dir" "$work/lang"
mkdir -p "$work/home" "$work/etc" "$work/err"

# tests/init.sh's nix.conf, with its TEST_ROOT being our temporary directory.
cat > "$work/etc/nix.conf" <<EOF
build-users-group =
keep-derivations = false
sandbox = false
experimental-features = nix-command flakes
gc-reserved-space = 0
substituters =
flake-registry = $work/registry.json
show-trace = true
include nix.conf.extra
trusted-users = $(id -un)
EOF
cat > "$work/etc/nix.conf.extra" <<EOF
fsync-metadata = false
!include nix.conf.extra.not-there
EOF

export HOME="$work/home"
export NIX_CONF_DIR="$work/etc"
unset NIX_USER_CONF_FILES XDG_CONFIG_HOME XDG_CONFIG_DIRS XDG_CACHE_HOME NIX_PATH
export PAGER=cat IMPURE_VAR1=foo IMPURE_VAR2=bar _NIX_TEST_NO_LSOF=1
export TEST_VAR=foo # for eval-okay-getenv.nix
export NIX_REMOTE=dummy://

cd "$work"

passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# nix-instantiate with the extra options first.
ni() { nix-instantiate "${extra[@]}" "$@"; }

# Killed by a signal (segfault, abort...): 128+N from the shell. Nix itself fails with 1.
crashed() { [ "$1" -ge 128 ]; }

# The first stderr line that says why, for the failure line.
why() { [ -s "$1" ] && { grep -m1 -i 'error' "$1" || head -n1 "$1"; } | cut -c1-200 | sed 's/^/ -- /'; }

# lang.sh's preamble (run there under `set -e`; here each is a check).
if ni --eval -E 'builtins.trace "Hello" 123' 2>&1 | grep -q Hello; then ok
else fail "builtins.trace does not print its message"; fi
out=$(ni --show-trace --eval -E 'builtins.addErrorContext "Hello" 123' 2>&1); rc=$?
if crashed $rc; then fail "builtins.addErrorContext check crashed (exit status $rc)"
elif ! grep -q Hello <<< "$out"; then ok
else fail "builtins.addErrorContext prints its context although nothing failed"; fi
if ni --show-trace --eval -E 'builtins.addErrorContext "Hello" (throw "Foo")' 2>&1 | grep -q Hello; then ok
else fail "builtins.addErrorContext does not print its context on failure"; fi

for i in lang/parse-fail-*.nix; do
  i=$(basename "$i" .nix)
  ni --parse - < "lang/$i.nix" > /dev/null 2> "err/$i"; rc=$?
  if [ $rc = 0 ]; then
    fail "$i shouldn't parse"
  elif crashed $rc; then
    fail "$i crashed (exit status $rc) instead of failing to parse$(why "err/$i")"
  else ok; fi
done

for i in lang/parse-okay-*.nix; do
  i=$(basename "$i" .nix)
  if ! ni --parse - < "lang/$i.nix" > "lang/$i.out" 2> "err/$i"; then
    fail "$i should parse$(why "err/$i")"
  else ok; fi
done

for i in lang/eval-fail-*.nix; do
  i=$(basename "$i" .nix)
  ni --eval "lang/$i.nix" > /dev/null 2> "err/$i"; rc=$?
  if [ $rc = 0 ]; then
    fail "$i shouldn't evaluate"
  elif crashed $rc; then
    fail "$i crashed (exit status $rc) instead of failing to evaluate$(why "err/$i")"
  else ok; fi
done

for i in lang/eval-okay-*.nix; do
  i=$(basename "$i" .nix)

  if test -e "lang/$i.exp"; then
    flags=()
    if test -e "lang/$i.flags"; then
      # lang.sh word-splits $(cat $i.flags) unquoted; same here, without globbing.
      set -f; flags=($(cat "lang/$i.flags")); set +f
    fi
    if ! NIX_PATH=lang/dir3:lang/dir4 ni "${flags[@]}" --eval --strict "lang/$i.nix" > "lang/$i.out" 2> "err/$i"; then
      fail "$i should evaluate$(why "err/$i")"
    elif ! diff "lang/$i.out" "lang/$i.exp" > "err/$i.diff"; then
      fail "evaluation result of $i not as expected (diff in $work/err/$i.diff)"
    else ok; fi
  fi

  if test -e "lang/$i.exp.xml"; then
    if ! ni --eval --xml --no-location --strict "lang/$i.nix" > "lang/$i.out.xml" 2> "err/$i.xml"; then
      fail "$i should evaluate (XML)$(why "err/$i.xml")"
    elif ! cmp -s "lang/$i.out.xml" "lang/$i.exp.xml"; then
      fail "XML evaluation result of $i not as expected"
    else ok; fi
  fi
done

cd /
echo "lang-suite: $passed passed, $failed failed"
if [ "$failed" -gt 0 ]; then
  echo "lang-suite: outputs and stderr kept in $work" >&2
  exit 1
fi
rm -rf "$work"
exit 0
