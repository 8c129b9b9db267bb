//! `nixperf fleet merge FILE…`: reports (build-metrics.json from `nixperf report --format json`)
//! and history databases of several hosts in one view, worst first.

use crate::exit::Exit;
use crate::history::alerts::Thresholds;
use crate::history::fleet::{self, FleetRow, ReportJsonError};
use crate::history::{History, env, tracking_report};
use crate::units::fmt_value;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use comfy_table::Table;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct FleetArgs {
    #[command(subcommand)]
    pub cmd: FleetCmd,
}

#[derive(Subcommand)]
pub(super) enum FleetCmd {
    /// Merge reports and/or history databases into one table, worst host first.
    Merge {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
        /// Exit 2 when any host regressed.
        #[arg(long)]
        fail_on_regression: bool,
    },
}

fn rows_from(p: &Path, t: &Thresholds) -> Result<Vec<FleetRow>> {
    let head = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    if head.starts_with(b"SQLite format 3\0") {
        let h = History::open_existing(p)?;
        let mut rows = Vec::new();
        for r in h.latest_per_target()? {
            let base = match h.baseline(&r.info.host, &r.info.target)? {
                Some(id) if id != r.id => Some(h.run(id)?),
                _ => None,
            };
            let rep = tracking_report::build(&h, &r, base.as_ref(), t, env::now())?;
            rows.extend(fleet::row_from_report(&rep, p));
        }
        return Ok(rows);
    }
    match fleet::row_from_json(&head, p) {
        Ok(row) => Ok(vec![row]),
        Err(ReportJsonError::NotJson(e)) => Err(anyhow::Error::from(e).context(format!(
            "{}: neither a history database nor a JSON report",
            p.display()
        ))),
        Err(ReportJsonError::NotReport(_)) => bail!(
            "{}: not a nixperf report (nixperf report --format json)",
            p.display()
        ),
    }
}

pub(super) fn run(a: FleetArgs) -> Result<ExitCode> {
    let FleetCmd::Merge {
        inputs,
        json,
        fail_on_regression,
    } = a.cmd;
    let t = Thresholds::load(None)?;
    let mut rows = Vec::new();
    for p in &inputs {
        rows.extend(rows_from(p, &t)?);
    }
    if rows.is_empty() {
        bail!("no runs in the given inputs");
    }
    fleet::sort(&mut rows);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let mut tb = Table::new();
        tb.set_header(vec![
            "host",
            "target",
            "run",
            "status",
            "regressed",
            "key metrics",
        ]);
        for r in &rows {
            tb.add_row(vec![
                r.host.clone(),
                r.target.clone(),
                format!("#{} {}", r.run, r.date),
                r.status.clone(),
                r.regressions
                    .iter()
                    .map(|(m, p)| format!("{m} {p:+.0} %"))
                    .chain(r.alerts.iter().cloned())
                    .collect::<Vec<_>>()
                    .join("\n"),
                r.metrics
                    .iter()
                    .take(3)
                    .map(|(n, v, u)| format!("{n} {}", fmt_value(*v, u)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ]);
        }
        println!("{tb}");
        let bad: Vec<&str> = rows
            .iter()
            .filter(|r| r.status == "regressed")
            .map(|r| r.host.as_str())
            .collect();
        if !bad.is_empty() {
            println!("regressed: {}", bad.join(", "));
        }
    }
    Ok(
        if fail_on_regression && rows.iter().any(|r| r.status == "regressed") {
            Exit::Regression
        } else {
            Exit::Success
        }
        .into(),
    )
}
