# A `nix flake check`-style evaluation of flake.nix without fetching its inputs (no network
# here): the outputs function is called with nixpkgs' real lib and stub package sets, which is
# enough to check the output names and systems and to evaluate nixosModules.default with the
# real module system. Building the packages needs the real inputs (nix flake check does that).
let
  lib = import (builtins.getEnv "NIXPKGS_LIB");
  flake = import ../../flake.nix;
  system = "x86_64-linux";
  stubNixpkgs = { inherit lib; legacyPackages.${system} = { }; };
  outputs = flake.outputs { self = outputs // { outPath = ../..; }; nixpkgs = stubNixpkgs; nixpkgs-nix28 = stubNixpkgs; };
  inherit (lib) mkOption types;
  nixosStubs.options = {
    environment.systemPackages = mkOption { type = types.listOf types.anything; default = [ ]; };
    systemd.services = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
    systemd.timers = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
    nix.package = mkOption { type = types.anything; default = null; };
  };
  nixos = lib.evalModules {
    modules = [ outputs.nixosModules.default nixosStubs { services.nixperf = { enable = true; schedule = "daily"; }; } ];
    specialArgs.pkgs.stdenv.hostPlatform.system = system;
  };
in
{
  outputs = builtins.attrNames outputs;
  inputs = builtins.attrNames flake.inputs;
  systems = map (o: builtins.attrNames outputs.${o}) [ "packages" "apps" "devShells" "checks" ];
  packages = builtins.attrNames outputs.packages.${system};
  checks = builtins.attrNames outputs.checks.${system};
  onCalendar = nixos.config.systemd.timers.nixperf.timerConfig.OnCalendar;
}
