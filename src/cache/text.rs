//! Text rendering of a [`CacheReport`].

use super::CacheReport;
use crate::units::fmt_bytes;
use comfy_table::{Cell, CellAlignment, Table};
use std::fmt::Write;

pub(crate) fn render_text(r: &CacheReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} paths checked; trusted keys: {}",
        r.closure_paths,
        if r.trusted_keys.is_empty() {
            "(none)".into()
        } else {
            r.trusted_keys.join(", ")
        }
    );
    let mut t = Table::new();
    t.set_header(vec![
        "substituter",
        "prio",
        "latency",
        "hits",
        "hit rate",
        "NAR size held",
        "throughput",
        "failures",
        "timeouts",
        "signatures",
    ]);
    let r_ = |s: String| Cell::new(s).set_alignment(CellAlignment::Right);
    for p in &r.substituters {
        t.add_row(vec![
            Cell::new(&p.url),
            r_(if p.reachable {
                p.priority.to_string()
            } else {
                "-".into()
            }),
            r_(p.latency_ms
                .map(|l| format!("{l:.1} ms"))
                .unwrap_or_else(|| "-".into())),
            r_(format!("{}/{}", p.hits, p.queried)),
            r_(if p.reachable {
                format!("{:.1}%", p.hit_rate * 100.0)
            } else {
                "unreachable".into()
            }),
            r_(fmt_bytes(p.nar_size_hit)),
            r_(p.throughput_bps
                .map(|b| format!("{}/s", fmt_bytes(b as u64)))
                .unwrap_or_else(|| "-".into())),
            r_((p.failures + p.nar_failures).to_string()),
            r_(p.timeouts.to_string()),
            Cell::new(format!(
                "{} trusted, {} untrusted key, {} bad, {} unsigned",
                p.trusted, p.untrusted_key, p.bad_signature, p.unsigned
            )),
        ]);
    }
    let _ = writeln!(s, "{t}");
    if !r.observed.is_empty() {
        let t =
            crate::build::report::substituter_table(&r.observed, "substituter (recorded build)");
        let _ = writeln!(s, "{t}");
    }
    if !r.findings.is_empty() {
        let _ = writeln!(s, "Findings:");
        for f in &r.findings {
            let _ = writeln!(s, "  [{}] {}", f.severity, f.message);
        }
    }
    if !r.recommended_order.is_empty() {
        // Explicit priorities, so the order holds whatever each nix-cache-info says.
        let prio: Vec<String> = r
            .recommended_order
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let base = u.split('?').next().unwrap_or(u);
                format!("{base}?priority={}", 10 * (i + 1))
            })
            .collect();
        let quoted: Vec<String> = prio.iter().map(|u| format!("\"{u}\"")).collect();
        let _ = writeln!(s, "Recommended order (fastest usable first):");
        let _ = writeln!(s, "  nix.conf:  substituters = {}", prio.join(" "));
        let _ = writeln!(
            s,
            "  NixOS:     nix.settings.substituters = [ {} ];",
            quoted.join(" ")
        );
    }
    s
}
