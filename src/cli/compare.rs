//! `nixperf baseline [RUN]` and `nixperf compare [A] [B]`: mark the reference run of a host and
//! target, and compare later runs with it — per-metric change with significance, the modules
//! that moved most, a differential flamegraph, alerts, exit 2 on a regression.

use super::history::{open_for_reading, print_run};
use crate::exit::Exit;
use crate::history::alerts::Thresholds;
use crate::history::baseline_file::BaselineFile;
use crate::history::compare;
use crate::history::{History, Run, env};
use crate::output;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct BaselineArgs {
    /// The run to mark [default: the latest run].
    pub run: Option<i64>,
    /// Show the baseline instead of setting it (for the latest run's host and target).
    #[arg(long)]
    pub show: bool,
    /// Where to export the baseline.
    #[arg(short = 'o', long, default_value = "performance-baseline.json")]
    pub output: PathBuf,
}

/// Overrides of the alert thresholds (the config file's `[alerts]`, then these).
#[derive(Args, Clone)]
pub(super) struct ThresholdArgs {
    /// Config file with an `[alerts]` table [default: $XDG_CONFIG_HOME/nixperf/config.toml].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Relative change (percent) beyond which a worse metric is a regression.
    #[arg(long)]
    pub threshold: Option<f64>,
    #[arg(long)]
    pub max_build_time: Option<f64>,
    #[arg(long)]
    pub max_eval_time: Option<f64>,
    /// Bytes.
    #[arg(long)]
    pub max_store_size: Option<f64>,
    /// 0..1.
    #[arg(long)]
    pub min_hit_rate: Option<f64>,
}

impl ThresholdArgs {
    pub(super) fn resolve(&self) -> Result<Thresholds> {
        let mut t = Thresholds::load(self.config.as_deref())?;
        if let Some(v) = self.threshold {
            t.regression_pct = v;
        }
        if let Some(v) = self.max_build_time {
            t.max_build_time_s = v;
        }
        if let Some(v) = self.max_eval_time {
            t.max_eval_time_s = v;
        }
        if let Some(v) = self.max_store_size {
            t.max_store_bytes = v;
        }
        if let Some(v) = self.min_hit_rate {
            t.min_cache_hit_rate = v;
        }
        Ok(t)
    }
}

#[derive(Args)]
pub(super) struct CompareArgs {
    /// The reference run [default: B's baseline, else the run of B's target before B].
    pub a: Option<i64>,
    /// The run to judge [default: the latest run].
    pub b: Option<i64>,
    /// Repeat runs per side: each side is the N runs of its target ending at A / at B.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Exit 2 when a metric regressed beyond the threshold and the noise, or an absolute alert
    /// limit (build time, store size, cache hit rate, evaluation time) is breached.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Also write the comparison as Markdown (e.g. `$GITHUB_STEP_SUMMARY`).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Where to write the differential flamegraph (evaluations only).
    #[arg(long, default_value = "flamegraph-diff.svg")]
    pub flamegraph: PathBuf,
    /// Do not write the differential flamegraph.
    #[arg(long)]
    pub no_flamegraph: bool,
    /// Rows in the modules table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

pub(super) fn baseline(a: BaselineArgs, loc: &crate::history::HistoryLocation) -> Result<ExitCode> {
    let mut h = open_for_reading(loc)?;
    let run = match a.run {
        Some(id) => h.run(id)?,
        None => compare::latest_run(&h)?,
    };
    let run = if a.show {
        let id = h
            .baseline(&run.info.host, &run.info.target)?
            .with_context(|| format!("no baseline for {} on {}", run.info.target, run.info.host))?;
        h.run(id)?
    } else {
        h.set_baseline(&run, env::now())?;
        run
    };
    export_baseline(&h, std::slice::from_ref(&run), &a.output)?;
    print!("{} ", if a.show { "baseline:" } else { "baseline set:" });
    print_run(&run);
    println!("exported to {}", a.output.display());
    Ok(ExitCode::SUCCESS)
}

/// Writes performance-baseline.json: the runs and their metrics (what the NixOS module's
/// `baseline-file` names and `analyze --baseline-file` compares with).
pub(super) fn export_baseline(h: &History, runs: &[Run], path: &std::path::Path) -> Result<()> {
    Ok(BaselineFile::of_runs(h, runs)?.write(path)?)
}

pub(super) fn run(a: CompareArgs, loc: &crate::history::HistoryLocation) -> Result<ExitCode> {
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let t = a.thresholds.resolve()?;
    let h = open_for_reading(loc)?;
    let (ra, rb) = compare::pair(&h, a.a, a.b)?;
    let c = compare::compare(&h, &ra, &rb, a.runs, &t)?;
    let mut diff_svg = None;
    if !a.no_flamegraph
        && let (Some(sa), Some(sb)) = (h.stacks(ra.id)?, h.stacks(rb.id)?)
    {
        let (sa, sb) = crate::history::stacks::fold_pair(&sa, &sb);
        let d = output::diffgraph::diff_folded(&sa, &sb)?;
        let f = std::fs::File::create(&a.flamegraph)
            .with_context(|| format!("writing {}", a.flamegraph.display()))?;
        let title = format!("Evaluation: run #{} vs #{}", rb.id, ra.id);
        if d.trim().is_empty() {
            output::empty_graph::write_svg(&title, std::io::BufWriter::new(f))?;
        } else {
            output::diffgraph::write_svg(&d, &title, sb.note(), std::io::BufWriter::new(f))?;
        }
        let folded = a.flamegraph.with_extension("folded");
        std::fs::write(&folded, &d).with_context(|| format!("writing {}", folded.display()))?;
        diff_svg = Some(a.flamegraph.clone());
    }
    if let Some(md) = &a.markdown {
        let mut text = output::comparison::markdown(&c, a.top);
        if let Some(p) = &diff_svg {
            text.push_str(&format!("\ndifferential flamegraph: `{}`\n", p.display()));
        }
        std::fs::write(md, text).with_context(|| format!("writing {}", md.display()))?;
    }
    if a.json {
        let mut v = serde_json::to_value(&c)?;
        v["regressed"] = c.regressed().into();
        v["flamegraph_diff"] = diff_svg.as_ref().map(|p| p.display().to_string()).into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", output::comparison::text(&c, a.top));
        if let Some(p) = &diff_svg {
            println!("differential flamegraph: {}", p.display());
        }
    }
    Ok(if a.fail_on_regression && c.breached() {
        Exit::Regression
    } else {
        Exit::Success
    }
    .into())
}
