//! The evaluation profiler end to end: real nix, real plugin, fixtures with known answers.

mod common;
use common::*;
use nixperf::analysis::modules::module_table;

#[test]
fn fib_15_counts_are_exact() {
    let run = eval(&["-f", "nix-tests/fixtures/fib.nix"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    assert_eq!(p.meta.status, nixperf::profile::Status::Complete);
    // Nix 2.8: 1973 lambda calls; `n < 2` and `n - 1`/`n - 2` are primop calls.
    let fib = assert_fib15_counts(&p);
    assert!(fib.self_ns > 0 && fib.whnf_ns > 0);
    // Call sites: fib is called from line 3 (twice per body) and once from `in fib 15`.
    assert_eq!(site_calls(&p, "fib"), 1973);
}

#[test]
fn nix_eval_command_loads_the_plugin_too() {
    let run = eval(&NIX_EVAL_FIB);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    assert_eq!(calls_of(&p, "fib"), 1973);
    assert_eq!(total_calls(&p), 5918);
}

#[test]
fn expression_argument_is_profiled() {
    let run = eval(&["-E", "let f = x: if x == 0 then 0 else f (x - 1); in f 100"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    assert_eq!(calls_of(&p, "f"), 101);
    assert!(
        p.files
            .iter()
            .any(|f| f.path == "\u{ab}string\u{bb}" && f.parses == 1)
    );
}

/// A module whose heavy value is computed by library code and forced from another module
/// ranks first; the unused module costs ~nothing; the library takes no blame.
#[test]
fn module_cost_follows_the_code_that_created_the_thunk() {
    let run = eval(&["-f", "nix-tests/fixtures/modsys", "-A", "config"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    let t = module_table(&p);
    let names: Vec<&str> = t.rows.iter().map(|r| r.path.as_str()).collect();
    assert!(names[0].ends_with("modsys/modules/heavy.nix"), "{names:?}");
    let heavy = &t.rows[0];
    let next = &t.rows[1];
    assert!(
        heavy.self_ns > 10 * next.self_ns,
        "heavy {} vs next {} ({})",
        heavy.self_ns,
        next.self_ns,
        next.path
    );
    assert!(heavy.share > 0.8, "heavy share {}", heavy.share);
    // The consumer forces the value but does not pay for it.
    let consumer = file(&p, "modsys/modules/consumer.nix");
    assert!(consumer.self_ns * 10 < heavy.self_ns);
    assert!(
        consumer.inclusive_ns >= heavy.self_ns,
        "the forcing module's inclusive time contains the heavy work"
    );
    // Forcing its 500 000-element sum would cost about what heavy.nix costs; a garbage
    // collection or a preemption can still land in its few microseconds (8 ms seen on a loaded
    // machine), so the bound is a tenth, not a thousandth.
    let unused = file(&p, "modsys/modules/unused.nix");
    assert!(
        unused.self_ns * 10 < heavy.self_ns,
        "unused costs {}",
        unused.self_ns
    );
    // The fixture's lib/ files are helper libraries (sets of functions behind `{ lib }:`; not
    // nixpkgs' lib, so not library by their path): not modules, their cost rolls up into the
    // module that called them. Only what ran with no module below it (the evaluator printing
    // the merged config forces the module system's thunks) stays in their own row: little.
    for f in p.files.iter().filter(|f| f.path.contains("/modsys/lib/")) {
        assert!(
            f.role.rolls_up(),
            "{}: {:?} ({})",
            f.path,
            f.role,
            f.role_why
        );
        if let Some(row) = t.rows.iter().find(|r| r.path == f.path) {
            assert!(
                row.self_ns * 10 < heavy.self_ns,
                "{} own row {}",
                f.path,
                row.self_ns
            );
        }
        assert!(
            f.self_ns * 10 < heavy.self_ns,
            "{} took {}",
            f.path,
            f.self_ns
        );
    }
    // heavy.nix's lambda (the fold step) is called once per element.
    assert!(heavy.calls >= 200_000, "{}", heavy.calls);
    // Nested imports are seen; a file imported twice is parsed once.
    assert_eq!(file(&p, "modsys/modules/nested/inner.nix").parses, 1);
    let shared = file(&p, "modsys/modules/shared.nix");
    assert_eq!(shared.parses, 1);
    assert_eq!(shared.imports, 2);
    assert_eq!(shared.root_evals, 1);
}

#[test]
fn bundled_example_ranks_the_heavy_module_first_and_reports() {
    let run = eval(&["-f", "nix-tests/example", "-A", "config"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    assert!(run.stdout().contains("heavy-packages.nix"));
    let p = run.profile();
    let t = module_table(&p);
    assert!(
        t.rows[0]
            .path
            .ends_with("example/modules/heavy-packages.nix"),
        "{:?}",
        t.rows[0].path
    );
    // report: files and JSON
    let out = nixperf()
        .arg("report")
        .arg(&run.profile_path)
        .arg("-o")
        .arg(run.dir.path())
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["partial"], false);
    assert!(
        json["modules"]["rows"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("heavy-packages.nix")
    );
    let svg = std::fs::read_to_string(run.dir.path().join("flamegraph.svg")).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    assert!(
        svg.contains("heavy-packages.nix"),
        "flamegraph names the heavy module's functions"
    );
    let folded = std::fs::read_to_string(run.dir.path().join("stacks.folded")).unwrap();
    assert!(folded.lines().all(|l| {
        l.rsplit_once(' ')
            .is_some_and(|(_, n)| n.parse::<u64>().is_ok())
    }));
    let md = std::fs::read_to_string(run.dir.path().join("performance-report.md")).unwrap();
    assert!(md.contains("## Slowest modules") && md.contains("heavy-packages.nix"));
}

#[test]
fn fib_25_profile_is_small() {
    let run = eval(&["-f", "nix-tests/fixtures/fib25.nix"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let size = std::fs::metadata(&run.profile_path).unwrap().len();
    assert!(size <= 1_000_000, "profile is {size} bytes");
    assert_eq!(calls_of(&run.profile(), "fib"), 242_785);
}

#[test]
fn flake_outputs_are_profiled() {
    // A path flake (copied: nix would otherwise take the whole git tree as the flake source).
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("fixtures/flake/flake.nix"),
        dir.path().join("flake.nix"),
    )
    .unwrap();
    let flake = format!("path:{}#fib", dir.path().display());
    let run = eval(&["--flake", &flake]);
    assert!(run.output.status.success(), "{}", run.stderr());
    assert_eq!(calls_of(&run.profile(), "fib"), 1973);
}

/// Tiny functions stop reading the clock after their first calls; their times are marked `~`
/// and the legend names the values the run used, which the profile keeps (an older profile
/// without them reads as the values of its time).
#[test]
fn estimated_times_name_the_runs_clock_probe() {
    let run = eval(&["-f", "nix-tests/fixtures/modsys", "-A", "config"]);
    assert!(run.output.status.success(), "{}", run.stderr());
    let p = run.profile();
    assert_eq!(
        p.meta.clock_probe.calls,
        nixperf::recorder::CLOCK_PROBE_CALLS
    );
    assert_eq!(
        p.meta.clock_probe.tiny_call_ns,
        nixperf::recorder::TINY_CALL_NS
    );
    let report = || {
        let out = nixperf()
            .args(["report", "--no-files", "--top", "50"])
            .arg(&run.profile_path)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = report();
    assert!(text.contains(" ~"), "{text}");
    assert!(
        text.contains("after its first 256 calls averaged under 500 ns"),
        "{text}"
    );
    let db = rusqlite::Connection::open(&run.profile_path).unwrap();
    // Profiles written before the content checksum (nixperf_checksum) have none: without it,
    // these edits stand for such older profiles (with it, any edit is rejected as damage).
    db.execute("DROP TABLE nixperf_checksum", []).unwrap();
    db.execute(
        "UPDATE meta SET value = '128' WHERE key = 'clock_probe_calls'",
        [],
    )
    .unwrap();
    assert!(report().contains("after its first 128 calls averaged under 500 ns"));
    db.execute("DELETE FROM meta WHERE key LIKE 'clock_%'", [])
        .unwrap();
    assert!(report().contains("after its first 256 calls averaged under 500 ns"));
}
