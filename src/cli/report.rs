//! `nixperf report PROFILE`: tables on stdout, files (flamegraph.svg, stacks.folded,
//! performance-report.md) in `--out-dir`, or everything as JSON.

use crate::analysis::{findings, functions, modules, stacks};
use crate::output::{self, json::EvalReport};
use crate::profile;
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct ReportArgs {
    /// The profile written by `nixperf eval` or the plugin.
    #[arg(default_value = "nixperf-profile.db")]
    pub profile: PathBuf,
    /// Rows in each table.
    #[arg(long, default_value_t = 15)]
    pub top: usize,
    /// Where to write flamegraph.svg, stacks.folded and performance-report.md.
    #[arg(long, short = 'o', default_value = ".")]
    pub out_dir: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Do not write files, only print.
    #[arg(long)]
    pub no_files: bool,
    /// The tracking report of a recorded run vs its baseline, in the seed's structure:
    /// performance-report.md + optimization-recommendations.md, build-metrics.json, or one
    /// self-contained performance-report.html (in --out-dir).
    #[arg(long, value_parser = ["md", "json", "html"])]
    pub format: Option<String>,
    /// With --format: the run to report on [default: the latest].
    #[arg(long, requires = "format")]
    pub run: Option<i64>,
    /// With --format: config file with alert thresholds.
    #[arg(long, requires = "format")]
    pub config: Option<PathBuf>,
}

pub struct Written {
    pub svg: PathBuf,
    pub folded: PathBuf,
    pub markdown: PathBuf,
}

pub fn run(a: ReportArgs) -> Result<ExitCode> {
    if let Some(f) = &a.format {
        return super::tracking_report::run(f, a.run, &a.out_dir, a.config.as_deref());
    }
    // A build profile (`nixperf build`) gets the build report.
    if crate::build::store::is_build_profile(&a.profile) {
        return super::build::report_file(&a.profile, a.top, a.json);
    }
    let p = profile::read(&a.profile)?;
    let base = std::env::current_dir().ok();
    let base = base.as_deref();
    let mods = modules::module_table(&p);
    let funcs = functions::function_table(&p);
    let recs = findings::recommendations(&p);
    let written = if a.no_files {
        None
    } else {
        Some(write_files(
            &p, &mods, &funcs, &recs, &a.out_dir, a.top, base,
        )?)
    };
    if a.json {
        let svg = written.as_ref().map(|w| w.svg.display().to_string());
        let folded = written.as_ref().map(|w| w.folded.display().to_string());
        let r = EvalReport {
            report_version: output::json::REPORT_VERSION,
            profile: &a.profile.display().to_string(),
            meta: &p.meta,
            partial: p.meta.status.is_partial(),
            modules: &mods,
            functions: &funcs,
            recommendations: &recs,
            findings: &p.findings,
            ifd: &p.ifds,
            evaluator_stats: findings::evaluator_stats(&p),
            flamegraph: svg.as_deref(),
            folded: folded.as_deref(),
        };
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_summary(&p, &mods, &funcs, &recs, a.top, base);
    if let Some(w) = written {
        println!(
            "wrote {}, {}, {}",
            w.svg.display(),
            w.folded.display(),
            w.markdown.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_summary(
    p: &profile::Profile,
    mods: &modules::ModuleTable,
    funcs: &[functions::FunctionRow],
    recs: &[findings::Recommendation],
    top: usize,
    base: Option<&Path>,
) {
    if p.meta.status.is_partial() {
        println!(
            "PARTIAL profile ({}): {}",
            p.meta.status.as_str(),
            p.meta.reason
        );
    }
    println!(
        "evaluation {} (Nix {})",
        output::fmt_ns(mods.total_ns),
        p.meta.nix_version
    );
    if let Some(note) = p.meta.source.describe() {
        println!("{note}");
        println!("modules: unavailable (no per-file attribution without the plugin)");
    } else {
        println!("{}", output::table::module_table(mods, top, base));
    }
    let table = output::table::function_table(funcs, top, base, &p.meta.clock_probe);
    if p.meta.source.is_plugin() {
        println!("{table}");
    } else {
        // Nix's profiler names functions by where they are called, not where they are defined.
        println!("{}", table.replacen("defined at", "called at ", 1));
    }
    if let Some(st) = findings::evaluator_stats(p) {
        println!("{}", output::table::stats_line(&st));
    } else if p.meta.source.is_plugin() && !p.meta.status.is_partial() {
        println!("{}", output::table::STATS_NOT_RECORDED);
    }
    if !recs.is_empty() {
        println!(
            "\nRecommendations\n{}",
            output::table::recommendations(recs, top, base)
        );
    }
}

pub fn write_files(
    p: &profile::Profile,
    mods: &modules::ModuleTable,
    funcs: &[functions::FunctionRow],
    recs: &[findings::Recommendation],
    dir: &Path,
    top: usize,
    base: Option<&Path>,
) -> Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let w = Written {
        svg: dir.join("flamegraph.svg"),
        folded: dir.join("stacks.folded"),
        markdown: dir.join("performance-report.md"),
    };
    let folded = stacks::folded(p, base);
    let mut text = String::new();
    for (s, n) in &folded {
        text.push_str(&format!("{s} {n}\n"));
    }
    std::fs::write(&w.folded, text).with_context(|| format!("writing {}", w.folded.display()))?;
    let svg =
        std::fs::File::create(&w.svg).with_context(|| format!("writing {}", w.svg.display()))?;
    let title = format!(
        "Nix evaluation {}{}{}",
        output::fmt_ns(mods.total_ns),
        if stacks::weights_are_calls(p) {
            " (width: calls)"
        } else {
            ""
        },
        if p.meta.status.is_partial() {
            " (partial)"
        } else {
            ""
        }
    );
    if folded.is_empty() {
        output::empty_graph::write_svg(&title, std::io::BufWriter::new(svg))
    } else {
        output::flamegraph::write_svg(&folded, &title, std::io::BufWriter::new(svg))
    }
    .with_context(|| format!("writing {}", w.svg.display()))?;
    std::fs::write(
        &w.markdown,
        output::markdown::eval_report(&p.meta, mods, funcs, recs, top, base),
    )
    .with_context(|| format!("writing {}", w.markdown.display()))?;
    Ok(w)
}
