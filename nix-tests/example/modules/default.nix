# The module list (like nixos/modules/module-list.nix) plus the machine's configuration.nix.
{
  imports = [
    ./system.nix
    ./boot.nix
    ./networking.nix
    ./users.nix
    ./environment.nix
    ./services
    ./heavy-packages.nix
    ./report.nix
    ./documentation.nix
    ./configuration.nix
  ];
}
