//! Other Nix versions than the machine's: the fallback for a Nix that cannot load the plugin
//! (Debian's own nix-bin 2.34.8 from sid, which links Nix's libraries statically), measured
//! against the plugin on the machine's Nix 2.8 on the same fixtures.
//!
//! The sid build is provisioned by scripts/debian-nix-bin.sh (run from scripts/setup-debian.sh)
//! into /var/cache/nixperf-nix/debian-sid, or NIXPERF_DEBIAN_NIX.

mod common;
use common::*;
use nixperf::profile::{FindingKind, FrameKind, Profile, Source};
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
    // ... and the flamegraph says so (not "ns"); Nix's position-less frames get a name.
    let svg = std::fs::read_to_string(run.dir.path().join("flamegraph.svg")).unwrap();
    assert!(
        svg.contains(" calls, ") && !svg.contains(" ns, "),
        "flamegraph unit"
    );
    assert!(!folded.contains("\u{ab}none\u{bb}:0"), "{folded}");
    assert!(!text.contains("| lambda "), "{text}");
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
    let dir = tempfile::tempdir().unwrap();
    let profile_path = dir.path().join("p.db");
    let output = nixperf()
        .current_dir(repo())
        .env(
            "NIXPERF_PLUGIN",
            repo().join("target/release/libnixperf.so"),
        )
        .args(["eval", "--nix"])
        .arg(&prefix)
        .arg("-o")
        .arg(&profile_path)
        .args(["-f", "nix-tests/fixtures/fib.nix"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("the plugin was built for Nix 2.8"), "{err}");
    assert!(err.contains("no built-in profiler"), "{err}");
    assert!(!profile_path.exists());
}

/// Without NIXPERF_PLUGIN, `nixperf eval --nix PREFIX` picks the plugin built for that Nix's
/// version (scripts/build-plugin-for.sh puts it in target/nix-X.Y/release/, beside the CLI's
/// target/release/) instead of refusing the one built for the host's Nix.
#[test]
fn eval_finds_the_plugin_built_for_that_nix() {
    for version in ["2.26", "2.28", "2.31", "2.34", "2.35"] {
        let Some((prefix, _)) = built_nix_with_plugin(version, |_| vec![]) else {
            continue;
        };
        let run = eval_with(&prefix, &["-f", "nix-tests/fixtures/fib.nix"]);
        assert!(run.output.status.success(), "{}", run.stderr());
        let p = run.profile();
        assert!(p.meta.source.is_plugin());
        assert!(
            p.meta.nix_version.contains(version),
            "{}",
            p.meta.nix_version
        );
        assert_eq!(calls_of(&p, "fib"), 1973);
    }
}

/// `nixperf eval --nix PREFIX ARGS` with the plugin built for that Nix (2.26 … 2.35); it must load
/// with every hook family active.
fn eval_built(prefix: &std::path::Path, plugin: &std::path::Path, args: &[&str]) -> Run {
    let run = run_built(prefix, plugin, args);
    let err = run.stderr();
    assert!(run.output.status.success(), "{err}");
    assert!(run.profile().meta.source.is_plugin());
    run
}

fn run_built(prefix: &std::path::Path, plugin: &std::path::Path, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let profile_path = dir.path().join("p.db");
    let output = nixperf()
        .current_dir(repo())
        .env("NIXPERF_PLUGIN", plugin)
        .args(["eval", "--nix"])
        .arg(prefix)
        .arg("-o")
        .arg(&profile_path)
        .args(args)
        .output()
        .unwrap();
    let run = Run {
        output,
        profile_path,
        dir,
    };
    let err = run.stderr();
    assert!(!err.contains("plugin not used"), "{err}");
    assert!(!err.contains("partly inactive"), "{err}");
    run
}

