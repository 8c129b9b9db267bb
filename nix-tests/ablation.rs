//! The ablation oracle of the slow-module table (issue 14's "Must show"): on a realistic
//! flake-style configuration evaluated by nixpkgs' real `lib.evalModules`
//! (fixtures/fleet-config), the share nixperf reports for each of its top three modules must
//! agree with what removing that module's work costs plain nix.
//!
//! For a module M, plain `nix-instantiate --eval --strict` is run with and without M's work
//! (`--arg disable '[ "desktop/panel" ]'` sets `desktop.panel.enable = mkForce false`); the
//! measured share of M is (full − without M) / full, on the CPU time (user + sys, from the
//! child's own `wait4` rusage, not wall time) median of RUNS interleaved runs. Then
//!
//! - the profiler's top three rows of `nixperf report --json`'s `.modules.rows[]` are the top
//!   three modules by ablation, in the same order (that no other module outranks the third is
//!   checked by switching all the other switchable modules off at once: their combined share
//!   must be below the third's);
//! - each reported `share` is within 15 percentage points of the measured share;
//! - both hold again with the fixture copied under a path containing `/lib/`
//!   (`$TMP/var/lib/nixos-config`), where a path-fragment classification calls every file
//!   library code.
//!
//! And the call counts behind it are exact: `kv` of utils.nix, counted by hand from the
//! fixture's parameters and by Nix itself (`builtins.trace` once per call), is the count
//! nixperf reports.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Interleaved runs per configuration (the median is taken).
const RUNS: usize = 5;
/// Largest allowed |reported share − measured share|, in percentage points.
const TOLERANCE_PP: f64 = 15.0;
/// The module areas whose files have an `enable` switch (`<area>.<name>.enable`).
const SWITCHABLE: [&str; 3] = ["desktop", "services", "programs"];

fn fixture_dir() -> PathBuf {
    fixture("fixtures/fleet-config")
}

/// Every switchable module of the fixture as (path relative to the root, switch name), e.g.
/// ("modules/desktop/panel.nix", "desktop/panel").
fn switchable_modules(root: &Path) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for area in SWITCHABLE {
        for e in std::fs::read_dir(root.join("modules").join(area)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if let Some(stem) = name.strip_suffix(".nix") {
                v.push((format!("modules/{area}/{name}"), format!("{area}/{stem}")));
            }
        }
    }
    v.sort();
    v
}

fn nix_list(names: &[&str]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("[ {} ]", items.join(" "))
}

