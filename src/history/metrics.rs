//! The metrics a run records, derived from its profile: evaluation headline numbers, per-module
//! self times (`module:<path>`), evaluator statistics, build phases, critical path, cache hit
//! rate. Times are seconds, so thresholds and charts read naturally.

use super::{Metric, RunKind, Unit};
use crate::analysis::{findings, modules, stacks};
use crate::build::BuildReport;
use crate::profile::Profile;
use std::path::Path;

/// Prefix of per-module self-time metrics.
pub(crate) const MODULE_PREFIX: &str = "module:";

fn s(ns: u64) -> f64 {
    ns as f64 / 1e9
}

pub(crate) fn eval_metrics(p: &Profile, base: Option<&Path>) -> Vec<Metric> {
    let mods = modules::module_table(p);
    let recs = findings::recommendations(p);
    let mut m = vec![
        Metric::new("eval.wall_s", s(p.meta.wall_ns), Unit::Seconds),
        Metric::new("eval.attributed_s", s(mods.total_ns), Unit::Seconds),
        Metric::new("eval.evaluator_s", s(mods.evaluator_ns), Unit::Seconds),
        Metric::new(
            "eval.calls",
            p.nodes.iter().skip(1).map(|n| n.count).sum::<u64>() as f64,
            Unit::Count,
        ),
        Metric::new(
            "eval.thunks_forced",
            p.files.iter().map(|f| f.thunks).sum::<u64>() as f64,
            Unit::Count,
        ),
        Metric::new("eval.modules", mods.rows.len() as f64, Unit::Count),
        Metric::new("eval.slow_modules", mods.slow_count as f64, Unit::Count),
        Metric::new(
            "eval.recommendations_high",
            recs.iter()
                .filter(|r| r.impact == findings::Impact::High)
                .count() as f64,
            Unit::Count,
        ),
        Metric::new(
            "eval.parse_s",
            s(p.files.iter().map(|f| f.parse_ns).sum()),
            Unit::Seconds,
        ),
    ];
    if let Some(st) = findings::evaluator_stats(p) {
        m.extend([
            Metric::new("eval.cpu_s", st.cpu_time_s, Unit::Seconds),
            Metric::new("eval.function_calls", st.function_calls as f64, Unit::Count),
            Metric::new("eval.primop_calls", st.primop_calls as f64, Unit::Count),
            Metric::new("eval.thunks", st.thunks as f64, Unit::Count),
            Metric::new("eval.values", st.values as f64, Unit::Count),
            Metric::new("eval.envs", st.envs as f64, Unit::Count),
            Metric::new("eval.sets", st.sets as f64, Unit::Count),
            Metric::new("eval.gc_heap_bytes", st.gc_heap_bytes as f64, Unit::Bytes),
            Metric::new("eval.gc_total_bytes", st.gc_total_bytes as f64, Unit::Bytes),
        ]);
    }
    for r in &mods.rows {
        m.push(Metric::new(
            format!(
                "{MODULE_PREFIX}{}",
                crate::analysis::paths::display(&r.path, base)
            ),
            s(r.self_ns),
            Unit::Seconds,
        ));
    }
    m
}

/// The stacks the history keeps of an evaluation (for differential flamegraphs later).
pub(crate) fn eval_stacks(p: &Profile, base: Option<&Path>) -> stacks::StackTree {
    stacks::StackTree::of_profile(p, base)
}

pub(crate) fn build_metrics(r: &BuildReport) -> Vec<Metric> {
    let mut m = vec![
        Metric::new("build.wall_s", s(r.wall_ns), Unit::Seconds),
        Metric::new("build.derivations", r.builds as f64, Unit::Count),
        Metric::new("build.failed", r.builds_failed as f64, Unit::Count),
        Metric::new("build.substitutions", r.substitutions as f64, Unit::Count),
        Metric::new(
            "build.critical_path_s",
            s(r.graph.critical_path_ns),
            Unit::Seconds,
        ),
        Metric::new(
            "build.total_work_s",
            s(r.graph.total_work_ns),
            Unit::Seconds,
        ),
        Metric::new(
            "build.parallelizable_share",
            r.graph.parallelizable_share,
            Unit::Ratio,
        ),
    ];
    for p in &r.phases {
        m.push(Metric::new(
            format!("build.phase.{}_s", p.phase.as_str()),
            s(p.exclusive_ns),
            Unit::Seconds,
        ));
    }
    let queried: usize = r.substituters.iter().map(|s| s.queried).sum();
    if queried > 0 {
        let hits: f64 = r
            .substituters
            .iter()
            .map(|s| s.hit_rate * s.queried as f64)
            .sum();
        m.push(Metric::new(
            "cache.hit_rate",
            hits / queried as f64,
            Unit::Ratio,
        ));
    }
    let bytes: u64 = r.substituters.iter().map(|s| s.bytes).sum();
    m.push(Metric::new(
        "cache.downloaded_bytes",
        bytes as f64,
        Unit::Bytes,
    ));
    m
}

/// What `nixperf predict` knows: the recorded build profiles of this host (the newest 200
/// build runs whose profile can still be read).
pub(crate) fn known_builds(
    h: &super::History,
) -> Result<crate::build::predict::Known, super::HistoryError> {
    let mut k = crate::build::predict::Known::default();
    let f = super::RunFilter {
        host: Some(super::env::hostname()),
        kind: Some(RunKind::Build),
        limit: Some(200),
        ..Default::default()
    };
    for r in h.runs(&f)? {
        if let Some(p) = r.info.profile_path.as_deref()
            && let Ok(profile) = crate::build::profile_db::read(Path::new(p))
        {
            k.add(&profile);
        }
    }
    Ok(k)
}

/// The prediction made for `target` since the last build of it, as metrics for that build:
/// the prediction and its error against the measured wall time.
pub(crate) fn prediction_metrics(h: &super::History, target: &str, actual_s: f64) -> Vec<Metric> {
    let f = |kind: RunKind| super::RunFilter {
        host: Some(super::env::hostname()),
        target: Some(target.to_owned()),
        kind: Some(kind),
        limit: Some(1),
        ..Default::default()
    };
    let (Ok(Some(pred)), last_build) =
        (h.latest(&f(RunKind::Predict)), h.latest(&f(RunKind::Build)))
    else {
        return vec![];
    };
    if matches!(last_build, Ok(Some(b)) if b.id > pred.id) {
        return vec![];
    }
    let Some(v) = h
        .metrics(pred.id)
        .ok()
        .and_then(|m| m.into_iter().find(|m| m.name == "build.predicted_s"))
    else {
        return vec![];
    };
    vec![
        Metric::new("build.predicted_s", v.value, Unit::Seconds),
        Metric::new(
            "build.prediction_error_pct",
            if actual_s > 0.0 {
                (v.value - actual_s) / actual_s * 100.0
            } else {
                0.0
            },
            Unit::from("%"),
        ),
    ]
}

/// A store analysis's metrics: sizes by category and what the cleanup commands recover.
pub(crate) fn store_metrics(st: &crate::store::usage::StoreReport) -> Vec<Metric> {
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
        let freed = gc.bytes_freed();
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
