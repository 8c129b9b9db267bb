//! The standing fault suite (issue #16): every bad input, fault and load that once misled or
//! damaged, each with its exact expected outcome, against the real nixperf binary, the real nix
//! with the real plugin, private stores and a real HTTP server on 127.0.0.1.
//!
//! Outcomes are one of: a correct result with exit 0; a partial profile that is read and
//! reported; or one clear line on stderr with a non-zero exit and nothing written or changed.

mod common;
use common::*;
use nixperf::profile::Status;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Non-zero exit and exactly one line on stderr (nothing else printed) containing `needle`.
fn clean_error(o: &Output, needle: &str) -> String {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected a failure\nstdout: {}\nstderr: {err}",
        stdout(o)
    );
    let lines: Vec<&str> = err.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "one error line expected:\n{err}");
    assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    err
}

/// The last line nixperf itself printed (after whatever nix printed).
fn last_line(o: &Output) -> String {
    stderr(o).trim_end().lines().last().unwrap_or("").to_owned()
}

fn report(profile: &Path, extra: &[&str]) -> Output {
    let dir = profile.parent().unwrap().join("report");
    nixperf()
        .arg("report")
        .arg(profile)
        .arg("--out-dir")
        .arg(&dir)
        .args(extra)
        .output()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// A valid profile with nothing timed: tables, JSON and an empty-but-valid flamegraph, exit 0.

fn assert_reports_cleanly(profile: &Path) {
    let o = report(profile, &[]);
    ok(&o);
    let svg =
        std::fs::read_to_string(profile.parent().unwrap().join("report/flamegraph.svg")).unwrap();
    assert!(
        svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    let o = report(profile, &["--json"]);
    let json: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert!(
        json["modules"].is_object() || json["modules"].is_array(),
        "{json}"
    );
}

#[test]
fn nothing_timed_reports_exit_0() {
    for expr in ["1+1", "builtins.length [ 1 2 ]"] {
        let run = eval(&["-E", expr]);
        ok(&run.output);
        assert_eq!(run.profile().meta.status, Status::Complete);
        assert_reports_cleanly(&run.profile_path);
    }
}

#[test]
fn syntax_error_and_infinite_recursion_partial_profiles_report_exit_0() {
    let run = eval(&["-E", "1 +"]);
    assert_eq!(run.output.status.code(), Some(1));
    assert_eq!(run.profile().meta.status, Status::Failed);
    // The parse error never crosses a plugin hook: the reason is the exit status.
    assert!(!run.profile().meta.reason.is_empty());
    assert_reports_cleanly(&run.profile_path);

    let run = eval(&["-f", "nix-tests/fixtures/failing/infrec.nix"]);
    assert_eq!(run.output.status.code(), Some(1));
    assert!(run.profile().meta.reason.contains("infinite recursion"));
    assert_reports_cleanly(&run.profile_path);
}

// ---------------------------------------------------------------------------------------------
// The real cause instead of "the plugin did not load".

#[test]
fn missing_file_is_named_before_nix_runs() {
    let run = eval(&["-f", "nix-tests/fixtures/no-such-file.nix"]);
    let e = clean_error(&run.output, "no-such-file.nix: no such file or directory");
    assert!(!e.contains("plugin"), "{e}");
    assert!(!run.profile_path.exists());
}

#[test]
fn stack_overflow_is_named() {
    // Unbounded (not self-referential) recursion: Nix's SIGSEGV handler, then _exit(1). The
    // plugin finishes its profile from inside that handler first (plugin/stack_overflow.cc).
    let run = eval(&["-E", "let f = n: 1 + f (n + 1); in f 0"]);
    assert_eq!(run.output.status.code(), Some(1), "{}", run.stderr());
    let err = run.stderr();
    // Nix's own line, then nixperf's one-line diagnosis.
    assert!(
        err.contains("error: stack overflow (possible infinite recursion)"),
        "{err}"
    );
    let named: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("nixperf:") && l.contains("ran out of stack"))
        .collect();
    assert_eq!(named.len(), 1, "{err}");
    assert!(!err.contains("plugin did not load"), "{err}");
    assert!(run.profile_path.exists(), "{err}");
}

#[test]
fn unwritable_output_is_refused_before_nix_runs() {
    let dir = tempfile::tempdir().unwrap();
    // A directory, and a path under a file.
    let o = nixperf()
        .current_dir(repo())
        .args(["eval", "-E", "1", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    clean_error(&o, "is a directory");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let o = nixperf()
        .current_dir(repo())
        .args(["eval", "-E", "1", "-o"])
        .arg(file.join("p.db"))
        .output()
        .unwrap();
    clean_error(&o, "cannot create");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

/// A full disk: a 64 KiB tmpfs filled to the last byte (needs mount rights; SKIPPED otherwise).
#[test]
fn full_disk_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("full");
    std::fs::create_dir(&mnt).unwrap();
    let m = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .output();
    if !m.as_ref().is_ok_and(|m| m.status.success()) {
        eprintln!("SKIPPED: cannot mount a tmpfs here");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _u = Unmount(mnt.clone());
    {
        let mut f = std::fs::File::create(mnt.join("filler")).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
    }
    let o = nixperf()
        .current_dir(repo())
        .args(["eval", "-f", "nix-tests/fixtures/fib.nix", "-o"])
        .arg(mnt.join("p.db"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let line = last_line(&o);
    assert!(
        line.contains("disk is full") || line.contains("No space left"),
        "{line}"
    );
    assert!(!line.contains("plugin did not load"), "{line}");
    let left: Vec<_> = std::fs::read_dir(&mnt)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("filler")],
        "nothing left behind"
    );
}

// ---------------------------------------------------------------------------------------------
// Arguments are checked before anything is deleted.

#[test]
fn bad_arguments_leave_the_previous_profile() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("keep.db");
    std::fs::write(&keep, b"previous profile").unwrap();
    for args in [
        vec!["eval"],
        vec!["eval", "-E", "1", "--nix", "/nonexistent"],
        vec!["eval", "-f", "/nonexistent/x.nix"],
    ] {
        let o = nixperf()
            .current_dir(repo())
            .args(&args)
            .arg("-o")
            .arg(&keep)
            .output()
            .unwrap();
        clean_error(&o, "");
        assert_eq!(
            std::fs::read(&keep).unwrap(),
            b"previous profile",
            "{args:?}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary left"
    );
}

// ---------------------------------------------------------------------------------------------
// Signals: forwarded to nix, nix dies with nixperf, the partial run is recorded.

fn children(pid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    out
}

fn start_slow_eval(dir: &Path, history: &Path, own_group: bool) -> (std::process::Child, i32) {
    let mut c = nixperf();
    c.env("NIXPERF_HISTORY", history)
        .current_dir(repo())
        .args(["eval", "-f", "nix-tests/fixtures/slow-loop.nix", "-o"])
        .arg(dir.join("p.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if own_group {
        c.process_group(0);
    }
    let child = c.spawn().unwrap();
    let t = Instant::now();
    let nix = loop {
        // The nix that evaluates (not the `--version` probe run before it).
        if let Some(&n) = children(child.id()).iter().find(|&&n| {
            std::fs::read(format!("/proc/{n}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("plugin-files"))
        }) {
            break n;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "nix never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(1500));
    (child, nix)
}

fn history_runs(history: &Path) -> usize {
    let o = np(history)
        .args(["history", "list", "--json"])
        .output()
        .unwrap();
    if !o.status.success() {
        return 0;
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v.as_array().map(|a| a.len()).unwrap_or(0)
}

#[test]
fn sigterm_to_nixperf_alone_stops_nix_and_records_the_partial_profile() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.db");
    let (child, nix) = start_slow_eval(dir.path(), &history, false);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(o.status.code(), Some(128 + libc::SIGTERM), "{}", stderr(&o));
    assert!(!alive(nix), "nix {nix} still running");
    let p = nixperf::profile::read(&dir.path().join("p.db")).unwrap();
    assert_eq!(p.meta.status, Status::Interrupted);
    assert!(calls_of(&p, "fib") > 1000);
    assert!(stdout(&o).contains("PARTIAL"), "{}", stdout(&o));
    assert_eq!(history_runs(&history), 1, "the partial run is recorded");
}

#[test]
fn ctrl_c_to_the_group_records_the_partial_profile() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.db");
    let (child, nix) = start_slow_eval(dir.path(), &history, true);
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(128 + libc::SIGINT), "{}", stderr(&o));
    assert!(!alive(nix));
    let p = nixperf::profile::read(&dir.path().join("p.db")).unwrap();
    assert_eq!(p.meta.status, Status::Interrupted);
    assert_eq!(history_runs(&history), 1);
}

#[test]
fn nix_dies_with_a_killed_nixperf() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.db");
    let (mut child, nix) = start_slow_eval(dir.path(), &history, false);
    child.kill().unwrap();
    child.wait().unwrap();
    let t = Instant::now();
    while alive(nix) {
        assert!(t.elapsed() < Duration::from_secs(5), "nix {nix} orphaned");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!dir.path().join("p.db").exists());
}

// ---------------------------------------------------------------------------------------------
// Concurrent runs with one -o: each run reports and records its own profile.

#[test]
fn concurrent_runs_with_one_output_read_their_own_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.nix");
    let b = dir.path().join("b.nix");
    std::fs::write(
        &a,
        "let alpha = n: if n == 0 then 0 else alpha (n - 1); in alpha 3000",
    )
    .unwrap();
    std::fs::write(
        &b,
        "let beta = n: if n == 0 then 0 else beta (n - 1); in beta 2000",
    )
    .unwrap();
    let out = dir.path().join("shared.db");
    let mut kids = Vec::new();
    for i in 0..12 {
        let f = if i % 2 == 0 { &a } else { &b };
        kids.push((
            i % 2 == 0,
            nixperf()
                .current_dir(dir.path())
                .args(["eval", "--no-history", "-f"])
                .arg(f)
                .arg("-o")
                .arg(&out)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ));
    }
    for (is_a, k) in kids {
        let o = k.wait_with_output().unwrap();
        let s = ok(&o);
        let (mine, other) = if is_a {
            ("alpha", "beta")
        } else {
            ("beta", "alpha")
        };
        assert!(
            s.contains(mine) && !s.contains(other),
            "{mine} run printed:\n{s}"
        );
    }
    // Only the final profile is left: no per-run files.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("shared"))
        .collect();
    assert_eq!(names, vec!["shared.db".to_owned()]);
    nixperf::profile::read(&out).unwrap();
}

// ---------------------------------------------------------------------------------------------
// History damaged mid-file: refused on open, never written into.

#[test]
fn damaged_history_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("h.db");
    for i in 0..200 {
        ok(np(&h)
            .args(["history", "record", "--kind", "k", "--target", "t"])
            .arg(format!("--metric=m={i}"))
            .output()
            .unwrap());
    }
    // Checkpoint the WAL into the file, then damage a page in the middle (the b-tree page
    // headers of the runs/metrics tables).
    {
        let c = rusqlite::Connection::open(&h).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;")
            .unwrap();
    }
    let mut bytes = std::fs::read(&h).unwrap();
    let page = 4096;
    let pages = bytes.len() / page;
    for p in [pages / 2, pages / 2 + 1] {
        for b in &mut bytes[p * page..p * page + 16] {
            *b ^= 0xa5;
        }
    }
    std::fs::write(&h, &bytes).unwrap();
    for args in [
        vec!["track"],
        vec!["history", "list"],
        vec![
            "history",
            "record",
            "--kind",
            "k",
            "--target",
            "t",
            "--metric=m=1",
        ],
    ] {
        let o = np(&h).args(&args).output().unwrap();
        clean_error(&o, "corrupt");
        assert_eq!(
            std::fs::read(&h).unwrap(),
            bytes,
            "{args:?} wrote into a damaged history"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// build --replay of something that is not a Nix log.

#[test]
fn replay_of_a_non_log_is_one_line_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.db");
    let mut random = vec![0u8; 4096];
    let mut x: u32 = 12345;
    for b in &mut random {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    for (name, content) in [
        ("empty.log", Vec::new()),
        ("random.log", random),
        ("text.log", b"hello\nthis is not a nix log\n".to_vec()),
    ] {
        let log = dir.path().join(name);
        std::fs::write(&log, &content).unwrap();
        let db = dir.path().join(format!("{name}.db"));
        let o = np(&history)
            .args(["build", "--replay"])
            .arg(&log)
            .arg("--out")
            .arg(&db)
            .output()
            .unwrap();
        clean_error(&o, "not a Nix build log");
        assert!(!db.exists(), "{name}: a profile was written");
    }
    assert_eq!(history_runs(&history), 0);
}

// ---------------------------------------------------------------------------------------------
// Charts with huge metrics: clamped, never spinning.

#[test]
fn huge_metrics_chart_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("h.db");
    for v in ["1", "1.7e308", "-1.7e308", "5"] {
        ok(np(&h)
            .args(["history", "record", "--kind", "eval", "--target", "t"])
            .arg(format!("--metric=eval.wall_s={v}"))
            .output()
            .unwrap());
    }
    let t = Instant::now();
    let mut c = np(&h);
    c.current_dir(dir.path())
        .args(["track", "--out-dir"])
        .arg(dir.path().join("charts"));
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = wait_bounded(child, Duration::from_secs(20));
    ok(&o);
    assert!(t.elapsed() < Duration::from_secs(20));
    let svg = std::fs::read_to_string(dir.path().join("charts/eval.wall_s.svg")).unwrap();
    assert!(svg.trim_end().ends_with("</svg>"));
    let mut c = np(&h);
    c.current_dir(dir.path())
        .args(["report", "--format", "html", "--out-dir"])
        .arg(dir.path().join("html"));
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ok(wait_bounded(child, Duration::from_secs(20)));
}

fn wait_bounded(mut child: std::process::Child, limit: Duration) -> Output {
    let t = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// Profiles cut, bit-flipped or out of range: rejected in one line.

#[test]
fn damaged_profiles_are_rejected() {
    let run = eval(&["-f", "nix-tests/fixtures/fib.nix"]);
    ok(&run.output);
    let bytes = std::fs::read(&run.profile_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let reject = |name: &str, content: &[u8], needle: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        let o = nixperf()
            .arg("report")
            .arg(&p)
            .arg("--no-files")
            .output()
            .unwrap();
        clean_error(&o, needle);
    };
    for cut in 1..=3 {
        reject(
            &format!("cut{cut}.db"),
            &bytes[..bytes.len() - cut],
            "truncated or corrupt",
        );
    }
    // Flip bytes inside the stored values: every 61st byte after the header, one at a time,
    // each must be rejected or (if SQLite ignores the byte: free space) read back unchanged.
    let good = nixperf::profile::read(&run.profile_path).unwrap();
    let mut rejected = 0;
    let mut unchanged = 0;
    for at in (100..bytes.len()).step_by(61) {
        let mut b = bytes.clone();
        b[at] ^= 0x10;
        let p = dir.path().join("flip.db");
        std::fs::write(&p, &b).unwrap();
        match nixperf::profile::read(&p) {
            Err(_) => rejected += 1,
            Ok(q) => {
                assert_eq!(
                    format!("{:?}", q.nodes),
                    format!("{:?}", good.nodes),
                    "byte {at}"
                );
                assert_eq!(
                    format!("{:?}", q.files),
                    format!("{:?}", good.files),
                    "byte {at}"
                );
                unchanged += 1;
            }
        }
    }
    assert!(rejected > 0, "no flip detected");
    eprintln!("bit flips: {rejected} rejected, {unchanged} harmless");

    // A negative count in a profile without a checksum (as older nixperf wrote them).
    let neg = dir.path().join("neg.db");
    std::fs::write(&neg, &bytes).unwrap();
    {
        let c = rusqlite::Connection::open(&neg).unwrap();
        c.execute_batch("DROP TABLE nixperf_checksum; UPDATE calls SET count = -5 WHERE id = 1;")
            .unwrap();
    }
    let o = nixperf()
        .arg("report")
        .arg(&neg)
        .arg("--no-files")
        .output()
        .unwrap();
    clean_error(&o, "out of range");
}

// ---------------------------------------------------------------------------------------------
// Caches: a hanging cache is given up on quickly; a foreign StoreDir or bad Priority reported.

/// An HTTP server on 127.0.0.1 answering nix-cache-info with `info` and every other request by
/// hanging (`hang`) or 404.
struct FakeCache {
    port: u16,
}

impl FakeCache {
    fn start(info: &'static str, hang: bool) -> FakeCache {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut s = s;
                    let mut buf = [0u8; 2048];
                    let n = s.read(&mut buf).unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = req.split_whitespace().nth(1).unwrap_or("").to_owned();
                    if path.ends_with("/nix-cache-info") {
                        let _ = write!(
                            s,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{info}",
                            info.len()
                        );
                    } else if hang {
                        std::thread::sleep(Duration::from_secs(120));
                    } else {
                        let _ = write!(
                            s,
                            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        );
                    }
                });
            }
        });
        FakeCache { port }
    }
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A private store holding 47 paths (46 files and one referring to all of them).
fn store_with_closure(dir: &Path) -> (Vec<(&'static str, PathBuf)>, String) {
    let env = vec![
        ("NIX_STORE_DIR", dir.join("store")),
        ("NIX_STATE_DIR", dir.join("var")),
        ("NIX_LOG_DIR", dir.join("log")),
        ("NIX_CONF_DIR", dir.join("conf")),
        ("HOME", dir.join("home")),
    ];
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::write(
        dir.join("conf/nix.conf"),
        "substituters =\nbuild-users-group =\n",
    )
    .unwrap();
    let mut c = Command::new("nix-instantiate");
    for (k, v) in &env {
        c.env(k, v);
    }
    let o = c
        .env_remove("NIX_CONFIG")
        .args(["--eval", "--read-write-mode", "-E"])
        .arg(
            "let fs = builtins.genList (i: builtins.toFile \"f${toString i}\" \"x${toString i}\") 46; \
             in builtins.toFile \"all\" (builtins.concatStringsSep \" \" fs)",
        )
        .output()
        .unwrap();
    let root = ok(&o).trim().trim_matches('"').to_owned();
    (env, root)
}

fn cache_json(
    env: &[(&str, PathBuf)],
    root: &str,
    url: &str,
    extra: &[&str],
) -> (Output, Duration) {
    let mut c = nixperf();
    for (k, v) in env {
        c.env(k, v);
    }
    c.env_remove("NIX_CONFIG")
        .args([
            "cache",
            "--json",
            "--timeout",
            "2000",
            "--substituter",
            url,
            "--paths",
            root,
        ])
        .args(extra);
    let t = Instant::now();
    let o = c.output().unwrap();
    (o, t.elapsed())
}

#[test]
fn hanging_cache_is_given_up_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let (env, root) = store_with_closure(dir.path());
    let cache = FakeCache::start("Priority: 40\n", true);
    let (o, took) = cache_json(&env, &root, &cache.url(), &[]);
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    // Before: 31 s (8 threads × 5 s timeouts for 46 paths). Now: one round of timeouts.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    eprintln!("hanging cache, 47 paths: {took:?}");
    let s = &v["substituters"][0];
    assert_eq!(s["hits"], 0);
    assert!(s["unqueried"].as_u64().unwrap() > 0, "{s}");
    assert!(
        s["stopped"].as_str().unwrap().contains("the cache hangs"),
        "{s}"
    );

    // The overall deadline bounds even a cache that answers nix-cache-info and hangs after.
    let (o, took) = cache_json(
        &env,
        &root,
        &cache.url(),
        &["--threads", "1", "--deadline", "3"],
    );
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(v["substituters"][0]["unqueried"].as_u64().unwrap() > 40);
}

#[test]
fn foreign_store_dir_and_bad_priority_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (env, root) = store_with_closure(dir.path());
    let cache = FakeCache::start("StoreDir: /other/store\nPriority: high\n", false);
    let (o, _) = cache_json(&env, &root, &cache.url(), &[]);
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    let findings = v["findings"].to_string();
    assert!(findings.contains("StoreDir /other/store"), "{findings}");
    assert!(findings.contains("Priority: \\\"high\\\""), "{findings}");
}

// ---------------------------------------------------------------------------------------------
// --apply: the user's nix.conf kept byte for byte; store commands on the analysed store only.

/// A private store (NIX_STORE_DIR / NIX_STATE_DIR) with a dead path, for `analyze`.
struct StoreEnv(common::PrivateNix);

impl std::ops::Deref for StoreEnv {
    type Target = common::PrivateNix;
    fn deref(&self) -> &common::PrivateNix {
        &self.0
    }
}

impl StoreEnv {
    fn new(conf: &[u8]) -> StoreEnv {
        StoreEnv(common::PrivateNix::new(conf))
    }
    /// A dead path: built, no root.
    fn dead_path(&self) -> String {
        let mut c = Command::new("nix-build");
        let o = self
            .env(&mut c, true)
            .arg(fixture("store/pkgs.nix"))
            .args(["-A", "scratch", "--no-out-link"])
            .output()
            .unwrap();
        ok(&o).trim().to_owned()
    }
    fn analyze(&self, store_in_env: bool, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_nixperf"));
        self.env(&mut c, store_in_env)
            .arg("analyze")
            .arg("--out-dir")
            .arg(self.p("out"))
            .arg("--undo-dir")
            .arg(self.p("undo"))
            .arg("--history")
            .arg(self.p("history/h.db"))
            .args(args)
            .output()
            .unwrap()
    }
}

#[test]
fn apply_keeps_a_latin1_nix_conf_byte_for_byte() {
    let conf: &[u8] = b"# r\xe9glages de l'\xe9quipe\nsubstituters =\nbuild-users-group =\nsandbox = false\nkeep-outputs = true\nmax-jobs = 1\n";
    let e = StoreEnv::new(conf);
    let o = e.analyze(true, &["--quick", "--apply", "--yes"]);
    ok(&o);
    let after = std::fs::read(e.p("conf/nix.conf")).unwrap();
    assert!(
        after.starts_with(conf),
        "the user's bytes were not kept:\n{}",
        String::from_utf8_lossy(&after)
    );
    assert!(after.len() > conf.len(), "nixperf's block was not added");
    assert!(stderr(&o).contains("not UTF-8"), "{}", stderr(&o));
    let mut c = Command::new(env!("CARGO_BIN_EXE_nixperf"));
    ok(e.env(&mut c, true)
        .args(["undo", "--undo-dir"])
        .arg(e.p("undo"))
        .output()
        .unwrap());
    assert_eq!(std::fs::read(e.p("conf/nix.conf")).unwrap(), conf);
}

#[test]
fn apply_acts_on_the_store_given_by_flags() {
    let e = StoreEnv::new(b"substituters =\nbuild-users-group =\nsandbox = false\n");
    let dead = e.dead_path();
    assert!(Path::new(&dead).exists());
    // The store named by flags only (no NIX_STORE_DIR / NIX_STATE_DIR in the environment).
    let store = e.p("store");
    let var = e.p("var");
    let o = e.analyze(
        false,
        &[
            "--quick",
            "--apply",
            "--yes",
            "--store-dir",
            store.to_str().unwrap(),
            "--state-dir",
            var.to_str().unwrap(),
        ],
    );
    ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "nix-store --store local?store={}&state={}",
            store.display(),
            var.display()
        )),
        "{err}"
    );
    assert!(
        !Path::new(&dead).exists(),
        "the dead path of the analysed store survived:\n{err}"
    );

    // A --db that is not the store's own: the store commands are refused, not run elsewhere.
    let e = StoreEnv::new(b"substituters =\nbuild-users-group =\nsandbox = false\n");
    let dead = e.dead_path();
    let copy = e.p("copy.sqlite");
    std::fs::copy(e.p("var/db/db.sqlite"), &copy).unwrap();
    let o = e.analyze(
        false,
        &[
            "--quick",
            "--apply",
            "--yes",
            "--store-dir",
            e.p("store").to_str().unwrap(),
            "--state-dir",
            e.p("var").to_str().unwrap(),
            "--db",
            copy.to_str().unwrap(),
        ],
    );
    ok(&o);
    assert!(
        stderr(&o).contains("is not the one nix uses"),
        "{}",
        stderr(&o)
    );
    assert!(Path::new(&dead).exists());
}

