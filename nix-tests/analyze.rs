//! `nixperf analyze` end to end on a private Nix store (NIX_STORE_DIR / NIX_STATE_DIR under a
//! temp dir) with a known slow module, a known bad nix.conf and dead store paths: the reports
//! name all three with their measured numbers; `--apply` changes nothing without consent, with
//! `--yes` it changes what it showed, and `nixperf undo` restores nix.conf byte for byte.

mod common;

use common::ok;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BAD_CONF: &str = "substituters =\nbuild-users-group =\nsandbox = false\nmax-jobs = 1\n# the user's own comment\n";

struct Env(common::PrivateNix);

impl std::ops::Deref for Env {
    type Target = common::PrivateNix;
    fn deref(&self) -> &common::PrivateNix {
        &self.0
    }
}

impl Env {
    fn new() -> Env {
        Env(common::PrivateNix::new(BAD_CONF.as_bytes()))
    }
    /// Builds `attr` of the store fixture; `keep` adds a GC root, else the output is dead.
    fn build(&self, attr: &str, keep: bool) -> String {
        let mut c = Command::new("nix-build");
        self.env(&mut c, true)
            .arg(common::fixture("store/pkgs.nix"))
            .args(["-A", attr]);
        if keep {
            c.arg("-o").arg(self.p("result"));
        } else {
            c.arg("--no-out-link");
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
    fn analyze(&self, args: &[&str]) -> (std::process::Output, Value) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_nixperf"));
        self.env(&mut c, true)
            .arg("analyze")
            .arg("--out-dir")
            .arg(self.p("out"))
            .arg("--undo-dir")
            .arg(self.p("undo"))
            .arg("--history")
            .arg(self.p("history/history.db"))
            .args(args);
        let out = c.output().unwrap();
        let json = std::fs::read_to_string(self.p("out/analysis.json"))
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(Value::Null);
        (out, json)
    }
    fn conf(&self) -> String {
        std::fs::read_to_string(self.p("conf/nix.conf")).unwrap()
    }
}

/// The scenario: a kept app, a dead scratch path (and the .drv files nothing keeps).
fn scenario(e: &Env) -> String {
    e.build("app", true);
    e.build("scratch", false)
}

#[test]
fn deep_names_slow_module_bad_conf_and_dead_paths() {
    let e = Env::new();
    let dead = scenario(&e);
    let (out, a) = e.analyze(&[
        "--deep",
        "--baseline",
        "-f",
        "nix-tests/fixtures/modsys",
        "-A",
        "config",
    ]);
    ok(&out);
    // The slow module, measured.
    let m = &a["eval"]["modules"][0];
    assert!(
        m["path"]
            .as_str()
            .unwrap()
            .ends_with("modsys/modules/heavy.nix"),
        "{m}"
    );
    assert!(m["share"].as_f64().unwrap() > 0.8);
    // The bad setting: max-jobs = 1 on this machine's CPUs.
    let cpus = std::thread::available_parallelism().unwrap().get();
    let problems = a["problems"].as_array().unwrap();
    let has = |area: &str, needle: &str| {
        problems
            .iter()
            .any(|p| p["area"] == area && p["issue"].as_str().unwrap().contains(needle))
    };
    assert!(
        has("evaluation", "modsys/modules/heavy.nix"),
        "{problems:?}"
    );
    if cpus > 1 {
        assert!(has("config", "max-jobs = 1"), "{problems:?}");
    }
    // The dead paths: the exact count the store graph gives, which nix-store --gc then deletes.
    let gc = &a["store"]["commands"][0];
    assert_eq!(gc["command"], "nix-store --gc");
    let predicted = gc["paths_deleted"].as_u64().unwrap();
    assert!(predicted >= 1);
    assert!(has("store", "dead store paths"), "{problems:?}");
    let report = std::fs::read_to_string(e.p("out/performance-report.md")).unwrap();
    for needle in [
        "heavy.nix",
        "max-jobs",
        "nix-store --gc",
        "## Recommendations",
        "### HIGH impact",
    ] {
        assert!(report.contains(needle), "{needle} missing from:\n{report}");
    }
    assert!(e.p("out/flamegraph.svg").exists());
    assert!(e.p("out/optimization-recommendations.md").exists());

    // The runs were recorded and exported as the baseline; a later analysis compared with a
    // baseline whose evaluation took a fifth of the time flags the regression by name.
    let base_path = e.p("out/performance-baseline.json");
    let mut base: Value =
        serde_json::from_str(&std::fs::read_to_string(&base_path).unwrap()).unwrap();
    let wall = base["metrics"]["eval.wall_s"]["value"]
        .as_f64()
        .expect("eval.wall_s recorded");
    base["metrics"]["eval.wall_s"]["value"] = (wall / 5.0).into();
    std::fs::write(&base_path, base.to_string()).unwrap();
    let (out, a2) = e.analyze(&[
        "--baseline-file",
        base_path.to_str().unwrap(),
        "-f",
        "nix-tests/fixtures/modsys",
        "-A",
        "config",
    ]);
    ok(&out);
    let flagged = a2["problems"].as_array().unwrap().iter().any(|p| {
        p["issue"]
            .as_str()
            .unwrap()
            .contains("regression vs baseline: eval.wall_s")
    });
    assert!(flagged, "{}", a2["problems"]);

    // --suggest reads the recorded analysis back without running anything.
    let (out, _) = e.analyze(&["--suggest"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("heavy.nix"));

    // Nothing changes without consent (no terminal, no --yes).
    let (out, _) = e.analyze(&["--quick", "--apply"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not applied"));
    assert_eq!(e.conf(), BAD_CONF);
    assert!(
        Path::new(&dead).exists(),
        "dead path deleted without consent"
    );

    // With --yes: exactly what was shown, then undo restores nix.conf byte for byte.
    let (out, a) = e.analyze(&["--quick", "--apply", "--yes"]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let predicted = a["store"]["commands"][0]["paths_deleted"].as_u64().unwrap();
    assert!(
        err.contains(&format!("deletes {predicted} dead paths")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{predicted} store paths deleted")),
        "nix-store --gc deleted a different number:\n{err}"
    );
    assert!(
        !Path::new(&dead).exists(),
        "dead path survived nix-store --gc"
    );
    let conf = e.conf();
    assert!(
        conf.starts_with(BAD_CONF),
        "the user's lines are kept:\n{conf}"
    );
    // Every setting the analysis recommended, exactly as shown, inside nixperf's block.
    let block = &conf[BAD_CONF.len()..];
    for r in a["config"]["recommendations"].as_array().unwrap() {
        if let Some(v) = r["value"].as_str() {
            let line = format!("{} = {v}\n", r["setting"].as_str().unwrap());
            assert!(block.contains(&line), "{line} missing from block:\n{block}");
            assert!(
                err.contains(&format!("+{line}")),
                "{line} was not shown first:\n{err}"
            );
        }
    }
    // nix itself now sees the new settings (later lines win).
    let mut c = Command::new("nix");
    let shown = e
        .env(&mut c, true)
        .args([
            "--extra-experimental-features",
            "nix-command",
            "show-config",
            "--json",
        ])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["keep-going"]["value"], true);

    let mut c = Command::new(env!("CARGO_BIN_EXE_nixperf"));
    let out = e
        .env(&mut c, true)
        .args(["undo", "--undo-dir"])
        .arg(e.p("undo"))
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(e.conf(), BAD_CONF, "undo must restore byte for byte");
    // A second undo has nothing left to do.
    let mut c = Command::new(env!("CARGO_BIN_EXE_nixperf"));
    let out = e
        .env(&mut c, true)
        .args(["undo", "--undo-dir"])
        .arg(e.p("undo"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1
    );
}

#[test]
fn apply_refuses_nixos_generated_conf() {
    let e = Env::new();
    // NixOS's nix.conf is a link into the store: nixperf prints the change, never writes it.
    let conf = e.p("conf/nix.conf");
    let mut c = Command::new("nix-store");
    let added = e
        .env(&mut c, true)
        .arg("--add")
        .arg(&conf)
        .output()
        .unwrap();
    ok(&added);
    let target = PathBuf::from(String::from_utf8_lossy(&added.stdout).trim());
    std::fs::remove_file(&conf).unwrap();
    std::os::unix::fs::symlink(&target, &conf).unwrap();
    // As on NixOS, the system keeps it alive (a GC root), so `nix-store --gc` leaves it.
    std::fs::create_dir_all(e.p("var/gcroots")).unwrap();
    std::os::unix::fs::symlink(&target, e.p("var/gcroots/etc-nix-conf")).unwrap();
    let (out, _) = e.analyze(&["--quick", "--apply", "--yes"]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("generated by NixOS"), "{err}");
    assert_eq!(std::fs::read_link(&conf).unwrap(), target);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), BAD_CONF);
    assert!(!err.contains("wrote"), "{err}");
}

#[test]
fn target_from_nixperf_toml() {
    let e = Env::new();
    let dir = e.p("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("nixperf.toml"),
        format!(
            "file = \"{}\"\nattrs = [\"config\"]\nout_dir = \"reports\"\n",
            common::fixture("fixtures/modsys").display()
        ),
    )
    .unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_nixperf"));
    e.env(&mut c, true)
        .current_dir(&dir)
        .args(["analyze", "--history"])
        .arg(e.p("h.db"));
    let out = c.output().unwrap();
    ok(&out);
    let a: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reports/analysis.json")).unwrap())
            .unwrap();
    assert!(
        a["eval"]["modules"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("modsys/modules/heavy.nix")
    );
    // A typo in the file is one clear line and a non-zero exit.
    std::fs::write(dir.join("nixperf.toml"), "attr = [\"config\"]\n").unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_nixperf"));
    let out = e
        .env(&mut c, true)
        .current_dir(&dir)
        .arg("analyze")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nixperf.toml") && err.trim().lines().count() == 1,
        "{err}"
    );
}
