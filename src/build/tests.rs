//! Unit tests on real logs captured from Nix 2.8 on this machine (`nix-tests/build/logs/`):
//! `*-stamped.log.json` were written by `nixperf build` (receive times), the others are plain
//! `nix-build --log-format internal-json -v` stderr.

use super::graph::Graph;
use super::ingest::ingest_text;
use super::model::*;
use super::{phases, profile_db, report, simulate};

const DIAMOND: &str = include_str!("../../nix-tests/build/logs/diamond-stamped.log.json");
const FAILING: &str = include_str!("../../nix-tests/build/logs/failing-stamped.log.json");
const SUBST: &str = include_str!("../../nix-tests/build/logs/substitute-http-stamped.log.json");
const SUBST_PLAIN: &str = include_str!("../../nix-tests/build/logs/substitute-http-plain.log");
const CHAIN_PLAIN: &str = include_str!("../../nix-tests/build/logs/chain-max-jobs-2.log");
const REBUILD: &str = include_str!("../../nix-tests/build/logs/chain-rebuild.log");
const NIX_BUILD_CMD: &str = include_str!("../../nix-tests/build/logs/diamond-nix-build-cmd.log");

fn idx(p: &BuildProfile, name: &str) -> u32 {
    p.derivations.iter().position(|d| d.name == name).unwrap() as u32
}

/// The diamond's edges by name (the unit tests must not depend on the .drv files in the store).
fn diamond() -> BuildProfile {
    let mut p = ingest_text(DIAMOND);
    let (a, b, c, d) = (
        idx(&p, "diamond-a"),
        idx(&p, "diamond-b"),
        idx(&p, "diamond-c"),
        idx(&p, "diamond-d"),
    );
    p.edges = vec![(a, b), (a, c), (b, d), (c, d)];
    p
}

fn near(x: u64, want_s: f64, tol_s: f64) -> bool {
    (x as f64 / 1e9 - want_s).abs() <= tol_s
}

#[test]
fn diamond_builds_phases_and_log_lines() {
    let p = diamond();
    assert_eq!(p.warnings, Warnings::default());
    assert!(p.meta.timed);
    assert_eq!(p.meta.status, Status::Succeeded);
    assert_eq!(p.meta.exit_code, Some(0));
    assert_eq!(p.meta.command[0], "nix-build");
    let names: Vec<&str> = p.derivations.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["diamond-a", "diamond-b", "diamond-c", "diamond-d"]);
    for d in &p.derivations {
        assert_eq!(d.outcome, Outcome::Built);
        let ph: Vec<&str> = d.phases.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(ph, ["configurePhase", "buildPhase", "installPhase"]);
    }
    let lines: Vec<u64> = p.derivations.iter().map(|d| d.log_lines).collect();
    assert_eq!(lines, [3, 5, 3, 3]);
    let b = &p.derivations[1];
    assert!(near(b.wall_ns(), 2.0, 0.2), "{}", b.wall_ns());
    assert!(p.meta.eval_end_ns.unwrap() < p.derivations[0].start_ns);
}

#[test]
fn diamond_graph_and_simulation() {
    let p = diamond();
    let g = Graph::new(&p);
    let (path, cp) = g.critical_path();
    let names: Vec<&str> = path
        .iter()
        .map(|&i| p.derivations[i].name.as_str())
        .collect();
    assert_eq!(names, ["diamond-a", "diamond-b", "diamond-d"]);
    assert!(near(cp, 4.0, 0.2));
    assert_eq!(g.transitive_dependents(), [3, 1, 1, 0]);
    let sim = simulate::simulate(&p);
    assert!(near(sim.rows[0].critical_path_order_ns, 5.0, 0.2));
    assert!(near(sim.rows[1].critical_path_order_ns, 4.0, 0.2));
    assert_eq!(sim.observed_concurrency, 2);
    let err = sim.model_at_observed_ns as f64 / sim.measured_build_span_ns as f64 - 1.0;
    assert!(
        err.abs() < 0.05,
        "model {} vs span {}",
        sim.model_at_observed_ns,
        sim.measured_build_span_ns
    );
}

#[test]
fn phases_add_up_to_wall_time() {
    let p = diamond();
    let ph = phases::phases(&p);
    let total: u64 = ph.iter().map(|x| x.exclusive_ns).sum();
    assert_eq!(total, p.meta.wall_ns);
    let building = ph
        .iter()
        .find(|x| x.phase == phases::Phase::Building)
        .unwrap();
    assert!(building.share > 0.8, "{building:?}");
}