/// Failing evaluations on 2.26 (the error unwinds through thunk and call hooks) still leave a
/// profile marked failed, with the error's message.
#[test]
fn plugin_on_nix_2_26_failing_evaluations_leave_partial_profiles() {
    let Some((prefix, plugin)) = built_nix_with_plugin("2.26", |_| vec![]) else {
        return;
    };
    for (f, reason) in [
        ("throw.nix", "nixperf-test-throw"),
        ("assert.nix", "assertion"),
        ("infrec.nix", "infinite recursion"),
    ] {
        let path = format!("nix-tests/fixtures/failing/{f}");
        let run = run_built(&prefix, &plugin, &["-f", &path]);
        assert!(!run.output.status.success(), "{f}");
        let p = run.profile();
        assert_eq!(p.meta.status, nixperf::profile::Status::Failed, "{f}");
        assert!(p.meta.reason.contains(reason), "{f}: {}", p.meta.reason);
        assert_eq!(file(&p, &path).parses, 1, "{f}");
    }
}

type FileCounts = BTreeMap<String, (bool, u64, u64, u64, u64, u64)>;

/// What the hooks count per file of the fixtures (times aside): (library, parses, imports,
/// top-level evaluations, lambda calls, thunks forced).
fn file_counts(p: &Profile) -> FileCounts {
    p.files
        .iter()
        .filter(|f| f.path.contains("/nix-tests/"))
        .map(|f| {
            (
                f.path.clone(),
                (
                    f.is_library,
                    f.parses,
                    f.imports,
                    f.root_evals,
                    f.calls,
                    f.thunks,
                ),
            )
        })
        .collect()
}

/// Calls per callee with its definition position (name, file, line, column), summed over paths.
fn callee_counts(p: &Profile) -> BTreeMap<(String, String, u32, u32), u64> {
    let mut m = BTreeMap::new();
    for n in p.nodes.iter().skip(1) {
        let f = &p.frames[n.frame as usize];
        let key = (
            f.name.clone(),
            p.file_path(f.file).to_string(),
            f.line,
            f.col,
        );
        *m.entry(key).or_insert(0) += n.count;
    }
    m
}

/// Calls per (callee, call site file, line, column) for the lambdas called from `file`.
fn lambda_sites_in(p: &Profile, file: &str) -> BTreeMap<(String, u32, u32), u64> {
    let mut m = BTreeMap::new();
    for s in &p.call_sites {
        let f = &p.frames[p.nodes[s.node as usize].frame as usize];
        if f.kind == FrameKind::Lambda && p.file_path(s.file).ends_with(file) {
            *m.entry((f.name.clone(), s.line, s.col)).or_insert(0) += s.count;
        }
    }
    m
}

/// `nix eval` and flakes on 2.26: the file hooks see libnixcmd's parse and libnixflake's
/// evalFile of `flake.nix`; Nix's own `«nix-internal»/call-flake.nix` counts as library.
#[test]
fn plugin_on_nix_2_26_profiles_nix_eval_and_flakes() {
    let Some((prefix, plugin)) = built_nix_with_plugin("2.26", |_| vec![]) else {
        return;
    };
    let p = eval_built(&prefix, &plugin, &NIX_EVAL_FIB).profile();
    assert_eq!(calls_of(&p, "fib"), 1973);
    assert_eq!(file(&p, "fixtures/fib.nix").parses, 1);

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("fixtures/flake/flake.nix"),
        dir.path().join("flake.nix"),
    )
    .unwrap();
    let flake = format!("path:{}#fib", dir.path().display());
    let p = eval_built(&prefix, &plugin, &["--flake", &flake]).profile();
    assert_eq!(calls_of(&p, "fib"), 1973);
    let t = nixperf::analysis::modules::module_table(&p);
    let names: Vec<&str> = t.rows.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with("-source/flake.nix"), "{names:?}");
    assert!(file(&p, "\u{ab}nix-internal\u{bb}/call-flake.nix").is_library);
}

