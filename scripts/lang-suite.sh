#!/usr/bin/env bash
# Runs Nix's own language tests (the lang/ directory of the Nix source tree) as a non-interference
# oracle: with a plugin loaded, every test must still give exactly the output it gives without one.
#
# Usage: scripts/lang-suite.sh [--lang-dir DIR] [--style 2.8|2.26] [--compare-plain] [-- nix options...]
#   --lang-dir DIR   the lang directory: tests/lang (Nix 2.8) or tests/functional/lang (2.26, 2.34)
#                    (default: .nix-src/nix-<version>/tests/lang under the repo root, <version>
#                    from `nix-instantiate --version`)
#   --style S        which upstream lang.sh to follow: 2.8 (exit statuses and .exp files only) or
#                    2.26 (2.26's and 2.34's lang.sh: .flags, golden .err.exp stderr, ...).
#                    Default: 2.26 if DIR holds any *.err.exp file, else 2.8.
#   --compare-plain  also run every nix-instantiate call without the extra options and fail the
#                    check unless exit status, stdout and stderr are byte-identical to the run with
#                    them (so stderr is compared on 2.8 too, where lang.sh has no stderr files)
#   -- OPTS...       inserted as the FIRST arguments of every nix-instantiate call, e.g.
#                    -- --option plugin-files "$PWD/target/release/libnixperf.so"
#
# Prints one line per failure (FAIL: ...) and a final `lang-suite: N passed, M failed`, followed by
# `, K known upstream failure(s) (KNOWN lines above)` if any (see below) and, with
# --compare-plain, `, I identical to plain nix`; exits 1 if any check failed (2 on usage errors),
# 0 if every check passed or is a known upstream failure. One check
# = one nix-instantiate run and everything lang.sh checks about it (exit status, stdout, stderr),
# so an eval-okay test with both .exp and .exp.xml counts twice on 2.8, and each preamble command
# of lang.sh counts once.
#
# Both styles follow their lang.sh step by step: same commands, same arguments (the .flags files:
# on 2.26+ an eval-fail test's .flags, comments stripped, REPLACE the default
# `--eval --strict --show-trace`, an eval-okay test's first .flags line goes before
# `--eval --strict`; 2.8 reads .flags for eval-okay only), same environment per command (NIX_PATH=
# lang/dir3:lang/dir4 for the .exp runs, plus HOME=/fake-home on 2.26+), the same normalisation
# (2.26+: the working directory replaced by /pwd in eval outputs and stderr, the test's
# .postprocess script run on its outputs), the same comparisons (2.26+: stdout against .exp,
# stderr against .err.exp, a missing expectation file meaning "empty"; an eval-okay test with an
# .exp.xml runs only the XML evaluation; exit status exactly 1 for "should fail", 0 for "should
# succeed"). The tests run from the directory that contains `lang/`, as lang.sh does.
# The environment is the part of common.sh / init.sh that reaches evaluation:
#   - NIX_REMOTE=dummy:// and TEST_VAR=foo as lang.sh exports them (2.26+ also NIX_STORE_DIR=
#     /nix/store). The dummy store keeps the real store directory (/nix/store, as the expected
#     files' store paths require) but never touches the disk: no store or database is needed.
#   - HOME is a fresh empty directory; XDG_*, NIX_USER_CONF_FILES and NIX_PATH are unset, NIX state
#     and log directories point into the temporary directory, so no user configuration, channel
#     or host profile can leak in (GIT_CONFIG_SYSTEM/GLOBAL=/dev/null on 2.26+).
#   - NIX_CONF_DIR is a fresh directory holding the nix.conf that init.sh writes (show-trace,
#     experimental features, ...), so neither /etc/nix/nix.conf nor a prefix's baked-in one leaks.
#   - PAGER=cat, IMPURE_VAR1/2, _NIX_TEST_NO_LSOF, _NIX_IN_TEST (and on 2.26+
#     _NIX_TEST_NO_ENVIRONMENT_WARNINGS, which silences e.g. the stack-size ulimit warning that
#     would otherwise end up in golden stderr) as common.sh sets them.
#   Not copied: NIX_STORE_DIR pointing into a test root (the tests must see the real store
#   directory), `nix-store --init` and the daemon setup (the dummy store needs no state).
# Outputs go into a temporary copy of the lang directory, never into DIR; the copy is removed at the
# end unless something failed (then its path is printed on stderr): lang/ holds the outputs as
# lang.sh leaves them, run/ each run's raw stdout (.1) and stderr (.2) and the diffs, plain/ the
# runs without the extra options (--compare-plain).
#
# One addition to 2.8's lang.sh: a "should fail" check (parse-fail, eval-fail, the negative
# addErrorContext check) whose nix-instantiate is killed by a signal (exit status >= 128, e.g. a
# segfault in a plugin) fails; 2.8's lang.sh counts any non-zero exit as the expected failure.
# Plain Nix 2.8 fails all of them with exit status 1, so this changes nothing without a plugin.
# (2.26's lang.sh already demands exactly 1.)
#
# Skipped tests: none. Tests lang.sh does not run are not run and not counted: on 2.8 eval-okay-*
# without .exp/.exp.xml (e.g. eval-okay-path, eval-okay-eq with .exp.disabled), on 2.26+
# eval-okay-* with an .exp-disabled file (eval-okay-tail-call-1). Nothing here needs Nix's own
# harness beyond what is reproduced above (lang-gc.sh, a separate upstream test, is not run).
#
# Known upstream failures (known_upstream below): a check that fails in Nix's own harness too,
# with this build of Nix, for a reason outside the evaluator, is reported as `KNOWN: test: why`
# instead of FAIL, but only on exactly its known symptom; any other difference, or any difference
# from plain nix under --compare-plain, still fails it. One so far: eval-okay-fromTOML-timestamps
# on Nix 2.26 built against toml11 >= 4 (NixOS/nix#11441).
#
# No pipefail: each check looks at the exit status it needs explicitly.
set -u

