//! Problems: what `nixperf analyze` found, from every section it ran, each with its measured
//! numbers, the fix in one line and the impact. One list, so the report can rank evaluation,
//! build, store and settings problems against each other.

use crate::analysis::findings::{self, Impact};
use crate::analysis::modules::ModuleRow;
use crate::build::BuildReport;
use crate::config::Advice;
use crate::store::usage::StoreReport;
use crate::units::fmt_bytes;
use crate::units::fmt_ns;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Problem {
    pub impact: Impact,
    /// evaluation | build | store | config
    pub area: String,
    /// What was found, with the measured numbers.
    pub issue: String,
    /// The fix, in one line (a command where one exists).
    pub fix: String,
    /// The estimated effect and how it was estimated.
    pub impact_note: String,
}

/// A store cleanup worth doing above this many bytes is MEDIUM, above 10× this HIGH.
const STORE_MEDIUM: u64 = 1 << 30;

/// The slowest modules, slowest first (their share decides the impact), and the findings'
/// recommendations.
pub(crate) fn evaluation(modules: &[ModuleRow], recs: &[findings::Recommendation]) -> Vec<Problem> {
    let mut out = Vec::new();
    for m in modules.iter().take(3) {
        if m.share < 0.05 && !m.slow {
            continue;
        }
        let impact = if m.slow || m.share >= 0.5 {
            Impact::High
        } else if m.share >= 0.2 {
            Impact::Medium
        } else {
            Impact::Low
        };
        out.push(Problem {
            impact,
            area: "evaluation".into(),
            issue: format!(
                "slow module {}: {} self time, {:.1} % of the evaluation ({} calls, {} thunks){}",
                m.path,
                fmt_ns(m.self_ns),
                m.share * 100.0,
                m.calls,
                m.thunks,
                crate::output::explain::headline(m, None)
                    .and_then(|h| h.split_once(": ").map(|(_, b)| format!("; {b}")))
                    .unwrap_or_default()
            ),
            fix: match m.why.as_ref().and_then(|w| w.hotspots.first()) {
                Some(h) => format!(
                    "start with {} ({:.0} % of this module's time{}); `nixperf report` lists the rest, flamegraph-modules.svg shows its stacks",
                    crate::output::explain::frame(&h.function, None),
                    h.share * 100.0,
                    if h.calls > 0 {
                        format!(", {} calls", crate::units::group(h.calls))
                    } else {
                        String::new()
                    }
                ),
                None => "audit this module first: `nixperf report` shows its functions and the flamegraph its stacks".into(),
            },
            impact_note: format!(
                "up to {} if its work were avoided (its measured self time)",
                fmt_ns(m.self_ns)
            ),
        });
    }
    for r in recs.iter().filter(|r| r.impact != Impact::Low) {
        out.push(Problem {
            impact: r.impact,
            area: "evaluation".into(),
            issue: format!("{}:{}:{} {}", r.file, r.line, r.col, r.issue),
            fix: r.fix.clone(),
            impact_note: format!("{} ({})", fmt_ns(r.saving_ns), r.reasoning),
        });
    }
    out
}

/// The build's critical path and slowest derivation, failed builds.
pub(crate) fn build(r: &BuildReport) -> Vec<Problem> {
    let mut out = Vec::new();
    if r.builds_failed > 0 {
        out.push(Problem {
            impact: Impact::High,
            area: "build".into(),
            issue: format!("{} derivation(s) failed to build", r.builds_failed),
            fix: "read the failing build's log (`nix log <drv>`)".into(),
            impact_note: "the build does not finish".into(),
        });
    }
    if let Some(d) = r.slowest.first() {
        let share = d.wall_ns as f64 / r.wall_ns.max(1) as f64;
        let on_path = r.graph.critical_path.contains(&d.name);
        out.push(Problem {
            impact: if share >= 0.5 {
                Impact::High
            } else if share >= 0.2 {
                Impact::Medium
            } else {
                Impact::Low
            },
            area: "build".into(),
            issue: format!(
                "slowest derivation {}: {} ({:.0} % of the build wall time){}",
                d.name,
                fmt_ns(d.wall_ns),
                share * 100.0,
                if on_path {
                    ", on the critical path"
                } else {
                    ""
                }
            ),
            fix: "cache it in a binary cache, or split it so dependents can start earlier".into(),
            impact_note: format!(
                "critical path {} of {} total build work",
                fmt_ns(r.graph.critical_path_ns),
                fmt_ns(r.graph.total_work_ns)
            ),
        });
    }
    for s in r
        .substituters
        .iter()
        .filter(|s| s.hit_rate < 0.7 && s.queried > 0)
    {
        out.push(Problem {
            impact: Impact::Medium,
            area: "build".into(),
            issue: format!(
                "substituter {} hit rate {:.0} % ({} of {} paths)",
                s.url,
                s.hit_rate * 100.0,
                s.substituted,
                s.queried
            ),
            fix: "check that the cache holds what you build, or push to it from CI".into(),
            impact_note: "misses are built locally".into(),
        });
    }
    out
}

