//! `nixperf analyze`: the whole workflow in one command. Runs the parts the mode asks for
//! (evaluation profile, build profile, store, settings), ranks what they found, writes the
//! reports, and with `--apply` applies the safe fixes after showing them.

use super::store::gc_from;
use crate::analysis::{findings, modules};
use crate::config::{self, Hardware, NixSettings};
use crate::eval::EvalRequest;
use crate::exit::Exit;
use crate::history::baseline_file::BaselineFile;
use crate::history::{HistoryLocation, Metric, RunKind, alerts::Thresholds};
use crate::store::{self, StoreOptions, usage::Dedup};
use crate::units::Unit;
use crate::workflow::apply::{self, Action};
use crate::workflow::problems;
use crate::workflow::report::{self, ANALYSIS_VERSION, Analysis, EvalSection, Mode};
use anyhow::{Context, Result, bail};
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

fn step(msg: &str, quiet: bool) -> ProgressBar {
    let pb = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap());
    pb.set_message(msg.to_owned());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Analyses are kept beside the history (for --suggest), or in the output dir with --no-history.
fn analyses_dir(a: &AnalyzeArgs, loc: &HistoryLocation) -> PathBuf {
    match loc.path() {
        Some(h) => h.with_file_name("analyses"),
        None => out_dir(a).join("analyses"),
    }
}

fn run_eval(
    a: &AnalyzeArgs,
    loc: &HistoryLocation,
    out: &Path,
    runs: &mut Vec<i64>,
    metrics: &mut Vec<Metric>,
) -> Result<EvalSection> {
    let e = EvalRequest {
        file: a.file.clone(),
        attrs: a.attrs.clone(),
        flake: a.flake.clone(),
        output: out.join("eval-profile.db"),
        // A deep analysis pays for Nix's own statistics where they are not free.
        nix_stats: a.deep,
        ..EvalRequest::default()
    };
    let ran = super::eval::run_request(&e, 10)?;
    let failed = !ran.status.success();
    let (p, path) = (ran.profile, ran.path);
    let error = failed.then(|| match p.meta.reason.as_str() {
        "" => "nix exited with an error".to_owned(),
        r => r.to_owned(),
    });
    let mods = modules::module_table(&p);
    let funcs = crate::analysis::functions::function_table(&p);
    let recs = findings::recommendations(&p);
    let base = std::env::current_dir().ok();
    let files = super::report::FileOptions {
        dir: out,
        top: 20,
        full_stacks: false,
    };
    super::report::write_files(&p, &mods, &funcs, &recs, &files, base.as_deref())?;
    runs.extend(super::history::record_eval(
        loc,
        &e,
        &p,
        &path,
        base.as_deref(),
        None,
    )?);
    metrics.extend(crate::history::metrics::eval_metrics(&p, base.as_deref()));
    Ok(EvalSection {
        profile: path.display().to_string(),
        total_ns: mods.total_ns,
        partial: p.meta.status.is_partial(),
        error,
        modules: mods.rows.into_iter().take(20).collect(),
        recommendations: recs,
    })
}

fn run_store(
    a: &AnalyzeArgs,
    quick: bool,
    gc: store::gc::GcSettings,
) -> Result<store::usage::StoreReport> {
    let loc = a.store.location();
    let g = store::db::read(&loc, Duration::from_millis(2000))?;
    let o = StoreOptions {
        gc,
        older_than_days: a.older_than,
        now: crate::history::env::now(),
        runtime_roots: true,
        files: true,
        dedup: if quick { Dedup::Quick } else { Dedup::Full },
        dedup_limit: if quick { 1 << 30 } else { 16 << 30 },
        top: 10,
        progress: false,
    };
    Ok(store::analyse(&loc, &g, &o)?)
}

fn nix_conf_path(a: &AnalyzeArgs) -> PathBuf {
    a.nix_conf
        .clone()
        .unwrap_or_else(|| match std::env::var_os("NIX_CONF_DIR") {
            Some(d) => PathBuf::from(d).join("nix.conf"),
            None => PathBuf::from("/etc/nix/nix.conf"),
        })
}

