//! `nixperf analyze`: the whole workflow in one command. Turns the flags (and the config file)
//! into an [`AnalyzeRequest`] for `workflow::analyze`, which runs the parts the mode asks for and
//! writes the reports; prints them; with `--apply` shows the safe fixes and applies them with
//! consent.

use crate::eval::{EvalError, EvalRequest, Ran};
use crate::exit::Exit;
use crate::history::record::Recorded;
use crate::history::{HistoryLocation, alerts::Thresholds};
use crate::workflow::analysis::{self, Analysis, Mode};
use crate::workflow::analyze::{self, AnalyzeRequest, BuildSource, Frontend, Outcome};
use crate::workflow::apply::{self, Action};
use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub(super) struct AnalyzeArgs {
    /// Build profile, store and settings only: no evaluation instrumentation (seconds).
    #[arg(long, conflicts_with_all = ["deep", "suggest"])]
    pub quick: bool,
    /// Everything: the evaluation profile with findings, full store dedup analysis.
    #[arg(long, conflicts_with = "suggest")]
    pub deep: bool,
    /// Recommendations only, from the last recorded analysis; runs nothing expensive.
    #[arg(long)]
    pub suggest: bool,
    /// Apply the safe fixes (nix.conf fragment, `nix-store --gc`, `nix-store --optimise`)
    /// after showing them; asks first unless --yes.
    #[arg(long, conflicts_with = "suggest")]
    pub apply: bool,
    /// Consent to --apply without asking.
    #[arg(long, requires = "apply")]
    pub yes: bool,
    /// Nix file or directory to evaluate (with --deep or by default).
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    /// Attribute path(s) to evaluate.
    #[arg(short = 'A', long = "attr")]
    pub attrs: Vec<String>,
    /// Evaluate a flake output.
    #[arg(long, conflicts_with = "file")]
    pub flake: Option<String>,
    /// A build profile recorded earlier by `nixperf build` (instead of running a build).
    #[arg(long)]
    pub build_profile: Option<PathBuf>,
    /// Where the reports go.
    /// [default: nixperf-out, or `out_dir` of the config file]
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// What to analyze when the flags do not say (file, attrs, flake, build, out_dir)
    /// [default: ./nixperf.toml if present].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The nix.conf that --apply edits [default: $NIX_CONF_DIR/nix.conf, else /etc/nix/nix.conf].
    #[arg(long)]
    pub nix_conf: Option<PathBuf>,
    /// Where undo records go [default: $XDG_STATE_HOME/nixperf/undo].
    #[arg(long)]
    pub undo_dir: Option<PathBuf>,
    #[command(flatten)]
    pub store: super::store::StoreLocationArgs,
    /// N in `nix-collect-garbage --delete-older-than Nd`.
    #[arg(long, default_value_t = 30)]
    pub older_than: u32,
    /// Alert when a build takes longer than this many seconds.
    #[arg(long, default_value_t = 180)]
    pub alert_build_time: u64,
    /// Alert when the store is larger than this many GB.
    #[arg(long, default_value_t = 100)]
    pub alert_store_size: u64,
    /// A baseline exported by `nixperf baseline` to compare with.
    #[arg(long)]
    pub baseline_file: Option<PathBuf>,
    /// Record this analysis's runs as the new baseline (per host and target) and export
    /// performance-baseline.json into the output directory.
    #[arg(long)]
    pub baseline: bool,
    /// Include the latest build recorded by `nixperf build` in the history.
    #[arg(long)]
    pub track_builds: bool,
    /// Print the analysis as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// A build command to profile (`-- nix-build …`).
    #[arg(last = true)]
    pub build: Vec<String>,
}

fn mode(a: &AnalyzeArgs) -> Mode {
    if a.suggest {
        Mode::Suggest
    } else if a.quick {
        Mode::Quick
    } else if a.deep {
        Mode::Deep
    } else {
        Mode::Default
    }
}

fn out_dir(a: &AnalyzeArgs) -> PathBuf {
    a.out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("nixperf-out"))
}

/// Fills what the flags left open from the config file (flags win).
fn with_config(mut a: AnalyzeArgs) -> Result<AnalyzeArgs> {
    let t = crate::workflow::target::load(a.config.as_deref())?;
    if a.file.is_none() && a.flake.is_none() {
        a.file = t.file;
        a.flake = t.flake;
    }
    if a.attrs.is_empty() {
        a.attrs = t.attrs;
    }
    if a.build.is_empty() && a.build_profile.is_none() {
        a.build = t.build;
    }
    if a.out_dir.is_none() {
        a.out_dir = t.out_dir;
    }
    Ok(a)
}

/// The evaluation to run (--deep, or by default when there is something to evaluate), or why
/// none runs.
fn evaluation(
    a: &AnalyzeArgs,
    out: &Path,
) -> Result<(EvalRequest, crate::history::record::EvalTarget), String> {
    if a.quick {
        return Err("evaluation: --quick runs no evaluation instrumentation".into());
    }
    if a.file.is_none() && a.flake.is_none() {
        return Err(
            "evaluation: nothing to evaluate (give -f FILE [-A ATTR] or --flake REF)".into(),
        );
    }
    let e = EvalRequest {
        file: a.file.clone(),
        attrs: a.attrs.clone(),
        flake: a.flake.clone(),
        output: out.join("eval-profile.db"),
        // A deep analysis pays for Nix's own statistics where they are not free.
        nix_stats: a.deep,
        ..EvalRequest::default()
    };
    let target = super::eval::eval_target(&e);
    Ok((e, target))
}

