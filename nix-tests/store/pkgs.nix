# Small derivations for the store tests: a shared dependency, one app per generation (with a
# file whose contents are the same in every generation, for `nix-store --optimise`), a tool only
# a `result` link keeps, and a scratch path left dead. Deterministic contents, /bin/sh builders.
{ gen ? 1 }:
let
  mk = name: deps: script: derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [ "-c" ("mkdir $out; " + builtins.concatStringsSep "" (map (d: "ln -s ${d} $out/${d.name}; ") deps) + script) ];
  };
  common = mk "common" [] "yes common | head -c 200000 > $out/blob";
  app = mk "app-${toString gen}" [ common ] ''
    yes app-${toString gen} | head -c ${toString (100000 + gen * 30000)} > $out/own
    yes same-in-every-generation | head -c 120000 > $out/same
    mkdir $out/bin; printf '#!/bin/sh\necho app\n' > $out/bin/app; chmod +x $out/bin/app
  '';
in {
  inherit common app;
  tool = mk "tool" [ common ] "yes tool | head -c 70000 > $out/t; yes same-in-every-generation | head -c 120000 > $out/same";
  scratch = mk "scratch-${toString gen}" [] "yes scratch | head -c 50000 > $out/s";
}