/// Cleanup commands with the exact bytes they free, and the optimise estimate.
pub(crate) fn store(r: &StoreReport) -> Vec<Problem> {
    let mut out = Vec::new();
    let impact = |b: u64| {
        if b >= 10 * STORE_MEDIUM {
            Impact::High
        } else if b >= STORE_MEDIUM {
            Impact::Medium
        } else {
            Impact::Low
        }
    };
    let dead = r.breakdown.iter().find(|c| c.name.starts_with("dead"));
    if let (Some(d), Some(gc)) = (dead, r.commands.first())
        && gc.paths_deleted > 0
    {
        let freed = gc.bytes_freed();
        out.push(Problem {
            impact: impact(freed),
            area: "store".into(),
            issue: format!(
                "{} dead store paths ({} of NAR data) reachable from no root",
                d.paths,
                fmt_bytes(d.nar)
            ),
            fix: format!("`{}`", gc.command),
            impact_note: format!(
                "frees {} ({} paths), computed from the store graph",
                fmt_bytes(freed),
                gc.paths_deleted
            ),
        });
    }
    for c in r
        .commands
        .iter()
        .skip(1)
        .filter(|c| c.generations_removed > 0)
    {
        let freed = c.bytes_freed();
        out.push(Problem {
            impact: impact(freed),
            area: "store".into(),
            issue: format!(
                "{} old profile generation(s) keep store paths alive",
                c.generations_removed
            ),
            fix: format!(
                "`{}` (removes rollback targets: not applied automatically)",
                c.command
            ),
            impact_note: format!("frees {} ({} paths)", fmt_bytes(freed), c.paths_deleted),
        });
    }
    if let Some(o) = r.optimise.as_ref().filter(|o| o.disk_bytes > 0) {
        out.push(Problem {
            impact: impact(o.disk_bytes),
            area: "store".into(),
            issue: format!(
                "{} files are duplicates not yet hard-linked",
                o.files_linked
            ),
            fix: "`nix-store --optimise` (or `auto-optimise-store = true`)".into(),
            impact_note: format!(
                "frees {}{}",
                fmt_bytes(o.disk_bytes),
                if o.sampled_fraction < 1.0 {
                    format!(
                        " (scaled from a {:.0} % sample)",
                        o.sampled_fraction * 100.0
                    )
                } else {
                    String::new()
                }
            ),
        });
    }
    out
}

/// The settings `nixperf config` would change (recommendations that keep a value are context).
pub(crate) fn config(a: &Advice) -> Vec<Problem> {
    a.recommendations
        .iter()
        .filter_map(|r| {
            let v = r.value.as_ref()?;
            Some(Problem {
                impact: match r.setting.as_str() {
                    "max-jobs" | "cores" => Impact::High,
                    "sandbox" | "min-free" => Impact::Medium,
                    _ => Impact::Low,
                },
                area: "config".into(),
                issue: format!(
                    "{} = {} (recommended {}; basis: {})",
                    r.setting, r.current, r.recommended, r.basis
                ),
                fix: format!("set `{} = {v}` in nix.conf", r.setting),
                impact_note: r.impact.clone(),
            })
        })
        .collect()
}

/// Absolute alerts (`t`'s limits) on an analysis's metrics and, given a baseline file,
/// regressions against it by compare's rule.
pub(crate) fn alerts(
    metrics: &[crate::history::Metric],
    t: &crate::history::alerts::Thresholds,
    baseline: Option<&crate::history::baseline_file::BaselineFile>,
) -> Vec<Problem> {
    let pairs: Vec<(String, f64)> = metrics.iter().map(|m| (m.name.clone(), m.value)).collect();
    let mut out: Vec<Problem> = crate::history::alerts::absolute(&pairs, t)
        .into_iter()
        .map(|al| Problem {
            impact: Impact::High,
            area: al.metric.split('.').next().unwrap_or("alert").to_owned(),
            issue: al.message.clone(),
            fix: "see the sections below for what drives this metric".into(),
            impact_note: "over the alert threshold".into(),
        })
        .collect();
    for c in baseline
        .map(|b| b.regressions(metrics, t))
        .unwrap_or_default()
    {
        out.push(Problem {
            impact: Impact::High,
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
    out
}

/// Highest impact first, stable within a group (the order each section ranked them).
pub(crate) fn rank(mut p: Vec<Problem>) -> Vec<Problem> {
    p.sort_by_key(|x| x.impact);
    p
}
