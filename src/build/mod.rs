//! The build profiler: run a nix build (or replay its saved log), turn the
//! `--log-format internal-json` stream into a [`BuildProfile`], and analyse it.
//!
//! Data flows one way: `run` (spawn, stamp, sample) / replay → `log` (one line) → `ingest`
//! (activities → model) → `graph` edges from the `.drv` files → analyses (`phases`, `graph`,
//! `simulate`, `resources`) → outputs (`report`, `chrome`, `dot`) and `store` (SQLite).

pub(crate) mod buildcpu;
pub(crate) mod chrome;
pub(crate) mod dot;
pub(crate) mod graph;
pub mod ingest;
pub(crate) mod log;
pub(crate) mod model;
pub(crate) mod phases;
pub(crate) mod predict;
pub(crate) mod profile_db;
pub(crate) mod report;
pub(crate) mod resources;
pub(crate) mod run;
pub(crate) mod simulate;

pub(crate) use model::BuildProfile;
pub(crate) use report::{BuildReport, build_report, build_report_for, render_text};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot write build profile: {detail}")]
    Store { path: PathBuf, detail: String },
    #[error("{path}: not a readable build profile: {detail}")]
    BadProfile { path: PathBuf, detail: String },
    #[error("no command given: nixperf build -- nix-build …")]
    NoCommand,
    #[error(
        "{path}: not a Nix build log ({bytes} bytes, no `@nix` line of `--log-format internal-json`); nothing recorded"
    )]
    NotANixLog { path: PathBuf, bytes: u64 },
}

/// Adds the dependency edges (from the `.drv` files in the store).
fn with_edges(mut p: BuildProfile) -> BuildProfile {
    p.edges = graph::edges_from_store(&p).0;
    p
}

/// Runs `cmd` with JSON logging, saves the stamped log to `log`, writes the profile to `out`.
/// The profile is written whatever the command's outcome (status failed/interrupted).
pub(crate) fn run_and_profile(
    cmd: &[String],
    log: &Path,
    out: &Path,
    quiet: bool,
    stdout_to_stderr: bool,
) -> Result<BuildProfile, BuildError> {
    if cmd.is_empty() {
        return Err(BuildError::NoCommand);
    }
    let p = with_edges(run::run(cmd, log, quiet, stdout_to_stderr)?);
    profile_db::write(out, &p)?;
    Ok(p)
}

/// Builds a profile from a saved log: nixperf's stamped log, or a plain
/// `--log-format internal-json` log (then without durations).
pub(crate) fn replay(log: &Path) -> Result<BuildProfile, BuildError> {
    let bytes = std::fs::read(log).map_err(|e| BuildError::Log {
        path: log.to_owned(),
        source: e,
    })?;
    let mut i = ingest::Ingest::new();
    i.text(&String::from_utf8_lossy(&bytes));
    if i.nix_lines() == 0 {
        return Err(BuildError::NotANixLog {
            path: log.to_owned(),
            bytes: bytes.len() as u64,
        });
    }
    Ok(with_edges(i.finish(None, None)))
}

#[cfg(test)]
mod tests;
