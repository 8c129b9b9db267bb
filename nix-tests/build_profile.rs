//! `nixperf build` on real builds: the fixture graphs in `nix-tests/build/` (`/bin/sh` builders
//! that sleep known times) built by the real nix-build with `--option max-jobs 2`, a fresh nonce
//! each time so every derivation really builds; real binary caches written by `nix copy` and
//! served over HTTP on 127.0.0.1; replays of the saved logs; broken logs.

mod common;

use common::nonce;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    common::fixture(&format!("build/{name}"))
        .to_string_lossy()
        .into_owned()
}

struct Build {
    output: Output,
    report: Value,
    db: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Build {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

/// `nixperf` whose Nix commands build into a store of the test's own (common::private_store).
fn private_nixperf() -> Command {
    let mut c = common::nixperf();
    common::private_store(&mut c);
    c
}

/// `nixperf build --json -o <tmp>/b.db -- nix-build <fixture> --argstr nonce N <extra…>`.
fn build(file: &str, nonce: &str, extra: &[&str]) -> Build {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let mut cmd = common::nixperf();
    // Builds go to a store of the test's own, never the machine's /nix.
    common::private_store(&mut cmd);
    cmd.args(["build", "--json", "-q", "-o"])
        .arg(&db)
        .args(["--", "nix-build"])
        .arg(fixture(file))
        .args(["--argstr", "nonce", nonce, "--no-out-link"])
        .args(extra);
    let output = cmd.output().expect("run nixperf build");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    Build {
        output,
        report,
        log: db.with_extension("log.json"),
        db,
        _dir: dir,
    }
}

const LOCAL: [&str; 4] = ["--option", "max-jobs", "2", "--option"];

fn local_build(file: &str, nonce: &str) -> Build {
    let mut extra = LOCAL.to_vec();
    extra.extend(["substituters", ""]);
    build(file, nonce, &extra)
}

/// `nixperf build --json ARGS` on something that is not a live run (replay, show).
fn report_of(args: &[&str], path: &Path) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = private_nixperf()
        .args(["build", "--json", "-o"])
        .arg(dir.path().join("r.db"))
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn secs(v: &Value) -> f64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}")) as f64 / 1e9
}

