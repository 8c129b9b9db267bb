//! Evaluation findings on real nix: `with` scopes and their dynamic lookups, `rec` sets and
//! their evaluations, large `let`s, import from derivation, evaluator statistics.

mod common;
use common::*;
use nixperf::analysis::findings::{Impact, recommendations};
use nixperf::profile::{FindingKind, Profile};

#[test]
fn with_rec_and_let_findings_have_exact_positions_and_counts() {
    let run = eval(&["-f", "nix-tests/fixtures/findings"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    assert!(p.findings.iter().all(|f| {
        p.file_path(f.file)
            .ends_with("fixtures/findings/default.nix")
    }));
    // (line, col, depth, size, dynamic count)
    assert_eq!(
        findings_of(&p, FindingKind::With),
        vec![(9, 10, 1, 0, 1000), (12, 12, 1, 0, 2), (12, 28, 2, 0, 1)]
    );
    assert_eq!(
        findings_of(&p, FindingKind::Rec),
        vec![(14, 12, 0, 2, 1), (15, 33, 0, 2, 5)]
    );
    assert_eq!(findings_of(&p, FindingKind::Let), vec![(18, 5, 0, 21, 0)]);
    let with_detail: Vec<&str> = p
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::With)
        .map(|f| f.detail.as_str())
        .collect();
    assert!(with_detail.contains(&"scope") && with_detail.contains(&"pkgs"));

    // Per file: every lookup through any of its `with` scopes.
    let table = nixperf::analysis::modules::module_table(&p);
    let row = table
        .rows
        .iter()
        .find(|r| r.path.ends_with("fixtures/findings/default.nix"))
        .unwrap();
    assert_eq!(row.with_lookups, 1003);

    let recs = recommendations(&p);
    let top = &recs[0];
    assert_eq!((top.kind, top.line, top.col), ("with", 9, 10));
    assert!(
        top.issue.contains("1,000 variable lookups"),
        "{}",
        top.issue
    );
    assert_eq!(
        top.saving_ns,
        1000 * nixperf::analysis::findings::WITH_LOOKUP_NS
    );
    // rec and let findings save nothing measurable: always LOW.
    assert!(
        recs.iter()
            .filter(|r| r.kind != "with")
            .all(|r| r.impact == Impact::Low)
    );

    // Nix's own statistics of the same run.
    let stats = nixperf::analysis::findings::evaluator_stats(&p).expect("stats recorded");
    assert_eq!(stats.function_calls, calls_of_lambdas(&p));
    assert!(stats.thunks > 0 && stats.envs > 0);
}

fn calls_of_lambdas(p: &Profile) -> u64 {
    p.nodes
        .iter()
        .skip(1)
        .filter(|n| p.frames[n.frame as usize].kind == nixperf::profile::FrameKind::Lambda)
        .map(|n| n.count)
        .sum()
}

#[test]
fn findings_do_not_change_results_and_report_shows_them() {
    let plain = std::process::Command::new("nix-instantiate")
        .current_dir(repo())
        .args(["--eval", "--strict", "nix-tests/fixtures/findings"])
        .output()
        .unwrap();
    let run = eval(&["--show-output", "-f", "nix-tests/fixtures/findings"]);
    assert!(
        run.stdout()
            .starts_with(String::from_utf8_lossy(&plain.stdout).trim_end())
    );
    let out = nixperf()
        .arg("report")
        .arg(&run.profile_path)
        .arg("--no-files")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The 1,000-lookup `with` costs ~1 % of this tiny evaluation: its group depends on timing.
    assert!(
        text.contains("Recommendations") && text.contains(" impact ("),
        "{text}"
    );
    assert!(text.contains("replace `with scope;`"), "{text}");
    assert!(text.contains("Nix stats:"), "{text}");
}

#[test]
fn import_from_derivation_is_found_with_position_derivation_and_blocked_time() {
    let nonce = nonce("ifd");
    let args = [
        "-f",
        "nix-tests/fixtures/findings/ifd.nix",
        "--argstr",
        "nonce",
        &nonce,
    ];
    let run = eval(&args);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    assert_ifd_fixture(&p, None);
    let recs = recommendations(&p);
    assert!(
        recs.iter()
            .any(|r| r.kind == "ifd" && r.issue.contains("import"))
    );

    // Evaluated again: already built, still IFD.
    let again = eval(&args);
    assert!(again.output.status.success(), "{}", again.stderr());
    assert_eq!(again.profile().ifds.len(), 2);

    // `--read-only` evaluates as plain `nix-instantiate --eval` does: IFD cannot proceed, and
    // nixperf says why in one line (the partial profile is still written).
    let fresh = format!("{nonce}-ro");
    let ro = eval(&[
        "-f",
        "nix-tests/fixtures/findings/ifd.nix",
        "--argstr",
        "nonce",
        &fresh,
        "--read-only",
    ]);
    assert!(!ro.output.status.success());
    let err = ro.stderr();
    assert!(
        err.contains("nixperf: evaluation needed to build a derivation (import from derivation) in a read-only store"),
        "{err}"
    );
    assert!(ro.profile().meta.status.is_partial());
}
