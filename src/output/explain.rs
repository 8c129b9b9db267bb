//! Plain-text lines for the slow-module explanations and the classification in effect, shared by
//! the terminal and Markdown reports (and `analyze`'s recommendations).

use crate::analysis::modules::{Classification, ModuleRow, ModuleTable, View};
use crate::analysis::paths;
use crate::analysis::why::FrameRef;
use crate::profile::FrameKind;
use crate::units::group;
use crate::units::{fmt_ns, fmt_share};
use std::path::Path;

/// `with` lookup cost over a lexical one, measured by nix-tests/bench/with-lookup.nix.
pub(crate) const WITH_LOOKUP_NS: u64 = 12;

pub(crate) fn frame(f: &FrameRef, base: Option<&Path>) -> String {
    let file = paths::display(&f.file, base);
    match f.kind {
        FrameKind::Lambda if f.line > 0 => format!("{} {}:{}:{}", f.name, file, f.line, f.col),
        FrameKind::Primop => format!("{} (primop)", f.name.trim_start_matches("__")),
        FrameKind::Scope if f.name == "\u{ab}import\u{bb}" => format!("top level of {file}"),
        FrameKind::Scope => format!("thunks of {file}"),
        _ => f.name.clone(),
    }
}

/// The one-line summary of a module's cost: `panel.nix 68.1 %: helpers 71 %, own code 20 %, …`.
pub(crate) fn headline(r: &ModuleRow, base: Option<&Path>) -> Option<String> {
    let w = r.why.as_ref()?;
    let total = w.total_ns.max(1) as f64;
    let mut parts: Vec<(u64, &str)> = vec![
        (w.own_code_ns, "own code"),
        (w.helpers_ns, "helpers"),
        (w.library_ns, "nixpkgs lib"),
        (w.primops_ns, "builtins"),
    ];
    parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    let parts: Vec<String> = parts
        .iter()
        .filter(|(ns, _)| *ns as f64 / total >= 0.005)
        .map(|(ns, what)| format!("{what} {}", fmt_share(*ns as f64 / total)))
        .collect();
    Some(format!(
        "{} {}: {}",
        paths::display(&r.path, base),
        fmt_share(r.share),
        parts.join(", ")
    ))
}

/// The lines under the headline: the top functions with their paths, then parse, thunks and
/// `with` cost.
pub(crate) fn detail_lines(r: &ModuleRow, base: Option<&Path>) -> Vec<String> {
    let Some(w) = &r.why else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for h in &w.hotspots {
        let mut line = format!("{} in {}", fmt_share(h.share), frame(&h.function, base));
        for v in &h.via {
            line.push_str(" \u{2190} ");
            line.push_str(&frame(v, base));
        }
        if h.calls > 0 {
            let s = if h.calls == 1 { "" } else { "s" };
            line.push_str(&format!(", {} call{s}", group(h.calls)));
        }
        line.push_str(&format!(" ({})", fmt_ns(h.self_ns)));
        out.push(line);
    }
    let mut tail = vec![
        format!("parse {}", fmt_ns(r.parse_ns)),
        format!("{} thunks forced", group(r.thunks)),
    ];
    if r.with_lookups > 0 {
        tail.push(format!(
            "{} `with` lookups (~{})",
            group(r.with_lookups),
            fmt_ns(r.with_lookups * WITH_LOOKUP_NS)
        ));
    }
    out.push(tail.join(", "));
    out
}

/// Why each explained module is slow, as indented text.
pub(crate) fn why_block(t: &ModuleTable, top: usize, base: Option<&Path>) -> String {
    let mut s = String::new();
    for r in t.rows.iter().take(top) {
        let Some(head) = headline(r, base) else {
            continue;
        };
        s.push_str(&format!("  {head}\n"));
        for l in detail_lines(r, base) {
            s.push_str(&format!("      {l}\n"));
        }
    }
    s
}

/// The classification in effect: counts per role, the helpers rolled up and why, overrides.
pub(crate) fn classification_lines(
    c: &Classification,
    view: View,
    base: Option<&Path>,
) -> Vec<String> {
    let mut out = Vec::new();
    let files: usize = c.counts.iter().map(|(_, n)| n).sum();
    let counts: Vec<String> = c
        .counts
        .iter()
        .map(|(role, n)| format!("{n} {}", role.as_str()))
        .collect();
    if files == 0 {
        // A profile of Nix's built-in profiler (no per-file data), or an evaluation whose
        // code all ran outside files: nothing to classify, nothing rolled up.
        out.push("classification: no file's code ran".to_owned());
    } else {
        out.push(format!(
            "classification: {files} file{} ran: {}{}",
            if files == 1 { "" } else { "s" },
            counts.join(", "),
            match view {
                View::Modules => "; helper libraries roll up into the module that called them (--by-file: every file its own row)",
                View::ByFile => "; --by-file: every file's own code is its own row",
            }
        ));
    }
    if !c.helpers.is_empty() {
        let n = c.helpers.len();
        out.push(format!(
            "rolled up ({n} helper file{}):",
            if n == 1 { "" } else { "s" }
        ));
        for h in &c.helpers {
            let own = if h.own_row_ns > 0 {
                format!(
                    ", {} in its own row (no module below it)",
                    fmt_ns(h.own_row_ns)
                )
            } else {
                String::new()
            };
            out.push(format!(
                "  {}: {} — {} charged to callers{own}",
                paths::display(&h.path, base),
                h.why,
                fmt_ns(h.rolled_up_ns)
            ));
        }
    }
    for o in &c.overrides {
        out.push(format!(
            "{} {}: {} file{}",
            o.flag,
            o.fragment,
            o.matched,
            if o.matched == 1 { "" } else { "s" }
        ));
    }
    out
}
