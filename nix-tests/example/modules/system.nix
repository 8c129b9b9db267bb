# The system toplevel: assertions, activation script and a store-path-like name that depends on
# everything the system contains (the report, every /etc file, the activation script).
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.system;

  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  etcFiles = lib.filter (f: f.enable) (lib.attrValues config.environment.etc);

  activationScript = lib.concatStringsSep "\n"
    (lib.mapAttrsToList (name: text: "# ${name}\n${text}") cfg.activationScripts);

  contents = lib.concatStringsSep "\n" ([ config.report.text activationScript ]
    ++ map (f: "${f.target} ${f.mode}\n${f.text}") etcFiles);
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
      description = "Conditions the system must satisfy: { assertion = bool; message = str; }.";
    };

    system = {
      name = mkOption {
        type = types.str;
        default = config.networking.hostName;
        description = "The name of the system, used in the toplevel's name.";
      };
      stateVersion = mkOption { type = types.str; default = "23.05"; };
      activationScripts = mkOption {
        type = types.attrsOf types.lines;
        default = { };
        description = "Snippets run when the system is activated, in name order.";
      };
      build.toplevel = mkOption {
        type = types.str;
        internal = true;
        description = "The system, as a store-path-like name.";
      };
    };
  };

  config = {
    system.activationScripts.etc = "# install ${toString (lib.length etcFiles)} files into /etc";

    system.build.toplevel =
      if failedAssertions != [ ] then
        throw "Failed assertions:\n${lib.concatMapStringsSep "\n" (m: "- ${m}") failedAssertions}"
      else
        "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" contents)}-nixos-system-${cfg.name}-${cfg.stateVersion}";
  };
}
