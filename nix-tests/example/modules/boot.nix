# Kernel, boot loader and file systems.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.boot;

  fileSystemModule = { name, ... }: {
    options = {
      mountPoint = mkOption { type = types.str; default = name; };
      device = mkOption { type = types.str; };
      fsType = mkOption { type = types.str; default = "auto"; };
      options = mkOption { type = types.listOf types.str; default = [ "defaults" ]; };
    };
  };
in
{
  options = {
    boot = {
      kernelPackages = mkOption { type = types.str; default = "linux_6_1"; };
      kernelModules = mkOption { type = types.listOf types.str; default = [ ]; };
      kernelParams = mkOption { type = types.listOf types.str; default = [ ]; };
      loader.grub = {
        enable = mkOption { type = types.bool; default = true; };
        device = mkOption { type = types.nullOr types.str; default = null; };
        timeout = mkOption { type = types.ints.unsigned; default = 5; };
      };
    };

    fileSystems = mkOption {
      type = types.attrsOf (types.submodule fileSystemModule);
      default = { };
    };
  };

  config = {
    boot.kernelModules = [ "loop" "dm_mod" ];
    boot.kernelParams = lib.mkBefore [ "console=ttyS0,115200" ];

    assertions = [
      {
        assertion = config.fileSystems ? "/";
        message = "The root file system is not defined (fileSystems.\"/\").";
      }
      {
        assertion = !cfg.loader.grub.enable || cfg.loader.grub.device != null;
        message = "boot.loader.grub.device must be set when GRUB is enabled.";
      }
    ];

    environment.etc.fstab.text = lib.concatMapStringsSep "\n"
      (fs: "${fs.device} ${fs.mountPoint} ${fs.fsType} ${lib.concatStringsSep "," fs.options} 0 ${if fs.mountPoint == "/" then "1" else "2"}")
      (lib.sort (a: b: a.mountPoint < b.mountPoint) (lib.attrValues config.fileSystems));

    system.activationScripts.modules =
      "modprobe -a ${lib.concatStringsSep " " (lib.unique cfg.kernelModules)}";

    environment.etc."kernel/cmdline".text = lib.concatStringsSep " " cfg.kernelParams;
  };
}
