# The PostgreSQL server.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.postgresql;
in
{
  options.services.postgresql = {
    enable = lib.mkEnableOption "the PostgreSQL server";
    port = mkOption { type = types.port; default = 5432; };
    openFirewall = mkOption { type = types.bool; default = false; };
    databases = mkOption { type = types.listOf types.str; default = [ ]; };
    settings = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "postgresql.conf settings.";
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      environment.systemPackages = [ "postgresql_15" ];

      users.users.postgres = {
        uid = 71;
        isSystemUser = true;
        home = "/var/lib/postgresql";
        description = "PostgreSQL server user";
      };
      users.groups.postgres.gid = 71;

      services.postgresql.settings = {
        port = toString cfg.port;
        max_connections = lib.mkDefault "100";
        shared_buffers = lib.mkDefault "128MB";
        log_line_prefix = lib.mkDefault "'%m [%p] '";
      };

      environment.etc."postgresql/postgresql.conf".text = lib.concatStringsSep "\n"
        (lib.mapAttrsToList (k: v: "${k} = ${v}") cfg.settings);

      system.activationScripts.postgresql = lib.concatMapStringsSep "\n"
        (db: "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = '${db}'\" | grep -q 1 || createdb ${db}")
        cfg.databases;
    }

    (lib.mkIf cfg.openFirewall {
      networking.firewall.allowedTCPPorts = [ cfg.port ];
    })
  ]);
}
