# Four independent 0.3 s leaves and a top: a graph whose build time depends on max-jobs.
let mk = name: deps: secs: derivation { inherit name; system = builtins.currentSystem; builder = "/bin/sh"; PATH = "/usr/bin:/bin"; args = ["-c" "sleep ${secs}; mkdir $out; echo ${toString (map toString deps)} > $out/d"]; };
  leaves = map (i: mk "leaf-${toString i}" [] "0.3") [1 2 3 4];
in mk "top" leaves "0.1"
