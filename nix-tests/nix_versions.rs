//! Other Nix versions than the machine's: the fallback for a Nix that cannot load the plugin
//! (Debian's own nix-bin 2.34.8 from sid, which links Nix's libraries statically), measured
//! against the plugin on the machine's Nix 2.8 on the same fixtures.
//!
//! The sid build is provisioned by scripts/debian-nix-bin.sh (run from scripts/setup-debian.sh)
//! into /var/cache/nixperf-nix/debian-sid, or NIXPERF_DEBIAN_NIX.

mod common;
use common::*;
use nixperf::profile::{FrameKind, Profile, Source};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn debian_nix() -> PathBuf {
    let p = std::env::var_os("NIXPERF_DEBIAN_NIX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/nixperf-nix/debian-sid"));
    assert!(
        p.join("bin/nix-instantiate").exists(),
        "Debian's nix-bin 2.34 not provisioned at {}: run scripts/debian-nix-bin.sh sid",
        p.display()
    );
    p
}

fn eval_with(nix: &std::path::Path, args: &[&str]) -> Run {
    let mut a = vec!["--nix", nix.to_str().unwrap()];
    a.extend_from_slice(args);
    eval(&a)
}

/// Calls per (kind, name), summed over call sites and paths.
fn counts(p: &Profile, kind: FrameKind) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for n in p.nodes.iter().skip(1) {
        let f = &p.frames[n.frame as usize];
        if f.kind == kind {
            *m.entry(f.name.clone()).or_insert(0) += n.count;
        }
    }
    m
}

#[test]
fn static_debian_nix_takes_the_fallback_with_exact_counts() {
    let nix = debian_nix();
    let run = eval_with(&nix, &["-f", "nix-tests/fixtures/fib.nix"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    // Said before running, in one line, with the reason.
    let err = run.stderr();
    let why: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("plugin not used"))
        .collect();
    assert_eq!(why.len(), 1, "{}", run.stderr());
    assert!(why[0].contains("exports no Nix C++ symbols"), "{}", why[0]);
    assert!(why[0].contains("Nix 2.34"), "{}", why[0]);
    assert!(run.stdout().contains("FALLBACK"), "{}", run.stdout());
    assert!(
        run.stdout().contains("modules: unavailable"),
        "{}",
        run.stdout()
    );

    let p = run.profile();
    assert_eq!(
        p.meta.nix_version.split('.').take(2).collect::<Vec<_>>(),
        ["2", "34"]
    );
    assert!(matches!(
        p.meta.source,
        Source::NixEvalProfiler { hz: 0, .. }
    ));
    // The same numbers as the plugin on Nix 2.8 (eval_profile.rs): every call counted.
    assert_eq!(calls_of(&p, "fib"), 1973);
    assert_eq!(calls_of(&p, "lessThan"), 1973);
    assert_eq!(calls_of(&p, "sub"), 1972);
    assert_eq!(total_calls(&p), 5918);
    // No per-file attribution is invented: only the evaluator row carries time.
    assert!(
        p.files
            .iter()
            .skip(1)
            .all(|f| f.self_ns == 0 && f.calls == 0)
    );
    assert!(p.meta.wall_ns > 0 && p.total_ns() == p.meta.wall_ns);
    assert!(p.findings.is_empty());

    // The report says what is missing, in every format.
    let out = nixperf()
        .arg("report")
        .arg(&run.profile_path)
        .arg("-o")
        .arg(run.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FALLBACK") && text.contains("called at"),
        "{text}"
    );
    let md = std::fs::read_to_string(run.dir.path().join("performance-report.md")).unwrap();
    assert!(md.contains("Unavailable: no per-file attribution"), "{md}");
    let folded = std::fs::read_to_string(run.dir.path().join("stacks.folded")).unwrap();
    let total: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 5918, "flamegraph weights are calls");
    let json = nixperf()
        .args(["report", "--json", "--no-files"])
        .arg(&run.profile_path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["meta"]["source"]["kind"], "nix-eval-profiler");
}

