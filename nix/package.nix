# The nixperf package: the CLI and the evaluator plugin, the plugin compiled against `nix`,
# the Nix it will be loaded into (a C++ plugin only works in the Nix release it was built for).
#
#   pkgs.callPackage ./nix/package.nix { src = ./..; }                      # against pkgs.nix
#   (pkgs.callPackage ./nix/package.nix { src = ./..; }).override { nix = pkgs.nixVersions.nix_2_31; }
#
# build.rs finds Nix through pkg-config (`nix-expr.pc`, from the `dev` output: headers and .pc
# files) and compiles plugin/ against those headers; Boost, nlohmann_json and Boehm GC are the
# headers Nix's own headers include.
#
# Installed layout (what `nixperf eval` looks for, src/cli/plugin_path.rs):
#   bin/nixperf
#   lib/nixperf/nix-X.Y/libnixperf.so   the plugin for Nix X.Y (`nixperf eval` picks the one
#                                       matching the version of the nix it runs)
#   lib/nixperf/libnixperf.so           link to it (`nixperf plugin-path`, the default plugin)
{
  lib,
  rustPlatform,
  pkg-config,
  nix,
  boost,
  nlohmann_json,
  boehmgc,
  src,
}:
let
  cargo = builtins.fromTOML (builtins.readFile ../Cargo.toml);
  nixVersion = lib.versions.majorMinor nix.version;
in
rustPlatform.buildRustPackage {
  pname = "nixperf";
  inherit (cargo.package) version;
  inherit src;
  cargoLock.lockFile = ../Cargo.lock;
  nativeBuildInputs = [ pkg-config ];
  buildInputs = [
    (lib.getDev nix)
    (lib.getDev boost)
    (lib.getDev boehmgc)
    nlohmann_json
  ];
  # The integration tests need a writable /nix/store and a nix to run; the unit tests run here.
  cargoTestFlags = [ "--lib" ];
  postInstall = ''
    if [ ! -f "$out/lib/libnixperf.so" ]; then
      echo "nixperf: no plugin was built against Nix ${nix.version} (build.rs says why above)" >&2
      exit 1
    fi
    mkdir -p "$out/lib/nixperf/nix-${nixVersion}" "$out/share/nixperf"
    mv "$out/lib/libnixperf.so" "$out/lib/nixperf/nix-${nixVersion}/libnixperf.so"
    ln -s "nix-${nixVersion}/libnixperf.so" "$out/lib/nixperf/libnixperf.so"
    install -Dm755 scripts/ci-compare.sh "$out/bin/nixperf-ci-compare"
    cp justfile "$out/share/nixperf/justfile"
  '';
  passthru = {
    # The Nix the plugin was built against (and the directory it is installed in).
    inherit nix;
    pluginDir = "lib/nixperf/nix-${nixVersion}";
  };
  meta = {
    description = "Performance analyzer for Nix evaluations (plugin built for Nix ${nix.version})";
    mainProgram = "nixperf";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
  };
}