fn assert_near(what: &str, got: f64, want: f64, slack: f64) {
    // Sleeps never end early; a loaded machine makes them late, never early.
    assert!(
        got >= want - 0.05 && got <= want + slack,
        "{what}: {got:.3} s, expected {want} s (+{slack})"
    );
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// The simulation's critical-path-order time for `max_jobs`.
fn sim(r: &Value, max_jobs: u64) -> f64 {
    let row = r["simulation"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["max_jobs"] == max_jobs)
        .unwrap_or_else(|| panic!("no max-jobs {max_jobs} row"));
    secs(&row["critical_path_order_ns"])
}

/// The report without what only a live run has (resource samples).
fn without_resources(mut r: Value) -> Value {
    r.as_object_mut().unwrap().remove("resources");
    r
}

#[test]
fn diamond_critical_path_slowest_simulation_replay_and_rebuild() {
    let n = nonce("diamond");
    let b = local_build("diamond.nix", &n);
    assert!(b.output.status.success(), "{}", b.stderr());
    let r = &b.report;
    assert_eq!(r["status"], "succeeded");
    assert_eq!(r["builds"], 4);
    let g = &r["graph"];
    assert_eq!(
        names(&g["critical_path"]),
        ["diamond-a", "diamond-b", "diamond-d"]
    );
    assert_near("critical path", secs(&g["critical_path_ns"]), 4.0, 0.8);
    assert_eq!(g["bottlenecks"][0], serde_json::json!(["diamond-a", 3]));
    let slowest = r["slowest"].as_array().unwrap();
    assert_eq!(slowest.len(), 4);
    assert_eq!(slowest[0]["name"], "diamond-b");
    assert_near("diamond-b", secs(&slowest[0]["wall_ns"]), 2.0, 0.5);
    for d in &slowest[1..] {
        assert_near(d["name"].as_str().unwrap(), secs(&d["wall_ns"]), 1.0, 0.5);
        assert_eq!(d["outcome"], "built");
    }
    // Phases reported by the builders, log lines counted.
    assert_eq!(slowest[0]["log_lines"], 5);
    let phases: Vec<&str> = slowest[0]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["configurePhase", "buildPhase", "installPhase"]);
    // Simulation: one job = all the work in series; two or more = the critical path.
    let work = secs(&g["total_work_ns"]);
    assert_near("total work", work, 5.0, 1.0);
    assert_near("max-jobs 1", sim(r, 1), work, 0.001);
    assert_near("max-jobs 2", sim(r, 2), secs(&g["critical_path_ns"]), 0.001);
    assert_near("max-jobs 4", sim(r, 4), secs(&g["critical_path_ns"]), 0.001);
    assert_eq!(r["simulation"]["observed_concurrency"], 2);
    let span = secs(&r["simulation"]["measured_build_span_ns"]);
    let model = secs(&r["simulation"]["model_at_observed_ns"]);
    assert!(
        (model - span).abs() < 0.05 * span,
        "model {model} vs measured span {span}"
    );
    // cores: sleeping builds use no CPU, so no cores value changes anything.
    let c = &r["cores_simulation"];
    assert_eq!(c["measured_builds"], 4, "{c}");
    for row in c["rows"].as_array().unwrap() {
        let mj = row[0].as_u64().unwrap();
        for t in row[1].as_array().unwrap() {
            let want = sim(r, mj);
            assert!(
                (secs(t) - want).abs() < 0.05 * want,
                "max-jobs {mj}: {t} vs {want}"
            );
        }
    }
    for d in slowest {
        assert!(
            secs(&d["cpu_ns"]) < 0.3,
            "{} used CPU while sleeping?",
            d["name"]
        );
    }
    assert_eq!(r["warnings"]["malformed"], 0);
    assert!(r["resources"]["samples"].as_u64().unwrap() >= 4);

    // Replaying the saved log gives the same report, minus the live-only resource samples.
    let replay = report_of(&["--replay"], &b.log);
    assert_eq!(without_resources(replay), without_resources(r.clone()));
    // Exports: the Chrome trace has the four builds, the dot graph the four edges, critical
    // path in red.
    let dir = tempfile::tempdir().unwrap();
    let (trace, dot) = (dir.path().join("t.json"), dir.path().join("g.dot"));
    let out = private_nixperf()
        .args(["build", "-o"])
        .arg(dir.path().join("x.db"))
        .arg("--trace")
        .arg(&trace)
        .arg("--dot")
        .arg(&dot)
        .arg("--replay")
        .arg(&b.log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let t: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let builds = t["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "build")
        .count();
    assert_eq!(builds, 4);
    let dot = std::fs::read_to_string(&dot).unwrap();
    assert_eq!(dot.matches(" -> ").count(), 4, "{dot}");
    assert_eq!(dot.matches("[color=red, penwidth=2]").count(), 2, "{dot}");
    assert!(dot.contains("label=\"diamond-b\\n"), "{dot}");

    // The saved profile gives the very same report, resources included.
    assert_eq!(report_of(&["--show"], &b.db), *r);

    // Building the same graph again builds nothing.
    let again = local_build("diamond.nix", &n);
    assert!(again.output.status.success(), "{}", again.stderr());
    assert_eq!(again.report["builds"], 0);
    assert_eq!(again.report["status"], "succeeded");
    assert_eq!(again.report["simulation"]["rows"][0]["max_jobs"], 1);
}

#[test]
fn chain_beside_wide_leaves() {
    let b = local_build("chain.nix", &nonce("chain"));
    assert!(b.output.status.success(), "{}", b.stderr());
    let r = &b.report;
    assert_eq!(r["builds"], 6);
    let g = &r["graph"];
    assert_eq!(
        names(&g["critical_path"]),
        ["chain-c1", "chain-c2", "chain-c3", "chain-top"]
    );
    assert_near("critical path", secs(&g["critical_path_ns"]), 4.0, 1.0);
    assert_eq!(g["bottlenecks"][0], serde_json::json!(["chain-c1", 3]));
    let slowest = r["slowest"].as_array().unwrap();
    let top2: Vec<&str> = slowest[..2]
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(
        top2.contains(&"chain-w1") && top2.contains(&"chain-w2"),
        "{top2:?}"
    );
    for d in &slowest[..2] {
        assert_near("wide leaf", secs(&d["wall_ns"]), 2.0, 0.5);
    }
    // The chain's fixture comment: max-jobs 1 = 8 s, 2 = 5 s, 4 = 4 s (critical path), each
    // from the measured durations.
    let work = secs(&g["total_work_ns"]);
    assert_near("total work", work, 8.0, 1.5);
    assert_near("max-jobs 1", sim(r, 1), work, 0.001);
    assert_near("max-jobs 2", sim(r, 2), 5.0, 1.0);
    assert_near("max-jobs 4", sim(r, 4), secs(&g["critical_path_ns"]), 0.001);
    assert!(sim(r, 2) > secs(&g["critical_path_ns"]) + 0.5);
    // Nix's own order at 2 jobs is never better than the critical-path order.
    let row2 = &r["simulation"]["rows"][1];
    assert!(row2["observed_order_ns"].as_u64() >= row2["critical_path_order_ns"].as_u64());
}

#[test]
fn failing_build_leaves_a_failed_profile() {
    let b = local_build("failing.nix", &nonce("failing"));
    assert!(!b.output.status.success());
    assert_ne!(b.output.status.code(), Some(0));
    let r = &b.report;
    assert_eq!(r["status"], "failed");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("failing-top.drv' failed"),
        "{}",
        r["reason"]
    );
    assert_eq!(r["builds_failed"], 1);
    assert!(b.db.exists() && b.log.exists());
    let shown = report_of(&["--show"], &b.db);
    assert_eq!(shown["status"], "failed");
    assert_eq!(shown["exit_code"], r["exit_code"]);
    // `nixperf report` recognises a build profile.
    let out = private_nixperf()
        .args(["report", "--json"])
        .arg(&b.db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let via_report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(via_report, shown);
}

/// CPU-bound builds: nixperf's per-build CPU time matches what each builder measured itself
/// (`times`), whatever else the machine runs.
#[test]
fn per_build_cpu_matches_the_builders_own_accounting() {
    let n = nonce("cpu");
    let mut extra = LOCAL.to_vec();
    extra.extend(["substituters", "", "--option", "cores", "2"]);
    let b = build("cpu.nix", &n, &extra);
    assert!(b.output.status.success(), "{}", b.stderr());
    let slowest = b.report["slowest"].as_array().unwrap();
    let par = slowest.iter().find(|d| d["name"] == "cpu-par").unwrap();
    // The builder's `times`: children's user and system time, second line of $out.
    let out = common::private_store(&mut Command::new("nix-store"))
        .args(["-q", "--outputs"])
        .arg(par["drv_path"].as_str().unwrap())
        .output()
        .unwrap();
    let out_path = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let times = std::fs::read_to_string(&out_path).unwrap();
    let child_line = times.lines().nth(1).unwrap();
    let own: f64 = child_line
        .split_whitespace()
        .map(|t| {
            let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
            m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
        })
        .sum();
    let measured = secs(&par["cpu_ns"]);
    assert!(own > 0.2, "the fixture burns CPU: {times}");
    assert!(
        measured >= own - 0.02 && measured <= own + 0.1,
        "nixperf {measured:.3} s, builder's own {own:.3} s"
    );
    // Two workers at cores = 2: two runnable threads.
    let demand = par["demand"].as_f64().unwrap();
    assert!((1.5..=2.5).contains(&demand), "{demand}");
    let c = &b.report["cores_simulation"];
    assert_eq!(c["cores_values"][0], 1);
    assert_eq!(c["cores_values"][1], 2);
    // cpu-par's work is fully parallel: cores 1 takes longer than cores 2.
    let row = &c["rows"][0][1];
    assert!(row[0].as_u64() > row[1].as_u64(), "{c}");
}

#[test]
fn broken_logs_are_counted_not_fatal() {
    let good =
        std::fs::read_to_string(common::fixture("build/logs/diamond-stamped.log.json")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, text: String, want_first: u64, key: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let r = report_of(&["--replay"], &f);
        let w = &r["warnings"];
        assert_eq!(w["first_bad_line"], want_first, "{name}: {w}");
        assert!(w[key].as_u64().unwrap() >= 1, "{name}: {w}");
        // Text output says it too.
        let out = private_nixperf()
            .args(["build", "-o"])
            .arg(dir.path().join("t.db"))
            .arg("--replay")
            .arg(&f)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("first at line {want_first}")),
            "{name}: {text}"
        );
        r
    };
    // Truncated JSON on line 6.
    let mut t: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let half = t[5].len() / 2;
    t[5].truncate(half);
    let r = check("truncated.log", t.join("\n"), 6, "malformed");
    assert_eq!(r["builds"], 4);
    // An unknown activity type on line 3.
    let mut t: Vec<&str> = lines.clone();
    t.insert(
        2,
        r#"30000000 @nix {"action":"start","id":9,"level":0,"text":"","type":4242}"#,
    );
    check("unknown.log", t.join("\n"), 3, "unknown_types");
    // Out of order: the last stop moved to line 2.
    let mut t: Vec<&str> = lines.clone();
    let stop = t
        .iter()
        .rposition(|l| l.contains("\"action\":\"stop\""))
        .unwrap();
    let l = t.remove(stop);
    t.insert(1, l);
    check("order.log", t.join("\n"), 2, "out_of_order");
    // A log cut in the middle: no panic, the profile says failed.
    let cut = lines.len() / 2;
    let f = dir.path().join("cut.log");
    std::fs::write(&f, lines[..cut].join("\n")).unwrap();
    let r = report_of(&["--replay"], &f);
    assert_eq!(r["status"], "failed");
    // Not a log at all: one clear line, non-zero exit.
    let out = private_nixperf()
        .args(["build", "--replay", "/nonexistent/log.json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

fn nix(args: &[&str]) -> String {
    let out = common::private_store(&mut Command::new(args[0]))
        .args(&args[1..])
        .env("NIX_CONFIG", "substituters =")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn nar_bytes(cache: &Path) -> u64 {
    std::fs::read_dir(cache.join("nar"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn binary_caches_hit_rates_and_bytes() {
    let n = nonce("cache");
    let dir = tempfile::tempdir().unwrap();
    let file = fixture("cache.nix");
    let top = nix(&[
        "nix-build",
        &file,
        "--argstr",
        "nonce",
        &n,
        "--no-out-link",
        "--option",
        "substituters",
        "",
    ]);
    let top = top.trim();
    let closure: Vec<String> = nix(&["nix-store", "-qR", top])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(closure.len(), 4, "{closure:?}");
    let b = closure.iter().find(|p| p.ends_with("-cache-b")).unwrap();
    // DIR1: the whole closure; DIR2: only b's closure (a, b).
    let (d1, d2) = (dir.path().join("c1"), dir.path().join("c2"));
    let to = |d: &Path| format!("file://{}", d.display());
    let x = "--extra-experimental-features";
    nix(&["nix", x, "nix-command", "copy", "--to", &to(&d1), top]);
    nix(&["nix", x, "nix-command", "copy", "--to", &to(&d2), b]);
    assert!(d1.join("nix-cache-info").exists() && d2.join("nix-cache-info").exists());
    let (s1, s2) = (
        common::HttpServer::serve(&d1),
        common::HttpServer::serve(&d2),
    );

    let delete = || {
        let mut args = vec!["nix-store", "--delete"];
        args.extend(closure.iter().map(String::as_str));
        nix(&args);
    };
    let from = |url: &str| {
        let mut extra = LOCAL.to_vec();
        extra.extend(["substituters", url, "--option", "require-sigs", "false"]);
        build("cache.nix", &n, &extra)
    };

    // Everything from DIR1: four substitutions, no build, hit rate 100 %, the NAR bytes.
    delete();
    let r1 = from(&s1.url());
    assert!(r1.output.status.success(), "{}", r1.stderr());
    let r = &r1.report;
    assert_eq!(
        (r["builds"].as_u64(), r["substitutions"].as_u64()),
        (Some(0), Some(4))
    );
    let rows = r["substituters"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let s = &rows[0];
    assert_eq!(s["url"], s1.url().as_str());
    assert_eq!(
        (s["queried"].as_u64(), s["substituted"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(s["hit_rate"], 1.0);
    assert_eq!(s["failed"], 0);
    assert_eq!(s["bytes"].as_u64().unwrap(), nar_bytes(&d1));
    // Real downloads are fetching; lookups are querying.
    let phase = |r: &Value, name: &str| {
        r["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["phase"] == name)
            .map(|p| p["busy_ns"].as_u64().unwrap())
            .unwrap()
    };
    assert!(phase(r, "fetching") > 0 && phase(r, "querying") > 0);
    assert_eq!(phase(r, "building"), 0);

    // From DIR2 (a and b only): d, b, c, a are looked up, a and b substituted (2 of 4), c and
    // d built.
    delete();
    let r2 = from(&s2.url());
    assert!(r2.output.status.success(), "{}", r2.stderr());
    let r = &r2.report;
    assert_eq!(
        (r["builds"].as_u64(), r["substitutions"].as_u64()),
        (Some(2), Some(2))
    );
    let s = &r["substituters"][0];
    assert_eq!(
        (s["queried"].as_u64(), s["substituted"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(s["hit_rate"], 0.5);
    assert_eq!(s["bytes"].as_u64().unwrap(), nar_bytes(&d2));
    drop((s1, s2));
}

/// `nixperf build` of the chain fixture, once nix runs its first builder: (nixperf, nix's pid).
fn start_chain_build(db: &Path, tag: &str) -> (std::process::Child, i32) {
    let child = private_nixperf()
        .args(["build", "--json", "-q", "-o"])
        .arg(db)
        .args(["--", "nix-build"])
        .arg(fixture("chain.nix"))
        .args(["--argstr", "nonce", &nonce(tag), "--no-out-link"])
        .args(["--option", "max-jobs", "1", "--option", "substituters", ""])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let children = |pid: u32| -> Vec<u32> {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect()
    };
    let t = Instant::now();
    let nix_pid = loop {
        if let Some(&nix) = children(child.id()).first()
            && !children(nix).is_empty()
        {
            break nix as i32;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no build started");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(200));
    (child, nix_pid)
}

/// Ctrl-C during a build: nix stops, nixperf stays to write the profile, marked interrupted,
/// the build cut short unfinished (not built).
#[test]
fn interrupted_build_leaves_an_interrupted_profile() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    // Interrupt nix itself, as the terminal's Ctrl-C would.
    let (child, nix_pid) = start_chain_build(&db, "interrupt");
    assert_eq!(unsafe { libc::kill(nix_pid, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["status"], "interrupted", "{}", r["reason"]);
    assert!(r["builds_unfinished"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(report_of(&["--show"], &db)["status"], "interrupted");
}

/// SIGTERM to nixperf alone (a service manager stopping it, `kill PID`): passed on to nix,
/// which stops; nixperf writes the interrupted profile and exits 128 + SIGTERM; no nix left.
#[test]
fn sigterm_to_nixperf_build_alone_stops_nix_and_keeps_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (child, nix_pid) = start_chain_build(&db, "sigterm");
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(out.status.code(), Some(128 + libc::SIGTERM));
    let alive = std::fs::read_to_string(format!("/proc/{nix_pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    });
    assert!(!alive, "nix {nix_pid} still running");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["status"], "interrupted", "{}", r["reason"]);
    assert_eq!(report_of(&["--show"], &db)["status"], "interrupted");
}
