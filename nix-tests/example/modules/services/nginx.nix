# The nginx web server with virtual hosts.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.nginx;

  vhostModule = { name, config, ... }: {
    options = {
      serverName = mkOption { type = types.str; default = name; };
      serverAliases = mkOption { type = types.listOf types.str; default = [ ]; };
      forceSSL = mkOption { type = types.bool; default = false; };
      port = mkOption { type = types.port; default = if config.forceSSL then 443 else 80; };
      root = mkOption { type = types.nullOr types.str; default = null; };
      locations = mkOption {
        type = types.attrsOf types.lines;
        default = { };
        description = "Location -> nginx directives.";
      };
    };
  };

  vhosts = lib.attrValues cfg.virtualHosts;

  renderVhost = v: ''
    server {
      listen ${toString v.port}${lib.optionalString v.forceSSL " ssl"};
      server_name ${lib.concatStringsSep " " ([ v.serverName ] ++ v.serverAliases)};
    ${lib.optionalString (v.root != null) "  root ${v.root};\n"}${lib.concatStrings (lib.mapAttrsToList (loc: body: "  location ${loc} {\n    ${body}\n  }\n") v.locations)}}
  '';
in
{
  options.services.nginx = {
    enable = lib.mkEnableOption "the nginx web server";
    workerProcesses = mkOption { type = types.int; default = 2; };
    recommendedGzipSettings = mkOption { type = types.bool; default = false; };
    virtualHosts = mkOption {
      type = types.attrsOf (types.submodule vhostModule);
      default = { };
    };
  };

  config = lib.mkIf cfg.enable {
    networking.firewall.allowedTCPPorts = lib.unique (map (v: v.port) vhosts ++ [ 80 ]);
    environment.systemPackages = [ "nginx" ];

    users.users.nginx = { isSystemUser = true; description = "nginx web server user"; };
    users.groups.nginx = { };

    environment.etc."nginx/nginx.conf".text = ''
      worker_processes ${toString cfg.workerProcesses};
      events { worker_connections 1024; }
      http {
      ${lib.optionalString cfg.recommendedGzipSettings "gzip on;\ngzip_comp_level 5;\n"}${lib.concatMapStrings renderVhost vhosts}}
    '';

    system.activationScripts.nginx = "mkdir -p /var/log/nginx /var/cache/nginx";
  };
}
