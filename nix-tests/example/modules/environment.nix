# /etc files, system packages, environment variables and shell aliases.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.environment;

  etcModule = { name, ... }: {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      target = mkOption { type = types.str; default = "/etc/${name}"; };
      text = mkOption { type = types.lines; };
      mode = mkOption { type = types.str; default = "0644"; };
    };
  };
in
{
  options.environment = {
    etc = mkOption {
      type = types.attrsOf (types.submodule etcModule);
      default = { };
      description = "Files in /etc.";
    };
    systemPackages = mkOption { type = types.listOf types.str; default = [ ]; };
    variables = mkOption { type = types.attrsOf types.str; default = { }; };
    shellAliases = mkOption { type = types.attrsOf types.str; default = { }; };
  };

  config = {
    environment.systemPackages = [ "coreutils" "bash" "less" ];
    environment.variables = {
      EDITOR = lib.mkDefault "nano";
      PAGER = lib.mkDefault "less";
      LANG = "C.UTF-8";
    };
    environment.shellAliases = {
      ll = "ls -l";
      l = lib.mkDefault "ls -alh";
    };

    environment.etc.profile.text = lib.concatStringsSep "\n" (
      lib.mapAttrsToList (n: v: "export ${n}=${lib.escapeShellArg v}") cfg.variables
      ++ lib.mapAttrsToList (n: v: "alias ${n}=${lib.escapeShellArg v}") cfg.shellAliases
    );
    environment.etc.profile.mode = "0444";

    environment.etc."installed-packages".text =
      lib.concatStringsSep "\n" (lib.sort (a: b: a < b) (lib.unique cfg.systemPackages));
  };
}
