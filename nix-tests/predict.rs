//! `nixperf predict` on real builds: after one recorded build of the diamond at max-jobs 1, the
//! prediction of a rebuild (new nonce: every derivation builds again) at max-jobs 2 is within
//! 20 % of the measured time, and the build run carries the prediction and its error.

mod common;

use common::ok;

use std::process::Command;

fn nixperf(hist: &std::path::Path) -> Command {
    let mut c = common::nixperf();
    c.env("NIXPERF_HISTORY", hist).current_dir(common::repo());
    // The builds go to a store of the test's own, never the machine's /nix.
    common::private_store(&mut c);
    c
}

fn diamond(nonce: &str, jobs: &str) -> Vec<String> {
    let nonce = common::nonce(nonce);
    [
        "nix-build",
        "nix-tests/build/diamond.nix",
        "--argstr",
        "nonce",
        &nonce,
        "--option",
        "max-jobs",
        jobs,
        "--no-out-link",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn prediction_within_20_percent_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let hist = dir.path().join("history.db");
    // Nothing recorded yet: every derivation is unknown and the tool says so.
    let cmd2 = diamond("second", "2");
    let text = ok(nixperf(&hist)
        .arg("predict")
        .arg("--")
        .args(&cmd2)
        .output()
        .unwrap());
    assert!(text.contains("no recorded builds"), "{text}");

    let cmd1 = diamond("first", "1");
    ok(nixperf(&hist)
        .args(["build", "-q", "-o"])
        .arg(dir.path().join("b1.db"))
        .arg("--")
        .args(&cmd1)
        .output()
        .unwrap());

    let out = nixperf(&hist)
        .args(["predict", "--json", "--"])
        .args(&cmd2)
        .output()
        .unwrap();
    let p: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(p["max_jobs"], 2);
    assert_eq!(p["derivations"].as_array().unwrap().len(), 4);
    assert_eq!(p["unknown"], 0);
    let predicted = p["total_ns"].as_f64().unwrap() / 1e9;
    // By construction: critical path a(1) b(2) d(1) = 4 s at max-jobs 2.
    assert!(
        (p["build_span_ns"].as_f64().unwrap() / 1e9 - 4.0).abs() < 0.4,
        "{p}"
    );

    let out = nixperf(&hist)
        .args(["build", "-q", "--json", "-o"])
        .arg(dir.path().join("b2.db"))
        .arg("--")
        .args(&cmd2)
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let actual = r["wall_ns"].as_f64().unwrap() / 1e9;
    let err = (predicted - actual).abs() / actual;
    assert!(
        err < 0.20,
        "predicted {predicted:.2} s, measured {actual:.2} s"
    );

    let out = nixperf(&hist)
        .args(["history", "show", "--json"])
        .output()
        .unwrap();
    let show = ok(&out);
    assert!(show.contains("build.prediction_error_pct"), "{show}");
}
