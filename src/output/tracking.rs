//! The tracking report rendered as Markdown (performance-report.md and
//! optimization-recommendations.md) and as one self-contained HTML file with the flamegraph
//! and charts embedded as SVG.

use crate::analysis::findings::Impact;
use crate::history::tracking_report::{Recommendation, Report};
use crate::history::trend::date;
use crate::units::{fmt_relative, fmt_value};
use std::fmt::Write;

fn secs(s: f64) -> String {
    fmt_value(s, &crate::units::Unit::Seconds)
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub(crate) fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Nix performance report\n");
    let _ = writeln!(
        s,
        "Host **{}**, run #{} ({}, {}) of `{}`, Nix {}, revision {}.\n",
        r.host,
        r.run.id,
        r.run.info.kind,
        date(r.run.info.started_at),
        r.run.info.target,
        if r.run.info.nix_version.is_empty() {
            "?"
        } else {
            &r.run.info.nix_version
        },
        r.run.info.git_rev.as_deref().unwrap_or("unknown")
    );
    let _ = writeln!(s, "## Executive summary\n");
    let _ = writeln!(
        s,
        "Status: **{}**. {}\n",
        r.summary.status, r.summary.headline
    );
    match &r.baseline {
        Some(b) => {
            let _ = writeln!(
                s,
                "Baseline: run #{} of {}.\n",
                b.id,
                date(b.info.started_at)
            );
        }
        None => {
            let _ = writeln!(s, "No baseline recorded for this host and target.\n");
        }
    }
    let _ = writeln!(
        s,
        "| metric | current | baseline | change | |\n|---|---:|---:|---:|---|"
    );
    for m in &r.summary.metrics {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            m.name,
            fmt_value(m.value, &m.unit),
            m.baseline.map_or("—".into(), |b| fmt_value(b, &m.unit)),
            m.change_pct
                .map_or("—".into(), |p| fmt_relative(Some(p / 100.0))),
            if m.regression {
                "**REGRESSION**"
            } else if m.significant {
                "changed"
            } else {
                ""
            }
        );
    }
    if !r.alerts.is_empty() {
        let _ = writeln!(s, "\n### Alerts\n");
        for a in &r.alerts {
            let _ = writeln!(s, "- **{}**: {}", a.kind, a.message);
        }
    }
    let _ = writeln!(
        s,
        "\n## Phase breakdown\n\n| phase | time | share |\n|---|---:|---:|"
    );
    for p in &r.phases {
        let _ = writeln!(s, "| {} | {} | {} |", p.name, secs(p.seconds), pct(p.share));
    }
    let _ = writeln!(s, "\n## Slowest components\n");
    if r.slowest.is_empty() {
        let _ = writeln!(s, "None recorded.");
    } else {
        let _ = writeln!(
            s,
            "| component | time | share | issue | fix | impact |\n|---|---:|---:|---|---|---|"
        );
        for c in &r.slowest {
            let _ = writeln!(
                s,
                "| `{}` ({}) | {} | {} | {} | {} | {} |",
                c.name,
                c.kind,
                secs(c.seconds),
                pct(c.share),
                cell(&c.issue),
                cell(&c.fix),
                c.impact.as_str()
            );
        }
    }
    let _ = writeln!(s, "\n## Recommendations\n");
    s.push_str(&recommendations_md(&r.recommendations));
    let _ = writeln!(s, "\n## Implementation plan\n");
    if r.plan.is_empty() {
        let _ = writeln!(s, "Nothing to do.");
    }
    let mut combined = 0.0;
    for p in &r.plan {
        combined += p.saving_s;
        let _ = writeln!(
            s,
            "### Phase {}: {} (saves ≈ {}, {})\n",
            p.phase,
            p.title,
            secs(p.saving_s),
            pct(p.share)
        );
        for i in &p.items {
            let _ = writeln!(s, "- {i}");
        }
        let _ = writeln!(s);
    }
    if !r.plan.is_empty() {
        let _ = writeln!(s, "Combined estimated impact: {}.\n", secs(combined));
    }
    let _ = writeln!(
        s,
        "## Metrics to track\n\n| metric | current | target | met |\n|---|---:|---:|---|"
    );
    for t in &r.metrics_to_track {
        let _ = writeln!(
            s,
            "| {} | {} | {} {} | {} |",
            t.name,
            fmt_value(t.current, &t.unit),
            if t.direction == crate::history::compare::Direction::HigherIsBetter {
                "≥"
            } else {
                "≤"
            },
            fmt_value(t.target, &t.unit),
            if t.met { "yes" } else { "**no**" }
        );
    }
    let _ = writeln!(s, "\nNext analysis: {}.", r.next_analysis);
    s
}

