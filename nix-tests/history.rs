//! The history under load and damage, and compare/baseline on real evaluations: 8 concurrent
//! writers × 100 runs, a writer SIGKILLed mid-transaction, corrupt/foreign/newer databases, and
//! a module made slower on purpose between real `nixperf eval` runs.

mod common;

use common::{np, ok, repo};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn runs_json(history: &Path) -> Vec<serde_json::Value> {
    let out = ok(np(history)
        .args(["history", "list", "--limit", "100000", "--json"])
        .output()
        .unwrap());
    serde_json::from_str(&out).unwrap()
}

#[test]
fn eight_concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state/history.db");
    let bin = env!("CARGO_BIN_EXE_nixperf");
    // 8 processes at once, each a loop of 100 separate `nixperf history record` processes (as
    // 8 CI jobs recording runs into one history would).
    let children: Vec<_> = (0..8)
        .map(|w| {
            Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "i=0; while [ $i -lt 100 ]; do \"$0\" --history \"$1\" history record \
                     --kind test --target w{w} --metric seq=$i --metric build.wall_s=1.5:s \
                     >/dev/null || exit 1; i=$((i+1)); done"
                ))
                .arg(bin)
                .arg(&db)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let runs = runs_json(&db);
    assert_eq!(runs.len(), 800);
    // Every (writer, sequence number) exactly once.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let distinct: i64 = conn
        .query_row(
            "SELECT count(DISTINCT r.target || ':' || m.value) FROM runs r
             JOIN metrics m ON m.run_id = r.id WHERE m.name = 'seq'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(distinct, 800);
    let check = ok(np(&db).args(["history", "check"]).output().unwrap());
    assert!(check.contains("800 runs, integrity ok"), "{check}");
}

#[test]
fn sigkilled_writer_leaves_every_committed_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    for i in 0..5 {
        ok(np(&db)
            .args(["history", "record", "--kind", "test", "--target", "t"])
            .arg(format!("--metric=seq={i}"))
            .output()
            .unwrap());
    }
    // A writer that holds its transaction open (run inserted, metrics inserted, not committed).
    let mut child = np(&db)
        .args(["history", "record", "--kind", "test", "--target", "killed"])
        .args(["--metric", "seq=99", "--hold-ms", "60000"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert!(line.contains("holding the history transaction"), "{line}");
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let st = child.wait().unwrap();
    assert!(!st.success());

    let check = ok(np(&db).args(["history", "check"]).output().unwrap());
    assert!(check.contains("5 runs, integrity ok"), "{check}");
    let runs = runs_json(&db);
    assert!(runs.iter().all(|r| r["target"] == "t"));
    // The lock died with the writer: the next run records at once.
    ok(np(&db)
        .args([
            "history", "record", "--kind", "test", "--target", "t", "--metric", "seq=5",
        ])
        .output()
        .unwrap());
    assert_eq!(runs_json(&db).len(), 6);
}

fn refused(db: &Path, expect: &str) {
    let before = std::fs::read(db).unwrap();
    for args in [
        &["history", "list"][..],
        &[
            "history", "record", "--kind", "x", "--target", "y", "--metric", "a=1",
        ][..],
        &["compare"][..],
    ] {
        let o = np(db).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
        assert_eq!(
            std::fs::read(db).unwrap(),
            before,
            "{args:?} changed the file"
        );
    }
}

#[test]
fn corrupt_foreign_and_newer_databases_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    refused(&garbage, "not a nixperf history database");

    let newer = dir.path().join("newer.db");
    {
        let c = rusqlite::Connection::open(&newer).unwrap();
        c.execute_batch(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY);
             PRAGMA application_id = 1853386856; PRAGMA user_version = 99;",
        )
        .unwrap();
    }
    refused(&newer, "newer than this nixperf understands");

    let foreign = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    refused(&foreign, "not a nixperf history database");

    // A real history cut in half (lost pages).
    let cut = dir.path().join("cut.db");
    for i in 0..300 {
        ok(np(&cut)
            .args(["history", "record", "--kind", "k", "--target", "t"])
            .arg(format!("--metric=m{i}={i}"))
            .output()
            .unwrap());
    }
    ok(np(&cut).args(["history", "check"]).output().unwrap());
    let _ = std::fs::remove_file(cut.with_extension("db-wal"));
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = np(&cut)
        .args(["history", "list", "--limit", "1000"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("corrupt") && err.lines().count() == 1, "{err}");

    // `nixperf eval` with a broken history: the evaluation's own output, then one line, exit 1.
    let before = std::fs::read(&newer).unwrap();
    let o = np(&newer)
        .current_dir(repo())
        .args(["eval", "-o"])
        .arg(dir.path().join("p.db"))
        .args(["-f", "nix-tests/fixtures/fib.nix"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("newer than this nixperf"));
    assert_eq!(std::fs::read(&newer).unwrap(), before);
}

#[test]
fn older_schema_is_migrated_keeping_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v1.db");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(nixperf::history::schema_migration(0))
            .unwrap();
        c.execute_batch(
            "INSERT INTO runs (started_at, kind, host, target, status, nix_version,
                               nixperf_version, git_rev, command, profile_path)
             VALUES (1700000000, 'eval', 'old-host', 'old', 'complete', '2.8.0', '0.0.1', NULL,
                     '[\"nixperf\"]', NULL);
             INSERT INTO metrics VALUES (1, 'eval.wall_s', 2.5, 's');
             PRAGMA application_id = 1853386856; PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let out = ok(np(&db).args(["history", "show", "1"]).output().unwrap());
    assert!(out.contains("old-host") && out.contains("2.50 s"), "{out}");
    let check = ok(np(&db).args(["history", "check"]).output().unwrap());
    assert!(
        check.contains(&format!("schema {}", nixperf::history::SCHEMA_VERSION)),
        "{check}"
    );
    // The new tables work on the migrated file.
    ok(np(&db)
        .args(["baseline", "1", "-o"])
        .arg(dir.path().join("b.json"))
        .output()
        .unwrap());
}

