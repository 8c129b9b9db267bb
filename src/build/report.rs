//! The build report: every analysis of a profile in one serializable value, and its text
//! rendering (terminal tables, comfy-table as in `src/output/`).

use super::graph::{self, GraphSummary};
use super::model::{BuildProfile, Outcome, Status, Warnings};
use super::phases::{self, PhaseTime, union_len};
use super::resources::{self, ResourceSummary};
use super::simulate::{self, CoresSimulation, Simulation};
use crate::units::{fmt_bytes, fmt_ns, fmt_share};
use comfy_table::{Cell, CellAlignment, Table};
use serde::Serialize;
use std::fmt::Write;

pub(crate) const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DrvRow {
    pub name: String,
    pub drv_path: String,
    pub wall_ns: u64,
    pub log_lines: u64,
    pub outcome: Outcome,
    /// (phase, duration): a phase lasts until the next one starts or the build ends.
    pub phases: Vec<(String, u64)>,
    /// CPU time of its processes, when measured (a live run).
    pub cpu_ns: Option<u64>,
    /// Average runnable threads while busy (the CPUs it could use).
    pub demand: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SubstituterRow {
    pub url: String,
    /// Distinct store paths looked up (narinfo) on this substituter.
    pub queried: usize,
    /// Distinct store paths substituted from it.
    pub substituted: usize,
    /// substituted / (queried ∪ substituted). A path whose narinfo Nix answered from its local
    /// cache (`~/.cache/nix/binary-cache-v6.sqlite`) is substituted without a logged lookup;
    /// remembered misses are not logged at all, so the rate can only be too high for them.
    pub hit_rate: f64,
    pub failed: usize,
    pub bytes: u64,
    /// Wall time with at least one substitution from it running.
    pub busy_ns: u64,
    /// bytes / busy time.
    pub bytes_per_sec: f64,
    /// Wall time with at least one lookup on it running (narinfo queries, `nix-cache-info`).
    pub query_ns: u64,
    /// Failed downloads from it ("unable to download", retries included).
    pub download_errors: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BuildReport {
    pub report_version: u32,
    pub status: Status,
    pub reason: String,
    pub exit_code: Option<i32>,
    pub command: Vec<String>,
    pub wall_ns: u64,
    pub timed: bool,
    pub phases: Vec<PhaseTime>,
    pub builds: usize,
    pub builds_failed: usize,
    pub builds_unfinished: usize,
    pub slowest: Vec<DrvRow>,
    pub substitutions: usize,
    pub substituters: Vec<SubstituterRow>,
    pub copies: usize,
    pub graph: GraphSummary,
    pub simulation: Simulation,
    /// `cores` × `max-jobs`, when builds have CPU measurements.
    pub cores_simulation: Option<CoresSimulation>,
    pub warnings: Warnings,
    pub errors: Vec<String>,
    pub resources: Option<ResourceSummary>,
}

pub(crate) fn build_report(p: &BuildProfile, top: usize) -> BuildReport {
    build_report_for(p, top, None)
}

/// The report, with the `cores` simulation on a machine with `sim_cpus` CPUs when given.
pub(crate) fn build_report_for(p: &BuildProfile, top: usize, sim_cpus: Option<u32>) -> BuildReport {
    let mut rows: Vec<DrvRow> = p
        .derivations
        .iter()
        .map(|d| DrvRow {
            name: d.name.clone(),
            drv_path: d.drv_path.clone(),
            wall_ns: d.wall_ns(),
            log_lines: d.log_lines,
            outcome: d.outcome,
            phases: d
                .phases
                .iter()
                .enumerate()
                .map(|(i, (name, t))| {
                    let end = d.phases.get(i + 1).map_or(d.end_ns, |n| n.1);
                    (name.clone(), end.saturating_sub(*t))
                })
                .collect(),
            cpu_ns: d.cpu_ns,
            demand: d.demand,
        })
        .collect();
    rows.sort_by(|a, b| b.wall_ns.cmp(&a.wall_ns).then_with(|| a.name.cmp(&b.name)));
    rows.truncate(top);
    let count = |o| p.derivations.iter().filter(|d| d.outcome == o).count();
    let sim = simulate::simulate(p);
    BuildReport {
        report_version: REPORT_VERSION,
        status: p.meta.status,
        reason: p.meta.reason.clone(),
        exit_code: p.meta.exit_code,
        command: p.meta.command.clone(),
        wall_ns: p.meta.wall_ns,
        timed: p.meta.timed,
        phases: phases::phases(p),
        builds: p.derivations.len(),
        builds_failed: count(Outcome::Failed),
        builds_unfinished: count(Outcome::Unfinished),
        slowest: rows,
        substitutions: p.substitutions.len(),
        substituters: substituters(p),
        copies: p.copies.len(),
        graph: graph::summarize(p, top),
        cores_simulation: simulate::simulate_cores(
            p,
            &sim.rows.iter().map(|r| r.max_jobs).collect::<Vec<_>>(),
            sim_cpus,
        ),
        simulation: sim,
        warnings: p.warnings.clone(),
        errors: p.errors.clone(),
        resources: resources::summarize(p),
    }
}

fn substituters(p: &BuildProfile) -> Vec<SubstituterRow> {
    use std::collections::{BTreeMap, HashSet};
    let mut urls: BTreeMap<&str, (HashSet<&str>, HashSet<&str>)> = BTreeMap::new();
    for q in &p.queries {
        urls.entry(&q.substituter)
            .or_default()
            .0
            .insert(&q.store_path);
    }
    for s in &p.substitutions {
        urls.entry(&s.substituter)
            .or_default()
            .1
            .insert(&s.store_path);
    }
    for t in p.transfers.iter().filter(|t| t.is_query()) {
        urls.entry(t.cache_url()).or_default();
    }
    urls.into_iter()
        .map(|(url, (queried, substituted))| {
            let subs = p.substitutions.iter().filter(|s| s.substituter == url);
            let bytes = subs.clone().map(|s| s.bytes).sum();
            let busy = union_len(subs.clone().map(|s| (s.start_ns, s.end_ns)).collect());
            let lookups = p
                .transfers
                .iter()
                .filter(|t| t.is_query() && t.cache_url() == url)
                .map(|t| (t.start_ns, t.end_ns));
            let query_ns = union_len(
                p.queries
                    .iter()
                    .filter(|q| q.substituter == url)
                    .map(|q| (q.start_ns, q.end_ns))
                    .chain(lookups)
                    .collect(),
            );
            let download_errors = p
                .transfers
                .iter()
                .filter(|t| t.url.starts_with(url) && t.url[url.len()..].starts_with('/'))
                .map(|t| t.errors)
                .sum();
            SubstituterRow {
                url: url.to_string(),
                queried: queried.len(),
                substituted: substituted.len(),
                hit_rate: {
                    let asked = queried.union(&substituted).count();
                    if asked == 0 {
                        0.0
                    } else {
                        substituted.len() as f64 / asked as f64
                    }
                },
                failed: subs.filter(|s| s.outcome != Outcome::Built).count(),
                bytes,
                busy_ns: busy,
                bytes_per_sec: if busy == 0 {
                    0.0
                } else {
                    bytes as f64 / (busy as f64 / 1e9)
                },
                query_ns,
                download_errors,
            }
        })
        .collect()
}

/// Per-substituter figures of a recorded build, as `nixperf build` and `nixperf cache
/// --profile` show them; `first` names the first column.
pub(crate) fn substituter_table(rows: &[SubstituterRow], first: &str) -> Table {
    let mut t = Table::new();
    t.set_header(vec![
        first,
        "queried",
        "substituted",
        "hit rate",
        "failed",
        "bytes",
        "throughput",
        "query time",
        "download errors",
    ]);
    for x in rows {
        t.add_row(vec![
            Cell::new(&x.url),
            right(x.queried.to_string()),
            right(x.substituted.to_string()),
            right(fmt_share(x.hit_rate)),
            right(x.failed.to_string()),
            right(fmt_bytes(x.bytes)),
            right(format!("{}/s", fmt_bytes(x.bytes_per_sec as u64))),
            right(fmt_ns(x.query_ns)),
            right(x.download_errors.to_string()),
        ]);
    }
    t
}

fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

pub(crate) fn render_text(r: &BuildReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "build {}{}: {} wall, {} builds ({} built, {} failed, {} unfinished), {} substituted, {} copied",
        r.status.as_str(),
        if r.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.reason)
        },
        fmt_ns(r.wall_ns),
        r.builds,
        r.builds - r.builds_failed - r.builds_unfinished,
        r.builds_failed,
        r.builds_unfinished,
        r.substitutions,
        r.copies
    );
    if !r.timed {
        s.push_str("note: the log has no receive times (a plain nix log): durations are unknown\n");
    }
    let w = &r.warnings;
    if w.total() > 0 {
        let _ = writeln!(
            s,
            "warning: {} log lines skipped ({} malformed, {} unknown types, {} out of order); first at line {}: {}",
            w.total(),
            w.malformed,
            w.unknown_types,
            w.out_of_order,
            w.first_bad_line.unwrap_or(0),
            w.first_bad_reason
        );
    }

    let mut t = Table::new();
    t.set_header(vec![
        "phase",
        "wall (exclusive)",
        "share",
        "busy (overlapping)",
    ]);
    for p in &r.phases {
        t.add_row(vec![
            Cell::new(p.phase.as_str()),
            right(fmt_ns(p.exclusive_ns)),
            right(fmt_share(p.share)),
            right(fmt_ns(p.busy_ns)),
        ]);
    }
    let _ = writeln!(
        s,
        "\nPhases (each instant charged once: building > fetching > copying > querying > evaluation)\n{t}"
    );

    if !r.slowest.is_empty() {
        let mut t = Table::new();
        t.set_header(vec![
            "#",
            "derivation",
            "wall",
            "outcome",
            "CPU",
            "threads",
            "log lines",
            "phases",
        ]);
        for (i, d) in r.slowest.iter().enumerate() {
            let phases: Vec<String> = d
                .phases
                .iter()
                .map(|(n, ns)| format!("{} {}", n.trim_end_matches("Phase"), fmt_ns(*ns)))
                .collect();
            t.add_row(vec![
                right((i + 1).to_string()),
                Cell::new(&d.name),
                right(fmt_ns(d.wall_ns)),
                Cell::new(d.outcome.as_str()),
                right(d.cpu_ns.map_or("-".into(), fmt_ns)),
                right(d.demand.map_or("-".into(), |x| format!("{x:.1}"))),
                right(d.log_lines.to_string()),
                Cell::new(phases.join(", ")),
            ]);
        }
        let _ = writeln!(s, "\nSlowest derivations\n{t}");
    }

    let g = &r.graph;
    if g.derivations > 0 {
        let _ = writeln!(
            s,
            "\nGraph: {} derivations, {} edges; total build work {}\nCritical path ({}): {}\nParallelizable share: {} of the work is off the critical path",
            g.derivations,
            g.edges,
            fmt_ns(g.total_work_ns),
            fmt_ns(g.critical_path_ns),
            g.critical_path.join(" -> "),
            fmt_share(g.parallelizable_share)
        );
        if !g.bottlenecks.is_empty() {
            let b: Vec<String> = g
                .bottlenecks
                .iter()
                .map(|(n, k)| format!("{n} ({k} dependents)"))
                .collect();
            let _ = writeln!(
                s,
                "Bottlenecks (most transitive dependents): {}",
                b.join(", ")
            );
        }
        let sim = &r.simulation;
        let mut t = Table::new();
        t.set_header(vec![
            "max-jobs",
            "critical-path order",
            "speed-up",
            "observed order",
        ]);
        let base = sim.rows.first().map_or(0, |x| x.critical_path_order_ns);
        for row in &sim.rows {
            t.add_row(vec![
                right(row.max_jobs.to_string()),
                right(fmt_ns(row.critical_path_order_ns)),
                right(if row.critical_path_order_ns == 0 {
                    "-".into()
                } else {
                    format!("{:.2}x", base as f64 / row.critical_path_order_ns as f64)
                }),
                right(fmt_ns(row.observed_order_ns)),
            ]);
        }
        let _ = writeln!(
            s,
            "\nSimulated build time (list scheduling on recorded durations; lower bound {})\n{t}\nModel check: at the observed concurrency ({}) in the observed order the model gives {}, measured build span {}",
            fmt_ns(sim.critical_path_ns),
            sim.observed_concurrency,
            fmt_ns(sim.model_at_observed_ns),
            fmt_ns(sim.measured_build_span_ns)
        );
    }

    if let Some(c) = &r.cores_simulation {
        let mut t = Table::new();
        let mut head = vec!["max-jobs".to_string()];
        head.extend(c.cores_values.iter().map(|v| format!("cores {v}")));
        t.set_header(head);
        for (j, times) in &c.rows {
            let mut row = vec![right(j.to_string())];
            row.extend(times.iter().map(|&x| right(fmt_ns(x))));
            t.add_row(row);
        }
        let _ = writeln!(
            s,
            "\nSimulated build time by max-jobs and cores on {} CPUs ({} of {} builds with CPU measured{})\nModel: each build's CPU work scales with cores by Amdahl's law (parallel fraction from the threads it kept runnable at its recorded cores); the rest of its wall time (I/O, sleep, waiting) does not; builds share the CPUs fairly when they ask for more than exist; a dedicated machine.\n{t}\nModel check: at the recorded settings the model gives {}, measured build span {}; the builds got {} of the CPU they asked for{}",
            c.cpus,
            c.measured_builds,
            c.builds,
            if c.unattributed_cpu_ns > 0 {
                format!(
                    "; {} CPU in builds shorter than a sampler tick not attributed",
                    fmt_ns(c.unattributed_cpu_ns)
                )
            } else {
                String::new()
            },
            fmt_ns(c.model_at_recorded_ns),
            fmt_ns(r.simulation.measured_build_span_ns),
            fmt_share(c.cpu_share_received),
            if c.cpu_share_received < 0.8 {
                " (a busy machine: waiting for CPUs counts as idle, so gains from cores are underestimated)"
            } else {
                ""
            }
        );
    }

    if r.cores_simulation.is_none() && r.builds > 0 {
        s.push_str("\nNo cores simulation: no build had a CPU measurement (a plain nix log, builds run by a nix daemon, or builds shorter than one sampler tick)\n");
    }

    if !r.substituters.is_empty() {
        let t = substituter_table(&r.substituters, "substituter");
        let _ = writeln!(s, "\nSubstituters\n{t}");
    }

    if let Some(res) = &r.resources {
        let cores: Vec<String> = res.cpu_per_core_avg.iter().map(|c| fmt_share(*c)).collect();
        let _ = writeln!(
            s,
            "\nResources ({} samples at 4 Hz, sampler cost {} CPU)\n  CPU: average {}, peak {} of {} CPUs; per core {}\n  memory used: average {}, peak {}; swap peak {}\n  disk: read {}, written {}; network: received {}, sent {}",
            res.samples,
            fmt_share(res.sampler_cpu_share),
            fmt_share(res.cpu_avg),
            fmt_share(res.cpu_peak),
            res.cpus,
            cores.join(" "),
            fmt_bytes(res.mem_used_avg),
            fmt_bytes(res.mem_used_peak),
            fmt_bytes(res.swap_used_peak),
            fmt_bytes(res.disk_read_bytes),
            fmt_bytes(res.disk_written_bytes),
            fmt_bytes(res.net_rx_bytes),
            fmt_bytes(res.net_tx_bytes)
        );
    }
    for e in r.errors.iter().take(5) {
        let _ = writeln!(s, "error: {e}");
    }
    s
}
