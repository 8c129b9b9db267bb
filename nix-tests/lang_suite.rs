//! Non-interference: Nix's own language tests give exactly the expected results with the plugin
//! loaded, and every nix-instantiate run of them is byte-identical (exit status, stdout, stderr)
//! to the same run without the plugin (scripts/lang-suite.sh --compare-plain, which follows the
//! source tree's own lang.sh: 2.8's tests/lang.sh, 2.26's … 2.35's tests/functional/lang.sh).

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// The counts of lang-suite.sh's summary line.
#[derive(Debug)]
struct Summary {
    passed: u32,
    failed: u32,
    known: u32,
    identical: u32,
}

/// Runs lang-suite.sh --compare-plain with the plugin (and a profile database) as extra options,
/// `nix-instantiate` from `bin` if given (else PATH), on `lang_dir` if given (else the default).
fn run_suite(bin: Option<&Path>, lang_dir: Option<&Path>, plugin: &Path) -> (Summary, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new("bash");
    cmd.current_dir(repo())
        .arg("scripts/lang-suite.sh")
        .arg("--compare-plain");
    if let Some(bin) = bin {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin.to_path_buf()];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).unwrap());
    }
    if let Some(lang_dir) = lang_dir {
        cmd.arg("--lang-dir").arg(lang_dir);
    }
    let out = cmd
        .arg("--")
        .args(["--option", "plugin-files"])
        .arg(plugin)
        .args(["--option", "nixperf-profile"])
        .arg(dir.path().join("lang.db"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The plugin really was loaded: it wrote its profile.
    assert!(dir.path().join("lang.db").exists(), "{stdout}");
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with("lang-suite:"))
        .unwrap();
    // "lang-suite: N passed, M failed[, K known upstream failure(s) (...)], I identical to plain nix"
    let count = |what: &str| -> u32 {
        line.split(", ")
            .find_map(|part| {
                let part = part.trim_start_matches("lang-suite: ");
                let (n, rest) = part.split_once(' ')?;
                rest.starts_with(what).then(|| n.parse().unwrap())
            })
            .unwrap_or(0)
    };
    let s = Summary {
        passed: count("passed"),
        failed: count("failed"),
        known: count("known upstream failure"),
        identical: count("identical to plain nix"),
    };
    assert_eq!(s.failed, 0, "{stdout}");
    // Every check, known upstream failures included, was identical with and without the plugin.
    assert_eq!(s.identical, s.passed + s.known, "{stdout}");
    (s, stdout)
}

#[test]
fn nix_language_tests_pass_with_the_plugin_loaded() {
    let (s, out) = run_suite(None, None, &plugin());
    assert!(s.passed >= 130, "{out}");
    assert_eq!(s.known, 0, "{out}");
}

/// The source tree's tests/functional/lang of a Nix built by scripts/build-nix.sh: it stays in
/// the build chroot, `chroot-<suite>/build/nix-<version>` beside the prefix.
fn lang_dir(prefix: &Path, suite: &str, version: &str) -> PathBuf {
    prefix.parent().unwrap().join(format!(
        "chroot-{suite}/build/nix-{version}/tests/functional/lang"
    ))
}

/// The Debian suite whose chroot builds Nix `version` (scripts/build-nix.sh --print-suite).
fn suite_of(version: &str) -> String {
    let out = std::process::Command::new(repo().join("scripts/build-nix.sh"))
        .args(["--print-suite", version])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Nix `version` with its plugin and its lang tests, or None (SKIPPED; see built_nix_with_plugin).
fn built(version: &str) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let suite = &suite_of(version);
    let (prefix, plugin) = built_nix_with_plugin(version, |p| vec![lang_dir(p, suite, version)])?;
    let lang = lang_dir(&prefix, suite, version);
    Some((prefix, plugin, lang))
}

#[test]
fn nix_2_26_language_tests_pass_with_the_plugin_loaded() {
    let Some((prefix, plugin, lang)) = built("2.26") else {
        return;
    };
    let (s, out) = run_suite(Some(&prefix.join("bin")), Some(&lang), &plugin);
    assert!(s.passed >= 230, "{out}");
    // Only the toml11 >= 4 timestamp format (NixOS/nix#11441), and identical without the plugin.
    assert!(s.known <= 1, "{out}");
    let known: Vec<&str> = out.lines().filter(|l| l.starts_with("KNOWN:")).collect();
    assert!(
        known
            .iter()
            .all(|l| l.starts_with("KNOWN: eval-okay-fromTOML-timestamps:")),
        "{out}"
    );
}

#[test]
fn nix_2_34_language_tests_pass_with_the_plugin_loaded() {
    let Some((prefix, plugin, lang)) = built("2.34") else {
        return;
    };
    let (s, out) = run_suite(Some(&prefix.join("bin")), Some(&lang), &plugin);
    assert!(s.passed >= 320, "{out}");
    assert_eq!(s.known, 0, "{out}");
}

/// Nix 2.28, 2.31 and 2.35: every language test of the version's own tree passes with the
/// plugin loaded, byte-identical to plain nix (run_suite), no known upstream failure; at least
/// as many passed as measured when the check was written (docs/nix-versions.md).
fn language_tests_pass_with_the_plugin_loaded_on(version: &str, at_least: u32) {
    let Some((prefix, plugin, lang)) = built(version) else {
        return;
    };
    let (s, out) = run_suite(Some(&prefix.join("bin")), Some(&lang), &plugin);
    assert!(s.passed >= at_least, "{out}");
    assert_eq!(s.known, 0, "{out}");
}

#[test]
fn nix_2_28_language_tests_pass_with_the_plugin_loaded() {
    language_tests_pass_with_the_plugin_loaded_on("2.28", 240);
}

#[test]
fn nix_2_31_language_tests_pass_with_the_plugin_loaded() {
    language_tests_pass_with_the_plugin_loaded_on("2.31", 241); // measured 2026-12-05: 241 of 241
}

#[test]
fn nix_2_35_language_tests_pass_with_the_plugin_loaded() {
    language_tests_pass_with_the_plugin_loaded_on("2.35", 320);
}
