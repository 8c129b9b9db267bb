//! Tracking: the SQLite history of runs and their metrics, and what is computed from it —
//! baselines, comparisons with significance, alerts, trends, fleet views.
//!
//! Every `nixperf eval` / `nixperf build` records a run; other commands (store, cache, …) and
//! scripts record theirs through [`History::record`] or `nixperf history record` with any
//! metric names: the metrics table is generic (name, value, unit).

pub mod alerts;
pub mod baseline_file;
pub mod compare;
mod db;
pub mod env;
mod error;
pub mod fleet;
pub mod metrics;
pub mod report;
mod schema;
mod stack_codec;
pub mod stacks;
pub mod stats;
pub mod trend;

pub use db::{History, RunFilter};
pub use error::HistoryError;
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};

pub use crate::units::Unit;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Profiles' application id ('nxpf'), to say so when someone points `--history` at one.
const PROFILE_APPLICATION_ID: i32 = 0x6e78_7066;

/// One measured quantity of a run. Units: `s`, `bytes`, `count`, `ratio` (0..=1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub unit: Unit,
}

impl Metric {
    pub fn new(name: impl Into<String>, value: f64, unit: Unit) -> Metric {
        Metric {
            name: name.into(),
            value,
            unit,
        }
    }
}

/// What identifies a run besides its metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Unix seconds.
    pub started_at: i64,
    /// `eval`, `build`, `store`, `cache`, … (free-form for other recorders).
    pub kind: String,
    pub host: String,
    /// What was measured (the evaluated file and attributes, the build command, …): baselines
    /// and comparisons are per host and target.
    pub target: String,
    pub status: String,
    pub nix_version: String,
    pub nixperf_version: String,
    /// Git revision of the evaluated tree (`-dirty` when it has local changes), when known.
    pub git_rev: Option<String>,
    /// Locked flake inputs (`nixpkgs@1a2b3c4d5e6f,…`) when the tree has a flake.lock.
    #[serde(default)]
    pub flake_lock: Option<String>,
    pub command: Vec<String>,
    pub profile_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: i64,
    #[serde(flatten)]
    pub info: RunInfo,
}

/// `$XDG_STATE_HOME/nixperf/history.db`, else `~/.local/state/nixperf/history.db`.
pub fn default_path() -> PathBuf {
    state_dir().join("history.db")
}

/// nixperf's state directory: `$XDG_STATE_HOME/nixperf`, else `~/.local/state/nixperf`.
pub fn state_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("nixperf")
}

/// The SQL of migration `i` (0-based), for tests that build an older history.
pub fn schema_migration(i: usize) -> &'static str {
    schema::MIGRATIONS[i]
}
