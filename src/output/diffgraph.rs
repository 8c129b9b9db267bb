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
    // inferno writes the stacks in its hash map's order, which changes from run to run: sorted,
    // the same two profiles give the same file (diffable, cacheable).
    let text = String::from_utf8_lossy(&out);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    Ok(lines.iter().map(|l| format!("{l}\n")).collect())
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

    #[test]
    fn the_diff_is_in_stack_order() {
        use crate::analysis::stacks::Folded;
        let text: String = (0..200)
            .map(|i| format!("main;f{i:03} {}\n", i + 1))
            .collect();
        let d = super::diff_folded(&Folded::parse(&text), &Folded::parse(&text)).unwrap();
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), 200);
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "{d}");
        assert_eq!(lines[0], "main;f000 1 1");
    }
}
