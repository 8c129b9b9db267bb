# The expensive module: a synthetic package catalog whose sizes, dependencies and closure sizes
# are computed through library functions (folds over generated lists). It never reads its own
# results: report.nix does, so that is where its thunks are forced. A profiler that charges a
# thunk to the code that forced it blames report.nix; charging it to the file whose code created
# it (nixperf's model) puts this module first.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.packages;

  # Package i: a name, a size summed over its generated "files", and dependencies among the
  # 30 packages before it.
  mkPackage = i: {
    name = "pkg-${lib.fixedWidthNumber 5 i}";
    size = lib.foldl'
      (acc: f: acc + lib.mod (i * 31 + f * 17) 97 + 1)
      0
      (lib.range 1 cfg.filesPerPackage);
    deps = lib.filter (j: lib.mod (i + j * 7) 5 == 0) (lib.range (lib.max 0 (i - 30)) (i - 1));
  };

  catalog = lib.genList mkPackage cfg.catalogSize;

  # What the system would install: packages whose size is not a multiple of 3.
  selected = lib.filter (p: lib.mod p.size 3 != 0) catalog;

  # A package's closure: itself and its direct dependencies.
  closureSize = p:
    lib.foldl' (acc: j: acc + (lib.elemAt catalog j).size) p.size p.deps;
in
{
  options.packages = {
    catalogSize = mkOption { type = types.ints.unsigned; default = 10000; };
    filesPerPackage = mkOption { type = types.ints.unsigned; default = 40; };
    count = mkOption { type = types.int; description = "Number of selected packages."; };
    totalSize = mkOption { type = types.int; description = "Sum of the selected packages' closure sizes (KiB)."; };
    checksum = mkOption { type = types.str; description = "A checksum over the selected packages."; };
    largest = mkOption { type = types.listOf types.str; description = "The three largest selected packages."; };
  };

  config.packages = {
    count = lib.length selected;
    totalSize = lib.foldl' (acc: p: acc + closureSize p) 0 selected;
    checksum = builtins.substring 0 16 (builtins.hashString "sha256"
      (lib.concatMapStringsSep "," (p: "${p.name}:${toString p.size}") selected));
    largest = map (p: p.name) (lib.take 3 (lib.sort (a: b: a.size > b.size) selected));
  };
}
