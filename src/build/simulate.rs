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
//! Durations measured with N builds sharing the CPUs are used as-is, so for CPU-bound builds the
//! times at higher `max-jobs` are optimistic.

use super::graph::Graph;
use super::model::BuildProfile;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Makespan of list scheduling with `slots` slots; `prio[v]` higher starts first.
pub fn makespan(g: &Graph, slots: usize, prio: &[i128]) -> u64 {
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
pub struct SimRow {
    pub max_jobs: usize,
    pub critical_path_order_ns: u64,
    pub observed_order_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
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

pub fn simulate(p: &BuildProfile) -> Simulation {
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
