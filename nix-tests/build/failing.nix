# A dependency builds (1 s), then the top derivation fails after 1 s: nix exits 1 (100 with
# nix-build's "build failed" status on some versions); the profile must say failed.
{ nonce ? "0" }:
let inherit (import ./lib.nix { inherit nonce; }) mk;
  dep = mk { name = "failing-dep"; sleep = 1; };
in mk { name = "failing-top"; sleep = 1; deps = [ dep ]; fail = true; }
