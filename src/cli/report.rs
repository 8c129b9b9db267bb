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
pub(super) struct ReportArgs {
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

/// What `write_files` writes, and where.
pub(super) struct FileOptions<'a> {
    pub dir: &'a Path,
    /// Rows of the Markdown report's tables.
    pub top: usize,
    /// stacks.folded exact and streamed, never collapsed.
    pub full_stacks: bool,
}

pub(super) struct Written {
    pub svg: PathBuf,
    pub folded: PathBuf,
    /// The module flamegraph: the owning module as the bottom frame.
    pub module_svg: PathBuf,
    pub markdown: PathBuf,
    /// Said when the flamegraphs collapse recursion (`Folded::note`).
    pub note: Option<String>,
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
        Some(write_files(
            &p,
            &mods,
            &funcs,
            &recs,
            &FileOptions {
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
    print_summary(&p, &mods, &funcs, &recs, a.top, base);
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

pub(super) fn print_summary(
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
        crate::units::fmt_ns(mods.total_ns),
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

pub(super) fn write_files(
    p: &profile::Profile,
    mods: &modules::ModuleTable,
    funcs: &[functions::FunctionRow],
    recs: &[findings::Recommendation],
    o: &FileOptions,
    base: Option<&Path>,
) -> Result<Written> {
    let dir = o.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tree = stacks::StackTree::of_profile(p, base);
    let folded = tree.fold(stacks::Collapse::Auto);
    let w = Written {
        svg: dir.join("flamegraph.svg"),
        folded: dir.join("stacks.folded"),
        module_svg: dir.join("flamegraph-modules.svg"),
        markdown: dir.join("performance-report.md"),
        note: p.meta.recursion_fold.note().or_else(|| folded.note()),
    };
    let file = std::fs::File::create(&w.folded)
        .with_context(|| format!("writing {}", w.folded.display()))?;
    if o.full_stacks {
        tree.write_exact(file)
    } else {
        folded.write_text(std::io::BufWriter::new(file))
    }
    .with_context(|| format!("writing {}", w.folded.display()))?;
    let svg =
        std::fs::File::create(&w.svg).with_context(|| format!("writing {}", w.svg.display()))?;
    let weight = stacks::Weight::of(p);
    let title = format!(
        "Nix evaluation {}{}{}",
        crate::units::fmt_ns(mods.total_ns),
        match weight {
            stacks::Weight::Ns => String::new(),
            w => format!(" (width: {}, Nix's built-in profiler)", w.unit()),
        },
        if p.meta.status.is_partial() {
            " (partial)"
        } else {
            ""
        }
    );
    output::flamegraph::write_svg(
        &folded,
        &title,
        weight.unit(),
        w.note.as_deref(),
        std::io::BufWriter::new(svg),
    )
    .with_context(|| format!("writing {}", w.svg.display()))?;
    if p.meta.source.is_plugin() {
        let by_module = stacks::folded_by_module(p, base);
        let svg = std::fs::File::create(&w.module_svg)
            .with_context(|| format!("writing {}", w.module_svg.display()))?;
        output::flamegraph::write_svg(
            &by_module,
            &format!("{title}: by module (helpers rolled up)"),
            weight.unit(),
            by_module.note().as_deref(),
            std::io::BufWriter::new(svg),
        )
        .with_context(|| format!("writing {}", w.module_svg.display()))?;
    }
    std::fs::write(
        &w.markdown,
        output::markdown::eval_report(&p.meta, mods, funcs, recs, o.top, base),
    )
    .with_context(|| format!("writing {}", w.markdown.display()))?;
    Ok(w)
}
