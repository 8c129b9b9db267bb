//! The NixOS module (nixos/module.nix) evaluated by nixpkgs' real module system against minimal
//! declarations of the NixOS options it sets.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;

fn eval_module(settings: &str) -> Value {
    let Some(lib) = nixpkgs_lib() else {
        return Value::Null;
    };
    let out = Command::new("nix-instantiate")
        .current_dir(repo())
        .env("NIXPKGS_LIB", &lib)
        .args([
            "--eval",
            "--strict",
            "--json",
            "nix-tests/nixos/eval-module.nix",
        ])
        .args(["--arg", "settings", settings])
        .output()
        .expect("run nix-instantiate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn enabled_installs_timer_and_service() {
    let v = eval_module(r#"{ enable = true; schedule = "weekly"; }"#);
    if v.is_null() {
        return;
    }
    let timer = &v["timers"]["nixperf"];
    assert_eq!(timer["timerConfig"]["OnCalendar"], "weekly");
    assert_eq!(timer["wantedBy"][0], "timers.target");
    let exec = v["services"]["nixperf"]["serviceConfig"]["ExecStart"]
        .as_str()
        .unwrap();
    assert!(exec.contains("/bin/nixperf 'analyze'"), "{exec}");
    // Defaults: thresholds of the seed, history under /var/lib/nixperf, no --apply.
    assert!(exec.contains("'--alert-build-time' '180'"), "{exec}");
    assert!(exec.contains("'--alert-store-size' '100'"), "{exec}");
    assert!(exec.contains("'/var/lib/nixperf/history.db'"), "{exec}");
    assert!(!exec.contains("--apply"), "{exec}");
    assert_eq!(v["systemPackages"][0], "nixperf-0.1.0");

    // The service's command line is one our CLI runs: the same arguments, with the state
    // directory moved to a temp dir, against the real nix (quick: store and settings).
    let d = tempfile::tempdir().unwrap();
    let state = d.path().to_str().unwrap();
    let args: Vec<String> = exec
        .split_once("/bin/nixperf ")
        .unwrap()
        .1
        .split("' '")
        .map(|a| a.trim_matches('\'').replace("/var/lib/nixperf", state))
        .collect();
    let out = nixperf().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "nixperf {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(d.path().join("reports/performance-report.md").exists());
    assert!(d.path().join("history.db").exists());
}

#[test]
fn default_schedule_is_monthly_and_auto_optimize_applies() {
    let v = eval_module(
        r#"{ enable = true; auto-optimize = true; baseline-file = "/etc/nixperf/b.json"; }"#,
    );
    if v.is_null() {
        return;
    }
    assert_eq!(
        v["timers"]["nixperf"]["timerConfig"]["OnCalendar"],
        "monthly"
    );
    let exec = v["services"]["nixperf"]["serviceConfig"]["ExecStart"]
        .as_str()
        .unwrap();
    assert!(exec.contains("'--apply' '--yes'"), "{exec}");
    assert!(
        exec.contains("'--baseline-file' '/etc/nixperf/b.json'"),
        "{exec}"
    );
}

#[test]
fn disabled_sets_nothing() {
    let v = eval_module("{ }");
    if v.is_null() {
        return;
    }
    assert_eq!(v["services"], serde_json::json!({}));
    assert_eq!(v["timers"], serde_json::json!({}));
    assert_eq!(v["systemPackages"], serde_json::json!([]));
}

#[test]
fn flake_outputs_evaluate() {
    let Some(lib) = nixpkgs_lib() else {
        return;
    };
    let out = Command::new("nix-instantiate")
        .current_dir(repo())
        .env("NIXPKGS_LIB", &lib)
        .args([
            "--eval",
            "--strict",
            "--json",
            "nix-tests/nixos/eval-flake.nix",
        ])
        .output()
        .expect("run nix-instantiate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["outputs"],
        serde_json::json!(["apps", "checks", "devShells", "nixosModules", "packages"])
    );
    for per_system in v["systems"].as_array().unwrap() {
        assert_eq!(per_system, &serde_json::json!(["x86_64-linux"]));
    }
    assert_eq!(v["packages"], serde_json::json!(["default", "nixperf"]));
    assert_eq!(v["checks"], serde_json::json!(["default", "nixos-module"]));
    // nixosModules.default is the module with the flake's package as default.
    assert_eq!(v["onCalendar"], "daily");
}
