//! Recording runs in the history at a [`HistoryLocation`]: what a run of each kind stores
//! (an evaluation, a build, a command's metrics). Every function does nothing under
//! `--no-history` and returns the run it recorded, for the caller to announce.

use super::{History, HistoryError, HistoryLocation, Metric, RunInfo, RunKind, env, metrics};
use crate::analysis::stacks::StackTree;
use std::path::{Path, PathBuf};

/// A run written to the history.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recorded {
    pub(crate) id: i64,
    pub(crate) path: PathBuf,
}

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "recorded run #{} in {}", self.id, self.path.display())
    }
}

impl HistoryLocation {
    /// The history for commands that read it: it must exist, and recording must be on.
    pub(crate) fn open_existing(&self) -> Result<History, HistoryError> {
        History::open_existing(self.path().ok_or(HistoryError::Off)?)
    }
}

/// The WAL size up to which `nixperf eval` leaves its run in the WAL (History::defer_checkpoint).
const EVAL_MAX_WAL_BYTES: u64 = 1 << 20;

/// Records `info` with its metrics and call tree.
pub(crate) fn record(
    loc: &HistoryLocation,
    info: &RunInfo,
    metrics: &[Metric],
    stacks: Option<&StackTree>,
) -> Result<Option<Recorded>, HistoryError> {
    record_in(loc, info, metrics, stacks, false)
}

/// `defer_checkpoint`: leave the run in the WAL (no fsync at exit; see
/// History::defer_checkpoint), for `nixperf eval`, whose fixed cost matters.
fn record_in(
    loc: &HistoryLocation,
    info: &RunInfo,
    metrics: &[Metric],
    stacks: Option<&StackTree>,
    defer_checkpoint: bool,
) -> Result<Option<Recorded>, HistoryError> {
    let Some(path) = loc.path() else {
        return Ok(None);
    };
    let mut h = History::open(path)?;
    let id = h.record(info, metrics, stacks)?;
    if defer_checkpoint {
        h.defer_checkpoint(EVAL_MAX_WAL_BYTES)?;
    }
    Ok(Some(Recorded {
        id,
        path: path.to_owned(),
    }))
}

/// A run of this command on this host, started now.
fn this_run(kind: RunKind, target: String, status: &str, started_at: u64) -> RunInfo {
    RunInfo {
        started_at: if started_at > 0 {
            started_at as i64
        } else {
            env::now()
        },
        kind,
        host: env::hostname(),
        target,
        status: status.into(),
        nix_version: String::new(),
        nixperf_version: env!("CARGO_PKG_VERSION").into(),
        git_rev: None,
        flake_lock: None,
        command: std::env::args().collect(),
        profile_path: None,
    }
}

/// For commands other than eval and build (store, predict, …): a run of `kind` on this host with
/// `metrics` (named `store.size_bytes`, `cache.hit_rate`, … so the default alerts apply).
pub(crate) fn record_metrics(
    loc: &HistoryLocation,
    kind: RunKind,
    target: &str,
    status: &str,
    metrics: &[Metric],
) -> Result<Option<Recorded>, HistoryError> {
    let info = RunInfo {
        nix_version: env::nix_version("nix"),
        ..this_run(kind, target.into(), status, 0)
    };
    record(loc, &info, metrics, None)
}

fn abs(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_owned())
        .display()
        .to_string()
}

/// The evaluated tree's git revision (`git rev-parse`, `git status`: two processes) and its
/// flake.lock inputs, for the history record of an evaluation. `nixperf eval` starts the lookup
/// before running nix, so it runs beside the evaluation instead of after it.
pub(crate) struct SourceLookup(std::thread::JoinHandle<(Option<String>, Option<String>)>);

impl SourceLookup {
    /// None under --no-history (nothing to record).
    pub(crate) fn start(loc: &HistoryLocation, tree: PathBuf) -> Option<SourceLookup> {
        loc.path()?;
        Some(SourceLookup(std::thread::spawn(move || {
            (env::git_revision(&tree), env::flake_lock(&tree))
        })))
    }
}

/// What was evaluated: the target's name in the history and the source tree it comes from.
pub(crate) struct EvalTarget {
    pub(crate) name: String,
    pub(crate) tree: PathBuf,
}

