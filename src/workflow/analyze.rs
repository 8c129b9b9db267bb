//! The `nixperf analyze` run: its steps in order (evaluation, build, store, settings), the
//! problems ranked from what they found, the baseline, the reports written. The caller
//! ([`Frontend`]) runs the evaluation as it shows it, says what was recorded, and shows
//! progress; the request is plain data (no clap).

use super::analysis::{self, ANALYSIS_VERSION, Analysis, EvalSection, Mode};
use super::problems::{self, Problem};
use crate::analysis::{findings, functions, modules};
use crate::build::{self, BuildError, BuildProfile};
use crate::config::{self, ConfigError, Hardware, NixSettings};
use crate::eval::{EvalError, EvalRequest, Ran};
use crate::history::alerts::Thresholds;
use crate::history::baseline_file::{BaselineFile, BaselineFileError};
use crate::history::record::{self, EvalTarget, Recorded};
use crate::history::{HistoryError, HistoryLocation, Metric, RunKind, metrics};
use crate::output::eval_files;
use crate::store::gc::GcSettings;
use crate::store::{self, StoreLocation, StoreOptions, usage::Dedup};
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to analyse and how.
pub(crate) struct AnalyzeRequest {
    pub(crate) mode: Mode,
    /// The evaluation to profile, with the name the history gives it; None: `skipped` says why.
    pub(crate) eval: Result<(EvalRequest, EvalTarget), String>,
    pub(crate) build: BuildSource,
    pub(crate) out_dir: PathBuf,
    pub(crate) store: StoreLocation,
    /// N in `nix-collect-garbage --delete-older-than Nd`.
    pub(crate) older_than_days: u32,
    /// The alert limits; regressions against `baseline_file` by `regression_pct`.
    pub(crate) thresholds: Thresholds,
    pub(crate) baseline_file: Option<PathBuf>,
    /// This analysis's runs become the baseline (and performance-baseline.json is exported).
    pub(crate) set_baseline: bool,
}

/// Where the build section comes from.
pub(crate) enum BuildSource {
    /// Profile this build command.
    Run(Vec<String>),
    /// A build profile recorded earlier.
    Profile(PathBuf),
    /// The newest build `nixperf build` recorded on this host, if any.
    LatestRecorded,
    None,
}

/// What the workflow asks of whoever runs it.
pub(crate) trait Frontend {
    /// Runs the evaluation as the caller shows it (spinner, fallback notice).
    fn evaluate(&self, r: &EvalRequest) -> Result<Ran, EvalError>;
    /// A run was recorded in the history.
    fn recorded(&self, r: &Recorded);
    /// A long step started; the returned bar is cleared when it ends.
    fn step(&self, what: &str) -> ProgressBar;
}

