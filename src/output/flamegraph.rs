//! Flamegraph SVG through inferno, from folded stacks.

use crate::analysis::stacks::Folded;
use inferno::flamegraph::{self, Options};
use std::io::Write;

/// `unit`: what the counts are (`ns`, `calls`, `samples`), shown on hover. `note`, under the
/// title: what the reader must know (recursion collapsed or folded).
pub(crate) fn write_svg(
    folded: &Folded,
    title: &str,
    unit: &str,
    note: Option<&str>,
    out: impl Write,
) -> std::io::Result<()> {
    let stacks = &folded.stacks;
    // inferno refuses an empty input; a profile with nothing timed is still a valid report.
    if stacks.is_empty() {
        return super::empty_graph::write_svg(title, out);
    }
    let lines: Vec<String> = stacks.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let mut opts = Options::default();
    opts.title = title.to_owned();
    opts.subtitle = note.map(str::to_owned);
    opts.count_name = unit.to_owned();
    opts.name_type = "Function:".to_owned();
    flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), out)
}
