//! `nixperf store` / `cache` / `config` on a private Nix store (NIX_STORE_DIR, NIX_STATE_DIR,
//! NIX_LOG_DIR under a temp dir: the machine's store and profiles are never touched), with real
//! builds, real profile generations, `result` links, dead paths, and real HTTP binary caches on
//! 127.0.0.1. Every predicted number is checked against what the real command then does.

mod common;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Priv {
    dir: tempfile::TempDir,
    /// Extra nix.conf lines for every command (e.g. keep-outputs).
    conf: String,
}

impl Priv {
    fn new() -> Priv {
        let dir = tempfile::tempdir().unwrap();
        for d in ["store", "var", "log", "home"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Priv {
            dir,
            conf: String::new(),
        }
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn env(&self, c: &mut Command, extra_conf: &str) {
        c.env("NIX_STORE_DIR", self.p("store"))
            .env("NIX_STATE_DIR", self.p("var"))
            .env("NIX_LOG_DIR", self.p("log"))
            .env("HOME", self.p("home"))
            .env_remove("NIX_REMOTE")
            .env(
                "NIX_CONFIG",
                format!(
                    "substituters =\nbuild-users-group =\nsandbox = false\n{}{extra_conf}",
                    self.conf
                ),
            );
    }
    /// `nixperf` on this store, with `extra_conf` nix.conf lines for this command.
    fn nixperf(&self, extra_conf: &str) -> Command {
        let mut c = common::nixperf();
        self.env(&mut c, extra_conf);
        c
    }
    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new(prog);
        self.env(&mut c, "");
        c
    }
    /// Runs, asserts success, returns stdout+stderr.
    fn run(&self, c: &mut Command) -> String {
        let out = c.output().expect("spawn");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{c:?} failed:\n{text}");
        text
    }
    fn build(&self, generation: u32, attr: &str, out: Option<&str>) -> String {
        let mut c = self.cmd("nix-build");
        c.arg(common::fixture("store/pkgs.nix")).args([
            "--arg",
            "gen",
            &generation.to_string(),
            "-A",
            attr,
        ]);
        match out {
            Some(o) => c.arg("-o").arg(self.p(o)),
            None => c.arg("--no-out-link"),
        };
        String::from_utf8_lossy(&succeed(&mut c).stdout)
            .trim()
            .to_owned()
    }
    fn profile(&self) -> PathBuf {
        self.p("var/profiles/test")
    }
    /// Four generations of var/profiles/test (1: 60 days old, 2: 45, 3: 20, 4: now, current),
    /// a result link to a path only it keeps, a result link sharing a generation's path, a dead
    /// build, and a stray file in the store directory.
    fn scenario(&self) {
        let day = 86400;
        for (generation, age) in [(1, 60), (2, 45), (3, 20), (4, 0)] {
            let app = self.build(generation, "app", None);
            self.run(
                self.cmd("nix-env")
                    .arg("-p")
                    .arg(self.profile())
                    .args(["--set", &app]),
            );
            let link = self.p(&format!("var/profiles/test-{generation}-link"));
            set_mtime(&link, now() - age * day);
        }
        self.build(1, "tool", Some("result-tool"));
        self.build(3, "app", Some("result-app3"));
        self.build(2, "scratch", None);
        std::fs::write(self.p("store/stray-file"), vec![b'x'; 20000]).unwrap();
    }
    fn nixperf_store(&self, extra: &[&str]) -> Value {
        json(self.nixperf("").args(["store", "--json"]).args(extra))
    }
    /// Runs the GC-ing command `gc` and checks nixperf's prediction `c` of it (one of
    /// `commands`): the line nix prints (paths and MiB), NAR bytes gone from the DB, disk bytes
    /// gone (du).
    fn check_gc(&self, c: &Value, gc: &mut Command) {
        let (nar, disk) = (
            c["nar_bytes"].as_u64().unwrap(),
            c["freed"]["disk"].as_u64().unwrap(),
        );
        let expect = gc_line(c);
        let (db0, du0) = (self.db_nar(), self.du());
        let out = self.run(gc);
        let (db1, du1) = (self.db_nar(), self.du());
        eprintln!(
            "{}: predicted {expect:?}, NAR {nar}, disk {disk}; du {du0} -> {du1}",
            c["command"].as_str().unwrap()
        );
        assert!(out.contains(&expect), "expected {expect:?} in:\n{out}");
        assert_eq!(db0 - db1, nar, "NAR bytes freed");
        assert_eq!(du0 - du1, disk, "disk bytes freed (du)");
    }
    /// Sum of narSize over valid paths, straight from the DB.
    fn db_nar(&self) -> u64 {
        let c = rusqlite::Connection::open_with_flags(
            self.p("var/db/db.sqlite"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        c.query_row("SELECT COALESCE(SUM(narSize),0) FROM ValidPaths", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as u64
    }
    fn du(&self) -> u64 {
        du_bytes(&self.p("store"))
    }
}

/// Disk bytes under `dir` (`du -s -B1`), what a deletion really frees.
fn du_bytes(dir: &Path) -> u64 {
    let out = Command::new("du")
        .args(["-s", "-B1"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn set_mtime(link: &Path, t: i64) {
    let st = Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(format!("@{t}"))
        .arg(link)
        .status()
        .unwrap();
    assert!(st.success());
}

fn command<'a>(r: &'a Value, prefix: &str) -> &'a Value {
    r["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["command"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no command {prefix} in {r:#}"))
}

fn nix_mib(b: u64) -> String {
    format!("{:.2} MiB", b as f64 / (1024.0 * 1024.0))
}

/// Runs `c` and asserts it succeeded, with its stderr in the message.
fn succeed(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `c`, asserts success (stderr in the message) and parses its stdout as JSON.
fn json(c: &mut Command) -> Value {
    serde_json::from_slice(&succeed(c).stdout).unwrap()
}

/// Runs `c`, asserts success (stderr in the message); its stdout.
fn stdout_of(c: &mut Command) -> String {
    String::from_utf8_lossy(&succeed(c).stdout).into_owned()
}

/// The line nix prints after collecting garbage, as predicted by `c` (one of `commands`).
fn gc_line(c: &Value) -> String {
    format!(
        "{} store paths deleted, {} freed",
        c["paths_deleted"].as_u64().unwrap(),
        nix_mib(c["freed"]["nix_reported"].as_u64().unwrap())
    )
}

/// Runs a GC-ing command on a fresh scenario and checks nixperf's prediction of it: the line
/// nix prints (paths and MiB), NAR bytes gone from the DB, disk bytes gone (du).
fn check_gc_command(prefix: &str, args: &[&str]) {
    check_gc_command_with(prefix, args, "");
}

fn check_gc_command_with(prefix: &str, args: &[&str], conf: &str) {
    let mut s = Priv::new();
    s.conf = conf.to_owned();
    s.scenario();
    let r = s.nixperf_store(&["--dedup", "off"]);
    let c = command(&r, prefix);
    let (paths, nar) = (
        c["paths_deleted"].as_u64().unwrap(),
        c["nar_bytes"].as_u64().unwrap(),
    );
    assert!(paths > 0 && nar > 0, "{c:#}");
    s.check_gc(c, s.cmd(args[0]).args(&args[1..]));
}

#[test]
fn store_gc_prediction_is_exact() {
    check_gc_command("nix-store --gc", &["nix-store", "--gc"]);
}

/// The other liveness rules: outputs of live derivations kept, derivers not.
#[test]
fn store_gc_prediction_is_exact_with_keep_outputs() {
    check_gc_command_with(
        "nix-store --gc",
        &["nix-store", "--gc"],
        "keep-outputs = true\nkeep-derivations = false\n",
    );
}

#[test]
fn delete_older_than_prediction_is_exact() {
    check_gc_command(
        "nix-collect-garbage --delete-older-than 30d",
        &["nix-collect-garbage", "--delete-older-than", "30d"],
    );
}

#[test]
fn delete_old_prediction_is_exact() {
    check_gc_command("nix-collect-garbage -d", &["nix-collect-garbage", "-d"]);
}

#[test]
fn optimise_prediction_is_exact() {
    let s = Priv::new();
    s.scenario();
    let r = s.nixperf_store(&[]);
    let o = &r["optimise"];
    let files = o["files_linked"].as_u64().unwrap();
    let nixb = o["nix_reported_bytes"].as_u64().unwrap();
    let disk = o["disk_bytes"].as_u64().unwrap();
    assert_eq!(o["sampled_fraction"].as_f64().unwrap(), 1.0);
    // 4 generations and the tool share `same` (120000 bytes); app-3 is one path for two roots.
    assert!(files >= 4, "{o:#}");
    // A byte budget stops hashing early and the result says it is a scaled sample.
    let r_lim = s.nixperf_store(&["--dedup-limit", "1"]);
    let f = r_lim["optimise"]["sampled_fraction"].as_f64().unwrap();
    assert!(f > 0.0 && f < 1.0, "{:#}", r_lim["optimise"]);
    let du0 = s.du();
    let out = s.run(s.cmd("nix-store").arg("--optimise"));
    let du1 = s.du();
    let expect = format!("{} freed by hard-linking {files} files", nix_mib(nixb));
    eprintln!("optimise: predicted {expect:?}, disk {disk}");
    assert!(out.contains(&expect), "expected {expect:?} in:\n{out}");
    assert_eq!(du0 - du1, disk, "disk bytes freed (du)");
    // After optimising, nothing is left to gain, and GC accounting sees the hard links; an
    // unused `.links` entry (left by an interrupted deletion) goes with the next collection.
    std::fs::write(
        s.p(&format!("store/.links/{}", "0".repeat(52))),
        vec![b'u'; 10000],
    )
    .unwrap();
    let r2 = s.nixperf_store(&[]);
    assert_eq!(r2["optimise"]["files_linked"].as_u64(), Some(0));
    s.check_gc(
        command(&r2, "nix-store --gc"),
        s.cmd("nix-store").arg("--gc"),
    );
}

#[test]
fn breakdown_generations_and_result_roots() {
    let s = Priv::new();
    s.scenario();
    let r = s.nixperf_store(&["--dedup", "off"]);
    let gens = r["generations"].as_array().unwrap();
    assert_eq!(gens.len(), 4, "{r:#}");
    let cur: Vec<u64> = gens
        .iter()
        .filter(|g| g["current"] == true)
        .map(|g| g["number"].as_u64().unwrap())
        .collect();
    assert_eq!(cur, vec![4]);
    // Generation 3 shares its path with result-app3: deleting it alone frees nothing.
    let g3 = gens.iter().find(|g| g["number"] == 3).unwrap();
    assert_eq!(g3["unique_nar"].as_u64(), Some(0));
    let results = r["results"].as_array().unwrap();
    let links: Vec<&str> = results
        .iter()
        .map(|x| x["link"].as_str().unwrap())
        .collect();
    assert_eq!(results.len(), 2, "{links:?}");
    assert!(links.iter().any(|l| l.ends_with("result-tool")));
    let tool = results
        .iter()
        .find(|x| x["link"].as_str().unwrap().ends_with("result-tool"))
        .unwrap();
    let result_only = r["breakdown"][3]["nar"].as_u64().unwrap();
    assert_eq!(tool["unique_nar"].as_u64().unwrap(), result_only);
    assert!(result_only > 0);
    // Old generations by age: app-3 (20 days) and app-1/app-2 (60, 45 days).
    let ages = r["old_by_age"].as_array().unwrap();
    let age_sum: u64 = ages.iter().map(|a| a["nar"].as_u64().unwrap()).sum();
    assert_eq!(age_sum, r["breakdown"][2]["nar"].as_u64().unwrap());
    assert!(ages[1]["nar"].as_u64().unwrap() > 0 && ages[2]["nar"].as_u64().unwrap() > 0);
    assert_eq!(ages[0]["paths"].as_u64(), Some(0));
    assert_eq!(ages[3]["paths"].as_u64(), Some(0));
    let gc = command(&r, "nix-store --gc")["nar_bytes"].as_u64().unwrap();
    assert_eq!(r["breakdown"][4]["nar"].as_u64().unwrap(), gc);

    // Deleting generation 1 alone and collecting frees exactly its unique size (plus the dead).
    let g1 = gens.iter().find(|g| g["number"] == 1).unwrap()["unique_nar"]
        .as_u64()
        .unwrap();
    assert!(g1 > 0);
    let db0 = s.db_nar();
    s.run(
        s.cmd("nix-env")
            .arg("-p")
            .arg(s.profile())
            .args(["--delete-generations", "1"]),
    );
    s.run(s.cmd("nix-store").arg("--gc"));
    assert_eq!(db0 - s.db_nar(), g1 + gc);
    // Then removing result-tool frees exactly what only it kept.
    std::fs::remove_file(s.p("result-tool")).unwrap();
    let db1 = s.db_nar();
    s.run(s.cmd("nix-store").arg("--gc"));
    assert_eq!(db1 - s.db_nar(), result_only);

    // Text output names the commands and the advice.
    let text = stdout_of(s.nixperf("").args(["store", "--dedup", "off"]));
    for needle in [
        "nix-store --gc",
        "--delete-older-than 30d",
        "Advice:",
        "min-free",
    ] {
        assert!(text.contains(needle), "{needle} missing in:\n{text}");
    }
}

fn nixperf_err(args: &[&str], env: Option<&Priv>) -> (i32, String) {
    let out = match env {
        Some(s) => s.nixperf(""),
        None => common::nixperf(),
    }
    .args(args)
    .output()
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn one_line(code: i32, err: &str, needle: &str) {
    assert_ne!(code, 0, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_store_databases() {
    let d = tempfile::tempdir().unwrap();
    let (c, e) = nixperf_err(
        &[
            "store",
            "--db",
            d.path().join("absent.sqlite").to_str().unwrap(),
        ],
        None,
    );
    one_line(c, &e, "no Nix store database");
    let junk = d.path().join("junk.sqlite");
    std::fs::write(&junk, vec![b'j'; 4096]).unwrap();
    let (c, e) = nixperf_err(&["store", "--db", junk.to_str().unwrap()], None);
    one_line(c, &e, "not a Nix store database");
    let (c, e) = nixperf_err(&["store", "--db", d.path().to_str().unwrap()], None);
    one_line(c, &e, "not a Nix store database");
    // Unreadable: a file we may not open (a FIFO-free way that holds for root: a dangling dir
    // component is "absent"; a directory is "not a regular file"; an fd-less read error needs
    // a non-root user, so use an empty SQLite file without Nix's tables).
    let empty = d.path().join("empty.sqlite");
    rusqlite::Connection::open(&empty)
        .unwrap()
        .execute_batch("CREATE TABLE x(y)")
        .unwrap();
    let (c, e) = nixperf_err(&["store", "--db", empty.to_str().unwrap()], None);
    one_line(c, &e, "not a Nix store database");

    // Not readable: a mode-0600 DB read by an unprivileged user (setpriv, util-linux).
    let private = d.path().join("private.sqlite");
    std::fs::copy(&empty, &private).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_nixperf"))
        .args(["store", "--no-files", "--dedup", "off", "--db"])
        .arg(&private)
        .env("NIX_CONFIG", "substituters =")
        .output()
        .unwrap();
    one_line(
        out.status.code().unwrap_or(-1),
        &String::from_utf8_lossy(&out.stderr),
        "not readable",
    );

    // Locked: a real store DB in rollback-journal mode held by an exclusive writer.
    let s = Priv::new();
    s.build(1, "common", None);
    let copy = d.path().join("locked.sqlite");
    std::fs::copy(s.p("var/db/db.sqlite"), &copy).unwrap();
    rusqlite::Connection::open(&copy)
        .unwrap()
        .execute_batch("PRAGMA journal_mode=DELETE")
        .unwrap();
    let mut holder = Command::new("python3")
        .args([
            "-u",
            "-c",
            "import sqlite3,sys,time\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked',flush=True)\ntime.sleep(30)",
            copy.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    let (c, e) = nixperf_err(
        &[
            "store",
            "--db",
            copy.to_str().unwrap(),
            "--lock-timeout",
            "300",
        ],
        Some(&s),
    );
    holder.kill().ok();
    holder.wait().ok();
    one_line(c, &e, "locked");
    // Once released, the same DB reads fine, and nixperf left it unchanged.
    succeed(s.nixperf("").args([
        "store",
        "--json",
        "--dedup",
        "off",
        "--db",
        copy.to_str().unwrap(),
    ]));
}

#[test]
fn binary_caches_hit_rates_and_missing_key() {
    let s = Priv::new();
    let app = s.build(2, "app", None);
    let closure: Vec<String> = s
        .run(s.cmd("nix-store").args(["-qR", &app]))
        .lines()
        .map(str::to_owned)
        .collect();
    let common_path = s.build(2, "common", None);
    assert!(closure.len() >= 2 && closure.contains(&common_path));
    for k in ["good", "rogue"] {
        s.run(
            s.cmd("nix-store")
                .args(["--generate-binary-cache-key", &format!("{k}-key-1")])
                .arg(s.p(&format!("{k}.sec")))
                .arg(s.p(&format!("{k}.pub"))),
        );
    }
    let copy = |to: &str, key: &str, path: &str| {
        s.run(
            s.cmd("nix")
                .args([
                    "--extra-experimental-features",
                    "nix-command",
                    "copy",
                    "--to",
                ])
                .arg(format!(
                    "file://{}?secret-key={}",
                    s.p(to).display(),
                    s.p(key).display()
                ))
                .arg(path),
        )
    };
    copy("complete", "good.sec", &app);
    copy("partial", "rogue.sec", &common_path);
    let (c1, c2) = (
        common::HttpServer::serve(&s.p("complete")),
        common::HttpServer::serve(&s.p("partial")),
    );
    let good_pub = std::fs::read_to_string(s.p("good.pub")).unwrap();
    let u1 = c1.url();
    let u2 = c2.url();
    let dead = "http://127.0.0.1:9".to_owned();
    let keys = format!("trusted-public-keys = {}\n", good_pub.trim());
    let r = json(
        s.nixperf(&format!("substituters = {u1} {u2} {dead}\n{keys}"))
            .args(["cache", "--json", "--timeout", "2000", "--paths", &app]),
    );
    let n = closure.len() as u64;
    assert_eq!(r["closure_paths"].as_u64(), Some(n));
    let subs = r["substituters"].as_array().unwrap();
    let (p1, p2, p3) = (&subs[0], &subs[1], &subs[2]);
    assert_eq!(p1["hits"].as_u64(), Some(n), "{p1:#}");
    assert_eq!(p1["hit_rate"].as_f64(), Some(1.0));
    assert_eq!(p1["trusted"].as_u64(), Some(n));
    assert!(p1["nar_fetched"].as_u64().unwrap() >= 1);
    assert!(p1["throughput_bps"].as_f64().unwrap() > 0.0);
    assert!(p1["latency_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(p2["hits"].as_u64(), Some(1), "{p2:#}");
    assert_eq!(p2["misses"].as_u64(), Some(n - 1));
    assert_eq!(p2["hit_rate"].as_f64(), Some(1.0 / n as f64));
    assert_eq!(p2["untrusted_key"].as_u64(), Some(1));
    assert_eq!(p2["trusted"].as_u64(), Some(0));
    assert_eq!(p3["reachable"], false);
    let findings = r["findings"].to_string();
    assert!(
        findings.contains("missing public key: rogue-key-1"),
        "{findings}"
    );
    assert!(
        findings.contains(&format!("{dead} is unreachable")),
        "{findings}"
    );
    assert_eq!(r["recommended_order"][0].as_str(), Some(u1.as_str()));

    // A cache whose narinfo for `common` has a tampered NarSize: the trusted key name is there
    // but the signature no longer verifies.
    copy("tampered", "good.sec", &common_path);
    let hash = &Path::new(&common_path)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()[..32];
    let ni = s.p(&format!("tampered/{hash}.narinfo"));
    let text = std::fs::read_to_string(&ni).unwrap();
    let tampered: String = text
        .lines()
        .map(|l| match l.strip_prefix("NarSize: ") {
            Some(v) => format!("NarSize: {}\n", v.parse::<u64>().unwrap() + 8),
            None => format!("{l}\n"),
        })
        .collect();
    assert_ne!(text, tampered);
    std::fs::write(&ni, tampered).unwrap();
    let r = json(
        s.nixperf(&keys)
            .args([
                "cache",
                "--json",
                "--nar-samples",
                "0",
                "--paths",
                &common_path,
            ])
            .arg("--substituter")
            .arg(format!("file://{}", s.p("tampered").display())),
    );
    let t = &r["substituters"][0];
    assert_eq!(t["hits"].as_u64(), Some(1), "{t:#}");
    assert_eq!(t["bad_signature"].as_u64(), Some(1), "{t:#}");
    assert!(r["findings"].to_string().contains("does not verify"));

    // An installable: the outputs of every derivation in its closure (`common` has one).
    let r = json(
        s.nixperf(&format!("substituters = {u1} {u2}\n{keys}"))
            .args(["cache", "--json", "--installable", "common", "--file"])
            .arg(common::fixture("store/pkgs.nix")),
    );
    assert_eq!(r["closure_paths"].as_u64(), Some(1));
    assert_eq!(r["substituters"][0]["hit_rate"].as_f64(), Some(1.0));
    assert_eq!(r["substituters"][1]["hit_rate"].as_f64(), Some(1.0));

    // A recorded build that substitutes the closure from the complete cache: `--profile` shows
    // what nix measured for each substituter during that build.
    s.run(s.cmd("nix-store").arg("--delete").args(&closure));
    assert!(!Path::new(&app).exists());
    let bp = s.p("bp.db");
    let conf_u1 = format!("substituters = {u1}\n{keys}");
    succeed(
        s.nixperf(&conf_u1)
            .args(["build", "-q", "-o"])
            .arg(&bp)
            .args([
                "--",
                "nix-build",
                "--no-out-link",
                "--arg",
                "gen",
                "2",
                "-A",
                "app",
            ])
            .arg(common::fixture("store/pkgs.nix")),
    );
    assert!(Path::new(&app).exists());
    let r = json(
        s.nixperf(&conf_u1)
            .args(["cache", "--json", "--paths", &app, "--profile"])
            .arg(&bp),
    );
    let obs = r["observed"].as_array().unwrap();
    let row = obs
        .iter()
        .find(|o| o["url"].as_str().unwrap().starts_with(&u1))
        .unwrap_or_else(|| panic!("{obs:?}"));
    assert_eq!(row["substituted"].as_u64(), Some(n), "{row:#}");
    assert_eq!(row["failed"].as_u64(), Some(0));

    // The same through the text report.
    let text = stdout_of(
        s.nixperf(&format!("substituters = {u1} {u2}\n{keys}"))
            .args(["cache", "--paths", &app]),
    );
    assert!(
        text.contains("100.0%") && text.contains("rogue-key-1"),
        "{text}"
    );
}

#[test]
fn config_reports_settings_and_emits_nix_conf() {
    let s = Priv::new();
    let conf = "max-jobs = 1\ncores = 7\nkeep-going = false\n";
    let r = json(s.nixperf(conf).args(["config", "--format", "json"]));
    let eff: Vec<(String, String)> = serde_json::from_value(r["effective"].clone()).unwrap();
    assert!(eff.contains(&("cores".into(), "7".into())), "{eff:?}");
    assert!(eff.contains(&("max-jobs".into(), "1".into())));
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(r["hardware"]["logical_cpus"].as_u64(), Some(cpus as u64));
    let recs = r["recommendations"].as_array().unwrap();
    let keep_going = recs.iter().find(|x| x["setting"] == "keep-going").unwrap();
    assert_eq!(keep_going["recommended"], "true");
    for f in ["nix-conf", "nixos"] {
        let out = s
            .nixperf(conf)
            .args(["config", "--format", f])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let want = if f == "nixos" {
            "nix.settings.keep-going = true;"
        } else {
            "keep-going = true"
        };
        assert!(text.contains(want), "{text}");
    }
}

#[test]
fn config_max_jobs_from_recorded_build_simulation() {
    let s = Priv::new();
    let bp = s.p("bp.db");
    succeed(
        s.nixperf("max-jobs = 1\n")
            .args(["build", "-q", "-o"])
            .arg(&bp)
            .args(["--", "nix-build", "--no-out-link"])
            .arg(common::fixture("store/wide.nix")),
    );
    let r = json(
        s.nixperf("max-jobs = 1\n")
            .args(["config", "--format", "json", "--profile"])
            .arg(&bp),
    );
    let sim: Vec<(usize, u64)> = serde_json::from_value(r["simulation"].clone()).unwrap();
    let cpus = r["hardware"]["logical_cpus"].as_u64().unwrap() as usize;
    assert!(sim.len() >= 2, "{sim:?}");
    // Five derivations built one at a time: ≥ 4 × 0.3 s at max-jobs 1.
    assert!(sim[0].1 >= 1_200_000_000, "{sim:?}");
    let mj = r["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["setting"] == "max-jobs")
        .unwrap();
    assert!(
        mj["basis"].as_str().unwrap().starts_with("simulation"),
        "{mj:#}"
    );
    let best = sim
        .iter()
        .filter(|x| x.0 <= cpus)
        .map(|x| x.1)
        .min()
        .unwrap();
    let want = sim
        .iter()
        .find(|x| x.0 <= cpus && x.1 as f64 <= best as f64 * 1.02)
        .unwrap()
        .0;
    assert_eq!(mj["recommended"].as_str().unwrap(), want.to_string());
    if cpus > 1 {
        assert!(want > 1 && sim[want - 1].1 < sim[0].1, "{sim:?}");
    }
}

/// A chroot store (`--store DIR`: paths named /nix/store/…, stored under DIR/nix/store; Nix
/// forces the sandbox there, so /bin/sh and its libraries are bind-mounted in).
#[test]
fn chroot_store_gc_prediction_is_exact() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let env = |c: &mut Command| {
        c.env_remove("NIX_STORE_DIR")
            .env_remove("NIX_STATE_DIR")
            .env_remove("NIX_LOG_DIR")
            .env_remove("NIX_REMOTE")
            .env("HOME", d.path())
            .env(
                "NIX_CONFIG",
                "substituters =\nbuild-users-group =\nsandbox-paths = /bin /usr /lib /lib64\n",
            );
    };
    let build = |attr: &str, out: Option<&Path>| {
        let mut c = Command::new("nix-build");
        env(&mut c);
        c.arg("--store")
            .arg(&root)
            .arg(common::fixture("store/pkgs.nix"));
        c.args(["-A", attr]);
        match out {
            Some(o) => c.arg("-o").arg(o),
            None => c.arg("--no-out-link"),
        };
        succeed(&mut c);
    };
    build("app", Some(&d.path().join("result")));
    build("scratch", None);
    build("tool", None);
    let mut c = common::nixperf();
    env(&mut c);
    let r = json(
        c.args(["store", "--json", "--dedup", "off", "--store-root"])
            .arg(&root),
    );
    assert_eq!(r["store_dir"], "/nix/store");
    assert_eq!(r["results"].as_array().unwrap().len(), 1);
    let c0 = command(&r, "nix-store --gc");
    let expect = gc_line(c0);
    let du = || du_bytes(&root.join("nix/store"));
    let du0 = du();
    let mut c = Command::new("nix-store");
    env(&mut c);
    let o = c.arg("--store").arg(&root).arg("--gc").output().unwrap();
    let text =
        String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains(&expect), "expected {expect:?} in {text}");
    assert_eq!(du0 - du(), c0["freed"]["disk"].as_u64().unwrap());
}

/// A process whose working directory is in a dead path keeps it alive, for nix and nixperf.
#[test]
fn runtime_roots_count_as_nix_counts_them() {
    let s = Priv::new();
    let scratch = s.build(3, "scratch", None);
    s.build(4, "scratch", None);
    let mut sleeper = Command::new("sleep")
        .arg("60")
        .current_dir(&scratch)
        .spawn()
        .unwrap();
    let r = s.nixperf_store(&["--dedup", "off"]);
    let run_only = &r["breakdown"][1];
    assert!(
        run_only["paths"].as_u64().unwrap() >= 1,
        "{:#}",
        r["breakdown"]
    );
    let expect = gc_line(command(&r, "nix-store --gc"));
    let out = s.run(s.cmd("nix-store").arg("--gc"));
    sleeper.kill().ok();
    sleeper.wait().ok();
    assert!(out.contains(&expect), "expected {expect:?} in:\n{out}");
    assert!(Path::new(&scratch).exists());
    // Without the process, the next prediction includes it, and nix agrees.
    let r = s.nixperf_store(&["--dedup", "off"]);
    assert_eq!(r["breakdown"][1]["paths"].as_u64(), Some(0));
    let c = command(&r, "nix-store --gc").clone();
    assert!(c["paths_deleted"].as_u64().unwrap() >= 1);
    let out = s.run(s.cmd("nix-store").arg("--gc"));
    assert!(
        out.contains(&format!("{} store paths deleted", c["paths_deleted"])),
        "{out}"
    );
    assert!(!Path::new(&scratch).exists());
}
