# Chain c1 -> c2 -> c3 -> top (1 s each) beside two wide leaves w1, w2 (2 s each) that top also
# needs. Critical path c1, c2, c3, top = 4 s; total work 8 s. List scheduling in critical-path
# order: max-jobs 1 = 8 s, 2 = 5 s, 4 = 4 s. Bottleneck: c1 (3 transitive dependents).
{ nonce ? "0" }:
let inherit (import ./lib.nix { inherit nonce; }) mk;
  c1 = mk { name = "chain-c1"; sleep = 1; };
  c2 = mk { name = "chain-c2"; sleep = 1; deps = [ c1 ]; };
  c3 = mk { name = "chain-c3"; sleep = 1; deps = [ c2 ]; };
  w1 = mk { name = "chain-w1"; sleep = 2; lines = 20; };
  w2 = mk { name = "chain-w2"; sleep = 2; };
in mk { name = "chain-top"; sleep = 1; deps = [ c3 w1 w2 ]; }
