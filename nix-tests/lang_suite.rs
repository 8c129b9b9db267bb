//! Non-interference: Nix's own language tests give exactly the expected results with the plugin
//! loaded (scripts/lang-suite.sh follows the source package's tests/lang.sh).

mod common;
use common::*;

#[test]
fn nix_language_tests_pass_with_the_plugin_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .current_dir(repo())
        .arg("scripts/lang-suite.sh")
        .arg("--")
        .args(["--option", "plugin-files"])
        .arg(plugin())
        .args(["--option", "nixperf-profile"])
        .arg(dir.path().join("lang.db"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .rfind(|l| l.starts_with("lang-suite:"))
        .unwrap();
    assert!(summary.contains(" 0 failed"), "{summary}");
    let passed: u32 = summary
        .trim_start_matches("lang-suite: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(passed >= 130, "{summary}");
}
