//! The slow-module table: files ranked by module cost (attributed self time).

use crate::profile::{FindingKind, Profile};
use serde::Serialize;

/// Modules at or above this self time are flagged slow (the seed's "> 1 s" rule).
pub const SLOW_NS: u64 = 1_000_000_000;
/// Modules below this self time count as fast and are summarised, not listed.
pub const FAST_NS: u64 = 1_000_000;

#[derive(Debug, Clone, Serialize)]
pub struct ModuleRow {
    pub file: u32,
    pub path: String,
    pub self_ns: u64,
    pub inclusive_ns: u64,
    /// Share of the whole evaluation, 0..=1.
    pub share: f64,
    pub parse_ns: u64,
    pub whnf_ns: u64,
    pub parses: u64,
    pub imports: u64,
    pub calls: u64,
    pub thunks: u64,
    /// Variable lookups resolved through `with` scopes of this file.
    pub with_lookups: u64,
    pub slow: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModuleTable {
    /// All modules (non-library files that ran), slowest first.
    pub rows: Vec<ModuleRow>,
    pub total_ns: u64,
    /// Work outside any file's code (printing, base environment, deep forcing).
    pub evaluator_ns: u64,
    /// Library files' own time (only their top-level evaluation; the rest rolls up).
    pub library_ns: u64,
    pub fast_count: usize,
    pub slow_count: usize,
    pub fast_threshold_ns: u64,
    pub slow_threshold_ns: u64,
}

pub fn module_table(p: &Profile) -> ModuleTable {
    let total = p.total_ns().max(1);
    let mut rows: Vec<ModuleRow> = p
        .files
        .iter()
        .skip(1)
        .filter(|f| !f.is_library && (f.self_ns > 0 || f.parses > 0 || f.root_evals > 0))
        .map(|f| ModuleRow {
            file: f.id,
            path: f.path.clone(),
            self_ns: f.self_ns,
            inclusive_ns: f.inclusive_ns,
            share: f.self_ns as f64 / total as f64,
            parse_ns: f.parse_ns,
            whnf_ns: f.whnf_ns,
            parses: f.parses,
            imports: f.imports,
            calls: f.calls,
            thunks: f.thunks,
            with_lookups: p
                .findings
                .iter()
                .filter(|x| x.file == f.id && x.kind == FindingKind::With)
                .map(|x| x.count)
                .sum(),
            slow: f.self_ns >= SLOW_NS,
        })
        .collect();
    rows.sort_by(|a, b| b.self_ns.cmp(&a.self_ns).then(a.path.cmp(&b.path)));
    ModuleTable {
        fast_count: rows.iter().filter(|r| r.self_ns < FAST_NS).count(),
        slow_count: rows.iter().filter(|r| r.slow).count(),
        rows,
        total_ns: p.total_ns(),
        evaluator_ns: p.files.first().map_or(0, |f| f.self_ns),
        library_ns: p
            .files
            .iter()
            .filter(|f| f.is_library)
            .map(|f| f.self_ns)
            .sum(),
        fast_threshold_ns: FAST_NS,
        slow_threshold_ns: SLOW_NS,
    }
}