usage() { sed -n '5,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lang_dir=""
style=""
compare=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --lang-dir) [ $# -ge 2 ] || usage; lang_dir=$2; shift 2 ;;
    --lang-dir=*) lang_dir=${1#--lang-dir=}; shift ;;
    --style) [ $# -ge 2 ] || usage; style=$2; shift 2 ;;
    --style=*) style=${1#--style=}; shift ;;
    --compare-plain) compare=1; shift ;;
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
if [ -z "$style" ]; then
  if compgen -G "$lang_dir/*.err.exp" > /dev/null; then style=2.26; else style=2.8; fi
fi
case "$style" in
  2.8|2.26) ;;
  *) echo "lang-suite: unknown style '$style' (2.8 or 2.26)" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/lang-suite.XXXXXX")
cp -a "$lang_dir" "$work/lang"
mkdir -p "$work/home" "$work/etc" "$work/run" "$work/plain" "$work/var/log/nix/drvs" \
  "$work/var/nix" "$work/shared"
# lang.sh compares against characterisation/empty when an expectation file is missing.
: > "$work/empty"

# init.sh's nix.conf, with its TEST_ROOT being our temporary directory.
if [ "$style" = 2.8 ]; then features="nix-command flakes"; extra_features=""
else features="nix-command"; extra_features="extra-experimental-features = flakes"; fi
cat > "$work/etc/nix.conf" <<EOF
build-users-group =
keep-derivations = false
sandbox = false
experimental-features = $features
gc-reserved-space = 0
substituters =
flake-registry = $work/registry.json
show-trace = true
include nix.conf.extra
trusted-users = $(id -un)
EOF
{
  echo "fsync-metadata = false"
  [ -n "$extra_features" ] && echo "$extra_features"
  echo "!include nix.conf.extra.not-there"
} > "$work/etc/nix.conf.extra"

export HOME="$work/home"
export NIX_CONF_DIR="$work/etc"
export NIX_LOCALSTATE_DIR="$work/var" NIX_LOG_DIR="$work/var/log/nix" NIX_STATE_DIR="$work/var/nix"
export NIX_DAEMON_SOCKET_PATH="$work/dSocket"
export _NIX_TEST_SHARED="$work/shared" _NIX_IN_TEST="$work/shared"
unset NIX_USER_CONF_FILES XDG_CONFIG_HOME XDG_CONFIG_DIRS XDG_CACHE_HOME NIX_PATH
export PAGER=cat IMPURE_VAR1=foo IMPURE_VAR2=bar _NIX_TEST_NO_LSOF=1
export TEST_VAR=foo # for eval-okay-getenv.nix
export NIX_REMOTE=dummy://
if [ "$style" = 2.26 ]; then
  unset XDG_STATE_HOME XDG_DATA_HOME GIT_DIR
  export GIT_CONFIG_SYSTEM=/dev/null GIT_CONFIG_GLOBAL=/dev/null
  export _NIX_TEST_NO_ENVIRONMENT_WARNINGS=1
  export NIX_STORE_DIR=/nix/store