/// The module-system fixture on Nix 2.8 with the plugin and on Nix 2.34 through the fallback:
/// every primop is called exactly as often. Lambda counts differ by design: Nix's profiler
/// hooks `callFunction` once per call expression (`mod a b` is one frame), the plugin counts
/// every lambda application (`mod a b` applies two lambdas), so per name the fallback sees at
/// most as many, and for single-argument functions the same.
#[test]
fn modsys_counts_match_the_plugin_on_nix_2_8() {
    let nix = debian_nix();
    let plugin_run = eval(&["-f", "nix-tests/fixtures/modsys"]);
    assert!(
        plugin_run.output.status.success(),
        "{}",
        plugin_run.stderr()
    );
    let fallback_run = eval_with(&nix, &["-f", "nix-tests/fixtures/modsys"]);
    assert!(
        fallback_run.output.status.success(),
        "{}",
        fallback_run.stderr()
    );
    let (a, b) = (plugin_run.profile(), fallback_run.profile());
    assert!(a.meta.source.is_plugin());
    let (pa, pb) = (counts(&a, FrameKind::Primop), counts(&b, FrameKind::Primop));
    assert_eq!(pa, pb);
    assert_eq!(pa["mul"], 600_000);
    let (la, lb) = (counts(&a, FrameKind::Lambda), counts(&b, FrameKind::Lambda));
    // `mod = a: b: …` is called with two arguments: 2 applications per call for the plugin.
    assert_eq!(la["mod"], 400_000);
    assert_eq!(lb["mod"], 200_000);
    assert_eq!(la["isOption"], lb["isOption"]);
}

#[test]
fn sampling_fallback_estimates_times() {
    let nix = debian_nix();
    let run = eval_with(
        &nix,
        &[
            "--builtin-frequency",
            "997",
            "-f",
            "nix-tests/fixtures/fib25.nix",
        ],
    );
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    assert!(matches!(
        p.meta.source,
        Source::NixEvalProfiler { hz: 997, .. }
    ));
    let samples = total_calls(&p);
    // fib 25 runs for a good fraction of a second on any machine we use.
    assert!(samples >= 5, "{samples} samples");
    assert!(p.frames.iter().all(|f| f.timed));
    let sampled_ns: u64 = p.nodes.iter().map(|n| n.self_ns).sum();
    assert_eq!(sampled_ns, samples * (1_000_000_000 / 997));
    assert!(
        sampled_ns <= p.meta.wall_ns,
        "{sampled_ns} > {}",
        p.meta.wall_ns
    );
}

