# A diamond without sleeps for the binary-cache tests: a -> {b, c} -> d. Each output names its
# inputs, so the closure of d is all four outputs and the closure of b is {a, b}.
{ nonce ? "0" }:
let inherit (import ./lib.nix { inherit nonce; }) mk;
  a = mk { name = "cache-a"; sleep = 0; lines = 50; };
  b = mk { name = "cache-b"; sleep = 0; deps = [ a ]; };
  c = mk { name = "cache-c"; sleep = 0; deps = [ a ]; };
in mk { name = "cache-d"; sleep = 0; deps = [ b c ]; }
