# Man pages. Imported, but disabled by default and not enabled by this machine: none of its
# definitions is ever evaluated (only its mkIf condition is read), so it costs ~0.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.documentation;

  # Would be expensive: an index of the man pages of every installed package.
  manIndex = lib.concatMap
    (pkg: lib.genList (i: "${pkg}(${toString (lib.mod i 8 + 1)}) page ${toString i}") 2000)
    config.environment.systemPackages;
in
{
  options.documentation = {
    enable = mkOption { type = types.bool; default = false; };
    man.generateCaches = mkOption { type = types.bool; default = true; };
    pages = mkOption { type = types.listOf types.str; default = [ ]; };
  };

  config = lib.mkIf cfg.enable {
    documentation.pages = manIndex;
    environment.systemPackages = [ "man-db" ];
    environment.etc."man_db.conf".text = lib.concatStringsSep "\n" cfg.pages;
    system.activationScripts.man-db = lib.mkIf cfg.man.generateCaches "mandb --quiet";
  };
}