/// `nixperf eval` of the regress fixture with `work`, recorded in `db`.
fn eval_regress(db: &Path, work: u32, out: &Path) -> String {
    let o = np(db)
        .current_dir(repo())
        .args(["eval", "-o"])
        .arg(out.join("p.db"))
        .args(["-f", "nix-tests/fixtures/regress", "--arg", "work"])
        .arg(work.to_string())
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{s}");
    assert!(s.contains("recorded run #"), "{s}");
    s
}

/// `compare --runs 5 --fail-on-regression` of the last five runs against the five before them,
/// writing the differential flamegraph to `diff`.
fn compare_last_five(db: &Path, diff: &Path) -> Output {
    np(db)
        .args([
            "compare",
            "--runs",
            "5",
            "--fail-on-regression",
            "--flamegraph",
        ])
        .arg(diff)
        .output()
        .unwrap()
}

#[test]
fn real_regression_is_flagged_and_same_tree_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    // Five repeat runs a side: with fewer, Welch's test has too few degrees of freedom to
    // call even a large change significant on a loaded machine.
    for _ in 0..5 {
        eval_regress(&db, 18, dir.path());
    }
    let b = ok(np(&db)
        .args(["baseline", "-o"])
        .arg(dir.path().join("performance-baseline.json"))
        .output()
        .unwrap());
    assert!(b.contains("baseline set: run #5"), "{b}");
    let exported: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("performance-baseline.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(exported["run"]["id"], 5);
    assert!(
        exported["metrics"]["eval.wall_s"]["value"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        exported["run"]["git_rev"].as_str().is_some(),
        "the fixture is in a git tree"
    );

    // The same tree again: nothing beyond the noise.
    for _ in 0..5 {
        eval_regress(&db, 18, dir.path());
    }
    let diff = dir.path().join("same.svg");
    let same = ok(compare_last_five(&db, &diff));
    assert!(
        same.contains("comparing #5 #4 #3 #2 #1") && same.contains("#10 #9 #8 #7 #6"),
        "{same}"
    );
    assert!(!same.contains("REGRESSION"), "{same}");
    // Deterministic counts are identical between the two sets.
    let j: serde_json::Value = serde_json::from_str(&ok(np(&db)
        .args(["compare", "--runs", "5", "--json", "--no-flamegraph"])
        .output()
        .unwrap()))
    .unwrap();
    let calls = j["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "eval.function_calls")
        .unwrap();
    assert_eq!(calls["change"], 0.0);

    // slow.nix made slower on purpose: fib 18 → fib 26 (~47× the calls).
    for _ in 0..5 {
        eval_regress(&db, 26, dir.path());
    }
    let diff = dir.path().join("flamegraph-diff.svg");
    let o = compare_last_five(&db, &diff);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The first regression named is the module, then the headline metrics.
    let first = text
        .lines()
        .find(|l| l.starts_with("REGRESSION: "))
        .unwrap();
    assert!(
        first.starts_with("REGRESSION: module nix-tests/fixtures/regress/slow.nix: self time"),
        "{text}"
    );
    assert!(text.contains("REGRESSION: eval.function_calls"), "{text}");
    // The module that moved most is named first in the modules table.
    let first_module = text
        .lines()
        .skip_while(|l| !l.contains("module (moved most first)"))
        .find(|l| l.contains(".nix"))
        .unwrap();
    assert!(
        first_module.contains("nix-tests/fixtures/regress/slow.nix"),
        "{text}"
    );
    assert!(first_module.contains("REGRESSION"), "{first_module}");
    assert!(
        text.contains("module that moved most: nix-tests/fixtures/regress/slow.nix"),
        "{text}"
    );
    // The differential flamegraph shows slow.nix's fib, red (grown).
    let svg = std::fs::read_to_string(&diff).unwrap();
    let folded = std::fs::read_to_string(diff.with_extension("folded")).unwrap();
    let fib_line = folded
        .lines()
        .filter(|l| l.contains("fib nix-tests/fixtures/regress/slow.nix"))
        .map(|l| {
            let v: Vec<u64> = l
                .rsplitn(3, ' ')
                .take(2)
                .map(|x| x.parse().unwrap())
                .collect();
            (v[1], v[0])
        })
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert!(
        fib_line.1 > 5 * fib_line.0,
        "fib self time before/after: {fib_line:?}"
    );
    // Frames only the slower run has (deeper fib recursion) are red: rgb(255,…).
    let red = svg
        .split("<g>")
        .filter(|g| g.contains("<title>fib nix-tests/fixtures/regress/slow.nix"))
        .filter(|g| g.contains("fill=\"rgb(255,"))
        .count();
    assert!(
        red > 0,
        "no red slow.nix frame in the differential flamegraph"
    );

    // Single runs against the baseline flag it too.
    let o = np(&db)
        .args(["compare", "--fail-on-regression", "--no-flamegraph"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn import_saved_profiles_and_no_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    // A real evaluation profile, written without recording (--no-history)…
    let p = dir.path().join("fib.db");
    let o = np(&db)
        .current_dir(repo())
        .args(["--no-history", "eval", "-o"])
        .arg(&p)
        .args(["-f", "nix-tests/fixtures/fib.nix"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("recorded run"));
    assert!(!db.exists(), "--no-history created the history");
    // …and a build profile from a saved log, then both imported.
    let b = dir.path().join("b.db");
    ok(np(&db)
        .args(["--no-history", "build", "-o"])
        .arg(&b)
        .arg("--replay")
        .arg(repo().join("nix-tests/build/logs/diamond-stamped.log.json"))
        .output()
        .unwrap());
    ok(np(&db)
        .args(["history", "import"])
        .arg(&p)
        .arg(&b)
        .output()
        .unwrap());
    let runs = runs_json(&db);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["kind"], "build");
    assert_eq!(runs[1]["kind"], "eval");
    let show = ok(np(&db)
        .args(["history", "show", "2", "--json"])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    let m = |n: &str| {
        v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == n)
            .map(|m| m["value"].as_f64().unwrap())
    };
    assert_eq!(m("build.derivations"), Some(4.0));
    // At least diamond-b's 2 s (the edges come from .drv files, which a replay may not have).
    assert!(m("build.critical_path_s").unwrap() > 1.9);
    let show = ok(np(&db)
        .args(["history", "show", "1", "--json"])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    let calls = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "eval.calls")
        .unwrap();
    assert!(calls["value"].as_f64().unwrap() > 1000.0);
    // Not a profile: one line, exit 1, nothing recorded.
    let o = np(&db)
        .args(["history", "import"])
        .arg(repo().join("Cargo.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
    assert_eq!(runs_json(&db).len(), 2);
}

/// `nixperf eval` leaves its run in the WAL (no checkpoint, so no fsync, at exit): the run is
/// there for every reader, `history.db-wal` holds it, and the next command that does not defer
/// (here `history list`) folds it into `history.db`; once the WAL passes 1 MiB, eval
/// checkpoints too.
#[test]
fn eval_leaves_its_run_in_the_wal_until_another_command_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let wal = dir.path().join("history.db-wal");
    let eval = || {
        ok(np(&db)
            .current_dir(repo())
            .args(["eval", "-f", "nix-tests/fixtures/fib.nix", "-o"])
            .arg(dir.path().join("p.db"))
            .output()
            .unwrap())
    };
    eval();
    assert!(wal.metadata().unwrap().len() > 0, "the run is in the WAL");
    // A reader of the database file alone (no WAL beside it) does not see it yet ...
    let alone = dir.path().join("alone.db");
    std::fs::copy(&db, &alone).unwrap();
    let c = rusqlite::Connection::open(&alone).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap_or(0);
    let runs: i64 = if n == 0 {
        0
    } else {
        c.query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap_or(0)
    };
    assert_eq!(runs, 0);
    // ... every SQLite reader of the history does; `history list` then checkpoints.
    assert_eq!(runs_json(&db).len(), 1);
    assert!(!wal.exists(), "history list folded the WAL into history.db");
    let c = rusqlite::Connection::open(&db).unwrap();
    let runs: i64 = c
        .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 1);
    drop(c);
    // A WAL past 1 MiB is checkpointed by eval itself.
    eval();
    assert!(wal.exists());
    let f = std::fs::OpenOptions::new().append(true).open(&wal).unwrap();
    f.set_len(wal.metadata().unwrap().len().max((1 << 20) + 1))
        .unwrap();
    drop(f);
    eval();
    assert!(!wal.exists(), "eval checkpointed a WAL over 1 MiB");
    assert_eq!(runs_json(&db).len(), 3);
}