fi

cd "$work"

passed=0
failed=0
identical=0
known=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# run ID [-i STDIN] [-m] [-e VAR=VALUE]... -- ARGS...
# Runs nix-instantiate with the extra options first, then ARGS; stdin from STDIN (else /dev/null),
# stdout to run/ID.1, stderr to run/ID.2 (-m: both into run/ID.1, in order, as `2>&1` does), with
# the VAR=VALUE settings in its environment. Returns its exit status. With --compare-plain, runs it
# again without the extra options into plain/ and records in `differs` whether anything differed.
differs=""
# One nix-instantiate run into DIR; sees run's locals id, in, merge, envs (bash scoping is dynamic).
_run() { # DIR OPTS...
  local dir=$1; shift
  if [ $merge = 1 ]; then
    env "${envs[@]}" nix-instantiate "$@" < "$in" > "$dir/$id.1" 2>&1
  else
    env "${envs[@]}" nix-instantiate "$@" < "$in" > "$dir/$id.1" 2> "$dir/$id.2"
  fi
}
run() {
  local id=$1 in=/dev/null merge=0 envs=() rc prc f
  shift
  while [ "$1" != -- ]; do
    case "$1" in
      -i) in=$2; shift 2 ;;
      -m) merge=1; shift ;;
      -e) envs+=("$2"); shift 2 ;;
    esac
  done
  shift
  _run run "${extra[@]}" "$@"; rc=$?
  differs=""
  if [ $compare = 1 ]; then
    _run plain "$@"; prc=$?
    [ $rc = $prc ] || differs="exit status $rc, without the extra options $prc"
    for f in 1 2; do
      if [ -e "run/$id.$f" ] && ! cmp -s "run/$id.$f" "plain/$id.$f"; then
        differs="${differs:+$differs; }$( [ $f = 1 ] && echo stdout || echo stderr) differs from the run without the extra options (diff $work/run/$id.$f $work/plain/$id.$f)"
      fi
    done
  fi
  return $rc
}

# Known upstream failures: checks that fail in Nix's own harness too, with this build of Nix,
# for a reason outside the evaluator. Each is recognised by exactly its known symptom (anything
# else about the check still fails it); prints the reason. $1 = the check, $2 = its problem.
known_upstream() {
  case "$1" in
    eval-okay-fromTOML-timestamps)
      # NixOS/nix#11441: built against toml11 >= 4 (Debian trixie has 4.4.0), Nix < 2.31 prints an
      # offset date-time written with a space (odt4 = 1979-05-27 07:32:00Z) with that space
      # instead of RFC 3339's T; fixed upstream by NixOS/nix#13741 (2.34 passes). Known iff the
      # exit status and stderr are right and stdout equals the .exp once that separator is a T.
      [[ $2 == "out not as expected"* && $2 != *";"* ]] &&
        sed -E 's/(value = "[0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9:.]+(Z|[+-][0-9:]+)")/\1T\2/g' \
          "lang/$1.out" | cmp -s - "lang/$1.exp" &&
        echo "NixOS/nix#11441: this Nix, built against toml11 >= 4, prints a space-separated TOML offset date-time with a space instead of T (fixed upstream in NixOS/nix#13741); the output is otherwise exactly the .exp"
      ;;
    *) return 1 ;;
  esac
}

# Finish a check: $1 = what, $2 = the problem ("" if none). A difference from the plain run
# fails the check even if lang.sh's own expectations hold.
check() {
  local what=$1 problem=$2 reason
  if [ -n "$differs" ]; then problem="${problem:+$problem; }$differs"
  elif [ $compare = 1 ]; then identical=$((identical + 1)); fi
  if [ -z "$problem" ]; then ok
  elif [ -z "$differs" ] && reason=$(known_upstream "$what" "$problem"); then
    known=$((known + 1)); echo "KNOWN: $what: $reason"
  else fail "$what: $problem"; fi
}

# Killed by a signal (segfault, abort...): 128+N from the shell. Nix itself fails with 1.
crashed() { [ "$1" -ge 128 ]; }

