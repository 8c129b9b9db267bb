# Host name, /etc/hosts, resolver and a generated firewall rule set.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.networking;

  tcpPorts = lib.sort (a: b: a < b) (lib.unique cfg.firewall.allowedTCPPorts);
  udpPorts = lib.sort (a: b: a < b) (lib.unique cfg.firewall.allowedUDPPorts);
in
{
  options.networking = {
    hostName = mkOption { type = types.str; default = "nixos"; };
    domain = mkOption { type = types.nullOr types.str; default = null; };
    fqdn = mkOption {
      type = types.str;
      default = if cfg.domain == null then cfg.hostName else "${cfg.hostName}.${cfg.domain}";
      description = "The fully qualified domain name (read-only in practice).";
    };
    nameservers = mkOption { type = types.listOf types.str; default = [ ]; };
    hosts = mkOption {
      type = types.attrsOf (types.listOf types.str);
      default = { };
      description = "Extra /etc/hosts entries: IP address -> host names.";
    };
    firewall = {
      enable = mkOption { type = types.bool; default = true; };
      allowedTCPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
      allowedUDPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
      rules = mkOption {
        type = types.listOf types.str;
        internal = true;
        description = "The generated iptables rules.";
      };
    };
  };

  config = lib.mkMerge [
    {
      assertions = [{
        assertion = cfg.hostName != "" && !(lib.hasPrefix "-" cfg.hostName);
        message = "networking.hostName must be a valid host name.";
      }];

      networking.nameservers = lib.mkDefault [ "1.1.1.1" "9.9.9.9" ];
      networking.hosts."127.0.0.1" = [ "localhost" ];
      networking.hosts."127.0.1.1" = lib.unique [ cfg.fqdn cfg.hostName ];

      environment.etc.hostname.text = cfg.hostName;
      environment.etc.hosts.text = lib.concatStringsSep "\n"
        (lib.mapAttrsToList (ip: names: "${ip} ${lib.concatStringsSep " " names}") cfg.hosts);
      environment.etc."resolv.conf".text =
        lib.concatMapStringsSep "\n" (ns: "nameserver ${ns}") cfg.nameservers
        + lib.optionalString (cfg.domain != null) "\nsearch ${cfg.domain}";

      networking.firewall.rules = [ "-P INPUT DROP" "-A INPUT -i lo -j ACCEPT" ]
        ++ map (p: "-A INPUT -p tcp --dport ${toString p} -j ACCEPT") tcpPorts
        ++ map (p: "-A INPUT -p udp --dport ${toString p} -j ACCEPT") udpPorts;
    }

    (lib.mkIf cfg.firewall.enable {
      environment.etc."iptables/rules.v4".text = lib.concatStringsSep "\n"
        ([ "*filter" ] ++ cfg.firewall.rules ++ [ "COMMIT" ]);
      system.activationScripts.firewall = "iptables-restore < /etc/iptables/rules.v4";
    })
  ];
}
