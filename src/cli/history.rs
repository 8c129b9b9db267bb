//! `nixperf history list|show|record|import|check`, and how every command opens the history
//! (at the [`HistoryLocation`] `cli::main` chose from `--history` / `--no-history`) and says
//! what it recorded there (`history::record` records).

use crate::exit::Exit;
use crate::history::record::{self, Recorded};
use crate::history::{self, History, HistoryLocation, Metric, RunFilter, RunInfo, RunKind, env};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// The history for commands that read it.
pub(super) fn open_for_reading(loc: &HistoryLocation) -> Result<History> {
    Ok(loc.open_existing()?)
}

/// Says which run was recorded (on stderr), and returns its id.
pub(super) fn announce(r: Option<Recorded>) -> Option<i64> {
    let r = r?;
    eprintln!("nixperf: {r}");
    Some(r.id)
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
            let base = std::env::current_dir().ok();
            for p in &profiles {
                announce(record::import(loc, p, target.as_deref(), base.as_deref())?);
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
            let sums = h.verify_all()?;
            for f in &sums.failed {
                println!("  {f}");
            }
            println!(
                "checksums: {} runs verified, {} failed, {} recorded before checksums (unverified)",
                sums.verified,
                sums.failed.len(),
                sums.unverified
            );
            if !sums.failed.is_empty() {
                return Ok(Exit::Failure.into());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