fn request(a: &AnalyzeArgs) -> Result<AnalyzeRequest> {
    let out = out_dir(a);
    let mut thresholds = Thresholds::load(None)?;
    thresholds.max_build_time_s = a.alert_build_time as f64;
    thresholds.max_store_bytes = a.alert_store_size as f64 * 1e9;
    Ok(AnalyzeRequest {
        mode: mode(a),
        eval: evaluation(a, &out),
        build: if !a.build.is_empty() {
            BuildSource::Run(a.build.clone())
        } else if let Some(p) = &a.build_profile {
            BuildSource::Profile(p.clone())
        } else if a.track_builds {
            BuildSource::LatestRecorded
        } else {
            BuildSource::None
        },
        out_dir: out,
        store: a.store.location(),
        older_than_days: a.older_than,
        thresholds,
        baseline_file: a.baseline_file.clone(),
        set_baseline: a.baseline,
    })
}

/// Progress on the terminal (hidden with --json), the evaluation as `nixperf eval` shows it.
struct Terminal {
    quiet: bool,
}

impl Frontend for Terminal {
    fn evaluate(&self, r: &EvalRequest) -> Result<Ran, EvalError> {
        super::eval::run_request(r, 10)
    }

    fn recorded(&self, r: &Recorded) {
        super::history::announce(Some(r.clone()));
    }

    fn step(&self, msg: &str) -> ProgressBar {
        let pb = if self.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new_spinner()
        };
        pb.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap());
        pb.set_message(msg.to_owned());
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    }
}

pub(super) fn run(a: AnalyzeArgs, loc: &HistoryLocation) -> Result<ExitCode> {
    let a = with_config(a)?;
    if a.suggest {
        return suggest(&a, loc);
    }
    let req = request(&a)?;
    let ui = Terminal { quiet: a.json };
    let (an, json, eval_failed) = match analyze::run(&req, loc, &ui)? {
        Outcome::Done {
            analysis,
            json,
            eval_failed,
            baseline_runs,
        } => {
            if let Some(runs) = baseline_runs {
                eprintln!("nixperf: runs {runs:?} are the new baseline");
            }
            (analysis, json, eval_failed)
        }
        Outcome::Interrupted(sig) => {
            eprintln!(
                "nixperf: interrupted (signal {sig}); the partial evaluation profile is in {}",
                req.out_dir.display()
            );
            return Ok(Exit::Signal(sig).into());
        }
    };
    print_reports(&a, &req.out_dir, &an, &json);
    if a.apply {
        apply_safe_fixes(&a, &an)?;
    }
    Ok(finish(eval_failed))
}

fn suggest(a: &AnalyzeArgs, loc: &HistoryLocation) -> Result<ExitCode> {
    let dir = analyze::analyses_dir(loc, &out_dir(a));
    let Some(path) = analyze::latest_analysis(&dir) else {
        bail!(
            "no recorded analysis in {}: run `nixperf analyze` first",
            dir.display()
        );
    };
    let mut an = Analysis::read(&path)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&an.problems)?);
    } else {
        println!(
            "From the analysis of {} ({}):",
            an.generated_at,
            path.display()
        );
        an.mode = Mode::Suggest;
        an.skipped.clear();
        print!("{}", analysis::recommendations_md(&an));
    }
    Ok(ExitCode::SUCCESS)
}

/// The analysis as JSON (--json), else the recommendations and where the reports are.
fn print_reports(a: &AnalyzeArgs, out: &Path, an: &Analysis, json: &str) {
    if a.json {
        println!("{json}");
    } else {
        print!("{}", analysis::recommendations_md(an));
        for s in &an.skipped {
            println!("not analyzed: {s}");
        }
        println!(
            "reports: {}/{{performance-report.md,optimization-recommendations.md,analysis.json}}",
            out.display()
        );
    }
}

/// The nix.conf --apply edits: --nix-conf, else $NIX_CONF_DIR/nix.conf, else /etc/nix/nix.conf.
fn nix_conf_path(a: &AnalyzeArgs) -> PathBuf {
    a.nix_conf
        .clone()
        .unwrap_or_else(|| match std::env::var_os("NIX_CONF_DIR") {
            Some(d) => PathBuf::from(d).join("nix.conf"),
            None => PathBuf::from("/etc/nix/nix.conf"),
        })
}

fn consent(yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        eprintln!("nixperf: not applied: no --yes and no terminal to ask");
        return Ok(false);
    }
    eprint!("Apply these changes? [y/N] ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// --apply: show the safe fixes, and with consent apply them (leaving an undo record).
fn apply_safe_fixes(a: &AnalyzeArgs, an: &Analysis) -> Result<()> {
    let actions = apply::plan(an, &nix_conf_path(a), &a.store.location());
    if actions.is_empty() {
        eprintln!("nixperf: nothing safe to apply");
        return Ok(());
    }
    for act in &actions {
        eprint!("{}", apply::describe(act));
    }
    if !actions.iter().any(|x| !matches!(x, Action::Manual { .. })) {
        return Ok(());
    }
    if consent(a.yes)? {
        let dir = a.undo_dir.clone().unwrap_or_else(apply::default_undo_dir);
        let (rec, log) = apply::apply(&actions, &dir)?;
        for l in log {
            eprintln!("nixperf: {l}");
        }
        if !rec.files.is_empty() {
            eprintln!(
                "nixperf: undo record {} (nixperf undo --undo-dir {})",
                rec.id,
                dir.display()
            );
        }
    }
    Ok(())
}

/// Exit status of an analysis: non-zero, with one line, when the target failed to evaluate.
fn finish(eval_failed: Option<String>) -> ExitCode {
    match eval_failed {
        Some(why) => {
            eprintln!("nixperf: the target failed to evaluate: {why}");
            Exit::Failure.into()
        }
        None => Exit::Success.into(),
    }
}
