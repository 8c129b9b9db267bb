//! Build-time prediction: what a command would build (its `--dry-run` list), each derivation's
//! recorded duration (same derivation, else the same name-version, else the same `pname` across
//! versions, newest record first), and the list-scheduling model of `simulate` for `max-jobs`
//! slots on the derivation graph read from the `.drv` files.

use super::graph::{Graph, input_drvs};
use super::model::{BuildProfile, Outcome, store_name};
use super::simulate::makespan;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::path::Path;

/// Durations learnt from recorded builds. Add profiles newest first: the first record wins.
#[derive(Debug, Default)]
pub(crate) struct Known {
    by_drv: FxHashMap<String, u64>,
    by_name: FxHashMap<String, u64>,
    by_pname: FxHashMap<String, u64>,
    /// Wall time outside the builds (evaluation, queries, copying) of the newest profile.
    pub overhead_ns: Option<u64>,
    pub profiles: usize,
}

/// `hello-2.12.1` → `hello`: the name up to the first `-` that starts a version.
pub(crate) fn pname(name: &str) -> &str {
    let b = name.as_bytes();
    (1..b.len())
        .find(|&i| b[i - 1] == b'-' && b[i].is_ascii_digit())
        .map_or(name, |i| &name[..i - 1])
}

impl Known {
    pub(crate) fn add(&mut self, p: &BuildProfile) {
        let built: Vec<_> = p
            .derivations
            .iter()
            .filter(|d| d.outcome == Outcome::Built && d.end_ns > d.start_ns)
            .collect();
        if built.is_empty() {
            return;
        }
        self.profiles += 1;
        for d in &built {
            let t = d.wall_ns();
            self.by_drv.entry(d.drv_path.clone()).or_insert(t);
            self.by_name.entry(d.name.clone()).or_insert(t);
            self.by_pname.entry(pname(&d.name).to_owned()).or_insert(t);
        }
        if self.overhead_ns.is_none() && p.meta.wall_ns > 0 {
            let first = built.iter().map(|d| d.start_ns).min().unwrap_or(0);
            let last = built.iter().map(|d| d.end_ns).max().unwrap_or(0);
            self.overhead_ns = Some(p.meta.wall_ns.saturating_sub(last - first));
        }
    }

    fn lookup(&self, drv: &str) -> (Option<u64>, &'static str) {
        let name = store_name(drv);
        if let Some(&t) = self.by_drv.get(drv) {
            (Some(t), "same derivation")
        } else if let Some(&t) = self.by_name.get(name) {
            (Some(t), "same name and version")
        } else if let Some(&t) = self.by_pname.get(pname(name)) {
            (Some(t), "same pname, other version")
        } else {
            (None, "never built here")
        }
    }
}

/// The derivations listed under "… will be built:" in `nix-build --dry-run` / `nix build
/// --dry-run` output (Nix 2.8 and later print one indented store path per line).
pub(crate) fn to_build(dry_run: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in dry_run.lines() {
        if line.contains("will be built:") {
            inside = true;
        } else if inside {
            let t = line.trim();
            if line.starts_with(char::is_whitespace) && t.starts_with('/') && t.ends_with(".drv") {
                out.push(t.to_owned());
            } else {
                inside = false;
            }
        }
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Predicted {
    pub drv_path: String,
    pub name: String,
    pub duration_ns: Option<u64>,
    pub basis: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Prediction {
    pub max_jobs: usize,
    pub derivations: Vec<Predicted>,
    /// Derivations without any record (counted as 0 s: the prediction is a lower bound then).
    pub unknown: usize,
    pub critical_path_ns: u64,
    /// First build start to last build end, by the model.
    pub build_span_ns: u64,
    /// Evaluation and other non-build time, as recorded.
    pub overhead_ns: u64,
    pub total_ns: u64,
}

pub(crate) fn predict(drvs: &[String], known: &Known, max_jobs: usize) -> Prediction {
    let derivations: Vec<Predicted> = drvs
        .iter()
        .map(|d| {
            let (t, basis) = known.lookup(d);
            Predicted {
                drv_path: d.clone(),
                name: store_name(d).to_owned(),
                duration_ns: t,
                basis,
            }
        })
        .collect();
    let index: FxHashMap<&str, u32> = drvs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.as_str(), i as u32))
        .collect();
    let mut edges = Vec::new();
    for (i, d) in drvs.iter().enumerate() {
        for inp in input_drvs(Path::new(d)).unwrap_or_default() {
            if let Some(&j) = index.get(inp.as_str()) {
                edges.push((j, i as u32));
            }
        }
    }
    let g = Graph::from_parts(
        derivations
            .iter()
            .map(|p| p.duration_ns.unwrap_or(0))
            .collect(),
        &edges,
    );
    let bl = g.bottom_levels();
    let prio: Vec<i128> = bl.iter().map(|&b| b as i128).collect();
    let span = makespan(&g, max_jobs, &prio);
    let overhead = known.overhead_ns.unwrap_or(0);
    Prediction {
        max_jobs,
        unknown: derivations
            .iter()
            .filter(|p| p.duration_ns.is_none())
            .count(),
        derivations,
        critical_path_ns: bl.iter().copied().max().unwrap_or(0),
        build_span_ns: span,
        overhead_ns: overhead,
        total_ns: span + overhead,
    }
}

/// max-jobs as a build command sets it (`--option max-jobs N`, `-j N`, `--max-jobs N`).
pub(crate) fn max_jobs_in(cmd: &[String]) -> Option<usize> {
    let n = |s: &str| s.parse::<usize>().ok();
    let option = cmd
        .windows(3)
        .find(|w| w[0] == "--option" && w[1] == "max-jobs" && n(&w[2]).is_some())
        .and_then(|w| n(&w[2]));
    option.or_else(|| {
        cmd.windows(2)
            .find(|w| (w[0] == "-j" || w[0] == "--max-jobs") && n(&w[1]).is_some())
            .and_then(|w| n(&w[1]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_jobs_from_the_command_line() {
        let v = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(max_jobs_in(&v("nix-build x --option max-jobs 3")), Some(3));
        assert_eq!(max_jobs_in(&v("nix-build -j 4 x")), Some(4));
        assert_eq!(max_jobs_in(&v("nix build --max-jobs 5 .#x")), Some(5));
        // `--option` wins over `-j`; `auto` is nix's to resolve.
        assert_eq!(
            max_jobs_in(&v("nix-build -j 2 --option max-jobs 6")),
            Some(6)
        );
        assert_eq!(max_jobs_in(&v("nix-build -j auto x")), None);
        assert_eq!(max_jobs_in(&v("nix-build x")), None);
    }

    #[test]
    fn pnames() {
        assert_eq!(pname("hello-2.12.1"), "hello");
        assert_eq!(pname("python3.11-foo-1.0"), "python3.11-foo");
        assert_eq!(pname("diamond-a"), "diamond-a");
        assert_eq!(pname("x"), "x");
    }

    #[test]
    fn dry_run_list() {
        let out = "these derivations will be built:\n  /nix/store/aaa-x.drv\n  /nix/store/bbb-y.drv\nthese paths will be fetched (0.1 MiB download):\n  /nix/store/ccc-z\n";
        assert_eq!(
            to_build(out),
            vec!["/nix/store/aaa-x.drv", "/nix/store/bbb-y.drv"]
        );
        assert!(to_build("nothing").is_empty());
    }
}
