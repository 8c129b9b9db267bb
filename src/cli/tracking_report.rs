//! `nixperf report --format md|json|html`: the tracking report of a recorded run (default: the
//! latest) against its baseline, written under fixed file names (performance-report.md, …).

use super::history::open_for_reading;
use crate::history::alerts::Thresholds;
use crate::history::{HistoryLocation, RunFilter, env, tracking_report, trend};
use crate::output;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Metrics charted in the HTML report.
const CHARTED: &[&str] = &[
    "eval.wall_s",
    "eval.cpu_s",
    "eval.function_calls",
    "build.wall_s",
    "cache.hit_rate",
    "store.size_bytes",
];

pub(super) fn run(
    loc: &HistoryLocation,
    format: &str,
    run: Option<i64>,
    out_dir: &Path,
    config: Option<&Path>,
) -> Result<ExitCode> {
    let h = open_for_reading(loc)?;
    let r = match run {
        Some(id) => h.run(id)?,
        None => crate::history::compare::latest_run(&h)?,
    };
    let base = match h.baseline(&r.info.host, &r.info.target)? {
        Some(id) if id != r.id => Some(h.run(id)?),
        _ => None,
    };
    let t = Thresholds::load(config)?;
    let rep = tracking_report::build(&h, &r, base.as_ref(), &t, env::now())?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let write = |name: &str, text: &str| -> Result<PathBuf> {
        let p = out_dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        Ok(p)
    };
    let written: Vec<PathBuf> = match format {
        "md" => vec![
            write("performance-report.md", &output::tracking::markdown(&rep))?,
            write(
                "optimization-recommendations.md",
                &output::tracking::recommendations_file(&rep),
            )?,
        ],
        "json" => vec![write(
            "build-metrics.json",
            &(serde_json::to_string_pretty(&rep)? + "\n"),
        )?],
        _ => {
            let flame = match &rep.stacks {
                Some(s) => {
                    let folded = s.fold();
                    let mut svg = Vec::new();
                    let title = format!("Evaluation, run #{}", r.id);
                    let note = folded.note();
                    output::flamegraph::write_svg(
                        &folded,
                        &title,
                        "ns",
                        note.as_deref(),
                        &mut svg,
                    )?;
                    Some(String::from_utf8_lossy(&svg).into_owned())
                }
                None => None,
            };
            let diff = match (&rep.baseline_stacks, &rep.stacks) {
                (Some(a), Some(b)) => {
                    let (a, b) = crate::history::stacks::fold_pair(a, b);
                    let d = output::diffgraph::diff_folded(&a, &b)?;
                    let mut svg = Vec::new();
                    let title = format!("Run #{} vs baseline", r.id);
                    if d.trim().is_empty() {
                        output::empty_graph::write_svg(&title, &mut svg)?;
                    } else {
                        output::diffgraph::write_svg(&d, &title, b.note(), &mut svg)?;
                    }
                    Some(String::from_utf8_lossy(&svg).into_owned())
                }
                _ => None,
            };
            let f = RunFilter {
                host: Some(r.info.host.clone()),
                target: Some(r.info.target.clone()),
                ..Default::default()
            };
            let mut charts = Vec::new();
            for tr in trend::trends(&h, &f, false, &[])? {
                if CHARTED.contains(&tr.name.as_str()) {
                    let svg = output::chart::trend_svg(&tr)
                        .map_err(|e| anyhow::anyhow!("chart of {}: {e}", tr.name))?;
                    charts.push((tr.name.clone(), svg));
                }
            }
            vec![write(
                "performance-report.html",
                &output::tracking::html(&rep, flame.as_deref(), diff.as_deref(), &charts),
            )?]
        }
    };
    for p in &written {
        println!("wrote {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}