/// Plain nix (no plugin) on the fixture with the modules `disable` switched off: the child's
/// CPU time (user + sys) in seconds, from its own rusage (`wait4`), so other threads' children
/// do not count.
fn plain_cpu_seconds(root: &Path, lib: &Path, disable: &[&str], scratch: &Path) -> f64 {
    let err_path = scratch.join("plain.stderr");
    let err = std::fs::File::create(&err_path).unwrap();
    // Reaped by wait4 below (for its rusage), not by Child::wait.
    #[allow(clippy::zombie_processes)]
    let child = Command::new("nix-instantiate")
        .env("NIX_CONFIG", "substituters =\nwarn-dirty = false")
        .args(["--eval", "--strict"])
        .arg(root)
        .arg("--arg")
        .arg("nixpkgsLib")
        .arg(lib)
        .args(["--arg", "disable", &nix_list(disable)])
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("run nix-instantiate");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain FFI; `ru` is written by the kernel.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "nix-instantiate with disable = {disable:?} failed:\n{}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// `nixperf eval -f ROOT --arg nixpkgsLib LIB` and `nixperf report --json` of its profile.
fn profile_report(root: &Path, lib: &Path) -> Value {
    let root_s = root.to_str().unwrap();
    let lib_s = lib.to_str().unwrap();
    let run = eval(&["-f", root_s, "--arg", "nixpkgsLib", lib_s]);
    assert!(
        run.output.status.success(),
        "nixperf eval failed:\n{}",
        run.stderr()
    );
    let out = nixperf()
        .arg("report")
        .arg(&run.profile_path)
        .args(["--json", "--no-files"])
        .output()
        .expect("run nixperf report");
    assert!(
        out.status.success(),
        "nixperf report failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report --json is JSON")
}

/// A row path relative to the fixture's root (files outside it, e.g. nixpkgs' lib, as is).
fn relative(root: &Path, path: &str) -> String {
    let canon = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    for r in [canon.as_path(), root] {
        if let Ok(rel) = Path::new(path).strip_prefix(r) {
            return rel.to_string_lossy().into_owned();
        }
    }
    path.to_owned()
}

struct Measured {
    /// (relative path, switch) of each ablated module, and its per-run CPU seconds.
    modules: Vec<(String, String, Vec<f64>)>,
    full: Vec<f64>,
    rest: Vec<f64>,
    rest_names: Vec<String>,
}

impl Measured {
    fn share(&self, runs: &[f64]) -> f64 {
        let full = median(&self.full);
        (full - median(runs)) / full
    }
    /// Min and max over runs of the paired share (run i of full vs run i without M): the spread
    /// the median smooths.
    fn spread(&self, runs: &[f64]) -> (f64, f64) {
        let s: Vec<f64> = self
            .full
            .iter()
            .zip(runs)
            .map(|(f, w)| (f - w) / f)
            .collect();
        (
            s.iter().cloned().fold(f64::INFINITY, f64::min),
            s.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        )
    }
}

/// Ablate `ablate` (each alone) and all other switchable modules together, RUNS interleaved
/// rounds (the order rotated each round so that a slow spell of the machine does not always
/// hit the same configuration).
fn measure(root: &Path, lib: &Path, ablate: &[(String, String)]) -> Measured {
    let scratch = tempfile::tempdir().unwrap();
    let all = switchable_modules(root);
    let rest_names: Vec<String> = all
        .iter()
        .filter(|(p, _)| !ablate.iter().any(|(q, _)| q == p))
        .map(|(_, s)| s.clone())
        .collect();
    // Configuration 0 is the full config, 1..=n the single ablations, n+1 the rest.
    let mut configs: Vec<Vec<&str>> = vec![vec![]];
    configs.extend(ablate.iter().map(|(_, s)| vec![s.as_str()]));
    configs.push(rest_names.iter().map(String::as_str).collect());
    let mut times = vec![Vec::new(); configs.len()];
    // One unmeasured run first: file-system caches, the lazily loaded parts of nix.
    plain_cpu_seconds(root, lib, &[], scratch.path());
    for round in 0..RUNS {
        for k in 0..configs.len() {
            let c = (k + round) % configs.len();
            times[c].push(plain_cpu_seconds(root, lib, &configs[c], scratch.path()));
        }
    }
    let rest = times.pop().unwrap();
    let full = times.remove(0);
    Measured {
        modules: ablate
            .iter()
            .cloned()
            .zip(times)
            .map(|((p, s), t)| (p, s, t))
            .collect(),
        full,
        rest,
        rest_names,
    }
}

/// The oracle on the fixture at `root`; `label` names the location in messages.
fn ablation_oracle(root: &Path, label: &str) {
    let Some(lib) = nixpkgs_lib() else {
        return;
    };
    let report = profile_report(root, &lib);
    let rows = report["modules"]["rows"]
        .as_array()
        .expect(".modules.rows[]")
        .clone();
    let reported: Vec<(String, f64)> = rows
        .iter()
        .map(|r| {
            (
                relative(root, r["path"].as_str().unwrap()),
                r["share"].as_f64().unwrap(),
            )
        })
        .collect();
    let share_of = |p: &str| {
        reported
            .iter()
            .find(|(q, _)| q == p)
            .map(|(_, s)| *s)
            .unwrap_or(0.0)
    };
    let top3: Vec<String> = reported.iter().take(3).map(|(p, _)| p.clone()).collect();

    // What to ablate: the profiler's top three where they are switchable modules, and the
    // fixture's three expensive modules (so that a misranking still shows the real top three).
    let switchable = switchable_modules(root);
    let mut ablate: Vec<(String, String)> = Vec::new();
    for p in top3.iter().map(String::as_str).chain([
        "modules/desktop/panel.nix",
        "modules/services/nginx.nix",
        "modules/services/backup.nix",
    ]) {
        if let Some(m) = switchable.iter().find(|(q, _)| q == p)
            && !ablate.contains(m)
        {
            ablate.push(m.clone());
        }
    }
    let m = measure(root, &lib, &ablate);

    let mut by_ablation: Vec<(String, f64, (f64, f64))> = m
        .modules
        .iter()
        .map(|(p, _, t)| (p.clone(), m.share(t), m.spread(t)))
        .collect();
    by_ablation.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap());
    let rest_share = m.share(&m.rest);
    let rest_spread = m.spread(&m.rest);

    let pct = |x: f64| format!("{:5.1} %", 100.0 * x);
    let mut table = format!(
        "ablation oracle ({label}: {}), plain nix CPU time, median of {RUNS} runs: full {:.3} s (runs {:.3}..{:.3} s)\n",
        root.display(),
        median(&m.full),
        m.full.iter().cloned().fold(f64::INFINITY, f64::min),
        m.full.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
    );
    table += &format!(
        "{:<4} {:<34} {:>9} {:>9} {:>8}   {}\n",
        "#",
        "module (by ablation)",
        "reported",
        "ablation",
        "diff",
        "paired-run spread of the ablation share"
    );
    for (i, (p, s, (lo, hi))) in by_ablation.iter().enumerate() {
        let r = share_of(p);
        table += &format!(
            "{:<4} {:<34} {:>9} {:>9} {:>+6.1}pp   {}..{}\n",
            i + 1,
            p,
            pct(r),
            pct(*s),
            100.0 * (r - s),
            pct(*lo).trim(),
            pct(*hi).trim()
        );
    }
    table += &format!(
        "     {:<34} {:>9} {:>9} {:>8}   {}..{}\n",
        format!("(other {} switchable, together)", m.rest_names.len()),
        "",
        pct(rest_share),
        "",
        pct(rest_spread.0).trim(),
        pct(rest_spread.1).trim()
    );
    table += "profiler's top rows:";
    for (i, (p, s)) in reported.iter().take(5).enumerate() {
        table += &format!("  {}. {} {}", i + 1, p, pct(*s).trim());
    }
    table += "\n";
    eprintln!("{table}");

    let top3_ablation: Vec<String> = by_ablation
        .iter()
        .take(3)
        .map(|(p, ..)| p.clone())
        .collect();
    // No module left out of the single ablations can outrank the third: together they cost
    // less than it.
    assert!(
        rest_share < by_ablation[2].1,
        "{label}: the other switchable modules together ({}) cost more than the third module by \
         ablation ({} {}): the fixture's top three are not separated (table above)",
        pct(rest_share),
        by_ablation[2].0,
        pct(by_ablation[2].1)
    );
    assert_eq!(
        top3, top3_ablation,
        "{label}: the profiler's top three modules (left) are not the top three by ablation \
         (right), in order (table above)"
    );
    for (p, s, _) in by_ablation.iter().take(3) {
        let r = share_of(p);
        assert!(
            (100.0 * (r - s)).abs() <= TOLERANCE_PP,
            "{label}: {p} reported {} but removing its work saves {} of the evaluation \
             (more than {TOLERANCE_PP} points apart; table above)",
            pct(r),
            pct(*s)
        );
    }
}

