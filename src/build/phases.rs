//! Wall-time phases of a build command: evaluation, querying substituters, fetching, building,
//! copying.
//!
//! Overlaps are real (Nix substitutes one path while it builds another), so each phase gets two
//! numbers:
//! - `busy_ns`: wall time during which at least one activity of the phase ran (the union of its
//!   intervals). Shares of busy time can add up to more than 100 %.
//! - `exclusive_ns`: every instant is charged to exactly one phase, the first active one in the
//!   order building > fetching > copying > querying > evaluation; instants with none of them are
//!   `other`
//!   (Nix start-up, planning, locks, waiting). Exclusive times add up to the wall time exactly.
//!
//! Evaluation is [0, first realisation activity) (see `ingest::ends_evaluation`); querying is
//! substituter lookups: narinfo queries (QueryPathInfo) and the `nix-cache-info` / `.narinfo`
//! downloads, which is where an unreachable cache spends its retries — no contents arrive, so
//! it is not fetching; fetching is substitutions and every other file transfer (NARs, fetchurl);
//! building is Build activities; copying is CopyPath activities outside substitutions.

use super::model::BuildProfile;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Phase {
    Building,
    Fetching,
    Copying,
    Querying,
    Evaluation,
    Other,
}

impl Phase {
    pub(crate) const ALL: [Phase; 6] = [
        Phase::Evaluation,
        Phase::Querying,
        Phase::Fetching,
        Phase::Building,
        Phase::Copying,
        Phase::Other,
    ];
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::Building => "building",
            Phase::Fetching => "fetching",
            Phase::Copying => "copying",
            Phase::Querying => "querying substituters",
            Phase::Evaluation => "evaluation",
            Phase::Other => "other",
        }
    }
    /// Lower wins when phases overlap.
    fn rank(self) -> usize {
        match self {
            Phase::Building => 0,
            Phase::Fetching => 1,
            Phase::Copying => 2,
            Phase::Querying => 3,
            Phase::Evaluation => 4,
            Phase::Other => 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PhaseTime {
    pub phase: Phase,
    pub busy_ns: u64,
    pub exclusive_ns: u64,
    /// exclusive / wall.
    pub share: f64,
}

pub(crate) fn intervals(p: &BuildProfile, phase: Phase) -> Vec<(u64, u64)> {
    match phase {
        Phase::Evaluation => {
            let end = p.meta.eval_end_ns.unwrap_or(p.meta.wall_ns);
            vec![(0, end)]
        }
        Phase::Fetching => p
            .substitutions
            .iter()
            .map(|s| (s.start_ns, s.end_ns))
            .chain(
                p.transfers
                    .iter()
                    .filter(|t| !t.is_query())
                    .map(|t| (t.start_ns, t.end_ns)),
            )
            .collect(),
        Phase::Querying => p
            .queries
            .iter()
            .map(|q| (q.start_ns, q.end_ns))
            .chain(
                p.transfers
                    .iter()
                    .filter(|t| t.is_query())
                    .map(|t| (t.start_ns, t.end_ns)),
            )
            .collect(),
        Phase::Building => p
            .derivations
            .iter()
            .map(|d| (d.start_ns, d.end_ns))
            .collect(),
        Phase::Copying => p.copies.iter().map(|c| (c.start_ns, c.end_ns)).collect(),
        Phase::Other => vec![],
    }
}

/// Total length of the union of intervals.
pub(crate) fn union_len(mut iv: Vec<(u64, u64)>) -> u64 {
    iv.retain(|(a, b)| b > a);
    iv.sort_unstable();
    let (mut total, mut cur) = (0u64, None::<(u64, u64)>);
    for (a, b) in iv {
        cur = match cur {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    total + cur.map_or(0, |(a, b)| b - a)
}

pub(crate) fn phases(p: &BuildProfile) -> Vec<PhaseTime> {
    let wall = p.meta.wall_ns;
    // Sweep over interval boundaries with a count of active intervals per phase.
    let mut edges: Vec<(u64, i32, usize)> = Vec::new();
    let mut busy = [0u64; 6];
    for ph in Phase::ALL {
        let iv = intervals(p, ph);
        for &(a, b) in &iv {
            if b > a {
                edges.push((a.min(wall), 1, ph.rank()));
                edges.push((b.min(wall), -1, ph.rank()));
            }
        }
        busy[ph.rank()] = union_len(iv);
    }
    edges.sort_unstable();
    let mut excl = [0u64; 6];
    let mut active = [0i32; 6];
    let mut t = 0u64;
    for (at, delta, rank) in edges {
        let top = (0..5).find(|&r| active[r] > 0).unwrap_or(5);
        excl[top] += at - t;
        t = at;
        active[rank] += delta;
    }
    excl[5] += wall.saturating_sub(t);
    busy[5] = excl[5];
    Phase::ALL
        .iter()
        .map(|&ph| PhaseTime {
            phase: ph,
            busy_ns: busy[ph.rank()],
            exclusive_ns: excl[ph.rank()],
            share: if wall == 0 {
                0.0
            } else {
                excl[ph.rank()] as f64 / wall as f64
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn union_merges_overlaps() {
        assert_eq!(union_len(vec![(0, 10), (5, 15), (20, 25), (3, 4)]), 20);
        assert_eq!(union_len(vec![]), 0);
    }
}
