# The OpenSSH daemon.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.openssh;
in
{
  options.services.openssh = {
    enable = lib.mkEnableOption "the OpenSSH daemon";
    ports = mkOption { type = types.listOf types.port; default = [ 22 ]; };
    permitRootLogin = mkOption {
      type = types.enum [ "yes" "no" "prohibit-password" ];
      default = "prohibit-password";
    };
    passwordAuthentication = mkOption { type = types.bool; default = true; };
    authorizedKeys = mkOption {
      type = types.attrsOf (types.listOf types.str);
      default = { };
      description = "User name -> public keys.";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [{
      assertion = cfg.permitRootLogin != "yes" || !cfg.passwordAuthentication;
      message = "Refusing root logins with passwords over SSH.";
    }];

    networking.firewall.allowedTCPPorts = cfg.ports;
    environment.systemPackages = [ "openssh" ];

    users.users.sshd = {
      isSystemUser = true;
      description = "SSH privilege separation user";
    };
    users.groups.sshd = { };

    environment.etc."ssh/sshd_config".text = lib.concatStringsSep "\n" (
      map (p: "Port ${toString p}") cfg.ports
      ++ [
        "PermitRootLogin ${cfg.permitRootLogin}"
        "PasswordAuthentication ${if cfg.passwordAuthentication then "yes" else "no"}"
        "AuthorizedKeysFile /etc/ssh/authorized_keys.d/%u"
      ]
    );
    environment.etc."ssh/sshd_config".mode = "0600";

    environment.etc."ssh/authorized_keys.d".text = lib.concatStringsSep "\n"
      (lib.mapAttrsToList (user: keys: "${user}: ${lib.concatStringsSep " " keys}") cfg.authorizedKeys);

    system.activationScripts.sshd = "mkdir -m 0755 -p /etc/ssh";
  };
}