/// Records an evaluation profile: its metrics and call tree; `source` from
/// [`SourceLookup::start`], else looked up now. `base`: the directory paths are named from.
pub(crate) fn record_eval(
    loc: &HistoryLocation,
    target: &EvalTarget,
    p: &crate::profile::Profile,
    profile_path: &Path,
    base: Option<&Path>,
    source: Option<SourceLookup>,
) -> Result<Option<Recorded>, HistoryError> {
    if loc.path().is_none() {
        return Ok(None);
    }
    let (git_rev, flake_lock) = match source.map(|s| s.0.join()) {
        Some(Ok(found)) => found,
        _ => (
            env::git_revision(&target.tree),
            env::flake_lock(&target.tree),
        ),
    };
    let info = RunInfo {
        nix_version: p.meta.nix_version.clone(),
        git_rev,
        flake_lock,
        profile_path: Some(abs(profile_path)),
        ..this_run(
            RunKind::Eval,
            target.name.clone(),
            p.meta.status.as_str(),
            p.meta.started_at,
        )
    };
    let metrics = metrics::eval_metrics(p, base);
    let stacks = metrics::eval_stacks(p, base);
    record_in(loc, &info, &metrics, Some(&stacks), true)
}

/// Records a build profile: its metrics and, where the history knows the target, the
/// prediction's error.
pub(crate) fn record_build(
    loc: &HistoryLocation,
    meta: &crate::build::model::Meta,
    report: &crate::build::BuildReport,
    profile_path: &Path,
) -> Result<Option<Recorded>, HistoryError> {
    if loc.path().is_none() {
        return Ok(None);
    }
    let info = RunInfo {
        nix_version: env::nix_version("nix"),
        git_rev: env::git_revision(Path::new(".")),
        flake_lock: env::flake_lock(Path::new(".")),
        profile_path: Some(abs(profile_path)),
        ..this_run(
            RunKind::Build,
            env::build_target(&meta.command),
            meta.status.as_str(),
            meta.started_at,
        )
    };
    let mut metrics = metrics::build_metrics(report);
    if let Ok(h) = loc.open_existing() {
        metrics.extend(metrics::prediction_metrics(
            &h,
            &info.target,
            report.wall_ns as f64 / 1e9,
        ));
    }
    record(loc, &info, &metrics, None)
}

/// `nixperf history import`'s failures: the file is neither kind of profile, or the history
/// refused the run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImportError {
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// Records a saved evaluation or build profile as a run (tells them apart by trying both); the
/// target is the command that made it unless `target` names it.
pub(crate) fn import(
    loc: &HistoryLocation,
    p: &Path,
    target: Option<&str>,
    base: Option<&Path>,
) -> Result<Option<Recorded>, ImportError> {
    // The run as the profile recorded it: its start, versions and command.
    let saved =
        |kind, name: String, status: &str, started_at, nixperf: &str, command: &[String]| RunInfo {
            nixperf_version: nixperf.to_owned(),
            command: command.to_vec(),
            profile_path: Some(abs(p)),
            ..this_run(kind, target.map_or(name, str::to_owned), status, started_at)
        };
    match crate::profile::read(p) {
        Ok(prof) => {
            let m = &prof.meta;
            let info = RunInfo {
                nix_version: m.nix_version.clone(),
                ..saved(
                    RunKind::Eval,
                    m.command.join(" "),
                    m.status.as_str(),
                    m.started_at,
                    &m.nixperf_version,
                    &m.command,
                )
            };
            let metrics = metrics::eval_metrics(&prof, base);
            let stacks = metrics::eval_stacks(&prof, base);
            Ok(record(loc, &info, &metrics, Some(&stacks))?)
        }
        Err(eval_err) => {
            let b = crate::build::profile_db::read(p).map_err(|_| eval_err)?;
            let m = &b.meta;
            let info = saved(
                RunKind::Build,
                format!("build {}", m.command.join(" ")),
                m.status.as_str(),
                m.started_at,
                &m.nixperf_version,
                &m.command,
            );
            let report = crate::build::build_report(&b, 10);
            Ok(record(loc, &info, &metrics::build_metrics(&report), None)?)
        }
    }
}