/// The safe fixes for what was found: settings with a value, dead-path GC, optimise.
fn plan(a: &AnalyzeArgs, an: &Analysis) -> Vec<Action> {
    let mut actions = Vec::new();
    if let Some(c) = &an.config {
        let settings: Vec<(String, String)> = c
            .recommendations
            .iter()
            .filter_map(|r| Some((r.setting.clone(), r.value.clone()?)))
            .collect();
        if !settings.is_empty() {
            actions.push(apply::nix_conf_action(&nix_conf_path(a), settings));
        }
    }
    // Store commands act on the store that was analysed, or are not run at all.
    let store_flags = crate::workflow::store_target::store_flags(&a.store.location());
    let nix_store = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["nix-store".to_owned()];
        v.extend(store_flags.clone().unwrap_or_default());
        v.extend(args.iter().map(|s| s.to_string()));
        v
    };
    if let (Some(st), Err(why)) = (&an.store, &store_flags)
        && (st.commands.first().is_some_and(|c| c.paths_deleted > 0)
            || st.optimise.as_ref().is_some_and(|o| o.disk_bytes > 0))
    {
        actions.push(Action::Manual {
            what: "run `nix-store --gc` / `nix-store --optimise` on the analysed store".into(),
            why: why.clone(),
        });
    }
    if let Some(st) = an.store.as_ref().filter(|_| store_flags.is_ok()) {
        if let Some(gc) = st.commands.first().filter(|c| c.paths_deleted > 0) {
            let freed = gc.freed.map(|f| f.disk).unwrap_or(gc.nar_bytes);
            actions.push(Action::Run {
                argv: nix_store(&["--gc"]),
                predicted: format!(
                    "deletes {} dead paths, frees {}",
                    gc.paths_deleted,
                    crate::units::fmt_bytes(freed)
                ),
            });
        }
        for c in st
            .commands
            .iter()
            .skip(1)
            .filter(|c| c.generations_removed > 0)
        {
            actions.push(Action::Manual {
                what: format!(
                    "`{}` would free {}",
                    c.command,
                    crate::units::fmt_bytes(c.nar_bytes)
                ),
                why: "deleting generations removes rollback targets".into(),
            });
        }
        if let Some(o) = st.optimise.as_ref().filter(|o| o.disk_bytes > 0) {
            actions.push(Action::Run {
                argv: nix_store(&["--optimise"]),
                predicted: format!(
                    "hard-links {} duplicate files, frees {}",
                    o.files_linked,
                    crate::units::fmt_bytes(o.disk_bytes)
                ),
            });
        }
    }
    actions
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

