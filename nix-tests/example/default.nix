# The example nixperf profiles: a NixOS-style machine built with a self-contained mini module
# system (./lib) from ./modules. `nix-instantiate --eval --strict nix-tests/example -A config`
# prints the machine's configuration.
let
  lib = import ./lib;

  machine = lib.evalModules { modules = [ ./modules ]; };

  # Like NixOS' system.build.toplevel, the toplevel depends on the whole system (it reads the
  # report, every /etc file and the activation script); it is built first, then `config` is
  # returned for inspection.
  toplevel = machine.config.system.build.toplevel;
in
{
  config = builtins.seq toplevel machine.config;
  inherit toplevel;
}
