//! The GitHub workflow's script part (scripts/ci-compare.sh) run locally against two revisions
//! of a real git repository: a commit that makes one module slower exits 2 and names it in the
//! Markdown summary; a commit that changes nothing measurable exits 0.

mod common;

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn write_tree(dir: &Path, work: u32) {
    for f in ["hosts.nix", "lib.nix", "slow.nix"] {
        std::fs::copy(
            common::fixture(&format!("fixtures/regress/{f}")),
            dir.join(f),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("default.nix"),
        format!(
            "let lib = import ./lib.nix; in {{ hosts = import ./hosts.nix {{ inherit lib; }}; slow = import ./slow.nix {{ inherit lib; work = {work}; }}; }}\n"
        ),
    )
    .unwrap();
}

fn gate(repo: &Path, base: &str, head: &str, out: &str) -> (i32, String) {
    let summary = repo.join(format!("{out}.md"));
    let st = Command::new(common::repo().join("scripts/ci-compare.sh"))
        .current_dir(repo)
        .args([base, head, "default.nix"])
        .env("NIXPERF", env!("CARGO_BIN_EXE_nixperf"))
        .env("RUNS", "3")
        .env("OUT", repo.join(out))
        .env("SUMMARY", &summary)
        .env("NIX_CONFIG", "substituters =")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&summary).unwrap_or_else(|_| {
        panic!(
            "no summary; stderr: {}",
            String::from_utf8_lossy(&st.stderr)
        )
    });
    (st.status.code().unwrap_or(-1), text)
}

#[test]
fn regression_fails_the_gate_and_a_neutral_change_passes() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path();
    git(repo, &["init", "-q"]);
    write_tree(repo, 18);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "base"]);
    let base = git(repo, &["rev-parse", "HEAD"]);
    // A change that does not touch the work: a comment.
    std::fs::write(
        repo.join("hosts.nix"),
        format!(
            "# a comment\n{}",
            std::fs::read_to_string(repo.join("hosts.nix")).unwrap()
        ),
    )
    .unwrap();
    git(repo, &["commit", "-qam", "comment"]);
    let neutral = git(repo, &["rev-parse", "HEAD"]);
    write_tree(repo, 27);
    git(repo, &["commit", "-qam", "slower"]);
    let slower = git(repo, &["rev-parse", "HEAD"]);

    let (code, md) = gate(repo, &base, &neutral, "neutral");
    assert_eq!(code, 0, "{md}");
    assert!(md.contains("✅ no regression"), "{md}");

    let (code, md) = gate(repo, &base, &slower, "slower");
    assert_eq!(code, 2, "{md}");
    assert!(md.contains("❌ regression"), "{md}");
    // The module that got slower is the first module row, marked.
    let first_module = md
        .lines()
        .skip_while(|l| !l.starts_with("| module"))
        .nth(2)
        .unwrap_or("");
    assert!(
        first_module.contains("slow.nix") && first_module.contains("REGRESSION"),
        "{md}"
    );
    assert!(repo.join("slower/flamegraph-diff.svg").exists());
}
