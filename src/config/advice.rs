//! Recommendations for the build-related settings. With a build profile, `max-jobs` comes from
//! the list-scheduling simulation of the recorded graph (src/build/simulate.rs): the smallest
//! value within 2 % of the best simulated time. Without one, rules of thumb, said so.

use super::{Hardware, NixSettings};
use crate::build::{BuildProfile, graph::Graph, simulate::makespan};
use serde::Serialize;

const GIB: u64 = 1 << 30;
/// Memory a typical compile job needs before swapping hurts (rule of thumb).
const MEM_PER_JOB: u64 = 2 * GIB;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Recommendation {
    pub setting: String,
    pub current: String,
    pub recommended: String,
    /// A nix.conf value (`None`: keep as is, the line is informative).
    pub value: Option<String>,
    pub impact: String,
    /// `simulation` (measured build graph) or `rule of thumb`.
    pub basis: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Advice {
    pub hardware: Hardware,
    pub effective: Vec<(String, String)>,
    pub recommendations: Vec<Recommendation>,
    /// Simulated build span by max-jobs (ns), when a profile was given.
    pub simulation: Vec<(usize, u64)>,
}

pub(crate) const SHOWN: &[&str] = &[
    "max-jobs",
    "cores",
    "sandbox",
    "keep-going",
    "auto-optimise-store",
    "min-free",
    "max-free",
    "substituters",
    "trusted-public-keys",
    "keep-outputs",
    "keep-derivations",
];

fn secs(ns: u64) -> String {
    format!("{:.2} s", ns as f64 / 1e9)
}

/// `min_free` = a suggested value from the store's growth (see `store::text::free_targets`).
pub(crate) fn advise(
    s: &NixSettings,
    hw: &Hardware,
    profile: Option<&BuildProfile>,
    free_targets: Option<(u64, u64)>,
) -> Advice {
    let mut recs = Vec::new();
    let text = |k: &str| s.text(k).unwrap_or_else(|| "?".into());
    let max_jobs = s.u64("max-jobs").unwrap_or(1) as usize;
    let cores = s.u64("cores").unwrap_or(0) as usize;
    let cpus = hw.logical_cpus.max(1);
    let mem_jobs = if hw.mem_total > 0 {
        (hw.mem_total / MEM_PER_JOB).max(1) as usize
    } else {
        cpus
    };
    let mut simulation = Vec::new();

    // max-jobs: simulation when a graph with durations exists.
    let sim_best = profile.and_then(|p| {
        let g = Graph::new(p);
        if g.dur.is_empty() || g.dur.iter().all(|&d| d == 0) {
            return None;
        }
        let prio: Vec<i128> = g.bottom_levels().iter().map(|&b| b as i128).collect();
        let upto = (2 * cpus).max(max_jobs).min(64);
        for m in 1..=upto {
            simulation.push((m, makespan(&g, m, &prio)));
        }
        // The model has no CPU contention, so more slots than CPUs always look free: choose
        // among 1..=CPUs (and what memory allows).
        let cap = cpus.min(mem_jobs).max(1);
        let best = simulation
            .iter()
            .filter(|r| r.0 <= cap)
            .map(|r| r.1)
            .min()?;
        let pick = simulation
            .iter()
            .find(|r| r.0 <= cap && r.1 as f64 <= best as f64 * 1.02)?
            .0;
        Some(pick)
    });
    if let Some(pick) = sim_best {
        let at = |m: usize| {
            simulation
                .iter()
                .find(|r| r.0 == m.max(1).min(simulation.len()))
                .map(|r| r.1)
                .unwrap_or(0)
        };
        let (now_t, new_t) = (at(max_jobs), at(pick));
        recs.push(Recommendation {
            setting: "max-jobs".into(),
            current: max_jobs.to_string(),
            recommended: pick.to_string(),
            value: (pick != max_jobs).then(|| pick.to_string()),
            impact: if pick == max_jobs {
                format!("already the fastest simulated setting ({})", secs(now_t))
            } else {
                format!(
                    "recorded build: {} → {} simulated ({:+.0}%)",
                    secs(now_t),
                    secs(new_t),
                    (new_t as f64 / now_t.max(1) as f64 - 1.0) * 100.0
                )
            },
            basis: format!(
                "simulation of the recorded build graph (1..={} CPUs)",
                cpus.min(mem_jobs).max(1)
            ),
        });
    } else {
        let pick = cpus.min(mem_jobs).max(1);
        recs.push(Recommendation {
            setting: "max-jobs".into(),
            current: max_jobs.to_string(),
            recommended: pick.to_string(),
            value: (pick != max_jobs).then(|| pick.to_string()),
            impact: if pick > max_jobs {
                format!(
                    "up to {pick} independent derivations build at once instead of {max_jobs} (≤ {:.1}× on wide graphs); record a build with `nixperf build` and pass --profile for a simulated number",
                    pick as f64 / max_jobs.max(1) as f64
                )
            } else {
                format!("{cpus} CPUs, {} GiB memory ({} jobs at 2 GiB each)", hw.mem_total / GIB, mem_jobs)
            },
            basis: "rule of thumb (no build profile)".into(),
        });
    }
    let jobs = recs[0].recommended.parse::<usize>().unwrap_or(1).max(1);
    // cores: share the CPUs among the jobs so max-jobs × cores ≈ CPUs (0 = all CPUs each).
    let want_cores = (cpus / jobs).max(1);
    let eff_cores = if cores == 0 { cpus } else { cores };
    recs.push(Recommendation {
        setting: "cores".into(),
        current: cores.to_string(),
        recommended: want_cores.to_string(),
        value: (eff_cores != want_cores).then(|| want_cores.to_string()),
        impact: if eff_cores * jobs > cpus {
            format!(
                "{jobs} jobs × {eff_cores} cores = {} threads on {cpus} CPUs oversubscribes",
                jobs * eff_cores
            )
        } else if eff_cores * jobs < cpus {
            format!(
                "{jobs} jobs × {eff_cores} cores leaves {} CPUs idle in single-derivation builds",
                cpus - jobs * eff_cores
            )
        } else {
            "max-jobs × cores matches the CPUs".into()
        },
        basis: "rule of thumb".into(),
    });
    if s.bool("sandbox") == Some(false) {
        recs.push(Recommendation {
            setting: "sandbox".into(),
            current: "false".into(),
            recommended: "true".into(),
            value: Some("true".into()),
            impact: "builds cannot see undeclared inputs (reproducibility); costs a few ms per build to set up namespaces".into(),
            basis: "correctness".into(),
        });
    }
    if s.bool("keep-going") == Some(false) {
        recs.push(Recommendation {
            setting: "keep-going".into(),
            current: "false".into(),
            recommended: "true".into(),
            value: Some("true".into()),
            impact:
                "one failing derivation no longer stops the independent ones: fewer rebuild rounds"
                    .into(),
            basis: "rule of thumb".into(),
        });
    }
    if s.bool("auto-optimise-store") == Some(false) {
        recs.push(Recommendation {
            setting: "auto-optimise-store".into(),
            current: "false".into(),
            recommended: "true".into(),
            value: Some("true".into()),
            impact: "new paths are hard-linked as they are added; `nixperf store` gives the exact saving of `nix-store --optimise` today".into(),
            basis: "measured by nixperf store".into(),
        });
    }
    if let Some((min, max)) = free_targets {
        let cur_min = s.u64("min-free").unwrap_or(0);
        if cur_min == 0 {
            recs.push(Recommendation {
                setting: "min-free".into(),
                current: "0".into(),
                recommended: min.to_string(),
                value: Some(min.to_string()),
                impact: format!("nix collects garbage during builds when less than {} GiB is free, instead of failing with a full disk", min / GIB),
                basis: "store growth of the last 7 days".into(),
            });
            recs.push(Recommendation {
                setting: "max-free".into(),
                current: text("max-free"),
                recommended: max.to_string(),
                value: Some(max.to_string()),
                impact: format!(
                    "each automatic collection stops after freeing {} GiB",
                    max / GIB
                ),
                basis: "4 × min-free".into(),
            });
        }
    }
    Advice {
        hardware: hw.clone(),
        effective: SHOWN.iter().map(|k| (k.to_string(), text(k))).collect(),
        recommendations: recs,
        simulation,
    }
}
