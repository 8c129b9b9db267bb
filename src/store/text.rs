//! Text rendering of a [`StoreReport`], with the advice derived from its numbers.

use super::usage::StoreReport;
use crate::units::fmt_bytes;
use comfy_table::{Cell, CellAlignment, Table};
use std::fmt::Write;

/// Nix's own `showBytes` ("%.2f MiB"), to print exactly what Nix will print.
pub(crate) fn nix_mib(b: u64) -> String {
    format!("{:.2} MiB", b as f64 / (1024.0 * 1024.0))
}

fn right(s: String) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

/// Advice lines: the cleanup commands with their numbers, then settings.
pub(crate) fn advice(r: &StoreReport) -> Vec<String> {
    let mut a = Vec::new();
    for (i, c) in r.commands.iter().enumerate() {
        // A collect-garbage that removes no generation is the plain collection again.
        if c.paths_deleted == 0 || (i > 0 && c.generations_removed == 0) {
            continue;
        }
        let disk = match c.freed {
            Some(f) => format!(
                "frees {} on disk (nix will print \"{} store paths deleted, {} freed\")",
                fmt_bytes(f.disk),
                c.paths_deleted,
                nix_mib(f.nix_reported)
            ),
            None => format!("deletes {} paths", c.paths_deleted),
        };
        a.push(format!(
            "`{}`: {disk}; {} of NAR data",
            c.command,
            fmt_bytes(c.nar_bytes)
        ));
    }
    let res_only = r.breakdown.get(3).map(|c| c.nar).unwrap_or(0);
    if res_only > 0 {
        let links: Vec<String> = r
            .results
            .iter()
            .filter(|x| x.unique_nar > 0)
            .take(5)
            .map(|x| x.link.display().to_string())
            .collect();
        a.push(format!(
            "{} is kept alive only by result links; remove the ones you no longer need ({}{}), then `nix-store --gc`",
            fmt_bytes(res_only),
            links.join(", "),
            if r.results.len() > 5 { ", …" } else { "" }
        ));
    }
    if let Some(o) = &r.optimise
        && o.files_linked > 0
    {
        a.push(format!(
            "`nix-store --optimise`: hard-links {} files, frees {} on disk (nix will print \"{} freed by hard-linking {} files\"){}; or set `auto-optimise-store = true`",
            o.files_linked,
            fmt_bytes(o.disk_bytes),
            nix_mib(o.nix_reported_bytes),
            o.files_linked,
            if o.sampled_fraction < 1.0 {
                format!(
                    " — estimated from a {:.0}% sample of paths",
                    o.sampled_fraction * 100.0
                )
            } else {
                String::new()
            }
        ));
    }
    let (min_free, max_free) = free_targets(r);
    a.push(format!(
        "store grew {} in the last 7 days: collect weekly (`nix.gc.automatic = true; nix.gc.dates = \"weekly\"; nix.gc.options = \"--delete-older-than {}d\";`) and let nix collect when space runs low: `min-free = {min_free}`, `max-free = {max_free}`",
        fmt_bytes(r.registered_last_week),
        r.older_than_days
    ));
    a
}

/// `min-free` covers a week of growth (at least 1 GiB, at most 10 % of the file system);
/// `max-free` lets one automatic collection free four times that.
pub(crate) fn free_targets(r: &StoreReport) -> (u64, u64) {
    const GIB: u64 = 1 << 30;
    let mut min = r.registered_last_week.max(GIB);
    if let Some(fs) = r.fs_size {
        min = min.min((fs / 10).max(GIB));
    }
    let min = min.div_ceil(GIB) * GIB;
    (min, 4 * min)
}

