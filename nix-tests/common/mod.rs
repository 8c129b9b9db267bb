//! Shared helpers of the tests that run the real nix with the real plugin; running the binary
//! (`nixperf`, `ok`, …) is tests/support/, shared with the nix-free tests.
#![allow(dead_code)]

#[path = "../../tests/support/mod.rs"]
mod support;
// Not every test binary uses every helper (as `dead_code` above, for the re-exports).
#[allow(unused_imports)]
pub use support::{nixperf, ok, repo, test_history};

use nixperf::profile::{self, Profile};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("nix-tests").join(rel)
}

/// A Nix store of this test binary's own for the machine's Nix where a test writes a store
/// (nix-build, IFD with --read-write-mode): NIX_STORE_DIR, NIX_STATE_DIR and NIX_LOG_DIR under
/// the temp dir, never the machine's /nix (issue #18; scripts/test.sh checks with
/// scripts/host-nix-guard.sh). Not for the Nix builds of scripts/build-nix.sh, whose own prefix
/// is private already (their tests check that IFD lands in it).
pub fn private_store(c: &mut Command) -> &mut Command {
    let root = std::env::temp_dir().join(format!("nixperf-test-store-{}", std::process::id()));
    let env = |c: &mut Command| {
        c.env("NIX_STORE_DIR", root.join("store"))
            .env("NIX_STATE_DIR", root.join("var"))
            .env("NIX_LOG_DIR", root.join("var/log/nix"))
            .env_remove("NIX_REMOTE");
    };
    // Created once, before any test uses it: two nix processes opening a new store at once
    // race to create its links (Nix 2.8: "creating symlink … File exists").
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let mut init = Command::new("nix-store");
        env(&mut init);
        let out = init.arg("--init").output().expect("run nix-store --init");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    env(c);
    c
}

