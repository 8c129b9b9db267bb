#!/usr/bin/env bash
# Overhead benchmark: instrumented vs plain nix, measured in one run on the same inputs.
# Prints, per workload, the wall-time ratio (hyperfine, mean of N runs each, interleaved),
# the CPU-time ratio (user + system), the instruction-count ratio (callgrind: deterministic,
# immune to the noise of small shared machines; under callgrind every call is slow, so no
# function ever stops reading the clock: the instruction ratio is the all-clocked worst case), the ratio of Nix's own --trace-function-calls, and the profile size.
# Usage: scripts/bench.sh [RUNS]   (NIXPKGS_LIB adds the NixOS-scale lib.evalModules workload)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${1:-10}
nixperf=./target/release/nixperf
plugin=$($nixperf plugin-path)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export NIX_CONFIG="substituters ="
: "${NIXPKGS_LIB:=$root/../shared/nixpkgs-lib/lib}"
export NIXPKGS_LIB

declare -a names=() args=()
names+=("fib 25");           args+=("--eval nix-tests/fixtures/fib25.nix")
names+=("bundled example");  args+=("--eval --strict nix-tests/example -A config")
if [ -f "$NIXPKGS_LIB/default.nix" ]; then
  names+=("lib.evalModules (5000 modules)"); args+=("--eval --strict nix-tests/bench/evalmodules.nix")
fi

instr() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
ratio() { python3 -c "print(f'{$1/$2:.3f}')"; }

printf '%-32s %10s %10s %10s %10s %12s %14s\n' workload plain nixperf ratio cpu-ratio instr-ratio trace-calls
for i in "${!names[@]}"; do
  a=${args[$i]}
  plug="nix-instantiate --option plugin-files $plugin --option nixperf-profile $tmp/p$i.db $a"
  hyperfine -N -w 2 -r "$runs" --export-json "$tmp/h$i.json" \
    "nix-instantiate $a" "$plug" "nix-instantiate --trace-function-calls $a" >/dev/null 2>&1
  # cpu: user + system time, which a loaded machine inflates less than wall time.
  read -r plain inst trace cpu_plain cpu_inst < <(python3 -c "
import json; r=json.load(open('$tmp/h$i.json'))['results']
print(*[x['mean'] for x in r], *[x['user'] + x['system'] for x in r[:2]])")
  ip=$(instr nix-instantiate $a)
  ii=$(instr $plug)
  printf '%-32s %8.1fms %8.1fms %9sx %9sx %11sx %13sx\n' "${names[$i]}" \
    "$(python3 -c "print($plain*1000)")" "$(python3 -c "print($inst*1000)")" \
    "$(ratio "$inst" "$plain")" "$(ratio "$cpu_inst" "$cpu_plain")" "$(ratio "$ii" "$ip")" "$(ratio "$trace" "$plain")"
done
echo "profile size, fib 25: $(stat -c %s "$tmp/p0.db") bytes"

# What the findings (with/rec/let hooks) add on the bundled example, plugin on in both.
a="--eval --strict nix-tests/example -A config"
on="nix-instantiate --option plugin-files $plugin --option nixperf-profile $tmp/on.db $a"
off="nix-instantiate --option plugin-files $plugin --option nixperf-profile $tmp/off.db --option nixperf-findings false $a"
hyperfine -N -w 2 -r "$runs" --export-json "$tmp/f.json" "$on" "$off" >/dev/null 2>&1
read -r ton toff < <(python3 -c "
import json; r=json.load(open('$tmp/f.json'))['results']; print(r[0]['mean'], r[1]['mean'])")
echo "findings on/off, bundled example: wall $(ratio "$ton" "$toff")x, instructions $(ratio "$(instr $on)" "$(instr $off)")x"

# Nix >= 2.30 has a built-in profiler, which `nixperf eval` falls back to where the plugin cannot
# load. On Nix 2.34, measured in one run on the same inputs and the same nix binary: our plugin
# (where built: scripts/build-nix.sh 2.34 && scripts/build-plugin-for.sh 2.34), Nix's profiler at
# 99 Hz (its default) and at every call (frequency 0, what the fallback uses by default), and
# --trace-function-calls. Without the shared 2.34 build, Debian's static nix-bin 2.34
# (scripts/debian-nix-bin.sh sid; NIXPERF_DEBIAN_NIX) gives the built-in profiler's columns.
n34=${NIXPERF_NIX_2_34:-/var/cache/nixperf-nix/nix-2.34}
p34=$root/target/nix-2.34/release/libnixperf.so
dn=${NIXPERF_DEBIAN_NIX:-/var/cache/nixperf-nix/debian-sid}
if [ -x "$n34/bin/nix-instantiate" ] && [ -f "$p34" ]; then nd=$n34; else nd=$dn; p34=""; fi
if [ -x "$nd/bin/nix-instantiate" ]; then
  export NIX_CONF_DIR=$nd/etc/nix
  ni=$nd/bin/nix-instantiate
  echo
  echo "Nix 2.34: $("$ni" --version) from $nd; ratios to plain (wall / instructions)"
  printf '%-32s %10s %16s %16s %16s %12s\n' workload plain nixperf builtin-99Hz builtin-every-call trace-calls
  for i in "${!names[@]}"; do
    a=${args[$i]}
    ours="$ni --option plugin-files $p34 --option nixperf-profile $tmp/o34.$i.db $a"
    s99="$ni --option eval-profiler flamegraph --option eval-profile-file $tmp/s99.$i $a"
    all="$ni --option eval-profiler flamegraph --option eval-profiler-frequency 0 --option eval-profile-file $tmp/all.$i $a"
    # Every call writes one folded line per call: only the small workload is worth running.
    cmds=("$ni $a" "$s99" "$ni --trace-function-calls $a")
    if [ -n "$p34" ]; then cmds+=("$ours"); else cmds+=("$ni $a"); fi
    [ "$i" = 0 ] && cmds+=("$all")
    hyperfine -N -w 2 -r "$runs" --export-json "$tmp/d$i.json" "${cmds[@]}" >/dev/null 2>&1
    read -r plain t99 trace tours tall < <(python3 -c "
import json; r=json.load(open('$tmp/d$i.json'))['results']
print(*[x['mean'] for x in r], *([] if len(r) > 4 else [0]))")
    ip=$(instr $ni $a)
    if [ -n "$p34" ]; then o="$(ratio "$tours" "$plain")x/$(ratio "$(instr $ours)" "$ip")x"; else o="(not built)"; fi
    if [ "$i" = 0 ]; then iall="$(ratio "$tall" "$plain")x/$(ratio "$(instr $all)" "$ip")x"; else iall="(skipped)"; fi
    printf '%-32s %8.1fms %16s %16s %16s %11sx\n' "${names[$i]}" "$(python3 -c "print($plain*1000)")" \
      "$o" "$(ratio "$t99" "$plain")x/$(ratio "$(instr $s99)" "$ip")x" "$iall" "$(ratio "$trace" "$plain")"
  done
fi
