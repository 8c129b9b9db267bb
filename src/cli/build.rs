//! `nixperf build -- <nix command…>`: run a build with JSON logging, save the stamped log and a
//! build profile, print the summary. `--replay LOG` analyses a saved log instead, `--show DB` a
//! saved profile.

use crate::build::{self, BuildProfile};
use crate::exit::Exit;
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct BuildArgs {
    /// Replay a saved log (nixperf's stamped log, or a plain `--log-format internal-json` log).
    #[arg(long, conflicts_with = "show")]
    pub replay: Option<PathBuf>,
    /// Show a saved build profile.
    #[arg(long)]
    pub show: Option<PathBuf>,
    /// Where to write the build profile (SQLite).
    #[arg(short = 'o', long, default_value = "build-profile.db")]
    pub out: PathBuf,
    /// Where to save the stamped log of a live run [default: <out>.log.json].
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Print the report as JSON on stdout (the command's own stdout goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Also write a Chrome trace / Perfetto JSON of the timeline.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Also write the built graph as Graphviz dot.
    #[arg(long)]
    pub dot: Option<PathBuf>,
    /// Rows in the slowest-derivations and bottleneck lists.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Simulate `cores` on a machine with this many CPUs [default: the recorded machine's].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub sim_cpus: Option<u32>,
    /// Do not show the command's log while it runs.
    #[arg(short, long)]
    pub quiet: bool,
    /// The nix command, after `--`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub(super) fn run(a: BuildArgs, loc: &crate::history::HistoryLocation) -> Result<ExitCode> {
    let (profile, code): (BuildProfile, ExitCode) = if let Some(log) = &a.replay {
        let p = build::replay(log)?;
        build::profile_db::write(&a.out, &p)?;
        (p, ExitCode::SUCCESS)
    } else if let Some(db) = &a.show {
        (build::profile_db::read(db)?, ExitCode::SUCCESS)
    } else {
        anyhow::ensure!(
            !a.command.is_empty(),
            "give a command (nixperf build -- nix-build …) or --replay LOG"
        );
        let log = a
            .log
            .clone()
            .unwrap_or_else(|| a.out.with_extension("log.json"));
        let p = build::run_and_profile(&a.command, &log, &a.out, a.quiet, a.json)
            .with_context(|| format!("profiling {}", a.command.join(" ")))?;
        // Mirror the command's exit status, so scripts and CI see the build's outcome; 128 +
        // the signal when nixperf was asked to stop (and passed it on to nix).
        let code = match crate::child::received() {
            Some(sig) => Exit::Signal(sig),
            None => Exit::of_child(p.meta.exit_code, None),
        }
        .into();
        if !a.json {
            eprintln!(
                "nixperf: build profile {}, log {}",
                a.out.display(),
                log.display()
            );
        }
        (p, code)
    };
    if let Some(t) = &a.trace {
        let s = serde_json::to_string(&build::chrome::trace(&profile))?;
        std::fs::write(t, s).with_context(|| format!("writing {}", t.display()))?;
    }
    if let Some(d) = &a.dot {
        std::fs::write(d, build::dot::dot(&profile))
            .with_context(|| format!("writing {}", d.display()))?;
    }
    let report = build::build_report_for(&profile, a.top, a.sim_cpus);
    if a.show.is_none() {
        let out = std::path::absolute(&a.out).unwrap_or_else(|_| a.out.clone());
        super::history::announce(crate::history::record::record_build(
            loc,
            &profile.meta,
            &report,
            &out,
        )?);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", build::render_text(&report));
    }
    Ok(code)
}

/// `nixperf report BUILD.db`: the build report of a saved build profile.
pub(super) fn report_file(db: &std::path::Path, top: usize, json: bool) -> Result<ExitCode> {
    let p = build::profile_db::read(db)?;
    let report = build::build_report(&p, top);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", build::render_text(&report));
    }
    Ok(ExitCode::SUCCESS)
}
