//! `nixperf eval`: turns its flags into an `EvalRequest`, runs it (`crate::eval`: nix with the
//! plugin loaded, or Nix's built-in profiler) with a progress spinner, prints the summary of
//! the profile and records the run.

use super::history::announce;
use crate::analysis::{findings, functions, modules};
use crate::eval::{self, EvalRequest, Ran};
use crate::history::record::{EvalTarget, SourceLookup, record_eval};
use crate::profile::Profile;
use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub(super) struct EvalArgs {
    /// Nix file (or directory with default.nix) to evaluate.
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    /// Attribute path(s) to evaluate.
    #[arg(short = 'A', long = "attr")]
    pub attrs: Vec<String>,
    /// Pass `--arg NAME EXPR` to nix.
    #[arg(long, num_args = 2, value_names = ["NAME", "EXPR"], action = clap::ArgAction::Append)]
    pub arg: Vec<String>,
    /// Pass `--argstr NAME VALUE` to nix.
    #[arg(long, num_args = 2, value_names = ["NAME", "VALUE"], action = clap::ArgAction::Append)]
    pub argstr: Vec<String>,
    /// Evaluate this expression instead of a file.
    #[arg(short = 'E', long, conflicts_with = "file")]
    pub expr: Option<String>,
    /// Evaluate a flake output (`nix eval --json REF`).
    #[arg(long, conflicts_with_all = ["file", "expr"])]
    pub flake: Option<String>,
    /// Instantiate derivations (`nix-instantiate` without `--eval`), as `nixos-rebuild` does.
    #[arg(long)]
    pub instantiate: bool,
    /// Where to write the profile.
    #[arg(short = 'o', long, default_value = crate::profile::DEFAULT_PATH)]
    pub output: PathBuf,
    /// Path fragments of files to treat as helper libraries (their cost rolls up into the
    /// module that called them), added to what nixperf recognises from the code. Repeat the
    /// flag or separate fragments with commas.
    #[arg(long, value_name = "FRAGMENT", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub library: Vec<String>,
    /// Path fragments of files to keep as modules with a row of their own, whatever their
    /// code looks like (e.g. a helper file you want to see by itself). Repeatable, commas.
    #[arg(long, value_name = "FRAGMENT", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub module: Vec<String>,
    /// Evaluate read-only, as plain `nix-instantiate --eval` does: no derivation is written and
    /// import from derivation fails. By default `nixperf eval -f/-E` evaluates the way `nix
    /// eval` does (`--read-write-mode`: derivations written, IFD realised and timed).
    #[arg(long)]
    pub read_only: bool,
    /// Show what nix prints on stdout (the evaluated value); hidden by default.
    #[arg(long)]
    pub show_output: bool,
    /// Directory holding the nix binaries to run (default: from PATH, or NIXPERF_NIX).
    #[arg(long, env = "NIXPERF_NIX")]
    pub nix: Option<PathBuf>,
    /// Rows in the summary table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Use Nix's built-in `--eval-profiler` (Nix >= 2.30) even if the plugin could load.
    /// Without this flag it is the fallback for a Nix that cannot load the plugin.
    #[arg(long)]
    pub builtin_profiler: bool,
    /// Sampling frequency of the built-in profiler: 0 counts every call (exact counts, no
    /// times); Nix's default is 99 (times from samples, counts unknown).
    #[arg(long, default_value_t = 0, value_name = "HZ")]
    pub builtin_frequency: u32,
    /// Also record Nix's own statistics (NIX_SHOW_STATS: values, envs, sets, GC heap). Free
    /// on Nix 2.8 and always recorded there; from Nix 2.26 on they cost a full garbage
    /// collection at the end (and atomic counters from 2.28), ~1.2x on module-heavy
    /// evaluations, so the plugin records them only with this flag (NIXPERF_NIX_STATS=1).
    #[arg(long)]
    pub nix_stats: bool,
    /// Everything after `--`: extra nix-instantiate arguments, or a whole nix command
    /// (`-- nix eval -f x.nix`).
    #[arg(last = true)]
    pub rest: Vec<String>,
}

