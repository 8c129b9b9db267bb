# A human-readable summary of the machine, part of the system toplevel. It reads the results of
# heavy-packages.nix, so their (expensive) evaluation is triggered from here.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  pkgs = config.packages;

  enabledServices = lib.filter (name: config.services.${name}.enable) (lib.attrNames config.services);
in
{
  options.report.text = mkOption {
    type = types.lines;
    default = "";
    description = "The summary; other modules may add lines (mkBefore/mkAfter).";
  };

  config.report.text = lib.mkMerge [
    (lib.mkBefore "machine ${config.networking.fqdn} (state version ${config.system.stateVersion})")
    "users: ${lib.concatStringsSep ", " (lib.attrNames config.users.users)}"
    "services: ${lib.concatStringsSep ", " enabledServices}"
    "open TCP ports: ${lib.concatMapStringsSep " " toString (lib.sort (a: b: a < b) (lib.unique config.networking.firewall.allowedTCPPorts))}"
    "packages: ${toString pkgs.count} of ${toString pkgs.catalogSize} selected, closure size ${toString pkgs.totalSize} KiB"
    "package checksum ${pkgs.checksum}; largest: ${lib.concatStringsSep ", " pkgs.largest}"
  ];
}