# The first stderr line that says why, for the failure line.
why() { [ -s "$1" ] && { grep -m1 -i 'error' "$1" || head -n1 "$1"; } | cut -c1-200 | sed 's/^/ -- /'; }

# Whether ID's output (stdout and stderr together, as `2>&1 | grep` sees them) matches.
seen() { local id=$1; shift; cat "run/$id.1" "run/$id.2" 2> /dev/null | grep -q "$@"; }
# Same on stdout only (`2>/dev/null | grep`).
seen_out() { local id=$1; shift; grep -q "$@" "run/$id.1"; }

# rc_is ID WANT RC: the problem text if the exit status is not WANT.
rc_is() { [ "$3" = "$2" ] || echo "exit status $3, expected $2$(why "run/$1.2")$(why "run/$1.1")"; }

# lang.sh: diffAndAccept NAME GOT EXP (a missing expectation file means empty output). Prints the
# problem text on a difference, keeps the diff in run/NAME.GOT.diff.
differ() {
  local name=$1 got="lang/$1.$2" exp="lang/$1.$3"
  [ -e "$exp" ] || exp=empty
  if ! diff --unified "$exp" "$got" > "run/$name.$2.diff"; then
    echo "$2 not as expected (diff in $work/run/$name.$2.diff)"
  fi
}

# lang.sh (2.26+): the test's own normalisation script, if any.
postprocess() {
  if [[ -e "lang/$1.postprocess" ]]; then
    bash "lang/$1.postprocess" "lang/$1" || echo "lang/$1.postprocess failed"
  fi
}

pwd_re=$(pwd)

suite_2_8() {
  local i rc p flags

  # lang.sh's preamble (run there under `set -e`; here each is a check).
  run pre-trace -- --eval -E 'builtins.trace "Hello" 123'
  if seen pre-trace Hello; then p=""; else p="does not print its message"; fi
  check "builtins.trace" "$p"
  run pre-context-ok -- --show-trace --eval -E 'builtins.addErrorContext "Hello" 123'; rc=$?
  if crashed $rc; then p="crashed (exit status $rc)"
  elif seen pre-context-ok Hello; then p="prints its context although nothing failed"
  else p=""; fi
  check "builtins.addErrorContext without a failure" "$p"
  run pre-context-fail -- --show-trace --eval -E 'builtins.addErrorContext "Hello" (throw "Foo")'
  if seen pre-context-fail Hello; then p=""; else p="does not print its context"; fi
  check "builtins.addErrorContext on failure" "$p"

  for i in lang/parse-fail-*.nix; do
    i=$(basename "$i" .nix)
    run "$i" -i "lang/$i.nix" -- --parse -; rc=$?
    if [ $rc = 0 ]; then p="shouldn't parse"
    elif crashed $rc; then p="crashed (exit status $rc) instead of failing to parse$(why "run/$i.2")"
    else p=""; fi
    check "$i" "$p"
  done

  for i in lang/parse-okay-*.nix; do
    i=$(basename "$i" .nix)
    run "$i" -i "lang/$i.nix" -- --parse -; rc=$?
    cp "run/$i.1" "lang/$i.out"
    check "$i" "$( [ $rc = 0 ] || echo "should parse$(why "run/$i.2")")"
  done

  for i in lang/eval-fail-*.nix; do
    i=$(basename "$i" .nix)
    run "$i" -- --eval "lang/$i.nix"; rc=$?
    if [ $rc = 0 ]; then p="shouldn't evaluate"
    elif crashed $rc; then p="crashed (exit status $rc) instead of failing to evaluate$(why "run/$i.2")"
    else p=""; fi
    check "$i" "$p"
  done

  for i in lang/eval-okay-*.nix; do
    i=$(basename "$i" .nix)

    if test -e "lang/$i.exp"; then
      flags=()
      if test -e "lang/$i.flags"; then
        # lang.sh word-splits $(cat $i.flags) unquoted; same here, without globbing.
        set -f; flags=($(cat "lang/$i.flags")); set +f
      fi
      run "$i" -e NIX_PATH=lang/dir3:lang/dir4 -- "${flags[@]}" --eval --strict "lang/$i.nix"; rc=$?
      cp "run/$i.1" "lang/$i.out"
      if [ $rc != 0 ]; then p="should evaluate$(why "run/$i.2")"
      elif ! diff "lang/$i.out" "lang/$i.exp" > "run/$i.diff"; then
        p="evaluation result not as expected (diff in $work/run/$i.diff)"
      else p=""; fi
      check "$i" "$p"
    fi

    if test -e "lang/$i.exp.xml"; then
      run "$i.xml" -- --eval --xml --no-location --strict "lang/$i.nix"; rc=$?
      cp "run/$i.xml.1" "lang/$i.out.xml"
      if [ $rc != 0 ]; then p="should evaluate (XML)$(why "run/$i.xml.2")"
      elif ! cmp -s "lang/$i.out.xml" "lang/$i.exp.xml"; then p="XML evaluation result not as expected"
      else p=""; fi
      check "$i (XML)" "$p"
    fi
  done
}

