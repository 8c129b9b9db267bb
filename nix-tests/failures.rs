//! Failing, interrupted and bad input: a readable profile marked partial, or one clear line.

mod common;
use common::*;
use nixperf::profile::Status;
use std::time::Duration;

fn assert_partial(run: &Run, status: Status, reason: &str) {
    assert!(!run.output.status.success());
    let p = run.profile();
    assert_eq!(p.meta.status, status, "reason: {}", p.meta.reason);
    assert!(p.meta.reason.contains(reason), "reason: {}", p.meta.reason);
    assert!(run.stdout().contains("PARTIAL"), "{}", run.stdout());
}

#[test]
fn throw_leaves_a_partial_profile_with_the_error() {
    let run = eval(&["-f", "nix-tests/fixtures/failing/throw.nix"]);
    assert_partial(&run, Status::Failed, "nixperf-test-throw");
    // The work done before the throw is recorded: 200 fold steps, each applying the curried
    // `acc: x: …` twice (Nix names both lambdas `step`).
    let p = run.profile();
    assert_eq!(calls_of(&p, "step"), 400);
    assert_eq!(calls_of(&p, "check"), 1);
}

#[test]
fn failed_assertion_leaves_a_partial_profile() {
    let run = eval(&["-f", "nix-tests/fixtures/failing/assert.nix"]);
    assert_partial(&run, Status::Failed, "assertion");
}

#[test]
fn infinite_recursion_leaves_a_partial_profile() {
    let run = eval(&["-f", "nix-tests/fixtures/failing/infrec.nix"]);
    assert_partial(&run, Status::Failed, "infinite recursion");
}

/// A stack overflow (Nix's SIGSEGV handler, then _exit, which skips the exit hook): the plugin
/// writes the profile from the handler. Several runs, because where the stack runs out moves
/// with the address-space layout (plugin/stack_overflow.cc declines in libc, never silently).
#[test]
fn stack_overflow_leaves_partial_profile() {
    for _ in 0..3 {
        let run = eval(&["-E", "let f = x: f x + 1; in f 1"]);
        assert_eq!(run.output.status.code(), Some(1), "{}", run.stderr());
        assert!(
            run.stderr()
                .contains("error: stack overflow (possible infinite recursion)"),
            "{}",
            run.stderr()
        );
        assert_partial(&run, Status::Failed, "stack overflow");
        // Every level of the recursion up to the last MiB of the 64 MiB stack.
        let p = run.profile();
        assert!(calls_of(&p, "f") > 10_000, "{}", calls_of(&p, "f"));
        // `nixperf report` reads it, with the recursion collapsed.
        let out = run.dir.path().join("report");
        let o = nixperf()
            .arg("report")
            .arg(&run.profile_path)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let text = ok(&o);
        assert!(text.contains("PARTIAL"), "{text}");
        assert!(text.contains("recursion collapsed"), "{text}");
        assert!(std::fs::metadata(out.join("flamegraph.svg")).unwrap().len() < 1 << 20);
    }
}

