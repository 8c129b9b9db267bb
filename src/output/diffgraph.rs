//! Differential flamegraph: inferno's differential folded format (`stack before after`) from
//! two runs' folded stacks, rendered with widths from the later run and red where it got slower.

use crate::analysis::stacks::Folded;
use inferno::{differential, flamegraph};
use std::io::Write;

/// The differential folded text of `before` → `after`.
pub(crate) fn diff_folded(before: &Folded, after: &Folded) -> std::io::Result<String> {
    let mut out = Vec::new();
    differential::from_readers(
        differential::Options::default(),
        before.to_text().as_bytes(),
        after.to_text().as_bytes(),
        &mut out,
    )?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `note`: said under the title (recursion collapsed).
pub(crate) fn write_svg(
    diff: &str,
    title: &str,
    note: Option<String>,
    out: impl Write,
) -> std::io::Result<()> {
    let mut opts = flamegraph::Options::default();
    opts.title = title.to_owned();
    let legend = "red: slower than the baseline, blue: faster; width: the later run";
    opts.subtitle = Some(match note {
        Some(n) => format!("{legend}; {n}"),
        None => legend.to_owned(),
    });
    opts.count_name = "ns".to_owned();
    opts.name_type = "Function:".to_owned();
    flamegraph::from_lines(&mut opts, diff.lines(), out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn grown_stack_is_red() {
        use crate::analysis::stacks::Folded;
        let d = super::diff_folded(
            &Folded::parse("main;a 100\nmain;b 100\n"),
            &Folded::parse("main;a 100\nmain;b 900\n"),
        )
        .unwrap();
        assert!(d.contains("main;b 100 900"), "{d}");
        let mut svg = Vec::new();
        super::write_svg(&d, "t", None, &mut svg).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        // inferno colours growth red: rgb(255,…) with reduced green/blue.
        let b = svg.find("main;b").or_else(|| svg.find(">b<")).unwrap_or(0);
        assert!(
            svg.contains("rgb(255,"),
            "no red frame in {}",
            &svg[b.saturating_sub(300)..b]
        );
    }
}