#[test]
fn failing_build_is_marked_failed() {
    let p = ingest_text(FAILING);
    assert_eq!(p.meta.status, Status::Failed);
    assert_eq!(p.meta.exit_code, Some(100));
    assert!(
        p.meta.reason.contains("failing-top.drv' failed"),
        "{}",
        p.meta.reason
    );
    let out: Vec<(&str, Outcome)> = p
        .derivations
        .iter()
        .map(|d| (d.name.as_str(), d.outcome))
        .collect();
    assert_eq!(
        out,
        [
            ("failing-dep", Outcome::Built),
            ("failing-top", Outcome::Failed)
        ]
    );
}

#[test]
fn substitutions_from_http_cache() {
    for (log, timed) in [(SUBST, true), (SUBST_PLAIN, false)] {
        let p = ingest_text(log);
        assert_eq!(p.meta.timed, timed);
        assert_eq!(p.derivations.len(), 0);
        assert_eq!(p.substitutions.len(), 4);
        assert_eq!(p.queries.len(), 4);
        for s in &p.substitutions {
            assert!(s.substituter.starts_with("http://127.0.0.1:"));
            assert!(s.bytes > 100 && s.bytes < 1000, "{s:?}");
            assert_eq!(s.outcome, Outcome::Built);
        }
        // Every NAR download belongs to exactly one substitution.
        let nar: u64 = p
            .transfers
            .iter()
            .filter(|t| t.url.contains("/nar/"))
            .map(|t| t.bytes)
            .sum();
        assert_eq!(nar, p.substitutions.iter().map(|s| s.bytes).sum::<u64>());
        let r = report::build_report(&p, 10);
        assert_eq!(r.substituters.len(), 1);
        assert_eq!(
            (r.substituters[0].queried, r.substituters[0].substituted),
            (4, 4)
        );
        assert_eq!(r.substituters[0].hit_rate, 1.0);
    }
}

#[test]
fn plain_logs_without_stamps() {
    let p = ingest_text(CHAIN_PLAIN);
    assert!(!p.meta.timed);
    assert_eq!(p.derivations.len(), 6);
    assert!(
        p.derivations
            .iter()
            .all(|d| d.outcome == Outcome::Built && d.wall_ns() == 0)
    );
    assert_eq!(
        p.derivations
            .iter()
            .find(|d| d.name == "chain-w1")
            .unwrap()
            .log_lines,
        20
    );
    let p = ingest_text(NIX_BUILD_CMD);
    assert_eq!(p.derivations.len(), 4);
    let p = ingest_text(REBUILD);
    assert_eq!((p.derivations.len(), p.meta.status), (0, Status::Succeeded));
    assert_eq!(p.warnings.total(), 0);
}