pub(crate) fn render_text(r: &StoreReport, top: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Store {} ({}): {} paths, {} (NAR); keep-derivations={}, keep-outputs={}",
        r.store_dir,
        r.db.display(),
        r.paths,
        fmt_bytes(r.nar_total),
        r.keep_derivations,
        r.keep_outputs
    );
    if let (Some(size), Some(free)) = (r.fs_size, r.fs_free) {
        let _ = writeln!(
            s,
            "File system: {} free of {}",
            fmt_bytes(free),
            fmt_bytes(size)
        );
    }
    let mut t = Table::new();
    t.set_header(vec!["kept alive by", "paths", "NAR size"]);
    for (i, c) in r.breakdown.iter().enumerate() {
        t.add_row(vec![
            Cell::new(c.name),
            right(c.paths.to_string()),
            right(fmt_bytes(c.nar)),
        ]);
        if i == 2 {
            for a in r.old_by_age.iter().filter(|a| a.paths > 0) {
                t.add_row(vec![
                    Cell::new(format!(
                        "  {}",
                        a.name.trim_start_matches("old generations only, ")
                    )),
                    right(a.paths.to_string()),
                    right(fmt_bytes(a.nar)),
                ]);
            }
        }
    }
    let _ = writeln!(s, "\n{t}");

    if !r.generations.is_empty() {
        let mut t = Table::new();
        t.set_header(vec![
            "profile",
            "gen",
            "age (days)",
            "closure",
            "unique (freed alone)",
        ]);
        for g in &r.generations {
            t.add_row(vec![
                Cell::new(g.profile.display()),
                Cell::new(format!(
                    "{}{}",
                    g.number,
                    if g.current { " (current)" } else { "" }
                )),
                right(format!("{:.1}", g.age_days)),
                right(fmt_bytes(g.closure_nar)),
                right(fmt_bytes(g.unique_nar)),
            ]);
        }
        let _ = writeln!(s, "Profile generations\n{t}");
    }
    if !r.results.is_empty() {
        let mut t = Table::new();
        t.set_header(vec![
            "result link",
            "store path",
            "closure",
            "unique (freed alone)",
        ]);
        for x in r.results.iter().take(top) {
            t.add_row(vec![
                Cell::new(x.link.display()),
                Cell::new(&x.target),
                right(fmt_bytes(x.closure_nar)),
                right(fmt_bytes(x.unique_nar)),
            ]);
        }
        let more = r.results.len().saturating_sub(top);
        let _ = writeln!(
            s,
            "Result links (gcroots/auto){}\n{t}",
            if more > 0 {
                format!(", {more} more not shown")
            } else {
                String::new()
            }
        );
    }
    if !r.other_roots.is_empty() {
        let _ = writeln!(s, "Other GC roots:");
        for x in r.other_roots.iter().take(top) {
            let _ = writeln!(s, "  {} -> {}", x.link.display(), x.target);
        }
    }
    let mut t = Table::new();
    t.set_header(vec![
        "command",
        "generations removed",
        "paths deleted",
        "NAR bytes",
        "disk freed",
        "nix prints",
    ]);
    for c in &r.commands {
        t.add_row(vec![
            Cell::new(&c.command),
            right(c.generations_removed.to_string()),
            right(c.paths_deleted.to_string()),
            right(fmt_bytes(c.nar_bytes)),
            right(
                c.freed
                    .map(|f| fmt_bytes(f.disk))
                    .unwrap_or_else(|| "-".into()),
            ),
            right(
                c.freed
                    .map(|f| nix_mib(f.nix_reported))
                    .unwrap_or_else(|| "-".into()),
            ),
        ]);
    }
    if let Some(o) = &r.optimise {
        t.add_row(vec![
            Cell::new(if o.sampled_fraction < 1.0 {
                "nix-store --optimise (sampled estimate)"
            } else {
                "nix-store --optimise"
            }),
            right("0".into()),
            right(format!("{} files linked", o.files_linked)),
            right("-".into()),
            right(fmt_bytes(o.disk_bytes)),
            right(nix_mib(o.nix_reported_bytes)),
        ]);
    }
    let _ = writeln!(s, "Cleanup commands (exact, from the store graph)\n{t}");
    if !r.dead_top.is_empty() {
        let _ = writeln!(s, "Largest dead paths:");
        for (p, b) in &r.dead_top {
            let _ = writeln!(s, "  {:>12}  {}/{}", fmt_bytes(*b), r.store_dir, p);
        }
    }
    let _ = writeln!(s, "\nAdvice:");
    for a in advice(r) {
        let _ = writeln!(s, "  - {a}");
    }
    let _ = writeln!(
        s,
        "(DB read {:.0} ms, analysis {:.0} ms)",
        r.db_read_ms, r.analysis_ms
    );
    s
}