pub(crate) fn recommendations_md(recs: &[Recommendation]) -> String {
    let mut s = String::new();
    if recs.is_empty() {
        s.push_str("No recommendations.\n");
    }
    for imp in [Impact::High, Impact::Medium, Impact::Low] {
        let group: Vec<&Recommendation> = recs.iter().filter(|r| r.impact == imp).collect();
        if group.is_empty() {
            continue;
        }
        let total: f64 = group.iter().map(|r| r.saving_s).sum();
        let _ = writeln!(
            s,
            "### {} (estimated saving {})\n",
            imp.as_str(),
            secs(total)
        );
        for r in group {
            let _ = writeln!(
                s,
                "- **{}** at `{}` — fix: {} (saves ≈ {}; {})",
                r.title,
                r.location,
                r.fix,
                secs(r.saving_s),
                r.reasoning
            );
        }
        let _ = writeln!(s);
    }
    s
}

/// optimization-recommendations.md: the recommendations and the plan alone.
pub(crate) fn recommendations_file(r: &Report) -> String {
    let mut s = format!(
        "# Optimization recommendations\n\nRun #{} of `{}` on {}.\n\n",
        r.run.id, r.run.info.target, r.host
    );
    s.push_str(&recommendations_md(&r.recommendations));
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An SVG document inline (plotters' charts have no XML prolog; strip one if present).
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

/// One self-contained HTML page: the Markdown report's sections as tables, the flamegraph (and
/// the differential one against the baseline) as SVG images, and the trend charts inline.
pub(crate) fn html(
    r: &Report,
    flamegraph: Option<&str>,
    diff: Option<&str>,
    charts: &[(String, String)],
) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Nix performance report</title>\n<style>\nbody{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}\ntable{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\ntd.n{text-align:right}.regression{color:#b00;font-weight:bold}.ok{color:#070}\nimg.flamegraph{width:100%;border:1px solid #ccc}.chart{display:inline-block;margin:4px}\n</style></head><body>\n");
    let _ = writeln!(s, "<h1>Nix performance report</h1>");
    let _ = writeln!(
        s,
        "<p>Host <b>{}</b>, run #{} ({}, {}) of <code>{}</code>, revision {}.</p>",
        esc(&r.host),
        r.run.id,
        esc(r.run.info.kind.as_str()),
        date(r.run.info.started_at),
        esc(&r.run.info.target),
        esc(r.run.info.git_rev.as_deref().unwrap_or("unknown"))
    );
    let _ = writeln!(
        s,
        "<h2>Executive summary</h2><p id=\"status\" class=\"{}\">Status: <b>{}</b>. {}</p>",
        if r.summary.status == "ok" {
            "ok"
        } else {
            "regression"
        },
        r.summary.status,
        esc(&r.summary.headline)
    );
    s.push_str("<table id=\"summary\"><tr><th>metric</th><th>current</th><th>baseline</th><th>change</th><th></th></tr>\n");
    for m in &r.summary.metrics {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td{}>{}</td></tr>",
            esc(&m.name),
            fmt_value(m.value, &m.unit),
            m.baseline.map_or("—".into(), |b| fmt_value(b, &m.unit)),
            m.change_pct
                .map_or("—".into(), |p| fmt_relative(Some(p / 100.0))),
            if m.regression {
                " class=regression"
            } else {
                ""
            },
            if m.regression {
                "REGRESSION"
            } else if m.significant {
                "changed"
            } else {
                ""
            }
        );
    }
    s.push_str("</table>\n");
    if !r.alerts.is_empty() {
        s.push_str("<ul id=\"alerts\">");
        for a in &r.alerts {
            let _ = write!(
                s,
                "<li class=regression>{}: {}</li>",
                a.kind,
                esc(&a.message)
            );
        }
        s.push_str("</ul>\n");
    }
    s.push_str("<h2>Phase breakdown</h2><table id=\"phases\"><tr><th>phase</th><th>time</th><th>share</th></tr>\n");
    for p in &r.phases {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&p.name),
            secs(p.seconds),
            pct(p.share)
        );
    }
    s.push_str("</table>\n<h2>Slowest components</h2><table id=\"slowest\"><tr><th>component</th><th>time</th><th>share</th><th>issue</th><th>fix</th><th>impact</th></tr>\n");
    for c in &r.slowest {
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code> ({})</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.name),
            c.kind,
            secs(c.seconds),
            pct(c.share),
            esc(&c.issue),
            esc(&c.fix),
            c.impact.as_str()
        );
    }
    s.push_str("</table>\n");
    if let Some(svg) = flamegraph {
        let _ = writeln!(
            s,
            "<h2>Flamegraph</h2><img id=\"flamegraph\" class=\"flamegraph\" alt=\"flamegraph\" src=\"data:image/svg+xml;base64,{}\">",
            base64(svg.as_bytes())
        );
    }
    if let Some(svg) = diff {
        let _ = writeln!(
            s,
            "<h2>Differential flamegraph vs the baseline</h2><p>Red: slower, blue: faster.</p><img id=\"flamegraph-diff\" class=\"flamegraph\" alt=\"differential flamegraph\" src=\"data:image/svg+xml;base64,{}\">",
            base64(svg.as_bytes())
        );
    }
    s.push_str("<h2>Recommendations</h2>\n");
    for imp in [Impact::High, Impact::Medium, Impact::Low] {
        let group: Vec<&Recommendation> = r
            .recommendations
            .iter()
            .filter(|x| x.impact == imp)
            .collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "<h3>{}</h3><table class=\"recommendations\"><tr><th>issue</th><th>where</th><th>fix</th><th>saving</th></tr>",
            imp.as_str()
        );
        for x in group {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=n>{}</td></tr>",
                esc(&x.title),
                esc(&x.location),
                esc(&x.fix),
                secs(x.saving_s)
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("<h2>Implementation plan</h2><ol id=\"plan\">\n");
    for p in &r.plan {
        let _ = write!(
            s,
            "<li><b>{}</b> (saves ≈ {}, {})<ul>",
            esc(&p.title),
            secs(p.saving_s),
            pct(p.share)
        );
        for i in &p.items {
            let _ = write!(s, "<li>{}</li>", esc(i));
        }
        s.push_str("</ul></li>\n");
    }
    s.push_str("</ol>\n<h2>Metrics to track</h2><table id=\"tracked\"><tr><th>metric</th><th>current</th><th>target</th><th>met</th></tr>\n");
    for t in &r.metrics_to_track {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>",
            esc(&t.name),
            fmt_value(t.current, &t.unit),
            fmt_value(t.target, &t.unit),
            if t.met { "yes" } else { "no" }
        );
    }
    s.push_str("</table>\n");
    if !charts.is_empty() {
        s.push_str("<h2>Trends</h2><div id=\"charts\">\n");
        for (name, svg) in charts {
            let _ = writeln!(
                s,
                "<div class=\"chart\" data-metric=\"{}\">{}</div>",
                esc(name),
                inline_svg(svg)
            );
        }
        s.push_str("</div>\n");
    }
    let _ = writeln!(s, "<p>Next analysis: {}.</p>", r.next_analysis);
    // Records on the page what the browser actually rendered (decoded flamegraph images, chart
    // SVGs, tables): the headless-browser test reads it back from the DOM.
    s.push_str("<script>window.addEventListener('load',function(){var i=Array.prototype.slice.call(document.querySelectorAll('img.flamegraph'));document.body.setAttribute('data-rendered',i.map(function(x){return x.id+':'+x.naturalWidth+'x'+x.naturalHeight;}).join(',')+';charts:'+document.querySelectorAll('#charts svg').length+';tables:'+document.querySelectorAll('table').length);});</script>\n</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
    }
}
