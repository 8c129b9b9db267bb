# A Prometheus-style monitoring setup that scrapes the other enabled services.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.monitoring;
  services = config.services;

  targets =
    lib.optional services.nginx.enable { job = "nginx"; port = 9113; }
    ++ lib.optional services.postgresql.enable { job = "postgres"; port = 9187; }
    ++ lib.optional services.openssh.enable { job = "node"; port = 9100; };
in
{
  options.services.monitoring = {
    enable = lib.mkEnableOption "monitoring of the local services";
    port = mkOption { type = types.port; default = 9090; };
    scrapeInterval = mkOption { type = types.str; default = "15s"; };
  };

  config = lib.mkIf cfg.enable {
    networking.firewall.allowedTCPPorts = [ cfg.port ];
    environment.systemPackages = [ "prometheus" ];

    users.users.prometheus = { isSystemUser = true; description = "Prometheus daemon user"; };
    users.groups.prometheus = { };

    environment.etc."prometheus/prometheus.yml".text = ''
      global:
        scrape_interval: ${cfg.scrapeInterval}
      scrape_configs:
      ${lib.concatMapStrings (t: "  - job_name: ${t.job}\n    static_configs: [{ targets: ['localhost:${toString t.port}'] }]\n") targets}'';

    report.text = lib.mkAfter "monitoring: ${toString (lib.length targets)} scrape targets every ${cfg.scrapeInterval}";
  };
}
