//! Simulated build time for other `max-jobs` values, from the recorded graph and durations.
//!
//! Model: list scheduling. `max-jobs` identical slots; a derivation is ready when all its inputs
//! are built; whenever a slot is free, the ready derivation with the highest priority starts,
//! and it takes exactly its measured wall time (no slowdown from sharing CPUs, no scheduling
//! overhead, substitutions not modelled). Two priorities:
//! - `critical_path`: longest remaining path first (bottom level), the classic HLFET heuristic,
//!   a good schedule Nix could reach;
//! - `observed`: the order Nix actually started builds in, which reproduces this run's schedule
//!   and so checks the model against the measured build span.
//!
//! Durations measured with N builds sharing the CPUs are used as-is, so for CPU-bound builds the
//! times at higher `max-jobs` are optimistic. `simulate_cores` models CPUs too: each build's
//! measured CPU work scales with `cores` (Amdahl), and builds share the machine's CPUs.

use super::graph::Graph;
use super::model::BuildProfile;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Makespan of list scheduling with `slots` slots; `prio[v]` higher starts first.
pub(crate) fn makespan(g: &Graph, slots: usize, prio: &[i128]) -> u64 {
    let n = g.dur.len();
    let slots = slots.max(1);
    let mut missing: Vec<usize> = g.preds.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<(i128, Reverse<usize>)> = (0..n)
        .filter(|&v| missing[v] == 0)
        .map(|v| (prio[v], Reverse(v)))
        .collect();
    let mut running: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let (mut t, mut end) = (0u64, 0u64);
    loop {
        while running.len() < slots {
            let Some((_, Reverse(v))) = ready.pop() else {
                break;
            };
            running.push(Reverse((t + g.dur[v], v)));
        }
        let Some(Reverse((at, v))) = running.pop() else {
            break;
        };
        t = at;
        end = end.max(at);
        for &s in &g.succs[v] {
            missing[s] -= 1;
            if missing[s] == 0 {
                ready.push((prio[s], Reverse(s)));
            }
        }
    }
    end
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SimRow {
    pub max_jobs: usize,
    pub critical_path_order_ns: u64,
    pub observed_order_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Simulation {
    pub rows: Vec<SimRow>,
    /// Lower bound for any `max-jobs`: the critical path.
    pub critical_path_ns: u64,
    /// Most builds that ran at the same time in the recorded run.
    pub observed_concurrency: usize,
    /// First build start to last build end, measured.
    pub measured_build_span_ns: u64,
    /// The model at the observed concurrency in the observed order: should match the span.
    pub model_at_observed_ns: u64,
}

pub(crate) fn simulate(p: &BuildProfile) -> Simulation {
    let g = Graph::new(p);
    let n = g.dur.len();
    let bl = g.bottom_levels();
    let cp: Vec<i128> = bl.iter().map(|&b| b as i128).collect();
    let obs: Vec<i128> = p
        .derivations
        .iter()
        .map(|d| -(d.start_ns as i128))
        .collect();
    let mut rows = Vec::new();
    let mut m = 1;
    loop {
        rows.push(SimRow {
            max_jobs: m,
            critical_path_order_ns: makespan(&g, m, &cp),
            observed_order_ns: makespan(&g, m, &obs),
        });
        if m >= n.max(1) || m >= 64 {
            break;
        }
        m *= 2;
    }
    let conc = observed_concurrency(p);
    let span = match (
        p.derivations.iter().map(|d| d.start_ns).min(),
        p.derivations.iter().map(|d| d.end_ns).max(),
    ) {
        (Some(a), Some(b)) => b - a,
        _ => 0,
    };
    Simulation {
        rows,
        critical_path_ns: bl.iter().copied().max().unwrap_or(0),
        observed_concurrency: conc,
        measured_build_span_ns: span,
        model_at_observed_ns: makespan(&g, conc.max(1), &obs),
    }
}

fn observed_concurrency(p: &BuildProfile) -> usize {
    let mut ev: Vec<(u64, i32)> = Vec::new();
    for d in &p.derivations {
        ev.push((d.start_ns, 1));
        ev.push((d.end_ns, -1));
    }
    // Ends before starts at the same instant: back-to-back builds do not overlap.
    ev.sort_unstable();
    let (mut cur, mut max) = (0i32, 0i32);
    for (_, d) in ev {
        cur += d;
        max = max.max(cur);
    }
    max as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::model::{Derivation, Outcome};
    fn graph(dur: &[u64], edges: &[(usize, usize)]) -> Graph {
        let n = dur.len();
        let (mut preds, mut succs) = (vec![vec![]; n], vec![vec![]; n]);
        for &(a, b) in edges {
            succs[a].push(b);
            preds[b].push(a);
        }
        Graph {
            dur: dur.to_vec(),
            preds,
            succs,
            topo: (0..n).collect(),
        }
    }

    fn build(name: &str, wall_s: u64, cpu_s: Option<u64>, demand: f64, active: f64) -> Derivation {
        Derivation {
            drv_path: format!("/nix/store/{name}.drv"),
            name: name.into(),
            start_ns: 0,
            end_ns: wall_s * S,
            phases: vec![],
            log_lines: 0,
            outcome: Outcome::Built,
            machine: String::new(),
            cpu_ns: cpu_s.map(|c| c * S),
            cores: cpu_s.map(|_| 2),
            demand: cpu_s.map(|_| demand),
            active_share: cpu_s.map(|_| active),
        }
    }
    const S: u64 = 1_000_000_000;

    #[test]
    fn cores_scale_cpu_work_and_share_the_machine() {
        // Two independent builds that kept 2 threads runnable at cores = 2 for 4 s (8 s CPU):
        // fully parallel (f = 1). A 4-CPU machine.
        let mut p = crate::build::ingest::ingest_text("");
        p.meta.cpus = 4;
        p.derivations = vec![
            build("x", 4, Some(8), 2.0, 1.0),
            build("y", 4, Some(8), 2.0, 1.0),
        ];
        let c = simulate_cores(&p, &[1, 2], None).unwrap();
        assert_eq!(c.cores_values, [1, 2, 4]);
        let secs = |v: &[u64]| v.iter().map(|&x| x as f64 / 1e9).collect::<Vec<_>>();
        // max-jobs 1: 16, 8, 4 s; max-jobs 2: 8, 4 s, and at cores 4 both want 4 CPUs of 4:
        // each runs at half speed, 4 s.
        assert_eq!(secs(&c.rows[0].1), [16.0, 8.0, 4.0]);
        assert_eq!(secs(&c.rows[1].1), [8.0, 4.0, 4.0]);
        assert_eq!(c.model_at_recorded_ns, 4 * S);

        // Half the work parallel at cores 2 (1.5 threads runnable → f = 2/3), half the wall time
        // idle: idle stays, work 3 s: cores 1 → 2 + 3 = 5 s; cores 4 → 2 + 3 × (1/3 + 1/6).
        p.derivations = vec![build("z", 4, Some(3), 1.5, 0.5)];
        let m = BuildModel::new(&p.derivations[0], 4);
        assert!((m.parallel_fraction - 2.0 / 3.0).abs() < 1e-9);
        let c = simulate_cores(&p, &[1], None).unwrap();
        assert_eq!(secs(&c.rows[0].1), [5.0, 4.0, 3.5]);

        // Sleeping builds do not scale; unmeasured ones keep their wall time.
        p.derivations = vec![
            build("s", 2, Some(0), 0.0, 0.0),
            build("u", 3, None, 0.0, 0.0),
        ];
        let c = simulate_cores(&p, &[1, 2], None).unwrap();
        assert_eq!(secs(&c.rows[0].1), [5.0, 5.0, 5.0]);
        assert_eq!(secs(&c.rows[1].1), [3.0, 3.0, 3.0]);
        assert_eq!((c.measured_builds, c.builds), (1, 2));
        // Another machine: the same builds on 8 CPUs get cores values up to 8.
        p.derivations = vec![build("x", 4, Some(8), 2.0, 1.0)];
        let c = simulate_cores(&p, &[1], Some(8)).unwrap();
        assert_eq!(c.cores_values, [1, 2, 4, 8]);
        assert_eq!(secs(&c.rows[0].1), [8.0, 4.0, 2.0, 1.0]);
        // No measurement at all: no table.
        p.derivations = vec![build("u", 3, None, 0.0, 0.0)];
        assert!(simulate_cores(&p, &[1], None).is_none());
    }

    #[test]
    fn chain_beside_wide_leaves() {
        // c1 -> c2 -> c3 -> top, w1 -> top, w2 -> top; 1 s each on the chain, 2 s leaves.
        let g = graph(
            &[1, 1, 1, 1, 2, 2],
            &[(0, 1), (1, 2), (2, 3), (4, 3), (5, 3)],
        );
        let bl: Vec<i128> = g.bottom_levels().iter().map(|&b| b as i128).collect();
        assert_eq!(makespan(&g, 1, &bl), 8);
        assert_eq!(makespan(&g, 2, &bl), 5);
        assert_eq!(makespan(&g, 4, &bl), 4);
        // Leaves first (what Nix 2.8 did here) costs a second at 2 slots.
        let leaves_first = [0, -1, -2, -3, 10, 9];
        assert_eq!(makespan(&g, 2, &leaves_first), 6);
    }
}

/// How one build is modelled for the `cores` simulation (see `simulate_cores`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BuildModel {
    /// CPU work (ns of CPU time), measured.
    pub work_ns: u64,
    /// Wall time the CPU work does not explain (I/O, sleep, downloads, waiting for a CPU): does
    /// not scale with cores.
    pub idle_ns: u64,
    /// Amdahl parallel fraction of the work, from the runnable threads seen at `cores0`.
    pub parallel_fraction: f64,
    /// `cores` of the recorded build.
    pub cores0: u32,
    /// False when the build had no CPU measurement: it then keeps its recorded wall time and
    /// is assumed to use one CPU.
    pub measured: bool,
    pub wall_ns: u64,
}

impl BuildModel {
    pub(crate) fn new(d: &super::model::Derivation, machine_cpus: u32) -> BuildModel {
        let wall = d.wall_ns();
        let cores0 = match d.cores {
            Some(0) | None => machine_cpus.max(1),
            Some(c) => c,
        };
        let Some(work) = d.cpu_ns else {
            return BuildModel {
                work_ns: 0,
                idle_ns: 0,
                parallel_fraction: 0.0,
                cores0,
                measured: false,
                wall_ns: wall,
            };
        };
        // Amdahl at the recorded cores: a build that keeps p threads runnable on cores0 has
        // speed-up p = 1 / ((1 - f) + f / cores0), so f = (1 - 1/p) / (1 - 1/cores0).
        let p = d.demand.unwrap_or(1.0).clamp(1.0, cores0 as f64);
        let f = if cores0 > 1 {
            ((1.0 - 1.0 / p) / (1.0 - 1.0 / cores0 as f64)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        // Idle: the wall time the CPU work does not explain at p CPUs (I/O, sleep, downloads,
        // and — on a busy machine — waiting for a CPU, which makes the estimate conservative).
        let idle = wall.saturating_sub((work as f64 / p) as u64);
        BuildModel {
            work_ns: work,
            idle_ns: idle,
            parallel_fraction: f,
            cores0,
            measured: true,
            wall_ns: wall,
        }
    }

    /// Speed-up of the work on `cores` over one core (Amdahl).
    pub(crate) fn speedup(&self, cores: u32) -> f64 {
        1.0 / ((1.0 - self.parallel_fraction) + self.parallel_fraction / cores.max(1) as f64)
    }

    /// Duration on a machine with CPUs to spare, and the CPUs it keeps busy on average.
    pub(crate) fn at(&self, cores: u32) -> (f64, f64) {
        if !self.measured {
            return (self.wall_ns as f64, 1.0);
        }
        let compute = self.work_ns as f64 / self.speedup(cores);
        let dur = self.idle_ns as f64 + compute;
        let demand = if dur > 0.0 {
            self.work_ns as f64 / dur
        } else {
            0.0
        };
        (dur, demand)
    }
}

/// Makespan with `slots` builds at a time, each given `cores`, on `cpus` CPUs shared fairly:
/// while the running builds ask for more CPUs than exist, all of them progress at
/// cpus / demand of their own speed (processor sharing). Critical-path order.
pub(crate) fn makespan_shared(
    g: &Graph,
    models: &[BuildModel],
    slots: usize,
    cores: u32,
    cpus: f64,
) -> u64 {
    let n = models.len();
    let at: Vec<(f64, f64)> = models.iter().map(|m| m.at(cores)).collect();
    // Priorities from the modelled durations (bottom levels).
    let mut bl = vec![0f64; n];
    for &v in g.topo.iter().rev() {
        bl[v] = at[v].0 + g.succs[v].iter().map(|&s| bl[s]).fold(0.0, f64::max);
    }
    let mut missing: Vec<usize> = g.preds.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&v| missing[v] == 0).collect();
    // (node, remaining fraction of its work)
    let mut running: Vec<(usize, f64)> = Vec::new();
    let mut t = 0f64;
    let cap = cpus.max(1e-3);
    loop {
        while running.len() < slots.max(1) && !ready.is_empty() {
            let k = (0..ready.len())
                .max_by(|&a, &b| {
                    bl[ready[a]]
                        .total_cmp(&bl[ready[b]])
                        .then(ready[b].cmp(&ready[a]))
                })
                .expect("non-empty");
            running.push((ready.swap_remove(k), 1.0));
        }
        if running.is_empty() {
            break;
        }
        let demand: f64 = running.iter().map(|&(v, _)| at[v].1).sum();
        let rate = if demand > cap { cap / demand } else { 1.0 };
        // Time until the first running build completes at this rate.
        let (k, dt) = running
            .iter()
            .enumerate()
            .map(|(k, &(v, r))| (k, r * at[v].0 / rate))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("non-empty");
        t += dt;
        for (v, r) in running.iter_mut() {
            if at[*v].0 > 0.0 {
                *r -= dt * rate / at[*v].0;
            }
        }
        let (done, _) = running.swap_remove(k);
        // Others that finish at the same instant (rounding) complete now too.
        let mut finished = vec![done];
        running.retain(|&(v, r)| {
            if r <= 1e-9 {
                finished.push(v);
                false
            } else {
                true
            }
        });
        for v in finished {
            for &s in &g.succs[v] {
                missing[s] -= 1;
                if missing[s] == 0 {
                    ready.push(s);
                }
            }
        }
    }
    t.round() as u64
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CoresSimulation {
    /// CPUs of the simulated machine (the recorded one's unless asked otherwise).
    pub cpus: u32,
    pub cores_values: Vec<u32>,
    /// One row per max-jobs value (as in `Simulation::rows`), one column per cores value.
    pub rows: Vec<(usize, Vec<u64>)>,
    /// Builds with a CPU measurement / all builds.
    pub measured_builds: usize,
    /// CPU of build processes not tied to a build (shorter than one sampler tick).
    pub unattributed_cpu_ns: u64,
    pub builds: usize,
    /// The model at the recorded settings (observed concurrency, each build's own cores).
    pub model_at_recorded_ns: u64,
    /// CPU time the builds got / CPU time their runnable threads asked for, in the recording.
    pub cpu_share_received: f64,
    pub models: Vec<BuildModel>,
}

/// The `cores` × `max-jobs` table on the recorded machine, or on one with `cpus` CPUs; `None`
/// without any per-build CPU measurement (a replayed plain log, builds done by a daemon).
pub(crate) fn simulate_cores(
    p: &BuildProfile,
    max_jobs: &[usize],
    cpus: Option<u32>,
) -> Option<CoresSimulation> {
    let measured = p.derivations.iter().filter(|d| d.cpu_ns.is_some()).count();
    if measured == 0 {
        return None;
    }
    let recorded_cpus = if p.meta.cpus > 0 {
        p.meta.cpus
    } else {
        p.derivations
            .iter()
            .filter_map(|d| d.cores)
            .max()
            .unwrap_or(1)
    };
    let cpus = cpus.unwrap_or(recorded_cpus).max(1);
    let g = Graph::new(p);
    let models: Vec<BuildModel> = p
        .derivations
        .iter()
        .map(|d| BuildModel::new(d, recorded_cpus))
        .collect();
    let mut cores_values = vec![1u32];
    while *cores_values.last().expect("non-empty") < cpus {
        let next = (cores_values.last().expect("non-empty") * 2).min(cpus);
        cores_values.push(next);
    }
    let rows = max_jobs
        .iter()
        .map(|&j| {
            (
                j,
                cores_values
                    .iter()
                    .map(|&c| makespan_shared(&g, &models, j, c, cpus as f64))
                    .collect(),
            )
        })
        .collect();
    // The recorded settings: the observed concurrency, the builds' own cores (one value in a
    // run; the largest if they differ). Compare with the measured build span.
    let conc = observed_concurrency(p).max(1);
    let c0 = models.iter().map(|m| m.cores0).max().unwrap_or(1);
    let model_at_recorded_ns = makespan_shared(&g, &models, conc, c0, recorded_cpus as f64);
    // What the builds got of what they asked for: CPU time over runnable threads × busy wall
    // time (sampled). Below 1 when other work shared the machine: their wait for a CPU then
    // counts as idle time, and the gains from more cores are underestimated.
    let (got, wanted) = p.derivations.iter().fold((0f64, 0f64), |(g, w), d| {
        match (d.cpu_ns, d.demand, d.active_share) {
            (Some(c), Some(dm), Some(a)) => (g + c as f64, w + dm * a * d.wall_ns() as f64),
            _ => (g, w),
        }
    });
    let cpu_share_received = if wanted > 0.0 {
        (got / wanted).min(1.0)
    } else {
        1.0
    };
    Some(CoresSimulation {
        cpus,
        cores_values,
        rows,
        measured_builds: measured,
        unattributed_cpu_ns: p.meta.unattributed_cpu_ns,
        builds: p.derivations.len(),
        model_at_recorded_ns,
        cpu_share_received,
        models,
    })
}
