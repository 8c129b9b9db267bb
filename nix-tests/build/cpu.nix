# CPU-bound builds for the per-build CPU measurement: cpu-serial burns one CPU, then cpu-par
# (which needs it, so the two never overlap) splits twice that work over NIX_BUILD_CORES
# workers running in parallel (fixed total work: with more cores it ends sooner). Each
# builder records its own CPU time with the shell's `times` into $out, which the tests compare
# with what nixperf measured from /proc.
{ nonce ? "0", iterations ? 400000 }:
let
  mk = { name, workers, work, deps ? [ ] }: derivation {
    inherit name nonce deps;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [ "-c" ''
      burn() { i=0; while [ $i -lt $1 ]; do i=$((i+1)); done; }
      n=${workers}
      each=$((${toString work} / n))
      k=0; while [ $k -lt $n ]; do burn $each & k=$((k+1)); done
      wait
      times > $out
    '' ];
  };
  serial = mk { name = "cpu-serial"; workers = "1"; work = iterations; };
in mk { name = "cpu-par"; workers = "$NIX_BUILD_CORES"; work = 2 * iterations; deps = [ serial ]; }
