# Helpers for the build-profiler fixtures: a derivation whose /bin/sh builder reports phases the
# way stdenv does (`@nix {"action":"setPhase",...}` on stderr), sleeps a known time, prints log
# lines, and writes $out naming its inputs (so each input is a real runtime dependency).
{ nonce }:
{
  mk = { name, sleep, deps ? [ ], lines ? 3, fail ? false }:
    derivation {
      inherit name nonce;
      system = builtins.currentSystem;
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      deps = deps;
      args = [ "-c" ''
        echo '@nix {"action":"setPhase","phase":"configurePhase"}' >&2
        i=0; while [ $i -lt ${toString lines} ]; do echo "${name} line $i"; i=$((i+1)); done
        echo '@nix {"action":"setPhase","phase":"buildPhase"}' >&2
        sleep ${toString sleep}
        ${if fail then "echo '${name}: failing on purpose' >&2; exit 1" else ""}
        echo '@nix {"action":"setPhase","phase":"installPhase"}' >&2
        echo "${name} built with: $deps" > $out
      '' ];
    };
}
