//! Comparing two runs (or two sets of repeated runs): the change of every metric with whether
//! it is beyond the noise, the modules whose self time moved most, and the regressions that
//! breach the thresholds.

use super::alerts::{self, Alert, Thresholds};
use super::metrics::MODULE_PREFIX;
use super::stats::{self, Summary};
use super::{History, HistoryError, Run, RunFilter, Unit};
use crate::units::{fmt_relative, fmt_value};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Direction {
    LowerIsBetter,
    HigherIsBetter,
    /// Counts that describe the work rather than judge it (derivations built, modules).
    Neutral,
}

pub(crate) fn direction(name: &str, unit: &Unit) -> Direction {
    const NEUTRAL: &[&str] = &[
        "build.derivations",
        "build.substitutions",
        "eval.modules",
        "cache.downloaded_bytes",
    ];
    if NEUTRAL.contains(&name) {
        Direction::Neutral
    } else if name.contains("hit_rate") || name.contains("parallelizable") {
        Direction::HigherIsBetter
    } else if matches!(unit, Unit::Seconds | Unit::Bytes | Unit::Count) {
        Direction::LowerIsBetter
    } else {
        Direction::Neutral
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct MetricChange {
    pub name: String,
    pub unit: Unit,
    pub a: Summary,
    pub b: Summary,
    /// mean(b) − mean(a).
    pub change: f64,
    /// change / mean(a); None when mean(a) is 0.
    pub relative: Option<f64>,
    /// Welch's t-test, with ≥ 2 runs on each side.
    pub p_value: Option<f64>,
    /// Beyond the noise: large enough (relative and absolute) and, with repeated runs,
    /// statistically significant.
    pub significant: bool,
    pub direction: Direction,
    pub regression: bool,
    pub improvement: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Comparison {
    pub a: Run,
    pub b: Run,
    pub a_runs: Vec<i64>,
    pub b_runs: Vec<i64>,
    /// Headline metrics (not per-module), by name.
    pub metrics: Vec<MetricChange>,
    /// Modules, largest absolute self-time change first.
    pub modules: Vec<MetricChange>,
    /// Regressions first by relative size, then absolute-limit alerts on B.
    pub alerts: Vec<Alert>,
}

impl Comparison {
    pub(crate) fn regressed(&self) -> bool {
        self.alerts
            .iter()
            .any(|a| a.kind == crate::history::alerts::AlertKind::Regression)
    }
    /// A regression or an absolute limit breached: what `--fail-on-regression` gates on.
    pub(crate) fn breached(&self) -> bool {
        !self.alerts.is_empty()
    }
}

/// The runs of `anchor`'s host and target up to and including it, at most `n`, and newer than
/// `after` (so the two sides of a comparison never share runs).
pub(crate) fn side(
    h: &History,
    anchor: &Run,
    n: usize,
    after: Option<i64>,
) -> Result<Vec<Run>, HistoryError> {
    if n <= 1 {
        return Ok(vec![anchor.clone()]);
    }
    let runs = h.runs(&RunFilter {
        host: Some(anchor.info.host.clone()),
        target: Some(anchor.info.target.clone()),
        max_id: Some(anchor.id),
        limit: Some(n),
        ..Default::default()
    })?;
    Ok(runs
        .into_iter()
        .filter(|r| after.is_none_or(|a| r.id > a))
        .collect())
}

fn values(h: &History, runs: &[Run]) -> Result<BTreeMap<String, (Unit, Vec<f64>)>, HistoryError> {
    let mut out: BTreeMap<String, (Unit, Vec<f64>)> = BTreeMap::new();
    for (i, r) in runs.iter().enumerate() {
        for m in h.metrics(r.id)? {
            let is_module = name_is_module(&m.name);
            let e = out.entry(m.name).or_insert_with(|| (m.unit, vec![]));
            // Modules absent from earlier runs of this side ran 0 s there.
            if e.1.len() < i && is_module {
                e.1.resize(i, 0.0);
            }
            e.1.push(m.value);
        }
    }
    for (name, (_, v)) in out.iter_mut() {
        if name.starts_with(MODULE_PREFIX) {
            v.resize(runs.len(), 0.0);
        }
    }
    Ok(out)
}

fn name_is_module(name: &str) -> bool {
    name.starts_with(MODULE_PREFIX)
}

fn floor(unit: &Unit, t: &Thresholds) -> f64 {
    match unit {
        Unit::Seconds => t.min_time_change_s,
        Unit::Bytes => 1024.0 * 1024.0,
        Unit::Count => 1.0,
        _ => 0.0,
    }
}

pub(crate) fn change(
    name: &str,
    unit: &Unit,
    a: &[f64],
    b: &[f64],
    t: &Thresholds,
) -> Option<MetricChange> {
    let sa = stats::summarize(a)?;
    let sb = stats::summarize(b)?;
    let change = sb.mean - sa.mean;
    let relative = if sa.mean != 0.0 {
        Some(change / sa.mean.abs())
    } else if change == 0.0 {
        Some(0.0)
    } else {
        None
    };
    let p_value = stats::welch_p(&sa, &sb);
    let big = change.abs() >= floor(unit, t)
        && relative.is_none_or(|r| r.abs() * 100.0 >= t.regression_pct);
    let significant = big && p_value.is_none_or(|p| p < t.significance);
    let dir = direction(name, unit);
    let worse = match dir {
        Direction::LowerIsBetter => change > 0.0,
        Direction::HigherIsBetter => change < 0.0,
        Direction::Neutral => false,
    };
    Some(MetricChange {
        name: name.into(),
        unit: unit.clone(),
        a: sa,
        b: sb,
        change,
        relative,
        p_value,
        significant,
        direction: dir,
        regression: significant && worse,
        improvement: significant && dir != Direction::Neutral && !worse,
    })
}

/// The newest run of the history.
pub(crate) fn latest_run(h: &History) -> Result<Run, HistoryError> {
    h.latest(&RunFilter::default())?.ok_or(HistoryError::Empty)
}

/// The runs `nixperf compare [A] [B]` compares: B = explicit, else the newest run; A = explicit,
/// else B's baseline, else the previous run of B's host and target.
pub(crate) fn pair(
    h: &History,
    a: Option<i64>,
    b: Option<i64>,
) -> Result<(Run, Run), HistoryError> {
    let b = match b {
        Some(id) => h.run(id)?,
        None => latest_run(h)?,
    };
    let a = match a {
        Some(id) => h.run(id)?,
        None => match h.baseline(&b.info.host, &b.info.target)? {
            Some(id) if id != b.id => h.run(id)?,
            _ => h
                .latest(&RunFilter {
                    host: Some(b.info.host.clone()),
                    target: Some(b.info.target.clone()),
                    max_id: Some(b.id - 1),
                    ..Default::default()
                })?
                .ok_or_else(|| HistoryError::NothingToCompare {
                    run: b.id,
                    target: b.info.target.clone(),
                })?,
        },
    };
    Ok((a, b))
}

/// Compares `b` with `a`; with `n` > 1 each side is the `n` runs of its target ending at it.
pub(crate) fn compare(
    h: &History,
    a: &Run,
    b: &Run,
    n: usize,
    t: &Thresholds,
) -> Result<Comparison, HistoryError> {
    let a_side = side(h, a, n, None)?;
    let b_side = side(h, b, n, (a.id < b.id && n > 1).then_some(a.id))?;
    let va = values(h, &a_side)?;
    let vb = values(h, &b_side)?;
    let mut metrics = Vec::new();
    let mut modules = Vec::new();
    let names: std::collections::BTreeSet<&String> = va.keys().chain(vb.keys()).collect();
    for name in names {
        let is_module = name.starts_with(MODULE_PREFIX);
        let (unit, xa, xb) = match (va.get(name), vb.get(name)) {
            (Some((u, x)), Some((_, y))) => (u, x.clone(), y.clone()),
            // A module that exists on one side only ran 0 s on the other.
            (Some((u, x)), None) if is_module => (u, x.clone(), vec![0.0; b_side.len()]),
            (None, Some((u, y))) if is_module => (u, vec![0.0; a_side.len()], y.clone()),
            _ => continue,
        };
        if let Some(c) = change(name, unit, &xa, &xb, t) {
            if is_module {
                modules.push(c);
            } else {
                metrics.push(c);
            }
        }
    }
    modules.sort_by(|x, y| {
        y.change
            .abs()
            .total_cmp(&x.change.abs())
            .then_with(|| x.name.cmp(&y.name))
    });

    let mut regressions: Vec<&MetricChange> = metrics
        .iter()
        .chain(modules.iter())
        .filter(|c| c.regression)
        .collect();
    // The modules that regressed first (largest absolute change first): they say where to
    // look; then the headline metrics, largest relative change first.
    regressions.sort_by(|x, y| {
        let (mx, my) = (
            x.name.starts_with(MODULE_PREFIX),
            y.name.starts_with(MODULE_PREFIX),
        );
        my.cmp(&mx).then_with(|| {
            if mx {
                y.change.abs().total_cmp(&x.change.abs())
            } else {
                y.relative
                    .unwrap_or(f64::INFINITY)
                    .abs()
                    .total_cmp(&x.relative.unwrap_or(f64::INFINITY).abs())
            }
        })
    });
    let top_module = modules
        .iter()
        .find(|m| m.regression)
        .map(|m| m.name.trim_start_matches(MODULE_PREFIX).to_owned());
    let mut alerts: Vec<Alert> = regressions
        .iter()
        .map(|c| Alert {
            kind: crate::history::alerts::AlertKind::Regression,
            metric: c.name.clone(),
            value: c.b.mean,
            limit: c.a.mean,
            message: format!(
                "{} {} → {} ({}){}",
                match c.name.strip_prefix(MODULE_PREFIX) {
                    Some(m) => format!("module {m}: self time"),
                    None => c.name.clone(),
                },
                fmt_value(c.a.mean, &c.unit),
                fmt_value(c.b.mean, &c.unit),
                fmt_relative(c.relative),
                match (&top_module, c.name.starts_with(MODULE_PREFIX)) {
                    (Some(m), false) if c.unit == Unit::Seconds =>
                        format!("; module that moved most: {m}"),
                    _ => String::new(),
                }
            ),
        })
        .collect();
    let b_means: Vec<(String, f64)> = metrics.iter().map(|c| (c.name.clone(), c.b.mean)).collect();
    alerts.extend(alerts::absolute(&b_means, t));
    Ok(Comparison {
        a: a.clone(),
        b: b.clone(),
        a_runs: a_side.iter().map(|r| r.id).collect(),
        b_runs: b_side.iter().map(|r| r.id).collect(),
        metrics,
        modules,
        alerts,
    })
}
