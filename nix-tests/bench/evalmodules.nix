# NixOS-scale module-system workload for the overhead benchmark: `n` generated modules, each
# declaring options (with types) and defining values that depend on other modules, evaluated by
# nixpkgs' own `lib.evalModules` (NIXPKGS_LIB names the nixpkgs `lib/` directory).
let
  lib = import (builtins.getEnv "NIXPKGS_LIB");
  n = 5000;
  name = i: "svc${toString i}";
  mkModule = i: { config, ... }: {
    options.${name i} = {
      enable = lib.mkEnableOption "service ${toString i}";
      port = lib.mkOption { type = lib.types.port; default = 1000 + i; };
      tags = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ ]; };
      settings = lib.mkOption { type = lib.types.attrsOf lib.types.str; default = { }; };
    };
    config.${name i} = {
      enable = lib.mod i 3 == 0;
      tags = [ "t${toString (lib.mod i 7)}" ] ++ lib.optional config.${name (lib.mod (i + 1) n)}.enable "next-enabled";
      settings = lib.mkIf config.${name i}.enable { listen = "0.0.0.0:${toString config.${name i}.port}"; };
    };
  };
  eval = lib.evalModules { modules = builtins.genList mkModule n; };
in
lib.mapAttrs (_: v: [ v.port (builtins.length v.tags) (builtins.attrNames v.settings) ]) eval.config