// ---------------------------------------------------------------------------------------------
// analyze: a target with nothing timed is analysed (exit 0); a failing target exits non-zero.

#[test]
fn analyze_exit_status_follows_the_target() {
    let e = StoreEnv::new(b"substituters =\nbuild-users-group =\nsandbox = false\n");
    std::fs::write(e.p("const.nix"), "1 + 1").unwrap();
    std::fs::write(e.p("bad.nix"), "throw \"nixperf-test-bad-target\"").unwrap();
    let o = e.analyze(true, &["-f", e.p("const.nix").to_str().unwrap()]);
    ok(&o);
    assert!(!stdout(&o).contains("evaluation failed"), "{}", stdout(&o));
    assert!(e.p("out/flamegraph.svg").exists());
    let o = e.analyze(true, &["-f", e.p("bad.nix").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let line = last_line(&o);
    assert!(
        line.contains("the target failed to evaluate") && line.contains("nixperf-test-bad-target"),
        "{line}"
    );
    // The reports are still written, with the partial profile.
    assert!(e.p("out/analysis.json").exists());
}

#[test]
fn damaged_build_profiles_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    ok(nixperf()
        .arg("--no-history")
        .args(["build", "--replay"])
        .arg(fixture("build/logs/chain-max-jobs-2.log"))
        .arg("--out")
        .arg(&db)
        .output()
        .unwrap());
    ok(nixperf()
        .args(["build", "--show"])
        .arg(&db)
        .output()
        .unwrap());
    let bytes = std::fs::read(&db).unwrap();
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
    let o = nixperf()
        .args(["build", "--show"])
        .arg(&cut)
        .output()
        .unwrap();
    clean_error(&o, "not a readable build profile");
}

// ---------------------------------------------------------------------------------------------
// Deep recursion: every stored and exported form grows with the call-tree nodes, not with
// depth × nodes (10 000 deep once wrote a 650 MB folded row into the history and took 11 s).

/// `nixperf eval` of `expr` recording into `history`: (exit output, profile).
fn eval_into(history: &Path, dir: &Path, name: &str, expr: &str) -> (Output, PathBuf) {
    let profile = dir.join(format!("{name}.db"));
    let mut c = np(history);
    private_store(&mut c);
    let o = c
        .current_dir(repo())
        .args(["eval", "-o"])
        .arg(&profile)
        .args(["-E", expr])
        .output()
        .unwrap();
    (o, profile)
}

fn stack_tree_bytes(history: &Path) -> Vec<i64> {
    let db = rusqlite::Connection::open(history).unwrap();
    let mut st = db
        .prepare("SELECT length(tree) FROM stack_trees ORDER BY run_id")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn deep_recursion_is_recorded_reported_and_compared_in_linear_space() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.db");
    // 30 000 deep fits Nix 2.8's default 8 MB stack.
    let deep = |n: u32| format!("let f = n: if n == 0 then 0 else 1 + f (n - 1); in f {n}");
    let (o, profile) = eval_into(&history, dir.path(), "deep", &deep(30_000));
    ok(&o);
    let p = nixperf::profile::read(&profile).unwrap();
    // Folded while recording: nodes per level (f and its untimed `sub`) to FOLD_DEPTH, then the
    // recursion stays in the deepest; every call counted, and the depth it reached said.
    let fold = p.meta.recursion_fold;
    assert_eq!(fold.depth, nixperf::profile::FOLD_DEPTH);
    assert!(fold.folds > 0 && fold.deepest_stack > 30_000, "{fold:?}");
    assert!(
        p.nodes.len() < 2 * fold.depth as usize + 16,
        "{} nodes",
        p.nodes.len()
    );
    assert_eq!(calls_of(&p, "f"), 30_001);
    // Every nanosecond once: the outermost f's inclusive time is the sum of the self times
    // below it (nested calls of the folded node are not counted twice).
    let f_outer = p
        .nodes
        .iter()
        .find(|n| p.frames[n.frame as usize].name == "f")
        .unwrap();
    let below: u64 = p
        .nodes
        .iter()
        .filter(|n| p.frames[n.frame as usize].name == "f")
        .map(|n| n.self_ns)
        .sum();
    assert!(
        below.abs_diff(f_outer.inclusive_ns) <= 30_001,
        "{below} vs {}",
        f_outer.inclusive_ns
    );
    // The history row: the tree, a few bytes per node.
    let rows = stack_tree_bytes(&history);
    assert_eq!(rows.len(), 1);
    assert!(
        (rows[0] as usize) < 16 * p.nodes.len(),
        "{} bytes for {} nodes",
        rows[0],
        p.nodes.len()
    );

    // The report: recursion collapsed (and said), files small, the same total weight.
    let out = dir.path().join("report");
    let o = nixperf()
        .arg("report")
        .arg(&profile)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let text = ok(&o);
    assert!(text.contains("recursion collapsed"), "{text}");
    let folded = std::fs::read_to_string(out.join("stacks.folded")).unwrap();
    assert!(folded.len() < 4096, "{folded}");
    assert!(
        text.contains("the call stack reached 30,002 calls"),
        "{text}"
    );
    let f = nixperf::analysis::stacks::folded(&p, None);
    assert!(f.recursion_collapsed && f.depth >= fold.depth as usize);
    let exact_total: u64 = p.nodes.iter().skip(1).map(|n| n.self_ns).sum();
    assert_eq!(f.total(), exact_total);
    // No label twice on a stack.
    for stack in f.stacks.keys() {
        let frames: Vec<&str> = stack.split(';').collect();
        let set: std::collections::BTreeSet<&&str> = frames.iter().collect();
        assert_eq!(set.len(), frames.len(), "{stack}");
    }
    assert!(std::fs::metadata(out.join("flamegraph.svg")).unwrap().len() < 1 << 20);
    let o = nixperf()
        .arg("report")
        .arg(&profile)
        .args(["--no-files", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert!(json["stacks_note"].is_null(), "no files, no note: {json}");

    // A second, deeper run: the differential flamegraph between the two collapses both.
    let (o, _) = eval_into(&history, dir.path(), "deeper", &deep(31_000));
    ok(&o);
    let diff = dir.path().join("diff.svg");
    let o = np(&history)
        .args(["compare", "1", "2", "--flamegraph"])
        .arg(&diff)
        .output()
        .unwrap();
    ok(&o);
    let svg = std::fs::read_to_string(&diff).unwrap();
    assert!(
        svg.contains("recursion collapsed"),
        "{}",
        &svg[..svg.len().min(2000)]
    );
    let diff_folded = std::fs::read_to_string(diff.with_extension("folded")).unwrap();
    assert!(diff_folded.len() < 4096, "{diff_folded}");

    // nixpkgs' own lib.foldr over 5 000 elements (it recurses through `op`): recorded, not
    // "string or blob too big".
    if let Some(lib) = nixpkgs_lib() {
        let expr = format!(
            "let lib = import {}; in lib.foldr (a: b: a + b) 0 (lib.range 1 5000)",
            lib.display()
        );
        let (o, _) = eval_into(&history, dir.path(), "foldr", &expr);
        ok(&o);
        assert!(last_line(&o).contains("recorded run #3"), "{}", stderr(&o));
    }
}

#[test]
fn full_stacks_writes_every_stack_exactly() {
    let run = eval(&["-f", "nix-tests/fixtures/fib.nix"]);
    ok(&run.output);
    let p = run.profile();
    let out = run.dir.path().join("full");
    ok(nixperf()
        .arg("report")
        .arg(&run.profile_path)
        .arg("-o")
        .arg(&out)
        .arg("--full-stacks")
        .output()
        .unwrap());
    let text = std::fs::read_to_string(out.join("stacks.folded")).unwrap();
    // One line per node with time, paths as deep as the tree (fib 15: 15 levels of fib).
    let weighted = p.nodes.iter().skip(1).filter(|n| n.self_ns > 0).count();
    assert_eq!(text.lines().count(), weighted);
    let merged = nixperf::analysis::stacks::Folded::parse(&text);
    assert_eq!(
        merged.stacks,
        nixperf::analysis::stacks::folded(&p, Some(&repo())).stacks
    );
    assert!(
        merged
            .stacks
            .keys()
            .any(|s| s.matches("fib ").count() >= 15)
    );
}