#[test]
fn bad_lines_are_counted_with_the_first_line_number() {
    let lines: Vec<&str> = DIAMOND.lines().collect();
    // Line 5 truncated mid-JSON; an unknown activity type started at line 8 (and stopped), an
    // unknown result type at line 9.
    let mut bad: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let half = bad[4].len() / 2;
    bad[4].truncate(half);
    bad.insert(
        7,
        r#"@nix {"action":"start","id":1,"level":0,"text":"","type":999}"#.into(),
    );
    bad.insert(
        8,
        r#"@nix {"action":"result","fields":[],"id":1,"type":998}"#.into(),
    );
    bad.insert(9, r#"@nix {"action":"stop","id":1}"#.into());
    let p = ingest_text(&bad.join("\n"));
    assert_eq!(p.warnings.malformed, 1);
    assert_eq!(p.warnings.unknown_types, 2);
    assert_eq!(p.warnings.out_of_order, 0);
    assert_eq!(p.warnings.first_bad_line, Some(5));
    assert_eq!(p.derivations.len(), 4);
    // Out of order: the last build's stop moved before its start.
    let stop = lines
        .iter()
        .rposition(|l| l.contains("\"action\":\"stop\""))
        .unwrap();
    let mut swapped: Vec<&str> = lines.clone();
    let l = swapped.remove(stop);
    swapped.insert(1, l);
    let p = ingest_text(&swapped.join("\n"));
    assert!(p.warnings.out_of_order >= 1);
    assert_eq!(p.warnings.first_bad_line, Some(2));
    // A log cut in the middle of a build: unfinished, profile failed, no panic.
    let cut = lines
        .iter()
        .position(|l| l.contains("diamond-b line 2"))
        .unwrap();
    let p = ingest_text(&lines[..cut].join("\n"));
    assert_eq!(p.meta.status, Status::Failed);
    assert!(
        p.derivations
            .iter()
            .any(|d| d.outcome == Outcome::Unfinished)
    );
    // Garbage never panics.
    for junk in [
        "",
        "\0\0\0",
        "@nix",
        "@nix {}",
        "1 @nix {\"action\":\"result\",\"fields\":[",
        "99999999999999999999999 @nix x",
    ] {
        let _ = ingest_text(junk);
    }
}

#[test]
fn store_round_trip() {
    let mut p = diamond();
    p.samples = vec![Sample {
        t_ns: 5,
        cpu: vec![0.5, 0.25],
        mem_used: 7,
        ..Default::default()
    }];
    p.errors = vec!["x".into()];
    let dir = std::env::temp_dir().join(format!("nixperf-build-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("b.db");
    profile_db::write(&f, &p).unwrap();
    assert_eq!(profile_db::read(&f).unwrap(), p);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without `--option substituters ''` and no network, Nix 2.8 retries cache.nixos.org's
/// `nix-cache-info` for ~4.4 s before building: that is querying, not fetching (nothing arrives).
#[test]
fn unreachable_cache_is_querying_not_fetching() {
    const UNREACHABLE: &str =
        include_str!("../../nix-tests/build/logs/unreachable-cache-stamped.log.json");
    let p = ingest_text(UNREACHABLE);
    let ph = phases::phases(&p);
    let get = |x| ph.iter().find(|t| t.phase == x).unwrap().clone();
    assert_eq!(get(phases::Phase::Fetching).busy_ns, 0);
    let q = get(phases::Phase::Querying);
    assert!(near(q.exclusive_ns, 4.38, 0.05), "{q:?}");
    assert!(near(get(phases::Phase::Building).exclusive_ns, 4.05, 0.2));
    let r = report::build_report(&p, 10);
    assert_eq!(r.substituters.len(), 1);
    let s = &r.substituters[0];
    assert_eq!(s.url, "https://cache.nixos.org");
    // Four "retrying" warnings and the final "unable to download".
    assert_eq!((s.queried, s.substituted, s.download_errors), (0, 0, 5));
    assert!(near(s.query_ns, 4.38, 0.05));
    // The trace shows the lookup on its own lane.
    let t = super::chrome::trace(&p);
    let q: Vec<&serde_json::Value> = t["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "query")
        .collect();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["name"], "nix-cache-info");
    assert!((q[0]["dur"].as_f64().unwrap() / 1e6 - 4.38).abs() < 0.05);
}

/// SIGINT to nix-build while chain-w1 (2 s) was building: nix stops the build's activity, but
/// its count of finished builds does not move, so the build is unfinished, not built.
#[test]
fn interrupted_build_is_unfinished() {
    const INTERRUPTED: &str =
        include_str!("../../nix-tests/build/logs/interrupted-stamped.log.json");
    let p = ingest_text(INTERRUPTED);
    assert_eq!(p.meta.status, Status::Interrupted);
    let out: Vec<(&str, Outcome)> = p
        .derivations
        .iter()
        .map(|d| (d.name.as_str(), d.outcome))
        .collect();
    assert_eq!(out, [("chain-w1", Outcome::Unfinished)]);
    // Finished builds still count as built, failed ones as failed.
    assert!(
        diamond()
            .derivations
            .iter()
            .all(|d| d.outcome == Outcome::Built)
    );
    let f = ingest_text(FAILING);
    assert_eq!(f.derivations[1].outcome, Outcome::Failed);
}

/// A substitution that stopped without Nix counting it as done (the count moves just after the
/// stop) is unfinished: cut the substitution log after the last stop, before the count.
#[test]
fn substitution_stopped_without_count_is_unfinished() {
    let p = ingest_text(SUBST);
    assert!(p.substitutions.iter().all(|s| s.outcome == Outcome::Built));
    let lines: Vec<&str> = SUBST.lines().collect();
    let last_count = lines
        .iter()
        .position(|l| l.contains(r#""fields":[4,4,0,0]"#))
        .unwrap();
    let p = ingest_text(&lines[..last_count].join("\n"));
    let unfinished: Vec<&str> = p
        .substitutions
        .iter()
        .filter(|s| s.outcome == Outcome::Unfinished)
        .map(|s| store_name(&s.store_path))
        .collect();
    assert_eq!(unfinished, ["diamond-d"]);
}