impl EvalArgs {
    /// The request these flags describe.
    pub(super) fn request(&self) -> EvalRequest {
        let pairs = |v: &[String]| -> Vec<(String, String)> {
            v.chunks(2)
                .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()))
                .collect()
        };
        EvalRequest {
            file: self.file.clone(),
            expr: self.expr.clone(),
            flake: self.flake.clone(),
            attrs: self.attrs.clone(),
            args: pairs(&self.arg),
            argstrs: pairs(&self.argstr),
            instantiate: self.instantiate,
            output: self.output.clone(),
            library: self.library.clone(),
            module: self.module.clone(),
            read_only: self.read_only,
            show_output: self.show_output,
            nix: self.nix.clone(),
            builtin_profiler: self.builtin_profiler,
            builtin_frequency: self.builtin_frequency,
            nix_stats: self.nix_stats,
            rest: self.rest.clone(),
        }
    }
}

/// Runs a request as `nixperf eval` shows it: a spinner while the plugin profiles; where Nix's
/// built-in profiler is used instead, the reason first and the summary (`top` rows) after.
pub(super) fn run_request(r: &EvalRequest, top: usize) -> Result<Ran, eval::EvalError> {
    let prepared = eval::prepare(r)?;
    if let Some(why) = prepared.fallback_reason() {
        eprintln!(
            "nixperf: plugin not used: {why}. Falling back to Nix's built-in --eval-profiler ({}): no per-file attribution, no findings.",
            match r.builtin_frequency {
                0 => "every call".to_owned(),
                hz => format!("{hz} Hz"),
            }
        );
        let ran = prepared.run()?;
        if ran.profile.nodes.len() <= 1 {
            eprintln!("nixperf: Nix's profiler recorded no function calls for this evaluation");
        }
        print_eval_summary(&ran.profile, &ran.path, top);
        return Ok(ran);
    }
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} evaluating with nixperf… {elapsed}").unwrap(),
    );
    spinner.enable_steady_tick(Duration::from_millis(120));
    let ran = prepared.run();
    spinner.finish_and_clear();
    ran
}

pub(super) fn run(a: EvalArgs, loc: &crate::history::HistoryLocation) -> Result<ExitCode> {
    let r = a.request();
    // The history record's git lookup runs while nix evaluates.
    let source = SourceLookup::start(loc, r.source_tree());
    let ran = run_request(&r, a.top)?;
    if ran.fallback.is_some() {
        return Ok(eval::exit_code(ran.status));
    }
    let base = print_eval_summary(&ran.profile, &ran.path, a.top);
    let target = eval_target(&r);
    announce(record_eval(
        loc,
        &target,
        &ran.profile,
        &ran.path,
        base.as_deref(),
        source,
    )?);
    Ok(eval::exit_code(ran.status))
}

/// How the history names what a request evaluates.
pub(super) fn eval_target(r: &EvalRequest) -> EvalTarget {
    EvalTarget {
        name: r.target_name(),
        tree: r.source_tree(),
    }
}

/// What `nixperf eval` prints after either path (plugin or Nix's own profiler): the summary
/// tables and where the profile is. Returns the directory paths are shown relative to.
pub(super) fn print_eval_summary(p: &Profile, output: &Path, top: usize) -> Option<PathBuf> {
    let base = std::env::current_dir().ok();
    let mods = modules::module_table(p);
    let funcs = functions::function_table(p);
    let recs = findings::recommendations(p);
    print!(
        "{}",
        crate::output::table::eval_summary(p, &mods, &funcs, &recs, top, base.as_deref())
    );
    for w in mods.classification.warnings() {
        eprintln!("nixperf: warning: {w}");
    }
    if let Some(hint) = eval::read_only_hint(&p.meta.reason) {
        eprintln!("nixperf: {hint}");
    }
    if p.meta.status.is_partial()
        && let Some(why) = eval::partial_diagnosis(&p.meta.reason)
    {
        eprintln!("nixperf: {why}");
    }
    println!(
        "profile: {}  (nixperf report {} for the flamegraph)",
        output.display(),
        output.display()
    );
    base
}
