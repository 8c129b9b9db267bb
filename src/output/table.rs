//! Terminal tables (comfy-table).

use crate::analysis::findings::{EvaluatorStats, Impact, Recommendation};
use crate::analysis::functions::FunctionRow;
use crate::analysis::modules::{ModuleTable, View};
use crate::analysis::paths;
use crate::profile::FileRole;
use crate::units::group;
use crate::units::{fmt_ns, fmt_share};
use comfy_table::{Cell, CellAlignment, Table};
use std::path::Path;

fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

pub fn module_table(t: &ModuleTable, top: usize, base: Option<&Path>) -> String {
    let mut table = Table::new();
    table.set_header(vec![
        "#",
        match t.view {
            View::Modules => "module",
            View::ByFile => "file",
        },
        "self",
        "share",
        "of it helpers",
        "inclusive",
        "to WHNF",
        "parse",
        "calls",
        "thunks",
    ]);
    for (i, r) in t.rows.iter().take(top).enumerate() {
        let mut name = paths::display(&r.path, base);
        if r.role == FileRole::Helper {
            name.push_str("  (helper, no module below)");
        }
        table.add_row(vec![
            right((i + 1).to_string()),
            Cell::new(if r.slow {
                format!("{name}  [SLOW > 1 s]")
            } else {
                name
            }),
            right(fmt_ns(r.self_ns)),
            right(fmt_share(r.share)),
            right(if r.helpers_ns > 0 {
                fmt_ns(r.helpers_ns)
            } else {
                String::new()
            }),
            right(fmt_ns(r.inclusive_ns)),
            right(fmt_ns(r.whnf_ns)),
            right(fmt_ns(r.parse_ns)),
            right(r.calls.to_string()),
            right(r.thunks.to_string()),
        ]);
    }
    let mut s = table.to_string();
    s.push('\n');
    s.push_str(&summary_line(t));
    let why = super::explain::why_block(t, top.min(crate::analysis::modules::EXPLAINED), base);
    if !why.is_empty() {
        s.push_str("\nwhy the top modules cost what they do:\n");
        s.push_str(why.trim_end());
    }
    for l in super::explain::classification_lines(&t.classification, t.view, base) {
        s.push('\n');
        s.push_str(&l);
    }
    s
}

pub(crate) fn summary_line(t: &ModuleTable) -> String {
    let modules_ns: u64 = t.rows.iter().map(|r| r.self_ns).sum();
    format!(
        "{} module{}: {} slow (> {}), {} fast (< {} each); modules {} of {} total ({}), evaluator {}",
        t.rows.len(),
        if t.rows.len() == 1 { "" } else { "s" },
        t.slow_count,
        fmt_ns(t.slow_threshold_ns),
        t.fast_count,
        fmt_ns(t.fast_threshold_ns),
        fmt_ns(modules_ns),
        fmt_ns(t.total_ns),
        fmt_share(modules_ns as f64 / t.total_ns.max(1) as f64),
        fmt_ns(t.evaluator_ns),
    )
}

/// Recommendations grouped HIGH / MEDIUM / LOW, one block each.
pub(crate) fn recommendations(recs: &[Recommendation], top: usize, base: Option<&Path>) -> String {
    let mut s = String::new();
    for impact in [Impact::High, Impact::Medium, Impact::Low] {
        let group: Vec<&Recommendation> = recs.iter().filter(|r| r.impact == impact).collect();
        if group.is_empty() {
            continue;
        }
        s.push_str(&format!("{} impact ({}):\n", impact.as_str(), group.len()));
        for r in group.iter().take(top) {
            s.push_str(&format!(
                "  {}:{}:{}  {}\n    fix: {}\n    saving: {} ({})\n",
                paths::display(&r.file, base),
                r.line,
                r.col,
                r.issue,
                r.fix,
                fmt_ns(r.saving_ns),
                r.reasoning
            ));
        }
        if group.len() > top {
            s.push_str(&format!(
                "  … {} more (--json lists all)\n",
                group.len() - top
            ));
        }
    }
    s
}

/// Where a complete plugin profile has no statistics: Nix >= 2.26 without `--nix-stats`.
pub(crate) const STATS_NOT_RECORDED: &str = "Nix stats: not recorded (they cost a full GC on Nix >= 2.26; `nixperf eval --nix-stats` records them)";

pub(crate) fn stats_line(st: &EvaluatorStats) -> String {
    format!(
        "Nix stats: {} function calls, {} primop calls, {} thunks, {} values, {} envs, {} sets, {} list concatenations; GC heap {} MiB ({} MiB allocated); cpu {:.2} s",
        group(st.function_calls),
        group(st.primop_calls),
        group(st.thunks),
        group(st.values),
        group(st.envs),
        group(st.sets),
        group(st.list_concats),
        st.gc_heap_bytes >> 20,
        st.gc_total_bytes >> 20,
        st.cpu_time_s
    )
}

/// `probe`: the run's adaptive clock (`Meta::clock_probe`), named in the "~" legend.
pub fn function_table(
    rows: &[FunctionRow],
    top: usize,
    base: Option<&Path>,
    probe: &crate::profile::ClockProbe,
) -> String {
    let mut table = Table::new();
    table.set_header(vec!["function", "defined at", "calls", "self", "inclusive"]);
    for r in rows.iter().take(top) {
        let at = super::function_at(r, base);
        let (self_t, incl_t) = super::function_times(r);
        table.add_row(vec![
            Cell::new(&r.name),
            Cell::new(at),
            right(r.calls.to_string()),
            right(self_t),
            right(incl_t),
        ]);
    }
    let shown = &rows[..top.min(rows.len())];
    match super::estimated_legend(shown, probe) {
        Some(l) => format!("{table}\n{l}"),
        None => table.to_string(),
    }
}

/// What `nixperf eval` and `nixperf report` print for an evaluation profile: the partial-profile
/// line, the total, the module and function tables, Nix's statistics, the recommendations.
pub(crate) fn eval_summary(
    p: &crate::profile::Profile,
    mods: &ModuleTable,
    funcs: &[FunctionRow],
    recs: &[Recommendation],
    top: usize,
    base: Option<&Path>,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if p.meta.status.is_partial() {
        let _ = writeln!(
            s,
            "PARTIAL profile ({}): {}",
            p.meta.status.as_str(),
            p.meta.reason
        );
    }
    let _ = writeln!(
        s,
        "evaluation {} (Nix {})",
        fmt_ns(mods.total_ns),
        p.meta.nix_version
    );
    if let Some(note) = p.meta.source.describe() {
        let _ = writeln!(s, "{note}");
        let _ = writeln!(
            s,
            "modules: unavailable (no per-file attribution without the plugin)"
        );
    } else {
        let _ = writeln!(s, "{}", module_table(mods, top, base));
    }
    let table = function_table(funcs, top, base, &p.meta.clock_probe);
    if p.meta.source.is_plugin() {
        let _ = writeln!(s, "{table}");
    } else {
        // Nix's profiler names functions by where they are called, not where they are defined.
        let _ = writeln!(s, "{}", table.replacen("defined at", "called at ", 1));
    }
    if let Some(st) = crate::analysis::findings::evaluator_stats(p) {
        let _ = writeln!(s, "{}", stats_line(&st));
    } else if p.meta.source.is_plugin() && !p.meta.status.is_partial() {
        let _ = writeln!(s, "{STATS_NOT_RECORDED}");
    }
    if !recs.is_empty() {
        let _ = writeln!(s, "\nRecommendations\n{}", recommendations(recs, top, base));
    }
    s
}
