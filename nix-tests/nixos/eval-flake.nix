# A `nix flake check`-style evaluation of flake.nix without fetching its inputs (no network
# here): the outputs function is called with nixpkgs' real lib and a stub package set that has
# what the flake uses (callPackage from the real lib, so `.override` is the real one; a
# `rustPlatform.buildRustPackage` that keeps its arguments; `nix` and `nixVersions` of given
# versions, including a removed release that only throws, as nixpkgs keeps them). That is
# enough to check the output names and systems, which Nix each package's plugin is built
# against and with which inputs and install steps, and to evaluate nixosModules.default with
# the real module system. Building the packages needs the real inputs (nix flake check does
# that).
#
# hostNix: the version of the nix running the tests; `host` is the package overridden to that
# version, whose install step the test runs on the real build.
{ hostNix ? "2.8.0" }:
let
  lib = import (builtins.getEnv "NIXPKGS_LIB");
  flake = import ../../flake.nix;
  system = "x86_64-linux";

  fakeDrv = name: extra: derivation {
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" "echo > $out" ];
  } // extra;
  withDev = name: fakeDrv name { dev = fakeDrv "${name}-dev" { }; };
  stubNix = version: pname: withDev "${pname}-${version}" // { inherit version pname; };

  # nixpkgs as the flake sees it: `nix` is that nixpkgs' default Nix, `nixVersions` its releases.
  stubNixpkgs = { nix, nixVersions }: {
    inherit lib;
    legacyPackages.${system} = lib.fix (pkgs: {
      inherit lib nix nixVersions;
      callPackage = lib.callPackageWith pkgs;
      stdenv.hostPlatform.system = system;
      rustPlatform.buildRustPackage = args:
        fakeDrv "${args.pname}-${args.version}" { } // args.passthru // {
          inherit (args) pname version meta;
          drvArgs = args;
        };
      mkShell = args: fakeDrv "nix-shell" { inherit args; };
      pkg-config = fakeDrv "pkg-config-0.29.2" { };
      boost = withDev "boost-1.87.0";
      boehmgc = withDev "boehm-gc-8.2.8";
      nlohmann_json = fakeDrv "nlohmann_json-3.12.0" { };
      cargo = fakeDrv "cargo" { };
      rustc = fakeDrv "rustc" { };
      clippy = fakeDrv "clippy" { };
      rustfmt = fakeDrv "rustfmt" { };
      valgrind = fakeDrv "valgrind" { };
      hyperfine = fakeDrv "hyperfine" { };
    });
  };

  # Like nixos-unstable / 25.11: default Nix 2.31, releases 2.28 to 2.34, a removed 2.24 (a
  # throwing alias), `latest`, and `git`/`stable` (not separate outputs).
  unstable = stubNixpkgs {
    nix = stubNix "2.31.2" "nix";
    nixVersions = {
      nix_2_24 = throw "nixVersions.nix_2_24 has been removed";
      nix_2_28 = stubNix "2.28.5" "nix";
      nix_2_31 = stubNix "2.31.2" "nix";
      nix_2_34 = stubNix "2.34.8" "nix";
      latest = stubNix "2.34.8" "nix";
      stable = stubNix "2.31.2" "nix";
      git = stubNix "2.35.0pre" "nix";
    };
  };
  # What `inputs.nixperf.inputs.nixpkgs.follows = "nixpkgs"` hands the flake on a NixOS 25.05
  # system: default Nix 2.28, no later release.
  older = stubNixpkgs {
    nix = stubNix "2.28.5" "nix";
    nixVersions = { nix_2_28 = stubNix "2.28.5" "nix"; latest = stubNix "2.28.5" "nix"; };
  };

  outputsWith = nixpkgs: let o = flake.outputs { self = o // { outPath = ../..; }; inherit nixpkgs; }; in o;
  outputs = outputsWith unstable;
  pkgsOf = o: o.packages.${system};

  # What the test checks of a package: the Nix it is built against and how.
  describe = p: {
    name = p.name;
    nix = p.nix.version;
    pluginDir = p.pluginDir;
    buildInputs = map (d: d.name) p.drvArgs.buildInputs;
    nativeBuildInputs = map (d: d.name) p.drvArgs.nativeBuildInputs;
    postInstall = p.drvArgs.postInstall;
    cargoLock = builtins.baseNameOf (toString p.drvArgs.cargoLock.lockFile);
    srcIsFlake = p.drvArgs.src.outPath == ../..;
  };

  inherit (lib) mkOption types;
  nixosStubs = nixPackage: {
    options = {
      environment.systemPackages = mkOption { type = types.listOf types.anything; default = [ ]; };
      systemd.services = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
      systemd.timers = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
      nix.package = mkOption { type = types.package; default = nixPackage; };
    };
  };
  nixosWith = nixPackage: (lib.evalModules {
    modules = [ outputs.nixosModules.default (nixosStubs nixPackage) { services.nixperf = { enable = true; schedule = "daily"; }; } ];
    specialArgs.pkgs = outputs.packages // { stdenv.hostPlatform.system = system; };
  }).config;
  nixos = nixosWith (stubNix "2.34.8" "nix");
  nixosLix = nixosWith (stubNix "2.93.3" "lix");
in
{
  outputs = builtins.attrNames outputs;
  inputs = builtins.attrNames flake.inputs;
  nixpkgsUrl = flake.inputs.nixpkgs.url;
  systems = map (o: builtins.attrNames outputs.${o}) [ "packages" "apps" "devShells" "checks" ];
  packages = builtins.attrNames (pkgsOf outputs);
  checks = builtins.attrNames outputs.checks.${system};
  built = lib.mapAttrs (_: describe) (pkgsOf outputs);
  # packages.nixperf.override { nix = … } (callPackage's override).
  override = describe ((pkgsOf outputs).nixperf.override { nix = stubNix "2.26.3" "nix"; });
  # The same flake given another nixpkgs (follows): its Nix, its releases.
  followsPackages = builtins.attrNames (pkgsOf (outputsWith older));
  followsDefault = describe (pkgsOf (outputsWith older)).default;
  host = describe ((pkgsOf outputs).nixperf.override { nix = stubNix hostNix "nix"; });
  devShellInputsFrom = map (d: d.name) outputs.devShells.${system}.default.args.inputsFrom;
  onCalendar = nixos.systemd.timers.nixperf.timerConfig.OnCalendar;
  # nixosModules.default: the plugin built against the system's nix.package (not for Lix).
  modulePackageNix = nixos.services.nixperf.package.nix.version;
  modulePackageNixLix = nixosLix.services.nixperf.package.nix.version;
  moduleExecStart = nixos.systemd.services.nixperf.serviceConfig.ExecStart;
}
