//! The SVG written where a flamegraph has nothing to draw (a profile in which nothing was timed:
//! `1 + 1`, a syntax error's partial profile): a valid, empty chart that says why, so that every
//! report still has its flamegraph file (inferno refuses empty input).

use std::io::Write;

pub(crate) fn write_svg(title: &str, mut out: impl Write) -> std::io::Result<()> {
    write!(
        out,
        r#"<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="1200" height="120" viewBox="0 0 1200 120" xmlns="http://www.w3.org/2000/svg">
<rect x="0" y="0" width="100%" height="100%" fill="rgb(248,248,248)"/>
<text x="600" y="32" font-size="17" font-family="Verdana" text-anchor="middle">{}</text>
<text x="600" y="72" font-size="12" font-family="Verdana" text-anchor="middle">nothing was timed in this evaluation: no stacks to draw</text>
</svg>
"#,
        escape(title)
    )?;
    out.flush()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_well_formed_and_escaped() {
        let mut v = Vec::new();
        super::write_svg("a < b & \"c\"", &mut v).unwrap();
        let s = String::from_utf8(v).unwrap();
        assert!(s.contains("a &lt; b &amp; &quot;c&quot;"));
        assert!(s.trim_end().ends_with("</svg>"));
    }
}