suite_2_26() {
  local i rc p flags drv

  # lang.sh's preamble: one check per command, each with the exit status it demands (`set -e`
  # and pipefail: 0 unless it says `expectStderr 1`) and the grep it pipes the output into.
  pre() { # ID WANT-RC GREP-KIND (seen|seen_out|not_seen|none) PATTERN [-e VAR=VAL] -- ARGS...
    local id=$1 want=$2 kind=$3 pat=$4 rc p
    shift 4
    run "$id" "$@"; rc=$?
    p=$(rc_is "$id" "$want" "$rc")
    case "$kind" in
      seen) seen "$id" -e "$pat" || p="${p:+$p; }output lacks '$pat'" ;;
      seen_E) seen "$id" -E "$pat" || p="${p:+$p; }output lacks '$pat'" ;;
      seen_F) seen "$id" -F "$pat" || p="${p:+$p; }output lacks '$pat'" ;;
      seen_out) seen_out "$id" -e "$pat" || p="${p:+$p; }stdout lacks '$pat'" ;;
      not_seen) ! seen "$id" -e "$pat" || p="${p:+$p; }output has '$pat'" ;;
      none) ;;
    esac
    check "preamble $id" "$p"
  }
  pre trace 0 seen Hello -m -- --eval -E 'builtins.trace "Hello" 123'
  pre trace-value 0 seen_out 123 -- --eval -E 'builtins.trace "Hello" 123'
  pre context-value 0 none "" -m -- --eval -E 'builtins.addErrorContext "Hello" 123'
  pre traceVerbose 0 seen Hello -m -- --trace-verbose --eval -E 'builtins.traceVerbose "Hello" 123'
  pre traceVerbose-off 0 not_seen Hello -m -- --eval -E 'builtins.traceVerbose "Hello" 123'
  pre context-quiet 0 not_seen Hello -m -- --show-trace --eval -E 'builtins.addErrorContext "Hello" 123'
  pre context-fail 1 seen Hello -m -- --show-trace --eval -E 'builtins.addErrorContext "Hello" (throw "Foo")'
  pre context-percent 1 seen 'Hello %' -m -- --show-trace --eval -E 'builtins.addErrorContext "Hello %" (throw "Foo")'
  # lang.sh spells out the store path that non-eval-fail-bad-drvPath.nix contains; take it from
  # the file so the same check fits every version.
  # (Both 2.26 and 2.34 have the file; older golden-style trees may not, and neither the check.)
  if [ -e lang/non-eval-fail-bad-drvPath.nix ]; then
    drv=$(grep -o '[0-9a-z]\{32\}-cachix-[^"]*' lang/non-eval-fail-bad-drvPath.nix | head -n1)
    pre bad-drvPath 1 seen "store path '$drv' is not a valid derivation path" -m -- --show-trace lang/non-eval-fail-bad-drvPath.nix
  fi
  pre trace-recursion 0 seen_E 'trace: { x = «potential infinite recursion»; }' -m -- --eval -E 'let x = builtins.trace { x = x; } true; in x'
  pre trace-repeated 0 seen_F 'trace: { repeating = «repeated»; tracing = «potential infinite recursion»; }' -m -- --eval -E 'let x = { repeating = x; tracing = builtins.trace x true; }; in x.tracing'
  pre warn 0 seen 'warning: Hello' -m -- --eval -E 'builtins.warn "Hello" 123'
  # shellcheck disable=SC2016 # The ${} is Nix, not shell
  pre warn-context-value 0 seen_out 123 -- --eval -E 'builtins.addErrorContext "while doing ${"something"} interesting" (builtins.warn "Hello" 123)'
  pre warn-non-string 1 seen "expected a string but found a set" -m -- --eval -E 'let x = builtins.warn { x = x; } true; in x'
  pre abort-on-warn 1 seen Hello -m -- --eval --abort-on-warn -E 'builtins.warn "Hello" 123'
  # shellcheck disable=SC2016
  pre abort-on-warn-env 1 seen "while doing something interesting" -m -e NIX_ABORT_ON_WARN=1 -- --eval -E 'builtins.addErrorContext "while doing ${"something"} interesting" (builtins.warn "Hello" 123)'

  for i in lang/parse-fail-*.nix; do
    i=$(basename "$i" .nix)
    run "$i" -m -i "lang/$i.nix" -- --parse -; rc=$?
    cp "run/$i.1" "lang/$i.err"
    p=$(rc_is "$i" 1 $rc)
    if [ -z "$p" ]; then p=$(postprocess "$i"; differ "$i" err err.exp); fi
    check "$i" "$p"
  done

  for i in lang/parse-okay-*.nix; do
    i=$(basename "$i" .nix)
    run "$i" -i "lang/$i.nix" -- --parse -; rc=$?
    cp "run/$i.1" "lang/$i.out"; cp "run/$i.2" "lang/$i.err"
    # (lang.sh's `sed "s!$(pwd)!/pwd!g" out err` here has no -i: it changes no file.)
    p=$(rc_is "$i" 0 $rc)
    if [ -z "$p" ]; then p=$(postprocess "$i"; differ "$i" out exp; differ "$i" err err.exp); fi
    check "$i" "${p//$'\n'/; }"
  done

  for i in lang/eval-fail-*.nix; do
    i=$(basename "$i" .nix)
    if [[ -e "lang/$i.flags" ]]; then
      flags=$(sed -e 's/#.*//' < "lang/$i.flags")
    else
      # note that show-trace is also set by common/init.sh
      flags="--eval --strict --show-trace"
    fi
    # lang.sh: `nix-instantiate $flags ...` (unquoted: word splitting and globbing, as there).
    # shellcheck disable=SC2086
    run "$i" -m -- $flags "lang/$i.nix"; rc=$?
    sed "s!$pwd_re!/pwd!g" "run/$i.1" > "lang/$i.err"
    p=$(rc_is "$i" 1 $rc)
    if [ -z "$p" ]; then p=$(postprocess "$i"; differ "$i" err err.exp); fi
    check "$i" "$p"
  done

  for i in lang/eval-okay-*.nix; do
    i=$(basename "$i" .nix)

    if test -e "lang/$i.exp.xml"; then
      # (lang.sh leaves this run's stderr on the terminal: not compared, except by --compare-plain.)
      run "$i.xml" -- --eval --xml --no-location --strict "lang/$i.nix"; rc=$?
      cp "run/$i.xml.1" "lang/$i.out.xml"
      p=$(rc_is "$i.xml" 0 $rc)
      if [ -z "$p" ]; then p=$(postprocess "$i"; differ "$i" out.xml exp.xml); fi
      check "$i (XML)" "$p"
    elif test ! -e "lang/$i.exp-disabled"; then
      flags=()
      if test -e "lang/$i.flags"; then
        read -r -a flags < "lang/$i.flags"
      fi
      run "$i" -e NIX_PATH=lang/dir3:lang/dir4 -e HOME=/fake-home -- \
        "${flags[@]}" --eval --strict "lang/$i.nix"; rc=$?
      sed "s!$pwd_re!/pwd!g" "run/$i.1" > "lang/$i.out"
      sed "s!$pwd_re!/pwd!g" "run/$i.2" > "lang/$i.err"
      p=$(rc_is "$i" 0 $rc)
      if [ -z "$p" ]; then p=$(postprocess "$i"; differ "$i" out exp; differ "$i" err err.exp); fi
      check "$i" "${p//$'\n'/; }"
    fi
  done
}

"suite_${style/./_}"

cd /
summary="lang-suite: $passed passed, $failed failed"
[ $known -gt 0 ] && summary="$summary, $known known upstream failure$( [ $known = 1 ] || echo s) (KNOWN lines above)"
[ $compare = 1 ] && summary="$summary, $identical identical to plain nix"
echo "$summary"
if [ "$failed" -gt 0 ]; then
  echo "lang-suite: outputs and stderr kept in $work" >&2
  exit 1
fi
rm -rf "$work"
exit 0
