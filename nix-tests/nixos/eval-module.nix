# Evaluates nixos/module.nix with nixpkgs' real module system (lib.evalModules) against minimal
# declarations of the NixOS options it sets, so the test needs lib/ only, not all of nixpkgs.
{ lib ? import (builtins.getEnv "NIXPKGS_LIB"), settings }:
let
  inherit (lib) mkOption types;
  fakePackage = name: derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "echo > $out" ];
  };
  # The NixOS options the module defines values for, declared as loosely as NixOS does.
  nixosStubs = {
    options = {
      environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };
      systemd.services = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
      systemd.timers = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
      nix.package = mkOption { type = types.package; default = fakePackage "nix-2.8.0"; };
    };
  };
  eval = lib.evalModules {
    modules = [
      ../../nixos/module.nix
      nixosStubs
      { services.nixperf = { package = fakePackage "nixperf-0.1.0"; } // settings; }
    ];
  };
  c = eval.config;
in
{
  services = c.systemd.services;
  timers = c.systemd.timers;
  systemPackages = map (p: p.name) c.environment.systemPackages;
}
