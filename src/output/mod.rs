//! Output formats, one module each. They render analysis results; they compute nothing.

pub(crate) mod chart;
pub(crate) mod comparison;
pub(crate) mod diffgraph;
pub(crate) mod empty_graph;
pub(crate) mod eval_files;
pub(crate) mod explain;
pub(crate) mod flamegraph;
pub mod json;
pub mod markdown;
pub(crate) mod prometheus;
pub mod table;
pub(crate) mod tracking;

use crate::units::fmt_ns;

/// A function's (self, inclusive) time cells: `~` marks times extrapolated from the calls that
/// were measured; untimed primops say so.
pub(crate) fn function_times(r: &crate::analysis::functions::FunctionRow) -> (String, String) {
    if !r.timed {
        return ("(not timed)".to_owned(), String::new());
    }
    let mark = if r.estimated() { "~" } else { "" };
    (
        format!("{mark}{}", fmt_ns(r.self_ns)),
        format!("{mark}{}", fmt_ns(r.inclusive_ns)),
    )
}

/// Where a function is (plugin: its definition; Nix's profiler: its call site). Nix's own
/// profiler has no call site for calls made by builtins (`«none»:0`): said as such.
pub(crate) fn function_at(
    r: &crate::analysis::functions::FunctionRow,
    base: Option<&std::path::Path>,
) -> String {
    if r.line > 0 {
        format!(
            "{}:{}:{}",
            crate::analysis::paths::display(&r.file, base),
            r.line,
            r.col
        )
    } else if r.kind == crate::profile::FrameKind::Lambda {
        "no position (called by a builtin)".to_owned()
    } else {
        r.kind.as_str().to_owned()
    }
}

/// The legend for `~`, if any of the rows shown needs it.
pub(crate) fn estimated_legend(
    rows: &[crate::analysis::functions::FunctionRow],
    probe: &crate::profile::ClockProbe,
) -> Option<String> {
    rows.iter().any(|r| r.estimated()).then(|| {
        format!(
            "~ time extrapolated: after its first {} calls averaged under {} ns, the function's calls were counted without reading the clock",
            probe.calls, probe.tiny_call_ns
        )
    })
}