/// 2.26 makes no thunk for an empty list (`ExprList::maybeThunk` returns the shared empty list
/// value; 2.8 allocates a thunk like for any list): the one place where the two evaluators
/// force a different number of thunks on our fixtures.
#[test]
fn nix_2_26_makes_no_thunk_for_an_empty_list() {
    let Some((prefix, plugin)) = built_nix_with_plugin("2.26", |_| vec![]) else {
        return;
    };
    let args = ["-E", "{ a = [ ]; b = [ 1 ]; c = { }; }", "--", "--strict"];
    let thunks = |p: &Profile| file(p, "\u{ab}string\u{bb}").thunks;
    let old = eval(&args);
    assert!(old.output.status.success(), "{}", old.stderr());
    assert_eq!(thunks(&old.profile()), 3);
    assert_eq!(thunks(&eval_built(&prefix, &plugin, &args).profile()), 2);
}

/// The bundled example evaluated on the built Nix `version` with its plugin and on the host's
/// 2.8: (profile on `version`, profile on 2.8), after checking that the heavy module ranks
/// first on `version` as on 2.8. None (SKIPPED) where that Nix is not built.
fn example_on(version: &str) -> Option<(Profile, Profile)> {
    let (prefix, plugin) = built_nix_with_plugin(version, |_| vec![])?;
    let args = ["-f", "nix-tests/example", "-A", "config"];
    let p = eval_built(&prefix, &plugin, &args).profile();
    let old = eval(&args);
    assert!(old.output.status.success(), "{}", old.stderr());
    let old = old.profile();
    let t = nixperf::analysis::modules::module_table(&p);
    assert!(
        t.rows[0]
            .path
            .ends_with("example/modules/heavy-packages.nix"),
        "{:?}",
        t.rows[0].path
    );
    Some((p, old))
}

/// The per-file counts of the fixtures in `new` and `old`, after checking both name the same
/// files.
fn same_files(new: &Profile, old: &Profile) -> (FileCounts, FileCounts) {
    let (new, old) = (file_counts(new), file_counts(old));
    assert_eq!(
        new.keys().collect::<Vec<_>>(),
        old.keys().collect::<Vec<_>>()
    );
    (new, old)
}

/// Thunks fewer on 2.26 and later than on 2.8 per file of the example: the forced
/// `default = [ ];` option defaults, which are no thunks since 2.26 (one each in
/// documentation.nix, networking.nix and nginx.nix, 15 users and groups in users.nix).
///
/// The example's lib/ files are helper libraries (decided from their code), so their thunks are
/// counted too, with two more evaluator differences: lists.nix forces one `[ ]` that 2.26 makes
/// no thunk for (as above), and from 2.26 `inherit (e) a b;` evaluates `e` once as a thunk of its
/// own (ExprInheritFrom; 2.8 rewrites it to `a = e.a; b = e.b;`): the 6 such clauses of
/// lib/default.nix and the 2 of lib/types.nix's 4 whose attributes are used are that many more
/// thunks (negative: more in 2.26).
fn forced_default_thunks() -> BTreeMap<&'static str, i64> {
    BTreeMap::from([
        ("default.nix", -6),
        ("documentation.nix", 1),
        ("lists.nix", 1),
        ("networking.nix", 1),
        ("nginx.nix", 1),
        ("types.nix", -2),
        ("users.nix", 15),
    ])
}

/// The bundled example (a NixOS-like configuration) on Nix 2.26 … 2.29 (std::stable_sort as
/// 2.8): the heavy module ranks first as on 2.8, every frame is called exactly as often, and per file the parses, imports, top-level
/// evaluations and lambda calls are the same. Thunks too, except the forced `default = [ ];`
/// option defaults, which are no thunks in 2.26 (test above): one each in documentation.nix,
/// networking.nix and nginx.nix, and in users.nix the `extraGroups`/`members` defaults of the
/// 15 users and groups that keep them.
fn ranks_the_example_like_2_8_stable_sort(version: &str) {
    let Some((p, old)) = example_on(version) else {
        return;
    };
    for kind in [FrameKind::Lambda, FrameKind::Primop] {
        assert_eq!(counts(&p, kind), counts(&old, kind), "{kind:?}");
    }
    assert_eq!(callee_counts(&p), callee_counts(&old));
    let (new, old) = same_files(&p, &old);
    let mut fewer_thunks = BTreeMap::new();
    for (path, n) in &new {
        let o = &old[path];
        assert_eq!(
            (n.0, n.1, n.2, n.3, n.4),
            (o.0, o.1, o.2, o.3, o.4),
            "{path}"
        );
        if n.5 != o.5 {
            let name = path.rsplit('/').next().unwrap();
            fewer_thunks.insert(name, o.5 as i64 - n.5 as i64);
        }
    }
    assert_eq!(fewer_thunks, forced_default_thunks());
}