/// The plugin built beside the test binary (`cargo test` builds the cdylib with the lib).
pub fn plugin() -> PathBuf {
    let out = nixperf()
        .arg("plugin-path")
        .output()
        .expect("run nixperf plugin-path");
    assert!(
        out.status.success(),
        "plugin not built: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

pub struct Run {
    pub output: Output,
    pub profile_path: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Run {
    pub fn profile(&self) -> Profile {
        profile::read(&self.profile_path).unwrap_or_else(|e| {
            panic!(
                "{e}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&self.output.stdout),
                String::from_utf8_lossy(&self.output.stderr)
            )
        })
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
}

/// `nixperf eval ARGS -o <tmp>/p.db`, run from the repository root.
pub fn eval(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let profile_path = dir.path().join("p.db");
    let mut cmd = nixperf();
    // `nixperf eval` evaluates read-write (derivations written, IFD built): the machine's own
    // Nix gets a store of the test process's own, never the machine's /nix.
    if !args
        .iter()
        .any(|a| *a == "--nix" || a.starts_with("--nix="))
    {
        private_store(&mut cmd).env(
            "NIX_CONFIG",
            "substituters =\nwarn-dirty = false\nsandbox = false",
        );
    }
    let output = cmd
        .current_dir(repo())
        .arg("eval")
        .arg("-o")
        .arg(&profile_path)
        .args(args)
        .output()
        .expect("run nixperf eval");
    Run {
        output,
        profile_path,
        dir,
    }
}

/// Calls of every frame named `name` (summed over call paths).
pub fn calls_of(p: &Profile, name: &str) -> u64 {
    p.nodes
        .iter()
        .skip(1)
        .filter(|n| p.frames[n.frame as usize].name == name)
        .map(|n| n.count)
        .sum()
}

/// (line, column, depth, size, dynamic count) of the findings of one kind, sorted.
#[allow(dead_code)]
pub fn findings_of(p: &Profile, kind: profile::FindingKind) -> Vec<(u32, u32, u32, u32, u64)> {
    let mut v: Vec<_> = p
        .findings
        .iter()
        .filter(|f| f.kind == kind)
        .map(|f| (f.line, f.col, f.depth, f.size, f.count))
        .collect();
    v.sort();
    v
}

/// Calls of the function named `name` summed over its call sites (equals its calls when every
/// call has a site).
#[allow(dead_code)]
pub fn site_calls(p: &Profile, name: &str) -> u64 {
    p.call_sites
        .iter()
        .filter(|s| p.frames[p.nodes[s.node as usize].frame as usize].name == name)
        .map(|s| s.count)
        .sum()
}

pub fn total_calls(p: &Profile) -> u64 {
    p.nodes.iter().skip(1).map(|n| n.count).sum()
}

pub fn file<'a>(p: &'a Profile, suffix: &str) -> &'a nixperf::profile::FileRow {
    p.files
        .iter()
        .find(|f| f.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no file ending in {suffix} in profile"))
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// nixpkgs' `lib/` (NIXPKGS_LIB, else `../shared/nixpkgs-lib/lib` beside the repository).
/// Tests that need it say so on stderr and pass vacuously where it is absent.
pub fn nixpkgs_lib() -> Option<PathBuf> {
    let lib = std::env::var_os("NIXPKGS_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/nixpkgs-lib/lib"));
    if lib.join("default.nix").exists() {
        Some(lib)
    } else {
        eprintln!(
            "SKIPPED: no nixpkgs lib/ at {} (set NIXPKGS_LIB)",
            lib.display()
        );
        None
    }
}

/// A static HTTP server (python3 -m http.server) on 127.0.0.1 serving `dir`, e.g. a binary
/// cache written by `nix copy --to file://DIR`; killed when dropped.
pub struct HttpServer {
    child: std::process::Child,
    pub port: u16,
}

impl HttpServer {
    pub fn serve(dir: &Path) -> HttpServer {
        use std::io::{BufRead, BufReader};
        // Port 0: the kernel picks a free port, which the server prints (no race).
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "0",
                "--directory",
            ])
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        HttpServer { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nixperf --history PATH`.
pub fn np(history: &Path) -> Command {
    let mut c = nixperf();
    c.arg("--history").arg(history);
    c
}

/// Nix `version` ("2.26", "2.28", …) built by scripts/build-nix.sh (prefix `NIXPERF_NIX_2_26`, ...,
/// else /var/cache/nixperf-nix/nix-<version>) and the plugin built against it
/// (scripts/build-plugin-for.sh <version>): (prefix, plugin) if both exist, else None with
/// SKIPPED on stderr; `NIXPERF_REQUIRE_NIX_2_26=1` (...) makes their absence a failure.
/// `also` names further paths the caller needs from the build (checked the same way).
pub fn built_nix_with_plugin(
    version: &str,
    also: impl Fn(&Path) -> Vec<PathBuf>,
) -> Option<(PathBuf, PathBuf)> {
    let v = version.replace('.', "_");
    let prefix = PathBuf::from(
        std::env::var(format!("NIXPERF_NIX_{v}"))
            .unwrap_or(format!("/var/cache/nixperf-nix/nix-{version}")),
    );
    let plugin = repo().join(format!("target/nix-{version}/release/libnixperf.so"));
    let mut needed = vec![prefix.join(".nixperf-built"), plugin.clone()];
    needed.extend(also(&prefix));
    if let Some(missing) = needed.iter().find(|p| !p.exists()) {
        assert!(
            std::env::var_os(format!("NIXPERF_REQUIRE_NIX_{v}")).is_none(),
            "Nix {version} or its plugin not built ({} missing): \
             scripts/build-nix.sh {version} && scripts/build-plugin-for.sh {version}",
            missing.display()
        );
        eprintln!(
            "SKIPPED: Nix {version} or its plugin not built ({} missing)",
            missing.display()
        );
        return None;
    }
    let pv = nixperf::nixprobe::plugin_nix_version(&plugin)
        .unwrap()
        .unwrap();
    assert_eq!(format!("{}.{}", pv.major, pv.minor), version);
    Some((prefix, plugin))
}

/// The exact counts of nix-tests/fixtures/fib.nix (fib 15) on every Nix version: 1973 lambda
/// calls of `fib`, `n < 2` and `n - 1`/`n - 2` as primop calls, one parse of the file. Returns
/// the file's row for further checks.
pub fn assert_fib15_counts(p: &Profile) -> &nixperf::profile::FileRow {
    assert_eq!(calls_of(p, "fib"), 1973);
    assert_eq!(calls_of(p, "lessThan"), 1973);
    assert_eq!(calls_of(p, "sub"), 1972);
    assert_eq!(total_calls(p), 5918);
    let fib = file(p, "fixtures/fib.nix");
    assert_eq!(fib.calls, 1973);
    assert_eq!(fib.parses, 1);
    fib
}

/// `nixperf eval` arguments that profile `nix eval -f fib.nix` (the new CLI rather than
/// nix-instantiate).
pub const NIX_EVAL_FIB: [&str; 7] = [
    "--",
    "nix",
    "--extra-experimental-features",
    "nix-command",
    "eval",
    "-f",
    "nix-tests/fixtures/fib.nix",
];

/// Copies a directory tree (regular files and directories only, as the fixtures have).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Whether process `pid` still runs (a zombie is dead for our purpose).
#[allow(dead_code)]
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// A string no earlier run used (`tag`-pid-nanoseconds): a fresh derivation each time, so that
/// builds really run.
pub fn nonce(tag: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{tag}-{}-{}", std::process::id(), t.as_nanos())
}

/// The two IFDs of fixtures/findings/ifd.nix, freshly built: at their call sites, each with
/// its derivation's output (in `store` if given) and the time evaluation was blocked.
pub fn assert_ifd_fixture(p: &Profile, store: Option<&Path>) {
    let mut ifd: Vec<_> = p
        .ifds
        .iter()
        .map(|i| (i.primop.as_str(), i.line, i.col))
        .collect();
    ifd.sort();
    assert_eq!(ifd, vec![("import", 13, 15), ("readFile", 14, 10)]);
    for i in &p.ifds {
        assert!(p.file_path(i.file).ends_with("fixtures/findings/ifd.nix"));
        assert_eq!(i.derivations.len(), 1);
        let d = &i.derivations[0];
        assert!(d.ends_with(".drv^out"), "{:?}", i.derivations);
        if let Some(store) = store {
            assert!(
                d.starts_with(store.to_str().unwrap()),
                "{:?}",
                i.derivations
            );
        }
        // A fresh build: the builder really ran while evaluation waited.
        assert!(i.blocked_ns > 0);
    }
}

/// A Nix of its own in a temp dir for one test: store, state, logs, nix.conf, HOME and
/// XDG_STATE_HOME (nixperf's history and undo records) never the machine's.
pub struct PrivateNix {
    pub dir: tempfile::TempDir,
}

impl PrivateNix {
    pub fn new(conf: &[u8]) -> PrivateNix {
        let dir = tempfile::tempdir().unwrap();
        for d in ["store", "var", "log", "home", "conf", "state"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("conf/nix.conf"), conf).unwrap();
        PrivateNix { dir }
    }

    pub fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `c` in the repository with this Nix's environment and no stdin; `store_in_env`: the
    /// store and state are named by NIX_STORE_DIR / NIX_STATE_DIR (else those are removed).
    pub fn env<'c>(&self, c: &'c mut Command, store_in_env: bool) -> &'c mut Command {
        c.current_dir(repo())
            .env("NIX_LOG_DIR", self.p("log"))
            .env("NIX_CONF_DIR", self.p("conf"))
            .env("HOME", self.p("home"))
            .env("XDG_STATE_HOME", self.p("state"))
            .env_remove("NIX_CONFIG")
            .env_remove("NIX_REMOTE")
            .stdin(std::process::Stdio::null());
        if store_in_env {
            c.env("NIX_STORE_DIR", self.p("store"))
                .env("NIX_STATE_DIR", self.p("var"));
        } else {
            c.env_remove("NIX_STORE_DIR").env_remove("NIX_STATE_DIR");
        }
        c
    }
}
