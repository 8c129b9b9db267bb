//! The Markdown report (`performance-report.md`).

use crate::analysis::findings::{Impact, Recommendation};
use crate::analysis::functions::FunctionRow;
use crate::analysis::modules::ModuleTable;
use crate::analysis::paths;
use crate::profile::Meta;
use crate::units::{fmt_ns, fmt_share};
use std::fmt::Write;
use std::path::Path;

pub fn eval_report(
    meta: &Meta,
    modules: &ModuleTable,
    functions: &[FunctionRow],
    recs: &[Recommendation],
    top: usize,
    base: Option<&Path>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Nix evaluation performance report\n");
    let _ = writeln!(
        s,
        "- evaluation: **{}** ({}), Nix {}, nixperf {}",
        fmt_ns(modules.total_ns),
        meta.status.as_str(),
        meta.nix_version,
        meta.nixperf_version
    );
    if meta.status.is_partial() {
        let _ = writeln!(s, "- **partial profile**: {}", meta.reason);
    }
    let _ = writeln!(s, "- command: `{}`\n", meta.command.join(" "));
    if let Some(note) = meta.source.describe() {
        let _ = writeln!(s, "**{note}**\n");
    }
    let _ = writeln!(s, "## Slowest modules\n");
    if !meta.source.is_plugin() {
        let _ = writeln!(
            s,
            "Unavailable: no per-file attribution without the plugin.\n\n## Recommendations\n\nUnavailable: findings need the plugin.\n"
        );
    } else {
        module_section(&mut s, modules, recs, top, base);
    }
    function_section(&mut s, meta, functions, top, base);
    s
}

fn module_section(
    s: &mut String,
    modules: &ModuleTable,
    recs: &[Recommendation],
    top: usize,
    base: Option<&Path>,
) {
    let _ = writeln!(
        s,
        "| # | module | self | share | inclusive | to WHNF | parse | calls | thunks |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (i, r) in modules.rows.iter().take(top).enumerate() {
        let flag = if r.slow { " **SLOW**" } else { "" };
        let _ = writeln!(
            s,
            "| {} | `{}`{} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            paths::display(&r.path, base),
            flag,
            fmt_ns(r.self_ns),
            fmt_share(r.share),
            fmt_ns(r.inclusive_ns),
            fmt_ns(r.whnf_ns),
            fmt_ns(r.parse_ns),
            r.calls,
            r.thunks
        );
    }
    let _ = writeln!(s, "\n{}\n", super::table::summary_line(modules));
    let explained: Vec<_> = modules
        .rows
        .iter()
        .take(top.min(crate::analysis::modules::EXPLAINED))
        .filter(|r| r.why.is_some())
        .collect();
    if !explained.is_empty() {
        let _ = writeln!(s, "### Why the top modules are slow\n");
        for r in explained {
            if let Some(h) = super::explain::headline(r, base) {
                let _ = writeln!(s, "- **{}**", h.replace('|', "\\|"));
            }
            for l in super::explain::detail_lines(r, base) {
                let _ = writeln!(s, "  - {l}");
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "### Classification\n");
    // Indented lines (the helpers under "rolled up") are items of the line before.
    for l in super::explain::classification_lines(&modules.classification, modules.view, base) {
        let item = l.trim_start();
        let indent = if item.len() < l.len() { "  " } else { "" };
        let _ = writeln!(s, "{indent}- {item}");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Recommendations\n");
    if recs.is_empty() {
        let _ = writeln!(
            s,
            "No `with`, `rec`, large `let` or import-from-derivation findings.\n"
        );
    }
    for impact in [Impact::High, Impact::Medium, Impact::Low] {
        let group: Vec<&Recommendation> = recs.iter().filter(|r| r.impact == impact).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "### {} impact\n\n| where | issue | fix | estimated saving |\n|---|---|---|---:|",
            impact.as_str()
        );
        for r in group.iter().take(top) {
            let _ = writeln!(
                s,
                "| `{}:{}:{}` | {} | {} | {} ({}) |",
                paths::display(&r.file, base),
                r.line,
                r.col,
                r.issue.replace('|', "\\|"),
                r.fix.replace('|', "\\|"),
                fmt_ns(r.saving_ns),
                r.reasoning
            );
        }
        let _ = writeln!(s);
    }
}

fn function_section(
    s: &mut String,
    meta: &Meta,
    functions: &[FunctionRow],
    top: usize,
    base: Option<&Path>,
) {
    let _ = writeln!(s, "## Functions by self time\n");
    let _ = writeln!(
        s,
        "| function | {} | calls | self | inclusive |\n|---|---|---:|---:|---:|",
        if meta.source.is_plugin() {
            "defined at"
        } else {
            "called at"
        }
    );
    for r in functions.iter().take(top) {
        let at = super::function_at(r, base);
        let (self_t, incl_t) = super::function_times(r);
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            r.name, at, r.calls, self_t, incl_t
        );
    }
    if let Some(l) =
        super::estimated_legend(&functions[..top.min(functions.len())], &meta.clock_probe)
    {
        let _ = writeln!(s, "\n{l}");
    }
}
