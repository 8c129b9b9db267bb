//! `nixperf report PROFILE`: tables on stdout, files (flamegraph.svg, stacks.folded,
//! performance-report.md) in `--out-dir`, or everything as JSON.

use crate::analysis::{findings, functions, modules};
use crate::output::{self, eval_files, json::EvalReport};
use crate::profile;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct ReportArgs {
    /// The profile written by `nixperf eval` or the plugin.
    #[arg(default_value = crate::profile::DEFAULT_PATH)]
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
    /// The raw per-file table: every file's own code its own row, helper libraries included
    /// (by default they roll up into the module that called them).
    #[arg(long)]
    pub by_file: bool,
    /// The tracking report of a recorded run vs its baseline, in its fixed structure:
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
    /// Write every stack to stacks.folded exactly, even where it would be huge (deep
    /// recursion: gigabytes; it is streamed). By default recursion is collapsed once the exact
    /// text would pass 32 MiB.
    #[arg(long)]
    pub full_stacks: bool,
}

pub(super) fn run(a: ReportArgs, loc: &crate::history::HistoryLocation) -> Result<ExitCode> {
    if let Some(f) = &a.format {
        return super::tracking_report::run(loc, f, a.run, &a.out_dir, a.config.as_deref());
    }
    // A build profile (`nixperf build`) gets the build report.
    if crate::build::profile_db::is_build_profile(&a.profile) {
        return super::build::report_file(&a.profile, a.top, a.json);
    }
    let p = profile::read(&a.profile)?;
    let base = std::env::current_dir().ok();
    let base = base.as_deref();
    let view = if a.by_file {
        modules::View::ByFile
    } else {
        modules::View::Modules
    };
    let mods = modules::module_table_with(&p, view);
    for w in mods.classification.warnings() {
        eprintln!("nixperf: warning: {w}");
    }
    let funcs = functions::function_table(&p);
    let recs = findings::recommendations(&p);
    let written = if a.no_files {
        None
    } else {
        Some(eval_files::write(
            &p,
            &mods,
            &funcs,
            &recs,
            &eval_files::FileOptions {
                dir: &a.out_dir,
                top: a.top,
                full_stacks: a.full_stacks,
            },
            base,
        )?)
    };
    if a.json {
        let svg = written.as_ref().map(|w| w.svg.display().to_string());
        let folded = written.as_ref().map(|w| w.folded.display().to_string());
        let name = a.profile.display().to_string();
        let r = EvalReport {
            flamegraph: svg.as_deref(),
            folded: folded.as_deref(),
            stacks_note: written.as_ref().and_then(|w| w.note.as_deref()),
            ..EvalReport::new(&name, &p, &mods, &funcs, &recs)
        };
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!(
        "{}",
        output::table::eval_summary(&p, &mods, &funcs, &recs, a.top, base)
    );
    if let Some(w) = written {
        println!(
            "wrote {}, {}, {}{}",
            w.svg.display(),
            w.folded.display(),
            w.markdown.display(),
            if p.meta.source.is_plugin() {
                format!(", {}", w.module_svg.display())
            } else {
                String::new()
            }
        );
        if let Some(n) = &w.note {
            println!("flamegraphs: {n}; --full-stacks writes every stack to stacks.folded");
        }
    }
    Ok(ExitCode::SUCCESS)
}