// ---- The same checks on every runtime-tested Nix: 2.26, 2.28, 2.31, 2.34, 2.35 ------------
// Each runs on one built Nix (SKIPPED where it is not built; NIXPERF_REQUIRE_NIX_2_26,
// NIXPERF_REQUIRE_NIX_2_28, … make that a failure) against the host's 2.8 on the same fixture.
// One #[test] per check and version, named `plugin_on_nix_2_MINOR_CHECK` (so that
// `cargo test 2_28` selects one version's tests).
macro_rules! on_every_built_nix {
    ($check:ident: $($name:ident => $version:literal),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $check($version);
            }
        )+
    };
}

/// The plugin on a current Nix: the same exact counts as on 2.8 (fib 15), the same callees
/// with their definition positions, the same call sites and per-file attribution (parse, WHNF,
/// calls of the file's lambdas). Nix's statistics only with `--nix-stats` (they cost a full GC
/// there), and then they count the same lambda calls.
fn counts_fib_exactly(version: &str) {
    let Some((prefix, plugin)) = built_nix_with_plugin(version, |_| vec![]) else {
        return;
    };
    let run = eval_built(&prefix, &plugin, &["-f", "nix-tests/fixtures/fib.nix"]);
    assert!(run.profile().meta.evaluator_stats.is_none());
    let out = nixperf()
        .args(["report", "--no-files"])
        .arg(&run.profile_path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Nix stats: not recorded"), "{text}");

    let args = ["--nix-stats", "-f", "nix-tests/fixtures/fib.nix"];
    let p = eval_built(&prefix, &plugin, &args).profile();
    let old = eval(&["-f", "nix-tests/fixtures/fib.nix"]);
    assert!(old.output.status.success(), "{}", old.stderr());
    let old = old.profile();
    assert_eq!(callee_counts(&p), callee_counts(&old));
    let sites = lambda_sites_in(&p, "fixtures/fib.nix");
    assert_eq!(sites.len(), 3, "{sites:?}");
    assert_eq!(sites, lambda_sites_in(&old, "fixtures/fib.nix"));
    let fib = assert_fib15_counts(&p);
    assert!(fib.self_ns > 0 && fib.whnf_ns > 0 && fib.parse_ns > 0);
    assert_eq!(site_calls(&p, "fib"), 1973);
    let stats = nixperf::analysis::findings::evaluator_stats(&p).expect("stats recorded");
    assert_eq!(stats.function_calls, 1973);
}

/// The module-system fixture on a current Nix and on 2.8: thunk attribution through the AST
/// vtables gives the same ranking (heavy module first, unused ~0, library not blamed, the
/// forcing module not paying) and, per file, exactly the same parses, imports, top-level
/// evaluations, lambda calls and thunks; every frame is called exactly as often.
fn attributes_modules_like_2_8(version: &str) {
    let Some((prefix, plugin)) = built_nix_with_plugin(version, |_| vec![]) else {
        return;
    };
    let args = ["-f", "nix-tests/fixtures/modsys", "-A", "config"];
    let p = eval_built(&prefix, &plugin, &args).profile();
    let old = eval(&args);
    assert!(old.output.status.success(), "{}", old.stderr());
    let old = old.profile();

    let t = nixperf::analysis::modules::module_table(&p);
    let names: Vec<&str> = t.rows.iter().map(|r| r.path.as_str()).collect();
    assert!(names[0].ends_with("modsys/modules/heavy.nix"), "{names:?}");
    let heavy = &t.rows[0];
    assert!(heavy.self_ns > 10 * t.rows[1].self_ns, "{names:?}");
    assert!(heavy.share > 0.8, "heavy share {}", heavy.share);
    let consumer = file(&p, "modsys/modules/consumer.nix");
    assert!(consumer.self_ns * 10 < heavy.self_ns);
    assert!(consumer.inclusive_ns >= heavy.self_ns);
    let unused = file(&p, "modsys/modules/unused.nix");
    // Never forced (see eval_profile.rs: a GC or preemption may land in it, hence a tenth).
    assert!(unused.self_ns * 10 < heavy.self_ns, "{}", unused.self_ns);
    // Helper libraries: only what ran with no module below them keeps a row (see eval_profile.rs).
    for f in p.files.iter().filter(|f| f.path.contains("/modsys/lib/")) {
        assert!(f.role.rolls_up(), "{} {:?}", f.path, f.role);
        if let Some(row) = t.rows.iter().find(|r| r.path == f.path) {
            assert!(
                row.self_ns * 10 < heavy.self_ns,
                "{} own row {}",
                f.path,
                row.self_ns
            );
        }
        assert!(f.self_ns * 10 < heavy.self_ns, "{} {}", f.path, f.self_ns);
    }
    let shared = file(&p, "modsys/modules/shared.nix");
    assert_eq!(
        (shared.parses, shared.imports, shared.root_evals),
        (1, 2, 1)
    );

    // The same modules, and per file the same counts as on 2.8.
    let old_t = nixperf::analysis::modules::module_table(&old);
    let mut a: Vec<&str> = names.clone();
    let mut b: Vec<&str> = old_t.rows.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(b[0], names[0]);
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(file_counts(&p), file_counts(&old));
    assert_eq!(heavy.calls, 600_001);
    assert_eq!(file(&p, "modsys/modules/heavy.nix").thunks, 200_010);
    for kind in [FrameKind::Lambda, FrameKind::Primop] {
        assert_eq!(counts(&p, kind), counts(&old, kind), "{kind:?}");
    }
    // Every callee, named with its definition position, exactly as often as on 2.8.
    assert_eq!(callee_counts(&p), callee_counts(&old));
    // Call-site positions are where the evaluators differ: 2.26 and 2.34 position `a - b`,
    // `a * b`, `a / b` at the operator (2.8: at `a`), and a function called by a primop (the
    // fold step of `foldl'`, `map`'s function, …) has no call position there (2.8: the
    // primop's call).
    let sub_site = |p: &Profile| -> Vec<(u32, u32)> {
        p.call_sites
            .iter()
            .filter(|s| p.frames[p.nodes[s.node as usize].frame as usize].name == "sub")
            .map(|s| (s.line, s.col))
            .collect()
    };
    assert_eq!(sub_site(&old), [(7, 17)]); // lib/default.nix: `mod = a: b: a - (a / b) * b;`
    assert_eq!(sub_site(&p), [(7, 19)]);
}

/// Findings on a current Nix are those of 2.8: `with` positions, nesting and dynamic lookups
/// (1000 through the inner `with` of the loop), `rec` sets with their sizes and evaluations,
/// the large `let`. A `with` lookup is attributed through the thunk of the variable's position,
/// so a lookup is counted when its thunk is forced — the same count here, where every such
/// thunk is forced. Nix's own statistics of the same run agree with the plugin's lambda calls.
fn findings_match_2_8(version: &str) {
    let Some((prefix, plugin)) = built_nix_with_plugin(version, |_| vec![]) else {
        return;
    };
    let args = ["--nix-stats", "-f", "nix-tests/fixtures/findings"];
    let p = eval_built(&prefix, &plugin, &args).profile();
    let old = eval(&["-f", "nix-tests/fixtures/findings"]);
    assert!(old.output.status.success(), "{}", old.stderr());
    let old = old.profile();
    assert_eq!(
        findings_of(&p, FindingKind::With),
        vec![(9, 10, 1, 0, 1000), (12, 12, 1, 0, 2), (12, 28, 2, 0, 1)]
    );
    assert_eq!(
        findings_of(&p, FindingKind::Rec),
        vec![(14, 12, 0, 2, 1), (15, 33, 0, 2, 5)]
    );
    assert_eq!(findings_of(&p, FindingKind::Let), vec![(18, 5, 0, 21, 0)]);
    for kind in [FindingKind::With, FindingKind::Rec, FindingKind::Let] {
        assert_eq!(findings_of(&p, kind), findings_of(&old, kind), "{kind:?}");
    }
    let mut details: Vec<&str> = p.findings.iter().map(|f| f.detail.as_str()).collect();
    details.retain(|d| !d.is_empty());
    details.sort();
    assert_eq!(details, ["pkgs", "scope", "scope"]);
    let row = nixperf::analysis::modules::module_table(&p)
        .rows
        .into_iter()
        .find(|r| r.path.ends_with("fixtures/findings/default.nix"))
        .unwrap();
    assert_eq!(row.with_lookups, 1003);
    let stats = nixperf::analysis::findings::evaluator_stats(&p).expect("stats recorded");
    let lambdas: u64 = counts(&p, FrameKind::Lambda).values().sum();
    assert_eq!(stats.function_calls, lambdas);
}

/// 2.26 and 2.34 record no position for a `let`; the shim finds the keyword before the first
/// binding, over comments (with `let` and `#` in them), `inherit (…)` and strings holding a
/// `#`. The positions must be those 2.8's parser records.
fn finds_the_let_keyword(version: &str) {
    let Some((prefix, plugin)) = built_nix_with_plugin(version, |_| vec![]) else {
        return;
    };
    let b: String = (0..21).map(|i| format!("b{i} = {i}; ")).collect();
    let text = format!(
        "{{ s ? {{ x = 1; }} }}:\n{{\n  a = let /* let */ # let\n        {b}in b0;\n  \
         b = let inherit (s) x; {b}in x;\n  c = let\n    # a comment\n    {b}\n  in b1;\n  \
         d = [ \"#\" (let {b}in b2) ];\n}}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("lets.nix");
    std::fs::write(&f, &text).unwrap();
    // (line, column) of the `let` after each marker, counted as Nix does (from 1, in bytes).
    let at = |marker: &str, bindings: u32| {
        let off = text.find(marker).unwrap() + marker.len();
        let line = text[..off].matches('\n').count() as u32 + 1;
        let col = (off - text[..off].rfind('\n').map_or(0, |n| n + 1)) as u32 + 1;
        (line, col, 0, bindings, 0)
    };
    let mut expected = vec![
        at("a = ", 21),
        at("b = ", 22), // `inherit (s) x;` is a binding too
        at("c = ", 21),
        at("\"#\" (", 21),
    ];
    expected.sort();
    let args = ["-f", f.to_str().unwrap(), "--", "--strict"];
    let new = eval_built(&prefix, &plugin, &args).profile();
    let old = eval(&args);
    assert!(old.output.status.success(), "{}", old.stderr());
    assert_eq!(findings_of(&old.profile(), FindingKind::Let), expected);
    assert_eq!(findings_of(&new, FindingKind::Let), expected);
}

/// Import from derivation (realiseContext with structured string contexts): both IFDs of the
/// fixture, at their call sites, with their derivation outputs and the time evaluation was
/// blocked by a real build in that Nix's own store; again when already built.
fn finds_import_from_derivation(version: &str) {
    let Some((prefix, plugin)) = built_nix_with_plugin(version, |_| vec![]) else {
        return;
    };
    let nonce = nonce("ifd");
    let args = [
        "-f",
        "nix-tests/fixtures/findings/ifd.nix",
        "--argstr",
        "nonce",
        &nonce,
        "--",
        "--read-write-mode",
    ];
    let p = eval_built(&prefix, &plugin, &args).profile();
    assert_ifd_fixture(&p, Some(&prefix.join("store")));
    let again = eval_built(&prefix, &plugin, &args).profile();
    assert_eq!(again.ifds.len(), 2);
}

// ---- Nix 2.34 --------------------------------------------------------------------------------

/// Calls per lambda definition ("<file>:<line>:<col>", the file relative to nix-tests/).
fn lambda_defs(p: &Profile) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for n in p.nodes.iter().skip(1) {
        let f = &p.frames[n.frame as usize];
        if f.kind == FrameKind::Lambda {
            let path = p.file_path(f.file);
            let rel = path.rsplit_once("nix-tests/").map_or(path, |(_, r)| r);
            *m.entry(format!("{rel}:{}:{}", f.line, f.col)).or_insert(0) += n.count;
        }
    }
    m
}

/// The bundled example (a NixOS-like configuration) on Nix >= 2.30: the heavy module ranks
/// first as on 2.8, and per file the parses, imports and top-level evaluations are the same.
/// Calls differ in one place, by design of 2.30 and later: their `builtins.sort` is Nix's own
/// peeksort (a merge sort, libutil's sort.hh; 2.8 … 2.29 use std::stable_sort), which calls the
/// comparator a different number of times. So
/// every lambda that is not a sort comparator (`a: b: …` on a line calling sort) and every
/// primop but `lessThan` (what the comparators call) is called exactly as often as on 2.8; a
/// comparator's `a:` and `b:` change together, `lessThan` by as much, a file's lambda calls by
/// its comparators' change and its thunks by two per comparison where the comparator passes
/// two `x.attr` selections, besides the forced `default = [ ];` that are no thunks since 2.26.
fn ranks_the_example_like_2_8_peeksort(version: &str) {
    let Some((p, old)) = example_on(version) else {
        return;
    };

    // Lambdas: only sort comparators differ, `a:` and `b:` alike.
    let (new_l, old_l) = (lambda_defs(&p), lambda_defs(&old));
    assert_eq!(
        new_l.keys().collect::<Vec<_>>(),
        old_l.keys().collect::<Vec<_>>()
    );
    let source_at = |key: &str| -> String {
        let mut it = key.rsplitn(3, ':');
        let (col, line, file) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let text = std::fs::read_to_string(repo().join("nix-tests").join(file)).unwrap();
        let l = text
            .lines()
            .nth(line.parse::<usize>().unwrap() - 1)
            .unwrap();
        assert!(
            l.contains("sort"),
            "{key} differs but is no sort comparator: {l}"
        );
        l[col.parse::<usize>().unwrap() - 1..].to_string()
    };
    // Per file: its lambda calls' change, and its thunks' change (a comparator like
    // `a.size > b.size` passes two attribute selections to `lessThan`: two thunks per
    // comparison; `a < b` none).
    let mut per_file: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut comparisons = 0i64;
    let mut outer_keys = 0;
    for (key, n) in &new_l {
        let d = *n as i64 - old_l[key] as i64;
        if d == 0 {
            continue;
        }
        let at = source_at(key);
        if at.starts_with("a: b:") || at.starts_with("a:b:") {
            outer_keys += 1;
            comparisons += d;
            let inner = new_l
                .iter()
                .find(|(k, _)| {
                    k.rsplit_once(':').map(|x| x.0) == key.rsplit_once(':').map(|x| x.0)
                        && *k != key
                        && source_at(k).starts_with("b:")
                })
                .map(|(k, _)| k.clone())
                .unwrap_or_else(|| panic!("no `b:` after {key}"));
            assert_eq!(new_l[&inner] as i64 - old_l[&inner] as i64, d, "{inner}");
            let file = key.rsplitn(3, ':').nth(2).unwrap().to_string();
            let body = at.split(')').next().unwrap();
            let thunks = if body.contains('.') { 2 * d } else { 0 };
            let e = per_file.entry(file).or_insert((0, 0));
            e.0 += 2 * d;
            e.1 += thunks;
        } else {
            assert!(at.starts_with("b:"), "{key}: {at}");
        }
    }
    assert!(
        outer_keys >= 3,
        "the example sorts in heavy-packages, modules.nix and users.nix"
    );
    let (new_p, old_p) = (
        counts(&p, FrameKind::Primop),
        counts(&old, FrameKind::Primop),
    );
    for (name, n) in &new_p {
        let d = *n as i64 - old_p[name] as i64;
        assert_eq!(
            d,
            if name == "lessThan" { comparisons } else { 0 },
            "{name}"
        );
    }
    assert_eq!(new_p.len(), old_p.len());

    let (new, old) = same_files(&p, &old);
    let mut fewer_thunks = BTreeMap::new();
    for (path, n) in &new {
        let o = &old[path];
        assert_eq!((n.0, n.1, n.2, n.3), (o.0, o.1, o.2, o.3), "{path}");
        let rel = path.rsplit_once("nix-tests/").unwrap().1;
        let (calls, thunks) = per_file.get(rel).copied().unwrap_or((0, 0));
        assert_eq!(n.4 as i64 - o.4 as i64, calls, "{path}");
        // Library files count no thunks (the thunk hooks skip them).
        let thunk_delta = o.5 as i64 - n.5 as i64 + if n.0 { 0 } else { thunks };
        if thunk_delta != 0 {
            let name = path.rsplit('/').next().unwrap();
            fewer_thunks.insert(name, thunk_delta);
        }
    }
    assert_eq!(fewer_thunks, forced_default_thunks());
}

on_every_built_nix!(counts_fib_exactly:
    plugin_on_nix_2_26_counts_fib_exactly => "2.26",
    plugin_on_nix_2_28_counts_fib_exactly => "2.28",
    plugin_on_nix_2_31_counts_fib_exactly => "2.31",
    plugin_on_nix_2_34_counts_fib_exactly => "2.34",
    plugin_on_nix_2_35_counts_fib_exactly => "2.35",
);

on_every_built_nix!(attributes_modules_like_2_8:
    plugin_on_nix_2_26_attributes_modules_like_2_8 => "2.26",
    plugin_on_nix_2_28_attributes_modules_like_2_8 => "2.28",
    plugin_on_nix_2_31_attributes_modules_like_2_8 => "2.31",
    plugin_on_nix_2_34_attributes_modules_like_2_8 => "2.34",
    plugin_on_nix_2_35_attributes_modules_like_2_8 => "2.35",
);

on_every_built_nix!(findings_match_2_8:
    plugin_on_nix_2_26_findings_match_2_8 => "2.26",
    plugin_on_nix_2_28_findings_match_2_8 => "2.28",
    plugin_on_nix_2_31_findings_match_2_8 => "2.31",
    plugin_on_nix_2_34_findings_match_2_8 => "2.34",
    plugin_on_nix_2_35_findings_match_2_8 => "2.35",
);

on_every_built_nix!(finds_the_let_keyword:
    plugin_on_nix_2_26_finds_the_let_keyword => "2.26",
    plugin_on_nix_2_28_finds_the_let_keyword => "2.28",
    plugin_on_nix_2_31_finds_the_let_keyword => "2.31",
    plugin_on_nix_2_34_finds_the_let_keyword => "2.34",
    plugin_on_nix_2_35_finds_the_let_keyword => "2.35",
);

on_every_built_nix!(finds_import_from_derivation:
    plugin_on_nix_2_26_finds_import_from_derivation => "2.26",
    plugin_on_nix_2_28_finds_import_from_derivation => "2.28",
    plugin_on_nix_2_31_finds_import_from_derivation => "2.31",
    plugin_on_nix_2_34_finds_import_from_derivation => "2.34",
    plugin_on_nix_2_35_finds_import_from_derivation => "2.35",
);

on_every_built_nix!(ranks_the_example_like_2_8_stable_sort:
    plugin_on_nix_2_26_ranks_the_example_like_2_8 => "2.26",
    plugin_on_nix_2_28_ranks_the_example_like_2_8 => "2.28",
);

on_every_built_nix!(ranks_the_example_like_2_8_peeksort:
    plugin_on_nix_2_31_ranks_the_example_like_2_8 => "2.31",
    plugin_on_nix_2_34_ranks_the_example_like_2_8 => "2.34",
    plugin_on_nix_2_35_ranks_the_example_like_2_8 => "2.35",
);
