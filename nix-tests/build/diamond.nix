# Diamond a -> {b, c} -> d. Build times (sleep): a 1 s, b 2 s, c 1 s, d 1 s.
# Critical path a, b, d = 4 s; total work 5 s; max-jobs 1: 5 s, max-jobs >= 2: 4 s.
# Bottleneck (most transitive dependents): a (3: b, c, d).
{ nonce ? "0" }:
let inherit (import ./lib.nix { inherit nonce; }) mk;
  a = mk { name = "diamond-a"; sleep = 1; };
  b = mk { name = "diamond-b"; sleep = 2; deps = [ a ]; lines = 5; };
  c = mk { name = "diamond-c"; sleep = 1; deps = [ a ]; };
  d = mk { name = "diamond-d"; sleep = 1; deps = [ b c ]; };
in d