/// Display says what failed; the cause follows as the error's source (`{:#}` prints both).
#[derive(Debug, thiserror::Error)]
pub(crate) enum AnalyzeError {
    #[error("creating {}", path.display())]
    OutDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("profiling the build")]
    Build(#[source] BuildError),
    #[error("reading {}", path.display())]
    BuildProfile { path: PathBuf, source: BuildError },
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Thresholds(#[from] ConfigError),
    #[error(transparent)]
    Baseline(#[from] BaselineFileError),
}

/// How the analysis ended.
pub(crate) enum Outcome {
    /// Every step ran; `eval_failed`: why the target failed to evaluate (its partial profile
    /// was analysed, the reports are written).
    Done {
        analysis: Box<Analysis>,
        json: String,
        eval_failed: Option<String>,
        baseline_runs: Option<Vec<i64>>,
    },
    /// A signal arrived while nix evaluated: the partial profile is in the output directory;
    /// nothing after the evaluation ran.
    Interrupted(i32),
}

/// The analysis, step by step.
pub(crate) fn run(
    req: &AnalyzeRequest,
    loc: &HistoryLocation,
    ui: &dyn Frontend,
) -> Result<Outcome, AnalyzeError> {
    let out = &req.out_dir;
    std::fs::create_dir_all(out).map_err(|source| AnalyzeError::OutDir {
        path: out.clone(),
        source,
    })?;
    let mut an = empty_analysis(req.mode);
    let mut rec = Measured::default();
    let eval_failed = evaluation_step(req, loc, ui, &mut an, &mut rec);
    if let Some(sig) = crate::eval::process::received() {
        return Ok(Outcome::Interrupted(sig));
    }
    let build_profile = build_step(req, loc, ui, &mut an, &mut rec)?;
    // nix's effective settings, asked once: the store's GC rules and the settings section.
    let settings = NixSettings::load();
    store_step(req, loc, ui, &settings, &mut an, &mut rec)?;
    settings_step(settings, build_profile.as_ref(), &mut an);
    an.problems = problems_found(req, &an, &rec.metrics)?;
    let baseline_runs = (req.set_baseline && !rec.runs.is_empty())
        .then(|| set_baseline(loc, &rec.runs, out))
        .transpose()?;
    let json = write_reports(loc, out, &an)?;
    Ok(Outcome::Done {
        analysis: Box::new(an),
        json,
        eval_failed,
        baseline_runs,
    })
}

/// What this analysis recorded in the history (run ids) and every metric it measured.
#[derive(Default)]
struct Measured {
    runs: Vec<i64>,
    metrics: Vec<Metric>,
}

impl Measured {
    fn recorded(&mut self, ui: &dyn Frontend, r: Option<Recorded>) {
        if let Some(r) = r {
            ui.recorded(&r);
            self.runs.push(r.id);
        }
    }
}

fn empty_analysis(mode: Mode) -> Analysis {
    Analysis {
        analysis_version: ANALYSIS_VERSION,
        mode,
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

/// An error and its causes on one line, as `anyhow` prints them with `{:#}`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// Evaluation, when there is one to profile. Returns why the target failed to evaluate (the
/// whole analysis then exits non-zero, after the reports are written).
fn evaluation_step(
    req: &AnalyzeRequest,
    loc: &HistoryLocation,
    ui: &dyn Frontend,
    an: &mut Analysis,
    rec: &mut Measured,
) -> Option<String> {
    let (e, target) = match &req.eval {
        Ok(e) => e,
        Err(why) => {
            an.skipped.push(why.clone());
            return None;
        }
    };
    match profile_evaluation(e, target, &req.out_dir, loc, ui, rec) {
        Ok(section) => {
            let failed = section.error.clone();
            if let Some(why) = &failed {
                an.skipped.push(format!(
                    "evaluation failed: {why} (its partial profile is analysed)"
                ));
            }
            an.eval = Some(section);
            failed
        }
        Err(e) => {
            an.skipped.push(format!("evaluation failed: {e}"));
            Some(e)
        }
    }
}

/// Runs the evaluation, writes its report files, records the run; the section of the analysis.
/// Errors as one line.
fn profile_evaluation(
    e: &EvalRequest,
    target: &EvalTarget,
    out: &Path,
    loc: &HistoryLocation,
    ui: &dyn Frontend,
    rec: &mut Measured,
) -> Result<EvalSection, String> {
    let ran = ui.evaluate(e).map_err(|e| chain(&e))?;
    let failed = !ran.status.success();
    let (p, path) = (ran.profile, ran.path);
    let error = failed.then(|| match p.meta.reason.as_str() {
        "" => "nix exited with an error".to_owned(),
        r => r.to_owned(),
    });
    let mods = modules::module_table(&p);
    let funcs = functions::function_table(&p);
    let recs = findings::recommendations(&p);
    let base = std::env::current_dir().ok();
    let files = eval_files::FileOptions {
        dir: out,
        top: 20,
        full_stacks: false,
    };
    eval_files::write(&p, &mods, &funcs, &recs, &files, base.as_deref()).map_err(|e| chain(&e))?;
    let recorded = record::record_eval(loc, target, &p, &path, base.as_deref(), None)
        .map_err(|e| chain(&e))?;
    rec.recorded(ui, recorded);
    rec.metrics
        .extend(metrics::eval_metrics(&p, base.as_deref()));
    Ok(EvalSection {
        profile: path.display().to_string(),
        total_ns: mods.total_ns,
        partial: p.meta.status.is_partial(),
        error,
        modules: mods.rows.into_iter().take(20).collect(),
        recommendations: recs,
    })
}

/// Build: a command to profile, or a recorded profile; its report and metrics.
fn build_step(
    req: &AnalyzeRequest,
    loc: &HistoryLocation,
    ui: &dyn Frontend,
    an: &mut Analysis,
    rec: &mut Measured,
) -> Result<Option<BuildProfile>, AnalyzeError> {
    let out = &req.out_dir;
    let read = |path: PathBuf| {
        build::profile_db::read(&path).map_err(|source| AnalyzeError::BuildProfile { path, source })
    };
    let profile = match &req.build {
        BuildSource::Run(cmd) => {
            let pb = ui.step("building with nixperf…");
            let r = build::run_and_profile(
                cmd,
                &out.join("build-profile.log.json"),
                &out.join("build-profile.db"),
                true,
                true,
            );
            pb.finish_and_clear();
            Some(r.map_err(AnalyzeError::Build)?)
        }
        BuildSource::Profile(p) => Some(read(p.clone())?),
        BuildSource::LatestRecorded => latest_recorded_build(loc).map(read).transpose()?,
        BuildSource::None => None,
    };
    let Some(p) = profile else {
        an.skipped.push(
            "build: no build command (`-- nix-build …`), --build-profile, or recorded build (--track-builds)"
                .into(),
        );
        return Ok(None);
    };
    let r = build::build_report(&p, 10);
    rec.metrics.extend(metrics::build_metrics(&r));
    if matches!(req.build, BuildSource::Run(_)) {
        let db = out.join("build-profile.db");
        let db = std::path::absolute(&db).unwrap_or(db);
        let recorded = record::record_build(loc, &p.meta, &r, &db)?;
        rec.recorded(ui, recorded);
    }
    write(
        &out.join("build-metrics.json"),
        &serde_json::to_string_pretty(&r).expect("a build report serialises"),
    )?;
    an.build = Some(r);
    Ok(Some(p))
}

/// The profile of the newest build `nixperf build` recorded on this host, if it still exists.
fn latest_recorded_build(loc: &HistoryLocation) -> Option<PathBuf> {
    let h = loc.open_existing().ok()?;
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

/// Store: the breakdown (quick dedup estimate unless --deep), recorded as a `store` run.
fn store_step(
    req: &AnalyzeRequest,
    loc: &HistoryLocation,
    ui: &dyn Frontend,
    settings: &Result<NixSettings, ConfigError>,
    an: &mut Analysis,
    rec: &mut Measured,
) -> Result<(), AnalyzeError> {
    let gc = match settings {
        Ok(n) => GcSettings::of(n),
        Err(_) => GcSettings::default(),
    };
    let pb = ui.step("analysing the store…");
    match analyse_store(req, req.mode != Mode::Deep, gc) {
        Ok(r) => an.store = Some(r),
        Err(e) => an.skipped.push(format!("store: {}", chain(&e))),
    }
    pb.finish_and_clear();
    if let Some(st) = &an.store {
        let m = metrics::store_metrics(st);
        let recorded = record::record_metrics(
            loc,
            RunKind::Store,
            &format!("store {}", st.store_dir),
            "complete",
            &m,
        )?;
        rec.recorded(ui, recorded);
        rec.metrics.extend(m);
    }
    Ok(())
}

fn analyse_store(
    req: &AnalyzeRequest,
    quick: bool,
    gc: GcSettings,
) -> Result<store::usage::StoreReport, store::StoreError> {
    let g = store::db::read(&req.store, Duration::from_millis(2000))?;
    let o = StoreOptions {
        gc,
        older_than_days: req.older_than_days,
        now: crate::history::env::now(),
        runtime_roots: true,
        files: true,
        dedup: if quick { Dedup::Quick } else { Dedup::Full },
        dedup_limit: if quick { 1 << 30 } else { 16 << 30 },
        top: 10,
        progress: false,
    };
    store::analyse(&req.store, &g, &o)
}

/// Settings: nix's effective settings against the hardware, the build and the store.
fn settings_step(
    settings: Result<NixSettings, ConfigError>,
    build_profile: Option<&BuildProfile>,
    an: &mut Analysis,
) {
    match settings {
        Ok(s) => {
            let free = an.store.as_ref().map(store::text::free_targets);
            an.config = Some(config::advise(&s, &Hardware::probe(), build_profile, free));
        }
        Err(e) => an.skipped.push(format!("settings: {e}")),
    }
}

/// Every section's problems and the alerts, ranked.
fn problems_found(
    req: &AnalyzeRequest,
    an: &Analysis,
    metrics: &[Metric],
) -> Result<Vec<Problem>, AnalyzeError> {
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
    let baseline = req
        .baseline_file
        .as_deref()
        .map(BaselineFile::read)
        .transpose()?;
    found.extend(problems::alerts(
        metrics,
        &req.thresholds,
        baseline.as_ref(),
    ));
    if let Some(c) = &an.config {
        found.extend(problems::config(c));
    }
    Ok(problems::rank(found))
}

/// --baseline: this analysis's runs become the baseline; performance-baseline.json in `out`.
fn set_baseline(loc: &HistoryLocation, runs: &[i64], out: &Path) -> Result<Vec<i64>, AnalyzeError> {
    let mut h = loc.open_existing()?;
    let mut recorded = Vec::new();
    for id in runs {
        let run = h.run(*id)?;
        h.set_baseline(&run, crate::history::env::now())?;
        recorded.push(run);
    }
    BaselineFile::of_runs(&h, &recorded)?.write(&out.join("performance-baseline.json"))?;
    Ok(runs.to_vec())
}

fn write(path: &Path, text: &str) -> Result<(), AnalyzeError> {
    std::fs::write(path, text).map_err(|source| AnalyzeError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Analyses are kept beside the history (for --suggest), or in the output dir with --no-history.
pub(crate) fn analyses_dir(loc: &HistoryLocation, out_dir: &Path) -> PathBuf {
    match loc.path() {
        Some(h) => h.with_file_name("analyses"),
        None => out_dir.join("analyses"),
    }
}

/// The reports in `out`, and the analysis kept for --suggest; returns the analysis's JSON.
fn write_reports(loc: &HistoryLocation, out: &Path, an: &Analysis) -> Result<String, AnalyzeError> {
    let cmdline = std::env::args().collect::<Vec<_>>().join(" ");
    write(
        &out.join("performance-report.md"),
        &analysis::performance_report_md(an, &cmdline),
    )?;
    write(
        &out.join("optimization-recommendations.md"),
        &analysis::recommendations_md(an),
    )?;
    let json = an.to_json();
    write(&out.join("analysis.json"), &json)?;
    let adir = analyses_dir(loc, out);
    // A copy for --suggest: best effort, the reports above are what was asked for.
    if std::fs::create_dir_all(&adir).is_ok() {
        let _ = std::fs::write(
            adir.join(format!("{}-{}.json", an.generated_at, std::process::id())),
            &json,
        );
    }
    Ok(json)
}

/// The newest analysis kept in `dir` (for --suggest).
pub(crate) fn latest_analysis(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max()
}