/// Nix 2.8 can load the plugin; forcing the fallback there must fail clearly (2.8 has no
/// built-in profiler) and must not leave a profile behind.
#[test]
fn no_fallback_below_nix_2_30() {
    let run = eval(&["--builtin-profiler", "-f", "nix-tests/fixtures/fib.nix"]);
    assert!(!run.output.status.success());
    let err = run.stderr();
    assert!(
        err.contains("no built-in profiler") && err.contains("2.30"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!run.profile_path.exists());
}

/// A plugin built for another Nix version is never loaded: the probe reads the version the
/// plugin was compiled against from the .so itself.
#[test]
fn plugin_knows_its_nix_version() {
    let v = nixperf::nixprobe::plugin_nix_version(&plugin())
        .unwrap()
        .expect("plugin exports NIXPERF_NIX_VERSION");
    let nix = nixperf::nixprobe::probe(std::path::Path::new("nix-instantiate")).unwrap();
    assert_eq!((v.major, v.minor), (nix.version.major, nix.version.minor));
    assert!(
        nix.exports_nix_symbols,
        "Debian's 2.8 is built with shared libraries"
    );
    let debian = nixperf::nixprobe::probe(&debian_nix().join("bin/nix-instantiate")).unwrap();
    assert!(!debian.exports_nix_symbols);
    assert!(nixperf::nixprobe::plugin_blocker(&debian, Some(v)).is_some());
}

/// Nix 2.26 built with shared libraries by scripts/build-nix.sh (what nixpkgs ships): it does
/// export Nix's symbols, but the plugin is built for 2.8, so it is refused, and 2.26 has no
/// built-in profiler to fall back to. Runs where the build is cached (CI: see notes/nixver.md);
/// NIXPERF_REQUIRE_NIX_2_26=1 makes a missing build a failure.
#[test]
fn shared_nix_2_26_refuses_a_2_8_plugin_clearly() {
    let prefix = PathBuf::from(
        std::env::var("NIXPERF_NIX_2_26").unwrap_or("/var/cache/nixperf-nix/nix-2.26".into()),
    );
    if !prefix.join(".nixperf-built").exists() {
        assert!(
            std::env::var_os("NIXPERF_REQUIRE_NIX_2_26").is_none(),
            "Nix 2.26 not built: scripts/build-nix.sh 2.26"
        );
        eprintln!(
            "SKIPPED: Nix 2.26 not built at {} (scripts/build-nix.sh 2.26)",
            prefix.display()
        );
        return;
    }
    let nix = nixperf::nixprobe::probe(&prefix.join("bin/nix-instantiate")).unwrap();
    assert_eq!((nix.version.major, nix.version.minor), (2, 26));
    assert!(
        nix.exports_nix_symbols,
        "a shared-library build imports nix::EvalState"
    );
    let run = eval_with(&prefix, &["-f", "nix-tests/fixtures/fib.nix"]);
    assert!(!run.output.status.success());
    let err = run.stderr();
    assert!(err.contains("the plugin was built for Nix 2.8"), "{err}");
    assert!(err.contains("no built-in profiler"), "{err}");
    assert!(!run.profile_path.exists());
}

/// The plugin built against Nix 2.26 (scripts/build-plugin-for.sh 2.26; calls only so far) in
/// the shared-library 2.26 (scripts/build-nix.sh 2.26): the same exact counts as on 2.8. Runs
/// where both are built; NIXPERF_REQUIRE_NIX_2_26=1 makes their absence a failure.
#[test]
fn plugin_on_nix_2_26_counts_fib_exactly() {
    let prefix = PathBuf::from(
        std::env::var("NIXPERF_NIX_2_26").unwrap_or("/var/cache/nixperf-nix/nix-2.26".into()),
    );
    let plugin = repo().join("target/nix-2.26/release/libnixperf.so");
    if !prefix.join(".nixperf-built").exists() || !plugin.exists() {
        assert!(
            std::env::var_os("NIXPERF_REQUIRE_NIX_2_26").is_none(),
            "Nix 2.26 or its plugin not built: scripts/build-nix.sh 2.26 && scripts/build-plugin-for.sh 2.26"
        );
        eprintln!("SKIPPED: Nix 2.26 or its plugin not built");
        return;
    }
    let v = nixperf::nixprobe::plugin_nix_version(&plugin)
        .unwrap()
        .unwrap();
    assert_eq!((v.major, v.minor), (2, 26));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let out = nixperf()
        .current_dir(repo())
        .env("NIXPERF_PLUGIN", &plugin)
        .args(["eval", "--nix"])
        .arg(&prefix)
        .arg("-o")
        .arg(&db)
        .args(["-f", "nix-tests/fixtures/fib.nix"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("plugin not used"), "{err}");
    let p = nixperf::profile::read(&db).unwrap();
    assert!(p.meta.source.is_plugin());
    assert_eq!(calls_of(&p, "fib"), 1973);
    assert_eq!(calls_of(&p, "lessThan"), 1973);
    assert_eq!(calls_of(&p, "sub"), 1972);
    assert_eq!(total_calls(&p), 5918);
}
