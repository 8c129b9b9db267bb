# The services (a directory module importing one module per service).
{
  imports = [
    ./openssh.nix
    ./nginx.nix
    ./postgresql.nix
    ./monitoring.nix
  ];
}
