//! `nixperf predict -- nix-build …`: how long the build will take, from the durations recorded
//! in the history and the scheduling model; recorded so `nixperf build` of the same target can
//! report the prediction error and `nixperf track` shows prediction vs actual.

use super::history::{announce, open_for_reading};
use crate::build::predict::{self, Known};
use crate::history::record::record_metrics;
use crate::history::{HistoryLocation, Metric, RunKind, Unit, env};
use crate::units::fmt_ns;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::process::{Command, ExitCode};

#[derive(Args)]
pub(super) struct PredictArgs {
    /// Predict for this many parallel builds [default: the command's `-j`/`--max-jobs`/`--option
    /// max-jobs`, else nix's effective max-jobs].
    #[arg(long)]
    pub max_jobs: Option<usize>,
    /// Print the prediction as JSON.
    #[arg(long)]
    pub json: bool,
    /// The build command, after `--`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

/// max-jobs as the command sets it, else as nix is configured.
fn max_jobs(cmd: &[String]) -> usize {
    predict::max_jobs_in(cmd).unwrap_or_else(|| {
        crate::config::NixSettings::load()
            .ok()
            .and_then(|s| s.u64("max-jobs"))
            .map_or(1, |v| v.max(1) as usize)
    })
}

pub(super) fn run(a: PredictArgs, loc: &HistoryLocation) -> Result<ExitCode> {
    let cmd = &a.command;
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .arg("--dry-run")
        .output()
        .with_context(|| format!("cannot run {}", cmd[0]))?;
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{} --dry-run failed: {}",
            cmd.join(" "),
            text.lines()
                .find(|l| l.contains("error"))
                .unwrap_or(text.trim())
        );
    }
    let drvs = predict::to_build(&text);
    let jobs = a.max_jobs.unwrap_or_else(|| max_jobs(cmd)).max(1);
    // Recorded build profiles of this host (none without a history).
    let k = match open_for_reading(loc) {
        Ok(h) => crate::history::metrics::known_builds(&h)?,
        Err(_) => Known::default(),
    };
    let p = predict::predict(&drvs, &k, jobs);

    let m = [
        Metric::new("build.predicted_s", p.total_ns as f64 / 1e9, Unit::Seconds),
        Metric::new("build.predicted_unknown", p.unknown as f64, Unit::Count),
    ];
    announce(record_metrics(
        loc,
        RunKind::Predict,
        &env::build_target(cmd),
        "complete",
        &m,
    )?);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = comfy_table::Table::new();
    t.set_header(vec!["derivation", "predicted", "from"]);
    for d in &p.derivations {
        t.add_row(vec![
            d.name.clone(),
            d.duration_ns.map_or("?".into(), fmt_ns),
            d.basis.into(),
        ]);
    }
    if !p.derivations.is_empty() {
        println!("{t}");
    }
    println!(
        "{} derivation(s) to build; predicted {} at max-jobs {} ({} building, critical path {}, {} other work as recorded){}",
        p.derivations.len(),
        fmt_ns(p.total_ns),
        p.max_jobs,
        fmt_ns(p.build_span_ns),
        fmt_ns(p.critical_path_ns),
        fmt_ns(p.overhead_ns),
        if p.unknown > 0 {
            format!(
                "; {} never built here (counted as 0 s: a lower bound)",
                p.unknown
            )
        } else {
            String::new()
        }
    );
    if k.profiles == 0 {
        println!("no recorded builds in the history yet: record one with `nixperf build -- …`");
    }
    Ok(ExitCode::SUCCESS)
}
