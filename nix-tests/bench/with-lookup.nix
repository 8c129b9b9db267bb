# Micro-benchmark behind nixperf's estimate of what a `with` lookup costs over a lexical one:
# 3 M variable lookups through a 10-attribute `with` (`--argstr mode with`) or through `let`
# (`--argstr mode let`), everything else equal. Measured on Nix 2.8 (callgrind): 1368 M vs
# 1164 M instructions = 68 instructions per lookup; user time 158 vs 122 ms = 12 ns per lookup.
{ mode }:
let
  attrs = { x = 1; y = 2; z = 3; a1 = 1; a2 = 2; a3 = 3; a4 = 4; a5 = 5; a6 = 6; a7 = 7; };
in
if mode == "with"
then with attrs; builtins.foldl' (a: _: a + x + y + z) 0 (builtins.genList (i: i) 1000000)
else let inherit (attrs) x y z; in builtins.foldl' (a: _: a + x + y + z) 0 (builtins.genList (i: i) 1000000)
