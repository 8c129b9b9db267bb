//! The NixOS module (nixos/module.nix) evaluated by nixpkgs' real module system against minimal
//! declarations of the NixOS options it sets.

mod common;
use common::*;
use serde_json::Value;
use std::path::PathBuf;
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

/// nix-tests/nixos/eval-flake.nix: flake.nix's outputs with stub nixpkgs inputs (see there),
/// `hostNix` being the version of the nix on PATH.
fn eval_flake() -> Option<Value> {
    let lib = nixpkgs_lib()?;
    let version = Command::new("nix-instantiate")
        .arg("--version")
        .output()
        .expect("run nix-instantiate --version");
    let version = String::from_utf8(version.stdout).unwrap();
    let host = version.split_whitespace().last().unwrap().to_owned();
    let out = Command::new("nix-instantiate")
        .current_dir(repo())
        .env("NIXPKGS_LIB", &lib)
        .args([
            "--eval",
            "--strict",
            "--json",
            "nix-tests/nixos/eval-flake.nix",
            "--argstr",
            "hostNix",
            &host,
        ])
        .output()
        .expect("run nix-instantiate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn flake_outputs_evaluate() {
    let Some(v) = eval_flake() else {
        return;
    };
    assert_eq!(
        v["outputs"],
        serde_json::json!(["apps", "checks", "devShells", "nixosModules", "packages"])
    );
    // One input: the nixpkgs whose Nix the plugin is built against (no pinned old nixpkgs).
    assert_eq!(v["inputs"], serde_json::json!(["nixpkgs"]));
    assert_eq!(v["nixpkgsUrl"], "github:NixOS/nixpkgs/nixos-unstable");
    for per_system in v["systems"].as_array().unwrap() {
        assert_eq!(per_system, &serde_json::json!(["x86_64-linux"]));
    }
    assert_eq!(v["checks"], serde_json::json!(["default", "nixos-module"]));
    assert_eq!(
        v["devShellInputsFrom"],
        serde_json::json!(["nixperf-0.1.0"])
    );
    // nixosModules.default is the module with the flake's package as default.
    assert_eq!(v["onCalendar"], "daily");
}

/// What one package output is built against: its Nix (the plugin's), the pkg-config inputs
/// build.rs needs (the Nix dev output with headers and .pc files, Boost, nlohmann_json, Boehm
/// GC), and the directory the plugin is installed in.
fn assert_built_against(p: &Value, nix: &str) {
    let minor = nix.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
    assert_eq!(p["nix"], nix, "{p}");
    assert_eq!(p["name"], "nixperf-0.1.0", "{p}");
    assert_eq!(
        p["buildInputs"],
        serde_json::json!([
            format!("nix-{nix}-dev"),
            "boost-1.87.0-dev",
            "boehm-gc-8.2.8-dev",
            "nlohmann_json-3.12.0"
        ]),
        "{p}"
    );
    assert_eq!(
        p["nativeBuildInputs"],
        serde_json::json!(["pkg-config-0.29.2"])
    );
    assert_eq!(p["cargoLock"], "Cargo.lock");
    assert_eq!(p["srcIsFlake"], true);
    assert_eq!(p["pluginDir"], format!("lib/nixperf/nix-{minor}"), "{p}");
}

#[test]
fn flake_builds_the_plugin_against_the_nix_of_its_nixpkgs() {
    let Some(v) = eval_flake() else {
        return;
    };
    // The stub nixos-unstable: nix 2.31.2; nixVersions 2.28, 2.31, 2.34, latest (2.34), a
    // removed 2.24 that throws, git and stable. One output per release from 2.26 on, and
    // latest; none for the removed one, nor for git/stable.
    assert_eq!(
        v["packages"],
        serde_json::json!([
            "default",
            "nixperf",
            "nixperf-for-nix-latest",
            "nixperf-for-nix_2_28",
            "nixperf-for-nix_2_31",
            "nixperf-for-nix_2_34"
        ])
    );
    let built = &v["built"];
    assert_built_against(&built["default"], "2.31.2");
    assert_built_against(&built["nixperf"], "2.31.2");
    assert_built_against(&built["nixperf-for-nix_2_28"], "2.28.5");
    assert_built_against(&built["nixperf-for-nix_2_31"], "2.31.2");
    assert_built_against(&built["nixperf-for-nix_2_34"], "2.34.8");
    assert_built_against(&built["nixperf-for-nix-latest"], "2.34.8");
    // packages.nixperf.override { nix = … } (callPackage): built against that Nix.
    assert_built_against(&v["override"], "2.26.3");
    // The same flake given another nixpkgs (inputs.nixpkgs.follows): its Nix and releases.
    assert_eq!(
        v["followsPackages"],
        serde_json::json!([
            "default",
            "nixperf",
            "nixperf-for-nix-latest",
            "nixperf-for-nix_2_28"
        ])
    );
    assert_built_against(&v["followsDefault"], "2.28.5");
}

#[test]
fn nixos_module_builds_the_plugin_against_the_systems_nix() {
    let Some(v) = eval_flake() else {
        return;
    };
    // nix.package = Nix 2.34.8 while the flake's nixpkgs has 2.31.2: the module's default
    // package is the flake's, overridden to the Nix the system runs.
    assert_eq!(v["modulePackageNix"], "2.34.8");
    let exec = v["moduleExecStart"].as_str().unwrap();
    assert!(
        exec.contains("-nixperf-0.1.0/bin/nixperf 'analyze' '--quick'"),
        "{exec}"
    );
    // Lix cannot load the plugin: the flake's own package, not a build against Lix.
    assert_eq!(v["modulePackageNixLix"], "2.31.2");
}

/// Runs a package's install step (its postInstall) the way nixpkgs' buildRustPackage does:
/// after cargo's outputs were copied to `$out/bin` and `$out/lib`, from the source directory.
fn run_install(script: &str, out: &std::path::Path, with_plugin: bool) -> std::process::Output {
    let release = std::path::Path::new(env!("CARGO_BIN_EXE_nixperf"))
        .parent()
        .unwrap()
        .to_owned();
    std::fs::create_dir_all(out.join("bin")).unwrap();
    std::fs::create_dir_all(out.join("lib")).unwrap();
    std::fs::copy(release.join("nixperf"), out.join("bin/nixperf")).unwrap();
    if with_plugin {
        std::fs::copy(release.join("libnixperf.so"), out.join("lib/libnixperf.so")).unwrap();
    }
    Command::new("bash")
        .current_dir(repo())
        .env("out", out)
        .args(["-euo", "pipefail", "-c", script])
        .output()
        .expect("run bash")
}

#[test]
fn flake_install_layout_is_what_nixperf_eval_looks_for() {
    let Some(v) = eval_flake() else {
        return;
    };
    // Every package's install step puts the plugin in lib/nixperf/nix-X.Y/ and links
    // lib/nixperf/libnixperf.so to it.
    for (name, p) in v["built"].as_object().unwrap() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let run = run_install(p["postInstall"].as_str().unwrap(), &out, true);
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let plugin = out
            .join(p["pluginDir"].as_str().unwrap())
            .join("libnixperf.so");
        assert!(plugin.is_file(), "{name}: no {}", plugin.display());
        assert!(!out.join("lib/libnixperf.so").exists(), "{name}");
        assert_eq!(
            out.join("lib/nixperf/libnixperf.so")
                .canonicalize()
                .unwrap(),
            plugin.canonicalize().unwrap(),
            "{name}"
        );
        assert!(out.join("bin/nixperf-ci-compare").is_file(), "{name}");
        assert!(out.join("share/nixperf/justfile").is_file(), "{name}");
    }

    // No plugin built (a Nix build.rs does not support): the package fails, saying so.
    let d = tempfile::tempdir().unwrap();
    let p = &v["built"]["nixperf-for-nix_2_28"];
    let run = run_install(
        p["postInstall"].as_str().unwrap(),
        &d.path().join("out"),
        false,
    );
    assert!(!run.status.success());
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("no plugin was built against Nix 2.28.5"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    // The package overridden to the Nix on PATH, installed from this build's CLI and plugin:
    // the installed nixperf finds its plugin (nothing else is beside it) and profiles with it.
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let run = run_install(v["host"]["postInstall"].as_str().unwrap(), &out, true);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let path = Command::new(out.join("bin/nixperf"))
        .env_remove("NIXPERF_PLUGIN")
        .arg("plugin-path")
        .output()
        .unwrap();
    assert!(
        path.status.success(),
        "{}",
        String::from_utf8_lossy(&path.stderr)
    );
    let expected = out
        .join(v["host"]["pluginDir"].as_str().unwrap())
        .join("libnixperf.so");
    assert_eq!(
        PathBuf::from(String::from_utf8(path.stdout).unwrap().trim()),
        expected.canonicalize().unwrap()
    );
    let profile = d.path().join("p.db");
    let run = Command::new(out.join("bin/nixperf"))
        .current_dir(repo())
        .env_remove("NIXPERF_PLUGIN")
        .env("NIX_CONFIG", "substituters =")
        .env("NIXPERF_HISTORY", test_history())
        .args(["eval", "-o"])
        .arg(&profile)
        .args(["-f", "nix-tests/fixtures/fib.nix"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_fib15_counts(&nixperf::profile::read(&profile).unwrap());
}
