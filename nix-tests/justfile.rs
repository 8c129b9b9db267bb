//! The justfile's recipes run under the real `just` (PyPI's rust-just, installed by
//! scripts/setup-debian.sh) against the real nix: each recipe succeeds and leaves its files.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn just() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("JUST") {
        return Some(PathBuf::from(p));
    }
    let on_path = Command::new("just")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        return Some(PathBuf::from("just"));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("just");
    p.exists().then_some(p)
}

#[test]
fn every_recipe_runs() {
    let just = just().expect("`just` not installed: run scripts/setup-debian.sh");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    // perf-compare exits 2 when the second run is beyond the noise of a single-run comparison
    // (a loaded machine can do that); both outcomes must leave the comparison's files.
    let run = |recipe: &str| {
        let o = Command::new(&just)
            .current_dir(d.path())
            .arg("--justfile")
            .arg(common::repo().join("justfile"))
            .arg("--working-directory")
            .arg(d.path())
            .arg(recipe)
            .env("NIXPERF", env!("CARGO_BIN_EXE_nixperf"))
            .env("NIXPERF_FILE", common::fixture("fixtures/modsys"))
            .env("NIXPERF_ATTR", "config")
            .env("NIXPERF_OUT", &out)
            .env("NIXPERF_HISTORY", d.path().join("history.db"))
            .env("NIX_CONFIG", "substituters =")
            .output()
            .unwrap();
        let code = o.status.code();
        let ok = code == Some(0) || (recipe == "perf-compare" && code == Some(2));
        assert!(
            ok,
            "just {recipe}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run("perf-test");
    assert!(out.join("flamegraph.svg").exists());
    run("perf-baseline");
    assert!(out.join("performance-baseline.json").exists());
    run("perf-compare");
    assert!(out.join("flamegraph-diff.svg").exists());
    run("perf-track");
    assert!(
        std::fs::read_dir(out.join("trends")).unwrap().any(|e| e
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "svg"))
    );
    run("perf-quick");
    assert!(out.join("optimization-recommendations.md").exists());
    run("perf-deep");
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert!(
        a["eval"]["modules"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("modsys/modules/heavy.nix")
    );
}
