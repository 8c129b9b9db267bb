//! The history from the command line: recording the runs of `nixperf eval` / `nixperf build` in
//! the [`HistoryLocation`] that `cli::main` chose from `--history` / `--no-history`, and
//! `nixperf history list|show|record|import|check`.

use crate::exit::Exit;
use crate::history::{self, History, HistoryLocation, Metric, RunFilter, RunInfo, RunKind, env};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The history for commands that read it.
pub(super) fn open_for_reading(loc: &HistoryLocation) -> Result<History> {
    let Some(p) = loc.path() else {
        bail!("--no-history: this command needs the history");
    };
    Ok(History::open_existing(p)?)
}

pub(super) fn record(
    loc: &HistoryLocation,
    info: RunInfo,
    metrics: &[Metric],
    stacks: Option<&crate::analysis::stacks::StackTree>,
) -> Result<Option<i64>> {
    record_in(loc, info, metrics, stacks, false)
}

/// The WAL size up to which `nixperf eval` leaves its run in the WAL (History::defer_checkpoint).
const EVAL_MAX_WAL_BYTES: u64 = 1 << 20;

/// `defer_checkpoint`: leave the run in the WAL (no fsync at exit; see
/// History::defer_checkpoint), for `nixperf eval`, whose fixed cost matters.
fn record_in(
    loc: &HistoryLocation,
    info: RunInfo,
    metrics: &[Metric],
    stacks: Option<&crate::analysis::stacks::StackTree>,
    defer_checkpoint: bool,
) -> Result<Option<i64>> {
    let Some(path) = loc.path() else {
        return Ok(None);
    };
    let mut h = History::open(path)?;
    let id = h
        .record(&info, metrics, stacks)
        .with_context(|| format!("recording the run in {}", path.display()))?;
    if defer_checkpoint {
        h.defer_checkpoint(EVAL_MAX_WAL_BYTES)?;
    }
    eprintln!("nixperf: recorded run #{id} in {}", path.display());
    Ok(Some(id))
}