/// The same on Nix >= 2.26 (through `nix::stackOverflowHandler`), where built (SKIPPED
/// otherwise): with `max-call-depth` raised so that the real stack runs out instead of Nix's
/// own depth limit (an ordinary error, handled by the exit hook).
fn stack_overflow_on(version: &str) {
    let Some((prefix, plugin)) = built_nix_with_plugin(version, |_| vec![]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.db");
    let o = std::process::Command::new(prefix.join("bin/nix-instantiate"))
        .current_dir(repo())
        .args(["--option", "plugin-files"])
        .arg(&plugin)
        .args(["--option", "nixperf-profile"])
        .arg(&out)
        .args(["--option", "max-call-depth", "1000000000"])
        .args(["--eval", "-E", "let f = x: f x + 1; in f 1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: stack overflow (possible infinite recursion)"),
        "{err}"
    );
    let p = nixperf::profile::read(&out).unwrap_or_else(|e| panic!("{e}\n{err}"));
    assert_eq!(p.meta.status, Status::Failed);
    assert!(
        p.meta.reason.contains("stack overflow"),
        "{}",
        p.meta.reason
    );
    assert!(calls_of(&p, "f") > 10_000, "{}", calls_of(&p, "f"));
}

#[test]
fn stack_overflow_on_nix_2_35_leaves_partial_profile() {
    stack_overflow_on("2.35");
}

/// Starts `nix_instantiate` with `plugin` on a long evaluation and interrupts it: it stops within
/// 10 s and the profile says Interrupted, with the calls made so far.
fn sigint_leaves_a_partial_profile(nix_instantiate: &std::path::Path, plugin: &std::path::Path) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.db");
    let mut child = std::process::Command::new(nix_instantiate)
        .current_dir(repo())
        .args(["--option", "plugin-files"])
        .arg(plugin)
        .args(["--option", "nixperf-profile"])
        .arg(&out)
        .args(["--eval", "nix-tests/fixtures/slow-loop.nix"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "SIGINT took {:?}",
        started.elapsed()
    );
    let p = nixperf::profile::read(&out).unwrap();
    assert_eq!(p.meta.status, Status::Interrupted);
    assert!(calls_of(&p, "fib") > 1000);
}

#[test]
fn sigint_stops_the_evaluation_and_leaves_a_partial_profile() {
    sigint_leaves_a_partial_profile("nix-instantiate".as_ref(), &plugin());
}

/// The same on Nix 2.26, 2.28, 2.31, 2.34 and 2.35 with their plugins, where built (SKIPPED
/// otherwise; NIXPERF_REQUIRE_NIX_2_26, _2_28, … make a missing build a failure).
#[test]
fn sigint_on_nix_2_26_leaves_a_partial_profile() {
    if let Some((prefix, plugin)) = built_nix_with_plugin("2.26", |_| vec![]) {
        sigint_leaves_a_partial_profile(&prefix.join("bin/nix-instantiate"), &plugin);
    }
}

fn sigint_on(version: &str) {
    if let Some((prefix, plugin)) = built_nix_with_plugin(version, |_| vec![]) {
        sigint_leaves_a_partial_profile(&prefix.join("bin/nix-instantiate"), &plugin);
    }
}

#[test]
fn sigint_on_nix_2_28_leaves_a_partial_profile() {
    sigint_on("2.28");
}

#[test]
fn sigint_on_nix_2_31_leaves_a_partial_profile() {
    sigint_on("2.31");
}

#[test]
fn sigint_on_nix_2_34_leaves_a_partial_profile() {
    sigint_on("2.34");
}

#[test]
fn sigint_on_nix_2_35_leaves_a_partial_profile() {
    sigint_on("2.35");
}

fn report_error(path: &std::path::Path) -> String {
    let out = nixperf()
        .arg("report")
        .arg(path)
        .arg("--no-files")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn report_rejects_truncated_foreign_and_missing_files_in_one_line() {
    let run = eval(&["-f", "nix-tests/fixtures/fib.nix"]);
    let bytes = std::fs::read(&run.profile_path).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let truncated = dir.path().join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let e = report_error(&truncated);
    assert!(e.contains("truncated or corrupt"), "{e}");

    let foreign = dir.path().join("foreign.db");
    std::fs::write(&foreign, b"this is not a profile at all\n".repeat(100)).unwrap();
    let e = report_error(&foreign);
    assert!(e.contains("not a nixperf profile"), "{e}");

    let other_sqlite = dir.path().join("other.db");
    rusqlite::Connection::open(&other_sqlite)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    let e = report_error(&other_sqlite);
    assert!(e.contains("not a nixperf profile"), "{e}");

    let e = report_error(&dir.path().join("missing.db"));
    assert!(e.contains("cannot open"), "{e}");
}

#[test]
fn eval_without_target_is_a_one_line_error() {
    let out = nixperf().arg("eval").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("nothing to evaluate"), "{err}");
}
