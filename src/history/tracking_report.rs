//! The tracking report in its fixed structure: executive summary against the baseline, phase
//! breakdown, slowest components with issue / fix / impact, recommendations HIGH / MEDIUM / LOW
//! with estimated savings, a phased plan with combined impact, metrics to track with targets,
//! and the next analysis date. Built from a recorded run (and its profile when it still
//! exists); rendered by `output::tracking` as Markdown, HTML, or serialized as JSON (schema:
//! `docs/schema/nixperf-report.schema.json`).

use super::alerts::{Alert, AlertKind, Thresholds};
use super::compare::{self, Comparison, Direction};
use super::metrics::MODULE_PREFIX;
use super::{History, HistoryError, Metric, Run, RunKind};
use crate::analysis::findings::{self, Impact};
use serde::Serialize;

/// Bump when a field changes meaning or disappears (and update the JSON Schema).
pub(crate) const REPORT_VERSION: u32 = 1;
/// Days until the next analysis is due.
pub(crate) const NEXT_ANALYSIS_DAYS: i64 = 7;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SummaryMetric {
    pub name: String,
    pub unit: crate::units::Unit,
    pub value: f64,
    pub baseline: Option<f64>,
    pub change_pct: Option<f64>,
    pub significant: bool,
    pub regression: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    /// `ok`, `regressed` (worse than the baseline beyond noise), `alert` (an absolute limit
    /// breached), `no-baseline`.
    pub status: &'static str,
    pub headline: String,
    pub metrics: Vec<SummaryMetric>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PhaseRow {
    pub name: String,
    pub seconds: f64,
    pub share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Component {
    pub name: String,
    /// `module` or `derivation`.
    pub kind: &'static str,
    pub seconds: f64,
    pub share: f64,
    pub issue: String,
    pub fix: String,
    pub impact: Impact,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Recommendation {
    pub impact: Impact,
    pub title: String,
    pub location: String,
    pub fix: String,
    pub saving_s: f64,
    pub reasoning: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PlanPhase {
    pub phase: u32,
    pub title: String,
    pub items: Vec<String>,
    pub saving_s: f64,
    /// Combined saving as a share of the run's time.
    pub share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Tracked {
    pub name: String,
    pub unit: crate::units::Unit,
    pub current: f64,
    /// Lower-is-better metrics must stay ≤ target, higher-is-better ≥ target.
    pub target: f64,
    pub direction: Direction,
    pub met: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub report_version: u32,
    pub generated_at: i64,
    pub next_analysis: String,
    pub host: String,
    pub run: Run,
    pub baseline: Option<Run>,
    pub summary: Summary,
    pub phases: Vec<PhaseRow>,
    pub slowest: Vec<Component>,
    pub recommendations: Vec<Recommendation>,
    pub plan: Vec<PlanPhase>,
    pub metrics_to_track: Vec<Tracked>,
    pub alerts: Vec<Alert>,
    pub metrics: Vec<Metric>,
    /// Folded stacks of the run (evaluations), for the flamegraph; not serialized.
    #[serde(skip)]
    pub stacks: Option<super::stacks::RunStacks>,
    #[serde(skip)]
    pub baseline_stacks: Option<super::stacks::RunStacks>,
}

fn get(m: &[Metric], name: &str) -> Option<f64> {
    m.iter().find(|x| x.name == name).map(|x| x.value)
}

/// The run's total time: its wall time metric.
fn total_s(kind: &RunKind, m: &[Metric]) -> f64 {
    get(m, &format!("{kind}.wall_s"))
        .or_else(|| get(m, "eval.wall_s"))
        .or_else(|| get(m, "build.wall_s"))
        .unwrap_or(0.0)
}

const HEADLINE: &[&str] = &[
    "eval.wall_s",
    "eval.cpu_s",
    "eval.function_calls",
    "eval.thunks",
    "eval.gc_heap_bytes",
    "build.wall_s",
    "build.critical_path_s",
    "cache.hit_rate",
    "store.size_bytes",
];

/// The report of `run` against `baseline`: its steps are the report's sections.
pub(crate) fn build(
    h: &History,
    run: &Run,
    baseline: Option<&Run>,
    t: &Thresholds,
    now: i64,
) -> Result<Report, HistoryError> {
    let metrics = h.metrics(run.id)?;
    let cmp: Option<Comparison> = match baseline {
        Some(b) => Some(compare::compare(h, b, run, 1, t)?),
        None => None,
    };
    let total = total_s(&run.info.kind, &metrics);
    let summary_metrics = summary_metrics(&metrics, cmp.as_ref());
    let alerts = alerts(&metrics, cmp.as_ref(), t);
    let summary = summary(run, &metrics, cmp.as_ref(), summary_metrics, &alerts);
    let phases = phases(run, &metrics, total);
    let base = std::env::current_dir().ok();
    let profile_recs = profile_recommendations(run);
    let mut slowest = slowest_modules(
        &metrics,
        cmp.as_ref(),
        &profile_recs,
        base.as_deref(),
        total,
    );
    slowest.extend(slowest_derivations(run, total));
    let recommendations = recommendations(
        run,
        cmp.as_ref(),
        &alerts,
        &profile_recs,
        base.as_deref(),
        total,
    );
    let plan = plan(&recommendations, total);
    let metrics_to_track = metrics_to_track(&metrics, &summary.metrics, t);
    Ok(Report {
        report_version: REPORT_VERSION,
        generated_at: now,
        next_analysis: super::trend::date(now + NEXT_ANALYSIS_DAYS * 86_400),
        host: run.info.host.clone(),
        run: run.clone(),
        baseline: baseline.cloned(),
        summary,
        phases,
        slowest,
        recommendations,
        plan,
        metrics_to_track,
        alerts,
        metrics,
        stacks: h.stacks(run.id)?,
        baseline_stacks: match baseline {
            Some(b) => h.stacks(b.id)?,
            None => None,
        },
    })
}

/// `s` as a share of the run's total time (0 when the total is unknown).
fn share_of(s: f64, total: f64) -> f64 {
    if total > 0.0 { s / total } else { 0.0 }
}

/// Executive summary: the headline metrics, each against the baseline when there is one.
fn summary_metrics(metrics: &[Metric], cmp: Option<&Comparison>) -> Vec<SummaryMetric> {
    let mut sm = Vec::new();
    for name in HEADLINE {
        let Some(m) = metrics.iter().find(|m| m.name == *name) else {
            continue;
        };
        let c = cmp.and_then(|c| c.metrics.iter().find(|x| x.name == *name));
        sm.push(SummaryMetric {
            name: m.name.clone(),
            unit: m.unit.clone(),
            value: m.value,
            baseline: c.map(|c| c.a.mean),
            change_pct: c.and_then(|c| c.relative).map(|r| r * 100.0),
            significant: c.is_some_and(|c| c.significant),
            regression: c.is_some_and(|c| c.regression),
        });
    }
    sm
}

/// The comparison's alerts, or without a baseline the absolute limits alone.
fn alerts(metrics: &[Metric], cmp: Option<&Comparison>, t: &Thresholds) -> Vec<Alert> {
    match cmp {
        Some(c) => c.alerts.clone(),
        None => super::alerts::absolute(
            &metrics
                .iter()
                .map(|m| (m.name.clone(), m.value))
                .collect::<Vec<_>>(),
            t,
        ),
    }
}

/// Executive summary: status and headline.
fn summary(
    run: &Run,
    metrics: &[Metric],
    cmp: Option<&Comparison>,
    sm: Vec<SummaryMetric>,
    alerts: &[Alert],
) -> Summary {
    let regressed = alerts.iter().any(|a| a.kind == AlertKind::Regression);
    let status = if regressed {
        "regressed"
    } else if !alerts.is_empty() {
        "alert"
    } else if cmp.is_none() {
        "no-baseline"
    } else {
        "ok"
    };
    let headline = match (cmp, sm.first()) {
        (Some(c), Some(first)) => format!(
            "{} {} ({} vs baseline run #{}); {} regression(s), {} alert(s)",
            first.name,
            crate::units::fmt_value(first.value, &first.unit),
            crate::units::fmt_relative(first.change_pct.map(|p| p / 100.0)),
            c.a.id,
            alerts
                .iter()
                .filter(|a| a.kind == AlertKind::Regression)
                .count(),
            alerts
                .iter()
                .filter(|a| a.kind == AlertKind::Absolute)
                .count()
        ),
        (None, Some(first)) => format!(
            "{} {}; no baseline yet (nixperf baseline {} sets one)",
            first.name,
            crate::units::fmt_value(first.value, &first.unit),
            run.id
        ),
        _ => format!("run #{} recorded {} metrics", run.id, metrics.len()),
    };
    Summary {
        status,
        headline,
        metrics: sm,
    }
}

/// Phases: an evaluation's parse / module code / evaluator / startup split, a build's phases.
fn phases(run: &Run, metrics: &[Metric], total: f64) -> Vec<PhaseRow> {
    let mut phases = Vec::new();
    if run.info.kind == RunKind::Eval {
        let parse = get(metrics, "eval.parse_s").unwrap_or(0.0);
        let evaluator = get(metrics, "eval.evaluator_s").unwrap_or(0.0);
        let attributed = get(metrics, "eval.attributed_s").unwrap_or(0.0);
        let startup = (total - attributed).max(0.0);
        for (n, s) in [
            ("parsing", parse),
            (
                "module code (attributed)",
                (attributed - evaluator - parse).max(0.0),
            ),
            ("evaluator (outside any file)", evaluator),
            ("startup and output", startup),
        ] {
            phases.push(PhaseRow {
                name: n.into(),
                seconds: s,
                share: share_of(s, total),
            });
        }
    } else {
        for m in metrics
            .iter()
            .filter(|m| m.name.starts_with("build.phase."))
        {
            let n = m
                .name
                .trim_start_matches("build.phase.")
                .trim_end_matches("_s");
            phases.push(PhaseRow {
                name: n.into(),
                seconds: m.value,
                share: share_of(m.value, total),
            });
        }
    }
    phases
}

/// Profile-derived details: the findings of an evaluation profile still on disk.
fn profile_recommendations(run: &Run) -> Vec<findings::Recommendation> {
    run.info
        .profile_path
        .as_deref()
        .filter(|_| run.info.kind == RunKind::Eval)
        .and_then(|p| crate::profile::read(std::path::Path::new(p)).ok())
        // The file may hold a later run's profile by now (`nixperf eval` reuses its path).
        .filter(|p| p.meta.started_at as i64 == run.info.started_at)
        .as_ref()
        .map(findings::recommendations)
        .unwrap_or_default()
}

/// Slowest components: the ten slowest modules, with the profile's finding or the regression.
fn slowest_modules(
    metrics: &[Metric],
    cmp: Option<&Comparison>,
    profile_recs: &[findings::Recommendation],
    base: Option<&std::path::Path>,
    total: f64,
) -> Vec<Component> {
    let mut slowest: Vec<Component> = Vec::new();
    let mut mods: Vec<&Metric> = metrics
        .iter()
        .filter(|m| m.name.starts_with(MODULE_PREFIX))
        .collect();
    mods.sort_by(|a, b| b.value.total_cmp(&a.value));
    for m in mods.iter().take(10) {
        let name = m.name.trim_start_matches(MODULE_PREFIX).to_owned();
        let rec = profile_recs
            .iter()
            .find(|r| crate::analysis::paths::display(&r.file, base) == name);
        let moved = cmp
            .and_then(|c| c.modules.iter().find(|x| x.name == m.name))
            .filter(|x| x.regression);
        let sh = share_of(m.value, total);
        slowest.push(Component {
            name,
            kind: "module",
            seconds: m.value,
            share: sh,
            issue: match (rec, moved) {
                (_, Some(x)) => format!(
                    "self time {} since the baseline ({})",
                    crate::units::fmt_relative(x.relative),
                    crate::units::fmt_value(x.a.mean, &x.unit)
                ),
                (Some(r), None) => r.issue.clone(),
                (None, None) => format!("{:.1} % of the evaluation", sh * 100.0),
            },
            fix: match rec {
                Some(r) => r.fix.clone(),
                None if moved.is_some() => {
                    "diff the module against the baseline's revision; see flamegraph-diff.svg"
                        .into()
                }
                None => "see the flamegraph for its most expensive functions".into(),
            },
            impact: if m.value >= 1.0 || sh >= 0.10 {
                Impact::High
            } else if sh >= 0.01 {
                Impact::Medium
            } else {
                Impact::Low
            },
        });
    }
    slowest
}

/// Slowest components of a build whose profile is still on disk: its slowest derivations.
fn slowest_derivations(run: &Run, total: f64) -> Vec<Component> {
    let mut slowest: Vec<Component> = Vec::new();
    if run.info.kind == RunKind::Build
        && let Some(bp) = run
            .info
            .profile_path
            .as_deref()
            .and_then(|p| crate::build::profile_db::read(std::path::Path::new(p)).ok())
            .filter(|b| b.meta.started_at == 0 || b.meta.started_at as i64 == run.info.started_at)
    {
        let r = crate::build::build_report(&bp, 10);
        let cp: std::collections::HashSet<&String> = r.graph.critical_path.iter().collect();
        for d in &r.slowest {
            let s = d.wall_ns as f64 / 1e9;
            let on_cp = cp.contains(&d.drv_path) || cp.contains(&d.name);
            slowest.push(Component {
                name: d.name.clone(),
                kind: "derivation",
                seconds: s,
                share: share_of(s, total),
                issue: if on_cp {
                    "on the critical path: the build cannot finish before it".into()
                } else {
                    format!("{} log lines", d.log_lines)
                },
                fix: if on_cp {
                    "split it or make it substitutable from a binary cache".into()
                } else {
                    "cache it in a binary cache so rebuilds substitute it".into()
                },
                impact: if share_of(s, total) >= 0.10 {
                    Impact::High
                } else if share_of(s, total) >= 0.01 {
                    Impact::Medium
                } else {
                    Impact::Low
                },
            });
        }
    }
    slowest
}

/// Recommendations: regressions to undo, breached limits, and the profile's findings; HIGH
/// first, the largest saving first within.
fn recommendations(
    run: &Run,
    cmp: Option<&Comparison>,
    alerts: &[Alert],
    profile_recs: &[findings::Recommendation],
    base: Option<&std::path::Path>,
    total: f64,
) -> Vec<Recommendation> {
    let mut recommendations = Vec::new();
    if let Some(c) = cmp {
        recommendations.extend(regressions_to_undo(run, c, total));
    }
    for a in alerts.iter().filter(|a| a.kind == AlertKind::Absolute) {
        recommendations.push(Recommendation {
            impact: Impact::High,
            title: a.message.clone(),
            location: run.info.target.clone(),
            fix: match a.metric.as_str() {
                "build.wall_s" => "use a binary cache for the slowest derivations; check max-jobs with nixperf config".into(),
                "cache.hit_rate" => "add or reorder substituters (nixperf cache)".into(),
                "store.size_bytes" => "collect garbage (nixperf store shows the exact bytes per command)".into(),
                _ => "profile the evaluation (nixperf report) and fix its HIGH findings".into(),
            },
            saving_s: if a.unit_is_seconds() { (a.value - a.limit).max(0.0) } else { 0.0 },
            reasoning: format!("down to the limit {}", a.limit),
        });
    }
    for r in profile_recs {
        recommendations.push(Recommendation {
            impact: r.impact,
            title: r.issue.clone(),
            location: format!(
                "{}:{}",
                crate::analysis::paths::display(&r.file, base),
                r.line
            ),
            fix: r.fix.clone(),
            saving_s: r.saving_ns as f64 / 1e9,
            reasoning: r.reasoning.clone(),
        });
    }
    recommendations.sort_by(|a, b| {
        a.impact
            .cmp(&b.impact)
            .then(b.saving_s.total_cmp(&a.saving_s))
    });
    recommendations
}

/// Where it regressed: the modules that did; else the run's wall time. (Not every time
/// metric: they overlap, and the plan adds savings up.)
fn regressions_to_undo(run: &Run, c: &Comparison, total: f64) -> Vec<Recommendation> {
    let mut regs: Vec<&compare::MetricChange> = c
        .modules
        .iter()
        .filter(|m| m.regression && m.unit == crate::units::Unit::Seconds)
        .collect();
    if regs.is_empty() {
        regs.extend(
            c.metrics
                .iter()
                .find(|m| m.regression && (m.name == "eval.wall_s" || m.name == "build.wall_s")),
        );
    }
    let revs = match (c.a.info.git_rev.as_deref(), run.info.git_rev.as_deref()) {
        (Some(a), Some(b)) if a == b && a.ends_with("-dirty") => {
            format!(
                "the uncommitted changes on top of {}",
                a.trim_end_matches("-dirty")
            )
        }
        (Some(a), Some(b)) if a == b => {
            format!("the inputs, arguments or environment (same revision {a})")
        }
        (Some(a), Some(b)) => format!("the commits between {a} and {b}"),
        _ => "the changes since the baseline".into(),
    };
    regs.into_iter()
        .map(|m| {
            let is_mod = m.name.starts_with(MODULE_PREFIX);
            Recommendation {
                impact: if m.change >= 1.0 || share_of(m.change, total) >= 0.10 {
                    Impact::High
                } else {
                    Impact::Medium
                },
                title: format!(
                    "{} regressed {} since baseline run #{}",
                    m.name.trim_start_matches(MODULE_PREFIX),
                    crate::units::fmt_relative(m.relative),
                    c.a.id
                ),
                location: if is_mod {
                    m.name.trim_start_matches(MODULE_PREFIX).into()
                } else {
                    run.info.target.clone()
                },
                fix: format!(
                    "find what in {revs} did it (nixperf compare writes flamegraph-diff.svg)"
                ),
                saving_s: m.change.max(0.0),
                reasoning: "returning to the baseline's time".into(),
            }
        })
        .collect()
}

/// Phased plan: HIGH first, then MEDIUM, then LOW; savings combined (capped at the total).
fn plan(recommendations: &[Recommendation], total: f64) -> Vec<PlanPhase> {
    let mut plan = Vec::new();
    for (i, (imp, title)) in [
        (Impact::High, "Quick wins: HIGH impact"),
        (Impact::Medium, "Structural fixes: MEDIUM impact"),
        (Impact::Low, "Polish: LOW impact"),
    ]
    .into_iter()
    .enumerate()
    {
        let items: Vec<&Recommendation> =
            recommendations.iter().filter(|r| r.impact == imp).collect();
        if items.is_empty() {
            continue;
        }
        let saving: f64 = items.iter().map(|r| r.saving_s).sum::<f64>();
        let saving = if total > 0.0 {
            saving.min(total)
        } else {
            saving
        };
        plan.push(PlanPhase {
            phase: i as u32 + 1,
            title: title.into(),
            items: items
                .iter()
                .map(|r| format!("{} — {}", r.title, r.fix))
                .collect(),
            saving_s: saving,
            share: share_of(saving, total),
        });
    }
    plan
}

/// Metrics to track, with targets: the absolute limits, and no worse than the baseline.
fn metrics_to_track(metrics: &[Metric], sm: &[SummaryMetric], t: &Thresholds) -> Vec<Tracked> {
    let mut tracked = Vec::new();
    for name in HEADLINE {
        let Some(m) = metrics.iter().find(|m| m.name == *name) else {
            continue;
        };
        let dir = compare::direction(&m.name, &m.unit);
        let limit = match *name {
            "build.wall_s" => Some(t.max_build_time_s),
            "eval.wall_s" => Some(t.max_eval_time_s),
            "store.size_bytes" => Some(t.max_store_bytes),
            "cache.hit_rate" => Some(t.min_cache_hit_rate),
            _ => None,
        };
        let base_v = sm
            .iter()
            .find(|s| s.name == m.name)
            .and_then(|s| s.baseline);
        let slack = 1.0 + t.regression_pct / 100.0;
        let target = match (dir, limit, base_v) {
            (Direction::HigherIsBetter, l, b) => l.unwrap_or(0.0).max(b.map_or(0.0, |b| b / slack)),
            (_, Some(l), Some(b)) => l.min(b * slack),
            (_, Some(l), None) => l,
            (_, None, Some(b)) => b * slack,
            (_, None, None) => m.value * slack,
        };
        let met = match dir {
            Direction::HigherIsBetter => m.value >= target,
            _ => m.value <= target,
        };
        tracked.push(Tracked {
            name: m.name.clone(),
            unit: m.unit.clone(),
            current: m.value,
            target,
            direction: dir,
            met,
        });
    }
    tracked
}

impl Alert {
    fn unit_is_seconds(&self) -> bool {
        self.metric.ends_with("_s")
    }
}