fn suggest(a: &AnalyzeArgs, loc: &HistoryLocation) -> Result<ExitCode> {
    let dir = analyses_dir(a, loc);
    let latest = std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max();
    let Some(path) = latest else {
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
        print!("{}", report::recommendations_md(&an));
    }
    Ok(ExitCode::SUCCESS)
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

pub(super) fn run(a: AnalyzeArgs, loc: &HistoryLocation) -> Result<ExitCode> {
    let a = with_config(a)?;
    if a.suggest {
        return suggest(&a, loc);
    }
    let out = &out_dir(&a);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut an = empty_analysis(&a);
    let mut rec = Recorded::default();
    let eval_failed = match evaluation_step(&a, loc, out, &mut an, &mut rec) {
        Evaluated::Done { failed } => failed,
        Evaluated::Interrupted(sig) => {
            eprintln!(
                "nixperf: interrupted (signal {sig}); the partial evaluation profile is in {}",
                out.display()
            );
            return Ok(Exit::Signal(sig).into());
        }
    };
    let build_profile = build_step(&a, loc, out, &mut an, &mut rec)?;
    // nix's effective settings, asked once: the store's GC rules and the settings section.
    let settings = NixSettings::load();
    store_step(&a, loc, &settings, &mut an, &mut rec)?;
    settings_step(settings, build_profile.as_ref(), &mut an);
    an.problems = problems_found(&a, &an, &rec.metrics)?;
    if a.baseline && !rec.runs.is_empty() {
        set_baseline(loc, &rec.runs, out)?;
    }
    let json = write_reports(&a, loc, out, &an)?;
    print_reports(&a, out, &an, &json);
    if a.apply {
        apply_safe_fixes(&a, &an)?;
    }
    Ok(finish(eval_failed))
}

/// What this analysis recorded in the history (run ids) and every metric it measured.
#[derive(Default)]
struct Recorded {
    runs: Vec<i64>,
    metrics: Vec<Metric>,
}

fn empty_analysis(a: &AnalyzeArgs) -> Analysis {
    Analysis {
        analysis_version: ANALYSIS_VERSION,
        mode: mode(a),
        generated_at: crate::history::env::now() as u64,
        host: crate::history::env::hostname(),
        eval: None,
        build: None,
        store: None,
        config: None,
        problems: vec![],
        skipped: vec![],
    }
}

/// How the evaluation step ended: `failed` says why the target failed to evaluate (the whole
/// analysis then exits non-zero, after the reports are written); `Interrupted`: a signal
/// arrived while nix ran, and the analysis stops there.
enum Evaluated {
    Done { failed: Option<String> },
    Interrupted(i32),
}

/// Evaluation: --deep, or by default when there is something to evaluate.
fn evaluation_step(
    a: &AnalyzeArgs,
    loc: &HistoryLocation,
    out: &Path,
    an: &mut Analysis,
    rec: &mut Recorded,
) -> Evaluated {
    let mut eval_failed: Option<String> = None;
    let has_target = a.file.is_some() || a.flake.is_some();
    if a.quick {
        an.skipped
            .push("evaluation: --quick runs no evaluation instrumentation".into());
    } else if !has_target {
        an.skipped
            .push("evaluation: nothing to evaluate (give -f FILE [-A ATTR] or --flake REF)".into());
    } else {
        match run_eval(a, loc, out, &mut rec.runs, &mut rec.metrics) {
            Ok(e) => {
                if let Some(why) = &e.error {
                    eval_failed = Some(why.clone());
                    an.skipped.push(format!(
                        "evaluation failed: {why} (its partial profile is analysed)"
                    ));
                }
                an.eval = Some(e);
            }
            Err(e) => {
                eval_failed = Some(format!("{e:#}"));
                an.skipped.push(format!("evaluation failed: {e:#}"));
            }
        }
        // Interrupted while nix ran: its partial profile is recorded; stop here.
        if let Some(sig) = crate::eval::process::received() {
            return Evaluated::Interrupted(sig);
        }
    }
    Evaluated::Done {
        failed: eval_failed,
    }
}

/// Build: a command to profile, or a recorded profile; its report and metrics.
fn build_step(
    a: &AnalyzeArgs,
    loc: &HistoryLocation,
    out: &Path,
    an: &mut Analysis,
    rec: &mut Recorded,
) -> Result<Option<crate::build::model::BuildProfile>> {
    let build_profile = if !a.build.is_empty() {
        let pb = step("building with nixperf…", a.json);
        let r = crate::build::run_and_profile(
            &a.build,
            &out.join("build-profile.log.json"),
            &out.join("build-profile.db"),
            true,
            true,
        );
        pb.finish_and_clear();
        Some(r.context("profiling the build")?)
    } else if let Some(p) = &a.build_profile {
        Some(
            crate::build::profile_db::read(p)
                .with_context(|| format!("reading {}", p.display()))?,
        )
    } else if let Some(p) = a.track_builds.then(|| latest_recorded_build(loc)).flatten() {
        Some(
            crate::build::profile_db::read(&p)
                .with_context(|| format!("reading {}", p.display()))?,
        )
    } else {
        an.skipped.push(
            "build: no build command (`-- nix-build …`), --build-profile, or recorded build (--track-builds)"
                .into(),
        );
        None
    };
    if let Some(p) = &build_profile {
        let r = crate::build::build_report(p, 10);
        rec.metrics
            .extend(crate::history::metrics::build_metrics(&r));
        if !a.build.is_empty() {
            let db = std::path::absolute(out.join("build-profile.db"))?;
            rec.runs.extend(super::history::record_build(
                loc,
                &p.meta.command,
                &p.meta,
                &r,
                &db,
            )?);
        }
        std::fs::write(
            out.join("build-metrics.json"),
            serde_json::to_string_pretty(&r)?,
        )?;
        an.build = Some(r);
    }
    Ok(build_profile)
}

/// Store: the breakdown (quick dedup estimate unless --deep), recorded as a `store` run.
fn store_step(
    a: &AnalyzeArgs,
    loc: &HistoryLocation,
    settings: &Result<NixSettings, crate::config::ConfigError>,
    an: &mut Analysis,
    rec: &mut Recorded,
) -> Result<()> {
    let gc = match settings {
        Ok(n) => gc_from(n),
        Err(_) => store::gc::GcSettings::default(),
    };
    let pb = step("analysing the store…", a.json);
    match run_store(a, !a.deep, gc) {
        Ok(r) => an.store = Some(r),
        Err(e) => an.skipped.push(format!("store: {e:#}")),
    }
    pb.finish_and_clear();
    if let Some(st) = &an.store {
        let m = store_metrics(st);
        rec.runs.extend(super::history::record_metrics(
            loc,
            RunKind::Store,
            &format!("store {}", st.store_dir),
            "complete",
            &m,
        )?);
        rec.metrics.extend(m);
    }
    Ok(())
}

/// Settings: nix's effective settings against the hardware, the build and the store.
fn settings_step(
    settings: Result<NixSettings, crate::config::ConfigError>,
    build_profile: Option<&crate::build::model::BuildProfile>,
    an: &mut Analysis,
) {
    match settings {
        Ok(s) => {
            let free = an.store.as_ref().map(store::report::free_targets);
            an.config = Some(config::advise(&s, &Hardware::probe(), build_profile, free));
        }
        Err(e) => an.skipped.push(format!("settings: {e}")),
    }
}

/// Every section's problems and the alerts, ranked.
fn problems_found(
    a: &AnalyzeArgs,
    an: &Analysis,
    metrics: &[Metric],
) -> Result<Vec<problems::Problem>> {
    let mut found = Vec::new();
    if let Some(e) = &an.eval {
        found.extend(problems::evaluation(&e.modules, &e.recommendations));
    }
    if let Some(b) = &an.build {
        found.extend(problems::build(b));
    }
    if let Some(st) = &an.store {
        found.extend(problems::store(st));
    }
    found.extend(alerts(a, metrics)?);
    if let Some(c) = &an.config {
        found.extend(problems::config(c));
    }
    Ok(problems::rank(found))
}

/// --baseline: this analysis's runs become the baseline; performance-baseline.json in `out`.
fn set_baseline(loc: &HistoryLocation, runs: &[i64], out: &Path) -> Result<()> {
    let mut h = super::history::open_for_reading(loc)?;
    let mut recorded = Vec::new();
    for id in runs {
        let run = h.run(*id)?;
        h.set_baseline(&run, crate::history::env::now())?;
        recorded.push(run);
    }
    super::compare::export_baseline(&h, &recorded, &out.join("performance-baseline.json"))?;
    eprintln!("nixperf: runs {runs:?} are the new baseline");
    Ok(())
}

/// The reports in `out`, and the analysis kept for --suggest; returns the analysis's JSON.
fn write_reports(
    a: &AnalyzeArgs,
    loc: &HistoryLocation,
    out: &Path,
    an: &Analysis,
) -> Result<String> {
    let cmdline = std::env::args().collect::<Vec<_>>().join(" ");
    std::fs::write(
        out.join("performance-report.md"),
        report::performance_report_md(an, &cmdline),
    )?;
    std::fs::write(
        out.join("optimization-recommendations.md"),
        report::recommendations_md(an),
    )?;
    let json = an.to_json();
    std::fs::write(out.join("analysis.json"), &json)?;
    let adir = analyses_dir(a, loc);
    if std::fs::create_dir_all(&adir).is_ok() {
        let _ = std::fs::write(
            adir.join(format!("{}-{}.json", an.generated_at, std::process::id())),
            &json,
        );
    }
    Ok(json)
}

/// The analysis as JSON (--json), else the recommendations and where the reports are.
fn print_reports(a: &AnalyzeArgs, out: &Path, an: &Analysis, json: &str) {
    if a.json {
        println!("{json}");
    } else {
        print!("{}", report::recommendations_md(an));
        for s in &an.skipped {
            println!("not analyzed: {s}");
        }
        println!(
            "reports: {}/{{performance-report.md,optimization-recommendations.md,analysis.json}}",
            out.display()
        );
    }
}

/// --apply: show the safe fixes, and with consent apply them (leaving an undo record).
fn apply_safe_fixes(a: &AnalyzeArgs, an: &Analysis) -> Result<()> {
    let actions = plan(a, an);
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

fn store_metrics(st: &crate::store::usage::StoreReport) -> Vec<Metric> {
    let cat = |prefix: &str| {
        st.breakdown
            .iter()
            .filter(|c| c.name.starts_with(prefix))
            .map(|c| c.nar)
            .sum::<u64>() as f64
    };
    let mut m = vec![
        Metric::new("store.size_bytes", st.nar_total as f64, Unit::Bytes),
        Metric::new("store.paths", st.paths as f64, Unit::Count),
        Metric::new("store.dead_bytes", cat("dead"), Unit::Bytes),
        Metric::new("store.old_generations_bytes", cat("old"), Unit::Bytes),
    ];
    if let Some(gc) = st.commands.first() {
        let freed = gc.freed.map(|f| f.disk).unwrap_or(gc.nar_bytes);
        m.push(Metric::new(
            "store.gc_recoverable_bytes",
            freed as f64,
            Unit::Bytes,
        ));
    }
    if let Some(o) = &st.optimise {
        m.push(Metric::new(
            "store.optimise_recoverable_bytes",
            o.disk_bytes as f64,
            Unit::Bytes,
        ));
    }
    m
}

/// Absolute alerts (the default thresholds, overridden by the flags) and, with --baseline-file,
/// regressions against that baseline beyond the relative threshold.
fn alerts(a: &AnalyzeArgs, metrics: &[Metric]) -> Result<Vec<problems::Problem>> {
    let mut t = Thresholds::load(None)?;
    t.max_build_time_s = a.alert_build_time as f64;
    t.max_store_bytes = a.alert_store_size as f64 * 1e9;
    let pairs: Vec<(String, f64)> = metrics.iter().map(|m| (m.name.clone(), m.value)).collect();
    let mut out: Vec<problems::Problem> = crate::history::alerts::absolute(&pairs, &t)
        .into_iter()
        .map(|al| problems::Problem {
            impact: findings::Impact::High,
            area: al.metric.split('.').next().unwrap_or("alert").to_owned(),
            issue: al.message.clone(),
            fix: "see the sections below for what drives this metric".into(),
            impact_note: "over the alert threshold".into(),
        })
        .collect();
    if let Some(f) = &a.baseline_file {
        let base = BaselineFile::read(f)?;
        for c in base.regressions(metrics, &t) {
            out.push(problems::Problem {
                impact: findings::Impact::High,
                area: c.name.split('.').next().unwrap_or("").to_owned(),
                issue: format!(
                    "regression vs baseline: {} {} -> {} ({})",
                    c.name,
                    crate::units::fmt_value(c.a.mean, &c.unit),
                    crate::units::fmt_value(c.b.mean, &c.unit),
                    crate::units::fmt_relative(c.relative)
                ),
                fix: "`nixperf compare` shows which modules moved and the differential flamegraph"
                    .into(),
                impact_note: format!(
                    "at least the {} % regression threshold, beyond the noise floor",
                    t.regression_pct
                ),
            });
        }
    }
    Ok(out)
}

/// The profile of the newest build `nixperf build` recorded on this host, if it still exists.
fn latest_recorded_build(loc: &HistoryLocation) -> Option<PathBuf> {
    let h = super::history::open_for_reading(loc).ok()?;
    let f = crate::history::RunFilter {
        host: Some(crate::history::env::hostname()),
        kind: Some(RunKind::Build),
        ..Default::default()
    };
    h.runs(&f)
        .ok()?
        .into_iter()
        .filter_map(|r| r.info.profile_path.map(PathBuf::from))
        .find(|p| p.exists())
}
