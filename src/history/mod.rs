//! Tracking: the SQLite history of runs and their metrics, and what is computed from it —
//! baselines, comparisons with significance, alerts, trends, fleet views.
//!
//! Every `nixperf eval` / `nixperf build` records a run; other commands (store, cache, …) and
//! scripts record theirs through [`History::record`] or `nixperf history record` with any
//! metric names: the metrics table is generic (name, value, unit).

pub(crate) mod alerts;
pub(crate) mod baseline_file;
mod checksum;
pub(crate) mod compare;
mod db;
pub mod env;
mod error;
pub(crate) mod fleet;
pub(crate) mod metrics;
pub(crate) mod record;
mod schema;
mod stack_codec;
pub(crate) mod stacks;
pub(crate) mod stats;
pub(crate) mod tracking_report;
pub(crate) mod trend;

pub use db::{History, RunFilter};
pub(crate) use error::HistoryError;
pub use schema::SCHEMA_VERSION;

pub(crate) use crate::units::Unit;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

/// What a run measured, stored in the history (SQLite `runs.kind`, JSON `kind`) as its name:
/// `eval`, `build`, `predict`, `store`, or any other name a script recorded
/// (`nixperf history record --kind test`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RunKind {
    /// `nixperf eval` (or an imported evaluation profile).
    Eval,
    /// `nixperf build` (or an imported build profile).
    Build,
    /// `nixperf predict`'s prediction for a build target.
    Predict,
    /// `nixperf analyze`'s store metrics.
    Store,
    Other(String),
}

impl RunKind {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            RunKind::Eval => "eval",
            RunKind::Build => "build",
            RunKind::Predict => "predict",
            RunKind::Store => "store",
            RunKind::Other(s) => s,
        }
    }
}

impl From<&str> for RunKind {
    fn from(s: &str) -> RunKind {
        match s {
            "eval" => RunKind::Eval,
            "build" => RunKind::Build,
            "predict" => RunKind::Predict,
            "store" => RunKind::Store,
            other => RunKind::Other(other.to_owned()),
        }
    }
}

impl From<String> for RunKind {
    fn from(s: String) -> RunKind {
        RunKind::from(s.as_str())
    }
}

impl std::str::FromStr for RunKind {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<RunKind, Self::Err> {
        Ok(RunKind::from(s))
    }
}

impl std::fmt::Display for RunKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RunKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RunKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RunKind, D::Error> {
        String::deserialize(d).map(RunKind::from)
    }
}

/// What identifies a run besides its metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Unix seconds.
    pub started_at: i64,
    pub kind: RunKind,
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
pub(crate) struct Run {
    pub id: i64,
    #[serde(flatten)]
    pub info: RunInfo,
}

/// Where runs are recorded and read: the history file, or none (`--no-history`: nothing is
/// recorded, and commands that read the history say they need it). Chosen once at the CLI's
/// edge (`--history`, `NIXPERF_HISTORY`, `--no-history`) and passed down as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryLocation(Option<PathBuf>);

impl HistoryLocation {
    /// `path`: `--history PATH` (or `NIXPERF_HISTORY`) [default: [`default_path`]]; `off`:
    /// `--no-history`.
    pub(crate) fn new(path: Option<PathBuf>, off: bool) -> HistoryLocation {
        HistoryLocation(if off {
            None
        } else {
            Some(path.unwrap_or_else(default_path))
        })
    }

    /// The history file, or None when recording is off.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.0.as_deref()
    }
}

/// `$XDG_STATE_HOME/nixperf/history.db`, else `~/.local/state/nixperf/history.db`.
pub(crate) fn default_path() -> PathBuf {
    state_dir().join("history.db")
}

/// nixperf's state directory: `$XDG_STATE_HOME/nixperf`, else `~/.local/state/nixperf`.
pub(crate) fn state_dir() -> PathBuf {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(kind: RunKind) -> RunInfo {
        RunInfo {
            started_at: 1,
            kind,
            host: "h".into(),
            target: "t".into(),
            status: "complete".into(),
            nix_version: String::new(),
            nixperf_version: String::new(),
            git_rev: None,
            flake_lock: None,
            command: vec![],
            profile_path: None,
        }
    }

    #[test]
    fn run_kind_names() {
        for k in ["eval", "build", "predict", "store", "test"] {
            assert_eq!(RunKind::from(k).to_string(), k);
            assert_eq!(
                serde_json::to_string(&RunKind::from(k)).unwrap(),
                format!("\"{k}\"")
            );
        }
        assert_eq!("eval".parse::<RunKind>().unwrap(), RunKind::Eval);
        assert_eq!(RunKind::from("cache"), RunKind::Other("cache".into()));
    }

    #[test]
    fn location_from_the_flags() {
        let p = PathBuf::from("/tmp/h.db");
        assert_eq!(
            HistoryLocation::new(Some(p.clone()), false).path(),
            Some(p.as_path())
        );
        assert_eq!(HistoryLocation::new(Some(p), true).path(), None);
        assert_eq!(
            HistoryLocation::new(None, false).path(),
            Some(default_path().as_path())
        );
    }

    /// The `runs.kind` column keeps the same text as before the enum: a history holding the
    /// names reads them back as the enum, and a filter by kind finds them.
    #[test]
    fn run_kind_in_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let mut h = History::open(&path).unwrap();
        for k in [RunKind::Eval, RunKind::Build, RunKind::Other("test".into())] {
            h.record(&info(k), &[], None).unwrap();
        }
        drop(h);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let stored: Vec<String> = conn
            .prepare("SELECT kind FROM runs ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(stored, ["eval", "build", "test"]);
        drop(conn);
        let h = History::open_existing(&path).unwrap();
        let runs = h
            .runs(&RunFilter {
                kind: Some(RunKind::Build),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].info.kind, RunKind::Build);
        let all = h.runs(&RunFilter::default()).unwrap();
        assert_eq!(all[0].info.kind, RunKind::Other("test".into()));
    }
}