/// The hook for other commands (store, cache, config, …): records a run of `kind` on this host
/// with `metrics` (use `store.size_bytes`, `cache.hit_rate`, … so the default alerts apply).
/// Does nothing under `--no-history`.
pub(super) fn record_metrics(
    loc: &HistoryLocation,
    kind: RunKind,
    target: &str,
    status: &str,
    metrics: &[Metric],
) -> Result<Option<i64>> {
    let info = RunInfo {
        started_at: env::now(),
        kind,
        host: env::hostname(),
        target: target.into(),
        status: status.into(),
        nix_version: env::nix_version("nix"),
        nixperf_version: env!("CARGO_PKG_VERSION").into(),
        git_rev: None,
        flake_lock: None,
        command: std::env::args().collect(),
        profile_path: None,
    };
    record(loc, info, metrics, None)
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
pub(super) struct EvalSource(std::thread::JoinHandle<(Option<String>, Option<String>)>);

impl EvalSource {
    /// None under --no-history (nothing to record).
    pub(super) fn start(loc: &HistoryLocation, r: &crate::eval::EvalRequest) -> Option<EvalSource> {
        loc.path()?;
        let tree = r.source_tree();
        Some(EvalSource(std::thread::spawn(move || {
            (env::git_revision(&tree), env::flake_lock(&tree))
        })))
    }
}

/// Records an evaluation; `source` from EvalSource::start, else looked up now.
pub(super) fn record_eval(
    loc: &HistoryLocation,
    r: &crate::eval::EvalRequest,
    p: &crate::profile::Profile,
    profile_path: &Path,
    base: Option<&Path>,
    source: Option<EvalSource>,
) -> Result<Option<i64>> {
    if loc.path().is_none() {
        return Ok(None);
    }
    let (git_rev, flake_lock) = match source.map(|s| s.0.join()) {
        Some(Ok(found)) => found,
        _ => {
            let tree = r.source_tree();
            (env::git_revision(&tree), env::flake_lock(&tree))
        }
    };
    let info = RunInfo {
        started_at: if p.meta.started_at > 0 {
            p.meta.started_at as i64
        } else {
            env::now()
        },
        kind: RunKind::Eval,
        host: env::hostname(),
        target: r.target_name(),
        status: p.meta.status.as_str().into(),
        nix_version: p.meta.nix_version.clone(),
        nixperf_version: env!("CARGO_PKG_VERSION").into(),
        git_rev,
        flake_lock,
        command: std::env::args().collect(),
        profile_path: Some(abs(profile_path)),
    };
    let metrics = history::metrics::eval_metrics(p, base);
    let stacks = history::metrics::eval_stacks(p, base);
    record_in(loc, info, &metrics, Some(&stacks), true)
}

pub(super) fn record_build(
    loc: &HistoryLocation,
    command: &[String],
    meta: &crate::build::model::Meta,
    report: &crate::build::BuildReport,
    profile_path: &Path,
) -> Result<Option<i64>> {
    if loc.path().is_none() {
        return Ok(None);
    }
    let target = env::build_target(command);
    let info = RunInfo {
        started_at: if meta.started_at > 0 {
            meta.started_at as i64
        } else {
            env::now()
        },
        kind: RunKind::Build,
        host: env::hostname(),
        target,
        status: meta.status.as_str().into(),
        nix_version: env::nix_version("nix"),
        nixperf_version: env!("CARGO_PKG_VERSION").into(),
        git_rev: env::git_revision(Path::new(".")),
        flake_lock: env::flake_lock(Path::new(".")),
        command: std::env::args().collect(),
        profile_path: Some(abs(profile_path)),
    };
    let mut metrics = history::metrics::build_metrics(report);
    if let Ok(h) = open_for_reading(loc) {
        metrics.extend(history::metrics::prediction_metrics(
            &h,
            &info.target,
            report.wall_ns as f64 / 1e9,
        ));
    }
    record(loc, info, &metrics, None)
}

#[derive(Args)]
pub(super) struct HistoryArgs {
    #[command(subcommand)]
    pub cmd: HistoryCmd,
}

#[derive(Subcommand)]
pub(super) enum HistoryCmd {
    /// List recorded runs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        kind: Option<RunKind>,
        #[arg(long)]
        target: Option<String>,
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one run and its metrics (default: the latest).
    Show {
        run: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Record a run with the given metrics (for other tools and scripts:
    /// `--metric store.size_bytes=1.2e11:bytes`).
    Record {
        #[arg(long)]
        kind: RunKind,
        #[arg(long)]
        target: String,
        /// NAME=VALUE[:UNIT], repeatable.
        #[arg(long = "metric", required = true)]
        metrics: Vec<String>,
        #[arg(long)]
        host: Option<String>,
        #[arg(long, default_value = "complete")]
        status: String,
        /// Unix seconds [default: now].
        #[arg(long)]
        at: Option<i64>,
        #[arg(long)]
        git_rev: Option<String>,
        /// Keep the transaction open this long before committing (crash tests).
        #[arg(long, hide = true)]
        hold_ms: Option<u64>,
    },
    /// Record runs from saved profiles (evaluation or build profiles).
    Import {
        #[arg(required = true)]
        profiles: Vec<PathBuf>,
        /// Target to record them under [default: from the profile's command].
        #[arg(long)]
        target: Option<String>,
    },
    /// Check the database's integrity and print its schema version and run count.
    Check,
}

fn parse_metric(s: &str) -> Result<Metric> {
    let (name, rest) = s
        .split_once('=')
        .with_context(|| format!("--metric {s}: expected NAME=VALUE[:UNIT]"))?;
    let (value, unit) = rest.split_once(':').unwrap_or((rest, "count"));
    let value: f64 = value
        .parse()
        .with_context(|| format!("--metric {s}: {value} is not a number"))?;
    if name.is_empty() || !value.is_finite() {
        bail!("--metric {s}: expected NAME=VALUE[:UNIT] with a finite value");
    }
    Ok(Metric::new(name, value, unit.into()))
}

pub(super) fn print_run(r: &history::Run) {
    println!(
        "run #{} {} {} on {} at {} ({}): {}",
        r.id,
        r.info.kind,
        r.info.status,
        r.info.host,
        history::trend::date(r.info.started_at),
        r.info.git_rev.as_deref().unwrap_or("no git revision"),
        r.info.target
    );
}

pub(super) fn run(a: HistoryArgs, loc: &HistoryLocation) -> Result<ExitCode> {
    match a.cmd {
        HistoryCmd::List {
            limit,
            kind,
            target,
            host,
            json,
        } => {
            let h = open_for_reading(loc)?;
            let runs = h.runs(&RunFilter {
                kind,
                target,
                host,
                limit: Some(limit),
                ..Default::default()
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else {
                for r in &runs {
                    print_run(r);
                }
                println!("{} runs in {}", h.count()?, h.path().display());
            }
        }
        HistoryCmd::Show { run, json } => {
            let h = open_for_reading(loc)?;
            let r = match run {
                Some(id) => h.run(id)?,
                None => h
                    .latest(&RunFilter::default())?
                    .context("the history has no runs")?,
            };
            let m = h.metrics(r.id)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"run": r, "metrics": m}))?
                );
            } else {
                print_run(&r);
                for x in &m {
                    println!(
                        "  {:<48} {}",
                        x.name,
                        crate::units::fmt_value(x.value, &x.unit)
                    );
                }
            }
        }
        HistoryCmd::Record {
            kind,
            target,
            metrics,
            host,
            status,
            at,
            git_rev,
            hold_ms,
        } => {
            let metrics = metrics
                .iter()
                .map(|m| parse_metric(m))
                .collect::<Result<Vec<_>>>()?;
            let path = loc.path().context("--no-history: nothing to record into")?;
            let mut h = History::open(path)?;
            let info = RunInfo {
                started_at: at.unwrap_or_else(env::now),
                kind,
                host: host.unwrap_or_else(env::hostname),
                target,
                status,
                nix_version: String::new(),
                nixperf_version: env!("CARGO_PKG_VERSION").into(),
                git_rev,
                command: std::env::args().collect(),
                profile_path: None,
                flake_lock: None,
            };
            let id = h.record_with_hold(
                &info,
                &metrics,
                None,
                hold_ms.map(std::time::Duration::from_millis),
            )?;
            println!("{id}");
        }
        HistoryCmd::Import { profiles, target } => {
            for p in &profiles {
                import(loc, p, target.as_deref())?;
            }
        }
        HistoryCmd::Check => {
            let h = open_for_reading(loc)?;
            let ok = h.integrity_check()?;
            println!(
                "{}: schema {}, {} runs, integrity {ok}",
                h.path().display(),
                h.schema_version()?,
                h.count()?
            );
            if ok != "ok" {
                return Ok(Exit::Failure.into());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Records a saved evaluation or build profile as a run (tells them apart by trying both).
fn import(loc: &HistoryLocation, p: &Path, target: Option<&str>) -> Result<Option<i64>> {
    let base = std::env::current_dir().ok();
    match crate::profile::read(p) {
        Ok(prof) => {
            let info = RunInfo {
                started_at: prof.meta.started_at as i64,
                kind: RunKind::Eval,
                host: env::hostname(),
                target: target
                    .map(str::to_owned)
                    .unwrap_or_else(|| prof.meta.command.join(" ")),
                status: prof.meta.status.as_str().into(),
                nix_version: prof.meta.nix_version.clone(),
                nixperf_version: prof.meta.nixperf_version.clone(),
                git_rev: None,
                command: prof.meta.command.clone(),
                profile_path: Some(abs(p)),
                flake_lock: None,
            };
            let m = history::metrics::eval_metrics(&prof, base.as_deref());
            let s = history::metrics::eval_stacks(&prof, base.as_deref());
            record(loc, info, &m, Some(&s))
        }
        Err(eval_err) => {
            let b = crate::build::profile_db::read(p).map_err(|_| eval_err)?;
            let report = crate::build::build_report(&b, 10);
            let info = RunInfo {
                started_at: b.meta.started_at as i64,
                kind: RunKind::Build,
                host: env::hostname(),
                target: target
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("build {}", b.meta.command.join(" "))),
                status: b.meta.status.as_str().into(),
                nix_version: String::new(),
                nixperf_version: b.meta.nixperf_version.clone(),
                git_rev: None,
                command: b.meta.command.clone(),
                profile_path: Some(abs(p)),
                flake_lock: None,
            };
            record(loc, info, &history::metrics::build_metrics(&report), None)
        }
    }
}
