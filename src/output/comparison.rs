//! `nixperf compare`'s comparison as text (terminal tables) and as Markdown (a CI job summary):
//! the same rows, two renderings.

use crate::history::compare::{self, Comparison};
use crate::units::{fmt_relative, fmt_value};
use comfy_table::{Cell, CellAlignment, Table};

fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

fn verdict(c: &compare::MetricChange) -> &'static str {
    if c.regression {
        "REGRESSION"
    } else if c.improvement {
        "improved"
    } else if c.significant {
        "changed"
    } else {
        ""
    }
}

fn side_cell(s: &crate::history::stats::Summary, unit: &crate::units::Unit) -> String {
    if s.n > 1 {
        format!("{} ± {}", fmt_value(s.mean, unit), fmt_value(s.sd, unit))
    } else {
        fmt_value(s.mean, unit)
    }
}

/// The comparison as rows: (title, header, rows) per table, shared by the terminal and the
/// Markdown renderers.
type Rows = (Vec<&'static str>, Vec<Vec<String>>);

fn tables(c: &Comparison, top: usize) -> (Rows, Rows) {
    let metrics = c
        .metrics
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                side_cell(&m.a, &m.unit),
                side_cell(&m.b, &m.unit),
                fmt_relative(m.relative),
                m.p_value.map_or(String::new(), |p| format!("{p:.3}")),
                verdict(m).to_owned(),
            ]
        })
        .collect();
    let modules = c
        .modules
        .iter()
        .take(top)
        .map(|m| {
            vec![
                m.name
                    .trim_start_matches(crate::history::metrics::MODULE_PREFIX)
                    .to_owned(),
                side_cell(&m.a, &m.unit),
                side_cell(&m.b, &m.unit),
                format!(
                    "{}{} ({})",
                    if m.change >= 0.0 { "+" } else { "-" },
                    fmt_value(m.change.abs(), &m.unit),
                    fmt_relative(m.relative)
                ),
                verdict(m).to_owned(),
            ]
        })
        .collect();
    (
        (vec!["metric", "A", "B", "change", "p", ""], metrics),
        (
            vec![
                "module (moved most first)",
                "A self",
                "B self",
                "change",
                "",
            ],
            modules,
        ),
    )
}

fn heading(c: &Comparison) -> String {
    let ids = |v: &[i64]| {
        v.iter()
            .map(|i| format!("#{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "comparing {} (A: {}) with {} (B: {}) — {} on {}",
        ids(&c.a_runs),
        crate::history::trend::date(c.a.info.started_at),
        ids(&c.b_runs),
        crate::history::trend::date(c.b.info.started_at),
        c.b.info.target,
        c.b.info.host
    )
}

fn alert_lines(c: &Comparison) -> Vec<String> {
    if c.alerts.is_empty() {
        return vec!["no regressions beyond the noise, no alerts".into()];
    }
    c.alerts
        .iter()
        .map(|al| {
            format!(
                "{}: {}",
                if al.kind == crate::history::alerts::AlertKind::Regression {
                    "REGRESSION"
                } else {
                    "ALERT"
                },
                al.message
            )
        })
        .collect()
}

/// The comparison for the terminal: heading, metric and module tables, alerts.
pub(crate) fn text(c: &Comparison, top: usize) -> String {
    let mut s = heading(c) + "\n";
    let (metrics, modules) = tables(c, top);
    for (i, (header, rows)) in [metrics, modules].into_iter().enumerate() {
        if i == 1 && rows.is_empty() {
            continue;
        }
        let mut t = Table::new();
        t.set_header(header);
        for r in rows {
            t.add_row(r.into_iter().enumerate().map(|(k, v)| {
                if k == 0 || k == 5 || (i == 1 && k == 4) {
                    Cell::new(v)
                } else {
                    right(v)
                }
            }));
        }
        s.push_str(&format!("{t}\n"));
    }
    for l in alert_lines(c) {
        s.push_str(&l);
        s.push('\n');
    }
    s
}

/// The same as GitHub-flavoured Markdown (a CI job summary).
pub(crate) fn markdown(c: &Comparison, top: usize) -> String {
    let cell = |v: &str| v.replace('|', "\\|");
    let verdict = if c.regressed() {
        "❌ regression"
    } else if c.breached() {
        "⚠️ alert"
    } else {
        "✅ no regression"
    };
    let mut s = format!("## nixperf: {verdict}\n\n{}\n\n", heading(c));
    let (metrics, modules) = tables(c, top);
    for (header, rows) in [metrics, modules] {
        if rows.is_empty() {
            continue;
        }
        s.push_str(&format!("| {} |\n", header.join(" | ")));
        s.push_str(&format!("|{}\n", "---|".repeat(header.len())));
        for r in rows {
            let r: Vec<String> = r.iter().map(|v| cell(v)).collect();
            s.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        s.push('\n');
    }
    for l in alert_lines(c) {
        s.push_str(&format!("- {l}\n"));
    }
    s
}
