# The machine itself, as a user would write /etc/nixos/configuration.nix (a shorthand module:
# definitions only).
{ config, lib, ... }:
{
  networking.hostName = "webhost";
  networking.domain = "example.org";
  system.stateVersion = "23.05";

  boot.loader.grub.device = "/dev/vda";
  boot.kernelModules = [ "virtio_pci" "virtio_blk" "dm_mod" ];
  boot.kernelParams = [ "quiet" ];
  fileSystems."/" = { device = "/dev/vda2"; fsType = "ext4"; options = [ "noatime" ]; };
  fileSystems."/boot" = { device = "/dev/vda1"; fsType = "vfat"; };

  services.openssh = {
    enable = true;
    permitRootLogin = "no";
    passwordAuthentication = lib.mkForce false;
    authorizedKeys.alice = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyForAlice alice@laptop" ];
  };

  services.nginx = {
    enable = true;
    recommendedGzipSettings = true;
    virtualHosts."example.org" = {
      forceSSL = true;
      serverAliases = [ "www.example.org" ];
      root = "/var/www/example.org";
      locations."/" = "try_files $uri $uri/ /index.html;";
    };
    virtualHosts."grafana.example.org" = {
      locations."/" = "proxy_pass http://127.0.0.1:3000;";
    };
  };

  services.postgresql = {
    enable = true;
    databases = [ "app" "grafana" ];
    settings.max_connections = "200";
  };

  services.monitoring.enable = true;

  users.users.alice = {
    description = "Alice";
    extraGroups = [ "wheel" ];
  };
  users.users.bob.description = "Bob";

  environment.systemPackages = [ "git" "htop" "vim" ];
  environment.variables.EDITOR = "vim";
}
