//! `nixperf track`: the trend of each metric over time (per run or `--monthly`), with an SVG
//! chart per metric; and `nixperf export --format prometheus`.

use super::history::open_for_reading;
use crate::history::{RunFilter, env, trend};
use crate::output;
use crate::units::{fmt_relative, fmt_value};
use anyhow::{Context, Result, bail};
use clap::Args;
use comfy_table::{Cell, CellAlignment, Table};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct TrackArgs {
    /// Only runs since: a date (2026-01-31), `30d`, `12w`, or unix seconds.
    #[arg(long)]
    pub since: Option<String>,
    /// One point per calendar month (mean, with min/max).
    #[arg(long)]
    pub monthly: bool,
    #[arg(long)]
    pub target: Option<String>,
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long)]
    pub kind: Option<crate::history::RunKind>,
    /// Only metrics whose name contains one of these.
    #[arg(long = "metric")]
    pub metrics: Vec<String>,
    /// Where to write one SVG chart per metric.
    #[arg(short = 'o', long, default_value = "nixperf-trends")]
    pub out_dir: PathBuf,
    #[arg(long)]
    pub no_charts: bool,
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(a: TrackArgs, loc: &crate::history::HistoryLocation) -> Result<ExitCode> {
    let h = open_for_reading(loc)?;
    let since = match &a.since {
        Some(s) => Some(trend::parse_since(s, env::now()).with_context(|| {
            format!("--since {s}: expected YYYY-MM-DD, Nd, Nw or unix seconds")
        })?),
        None => None,
    };
    let f = RunFilter {
        host: a.host.clone(),
        target: a.target.clone(),
        kind: a.kind.clone(),
        since,
        ..Default::default()
    };
    let trends = trend::trends(&h, &f, a.monthly, &a.metrics)?;
    if trends.is_empty() {
        bail!("no recorded metrics match (history {})", h.path().display());
    }
    let mut charts = Vec::new();
    if !a.no_charts {
        std::fs::create_dir_all(&a.out_dir)
            .with_context(|| format!("creating {}", a.out_dir.display()))?;
        for t in &trends {
            let svg = output::chart::trend_svg(t)
                .map_err(|e| anyhow::anyhow!("chart of {}: {e}", t.name))?;
            let p = a.out_dir.join(output::chart::file_name(&t.name));
            std::fs::write(&p, svg).with_context(|| format!("writing {}", p.display()))?;
            charts.push(p);
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&trends)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new();
    t.set_header(vec![
        "metric", "points", "first", "last", "change", "min", "max", "trend",
    ]);
    let r = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    for tr in &trends {
        t.add_row(vec![
            Cell::new(&tr.name),
            r(tr.points.len().to_string()),
            r(fmt_value(tr.first, &tr.unit)),
            r(fmt_value(tr.last, &tr.unit)),
            r(fmt_relative(tr.relative)),
            r(fmt_value(tr.min, &tr.unit)),
            r(fmt_value(tr.max, &tr.unit)),
            Cell::new(output::chart::sparkline(
                &tr.points.iter().map(|p| p.value).collect::<Vec<_>>(),
            )),
        ]);
    }
    println!("{t}");
    if !charts.is_empty() {
        println!("{} charts in {}", charts.len(), a.out_dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub(super) struct ExportArgs {
    /// Output format.
    #[arg(long, value_parser = ["prometheus"], default_value = "prometheus")]
    pub format: String,
    /// Write here (atomically: temp file + rename, as the textfile collector needs) instead of
    /// stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
}

pub(super) fn export(a: ExportArgs, loc: &crate::history::HistoryLocation) -> Result<ExitCode> {
    let h = open_for_reading(loc)?;
    let text = output::prometheus::exposition(&h.latest_per_target_with_metrics()?);
    match &a.output {
        None => print!("{text}"),
        Some(p) => {
            let tmp = p.with_extension(format!("tmp.{}", std::process::id()));
            std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, p).with_context(|| format!("writing {}", p.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