#[test]
fn slow_modules_match_ablation() {
    ablation_oracle(&fixture_dir(), "in the repository");
}

#[test]
fn slow_modules_match_ablation_under_a_lib_path() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("var/lib/nixos-config");
    copy_tree(&fixture_dir(), &root);
    ablation_oracle(&root, "copied under /var/lib/");
}

/// The panel's `kv` calls, counted by hand from the fixture's parameters (hosts/atlas,
/// modules/desktop/panel.nix, modules/desktop/theme.nix): every launcher item has 15 settings
/// and 6 menu actions of 6 settings each, on 4 monitors × 18 workspaces × 60 applications;
/// each monitor's bar has 4 settings and 9 widgets of 6 settings; theme.nix writes 3 GTK
/// settings and the 5 palette colours.
const KV_CALLS: u64 = 4 * 18 * 60 * (15 + 6 * 6) + 4 * (4 + 9 * 6) + (3 + 5);

#[test]
fn kv_call_count_is_exact() {
    let Some(lib) = nixpkgs_lib() else {
        return;
    };
    // Nix counts them itself: a copy whose `kv` traces once per call.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("fleet-config");
    copy_tree(&fixture_dir(), &root);
    let utils = root.join("utils.nix");
    let text = std::fs::read_to_string(&utils).unwrap();
    let prefix = "  kv = k: v: ";
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .expect("utils.nix defines kv on one line");
    let body = line[prefix.len()..].strip_suffix(';').unwrap();
    let traced = format!("{prefix}builtins.trace \"nixperf-kv-call\" ({body});");
    std::fs::write(&utils, text.replace(line, &traced)).unwrap();
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict"])
        .arg(&root)
        .arg("--arg")
        .arg("nixpkgsLib")
        .arg(&lib)
        .stdout(Stdio::null())
        .output()
        .expect("run nix-instantiate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let traced_calls = stderr
        .lines()
        .filter(|l| *l == "trace: nixperf-kv-call")
        .count() as u64;
    assert_eq!(
        traced_calls, KV_CALLS,
        "the hand count of kv calls disagrees with Nix's own (trace) count"
    );

    let report = profile_report(&fixture_dir(), &lib);
    let kv: Vec<(u64, String)> = report["functions"]
        .as_array()
        .expect(".functions[]")
        .iter()
        .filter(|f| f["name"] == "kv" && f["file"].as_str().unwrap_or("").ends_with("/utils.nix"))
        .map(|f| {
            (
                f["calls"].as_u64().unwrap(),
                format!("{}:{}", f["line"], f["col"]),
            )
        })
        .collect();
    eprintln!(
        "kv: {KV_CALLS} calls by hand and by trace; nixperf's kv rows (calls, line:col): {kv:?}"
    );
    assert!(!kv.is_empty(), "no `kv` of utils.nix in .functions[]");
    for (calls, at) in &kv {
        assert_eq!(
            *calls, KV_CALLS,
            "nixperf counts {calls} calls of kv (utils.nix:{at}), Nix {KV_CALLS}"
        );
    }
}
