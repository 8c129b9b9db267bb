# NixOS module: a systemd timer that runs `nixperf analyze` on a schedule, records every run in
# the history under /var/lib/nixperf and, only where auto-optimize is on, applies the safe fixes
# (nix.conf fragment, GC, optimise) that `nixperf analyze --apply` would show first.
{ config, lib, ... }:
let
  cfg = config.services.nixperf;
  inherit (lib) mkOption mkEnableOption mkIf types escapeShellArgs optionals;
  stateDir = "/var/lib/nixperf";
  args =
    [ "analyze" "--quick" "--history" "${stateDir}/history.db" "--out-dir" "${stateDir}/reports"
      "--alert-build-time" (toString cfg.alert-threshold.build-time)
      "--alert-store-size" (toString cfg.alert-threshold.store-size) ]
    ++ optionals (cfg.baseline-file != null) [ "--baseline-file" (toString cfg.baseline-file) ]
    ++ optionals cfg.track-builds [ "--track-builds" ]
    ++ optionals cfg.auto-optimize [ "--apply" "--yes" ];
in
{
  options.services.nixperf = {
    enable = mkEnableOption "periodic Nix performance analysis with nixperf";

    package = mkOption {
      type = types.package;
      description = "The nixperf package (CLI and evaluator plugin).";
    };

    baseline-file = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = "/etc/nixperf/performance-baseline.json";
      description = ''
        A baseline exported by `nixperf baseline` (performance-baseline.json); each run is
        compared with it and regressions beyond the thresholds are reported.
      '';
    };

    track-builds = mkOption {
      type = types.bool;
      default = true;
      description = "Record build profiles of the system closure in the history.";
    };

    alert-threshold = {
      build-time = mkOption {
        type = types.ints.positive;
        default = 180;
        description = "Alert when a build takes longer than this many seconds.";
      };
      store-size = mkOption {
        type = types.ints.positive;
        default = 100;
        description = "Alert when the Nix store is larger than this many GB.";
      };
    };

    auto-optimize = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Apply the safe, reversible fixes (nix.conf fragment with a backup, garbage collection and
        store optimisation with their predicted bytes) without asking. Off: only report.
      '';
    };

    schedule = mkOption {
      type = types.str;
      default = "monthly";
      example = "weekly";
      description = "When to run, as a systemd OnCalendar expression.";
    };
  };

  config = mkIf cfg.enable {
    environment.systemPackages = [ cfg.package ];

    systemd.services.nixperf = {
      description = "Nix performance analysis (nixperf analyze)";
      after = [ "nix-daemon.service" ];
      path = [ config.nix.package ];
      serviceConfig = {
        Type = "oneshot";
        StateDirectory = "nixperf";
        ExecStart = "${cfg.package}/bin/nixperf ${escapeShellArgs args}";
        Nice = 10;
        IOSchedulingClass = "idle";
      };
    };

    systemd.timers.nixperf = {
      description = "Run nixperf analyze ${cfg.schedule}";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.schedule;
        Persistent = true;
        RandomizedDelaySec = "1h";
      };
    };
  };
}
