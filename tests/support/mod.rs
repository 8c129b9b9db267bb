//! Running the `nixperf` binary from tests, without nix: shared by the nix-free tests of
//! `tests/` (as `mod support;`) and the tests of `nix-tests/`, whose `common` module re-exports
//! it beside its nix helpers. Nothing here runs or needs nix.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `nixperf` binary of this build, recording into [`test_history`].
pub fn nixperf() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nixperf"));
    // Nix must not try cache.nixos.org (no network here) nor read the user's config.
    c.env("NIX_CONFIG", "substituters =\nwarn-dirty = false");
    // Runs are recorded in a history of the test process, never the user's.
    c.env("NIXPERF_HISTORY", test_history());
    c
}

/// The history the tests' nixperf runs record into (one per test binary).
pub fn test_history() -> PathBuf {
    std::env::temp_dir().join(format!("nixperf-test-history-{}.db", std::process::id()))
}

/// Asserts that a command succeeded (showing its exit code and output otherwise); its stdout.
pub fn ok(o: impl std::borrow::Borrow<Output>) -> String {
    let o = o.borrow();
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
