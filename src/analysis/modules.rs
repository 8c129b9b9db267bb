//! The slow-module table: the files a user would refactor, ranked by module cost.
//!
//! By default helper libraries roll up into the module that called them (the recorder charges
//! their code to it, see `recorder::roles`); `View::ByFile` is the raw per-file table, where a helper's code is its
//! own row.

use super::why::{self, Why};
use crate::profile::{FileRole, FileRow, FindingKind, Profile};
use serde::Serialize;

/// Modules at or above this self time are flagged slow (the "> 1 s" rule).
pub(crate) const SLOW_NS: u64 = 1_000_000_000;
/// Modules below this self time count as fast and are summarised, not listed.
pub const FAST_NS: u64 = 1_000_000;
/// Slow modules explained (`ModuleRow::why`).
pub(crate) const EXPLAINED: usize = 5;

pub use super::why::View;

#[derive(Debug, Clone, Serialize)]
pub struct ModuleRow {
    pub file: u32,
    pub path: String,
    pub role: FileRole,
    pub self_ns: u64,
    /// Of `self_ns`, the time in helper code rolled up into this module.
    pub helpers_ns: u64,
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
    /// Where the module's time went (the top modules only).
    pub why: Option<Why>,
}

/// The classification in effect: what rolled up and why.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Classification {
    /// Files per role, among those that ran.
    pub counts: Vec<(FileRole, usize)>,
    /// Helper libraries whose cost rolled up, with why they count as helpers.
    pub helpers: Vec<RolledUp>,
    /// `--library` / `--module` fragments given, with how many files each matched.
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RolledUp {
    pub path: String,
    pub why: String,
    /// The helper's own code, charged to the modules that called it.
    pub rolled_up_ns: u64,
    /// What stayed in its own row (no module on the stack).
    pub own_row_ns: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Override {
    /// `--library` or `--module`.
    pub flag: &'static str,
    pub fragment: String,
    pub matched: usize,
}

impl Classification {
    /// One warning per fragment that matched no file of the run.
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.overrides
            .iter()
            .filter(|o| o.matched == 0)
            .map(|o| {
                format!(
                    "{} {}: matched no file of this evaluation",
                    o.flag, o.fragment
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModuleTable {
    pub view: View,
    /// All modules (files that ran and own time in this view), slowest first.
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
    pub classification: Classification,
}

/// The module view (helpers rolled up), the top modules explained.
pub fn module_table(p: &Profile) -> ModuleTable {
    module_table_with(p, View::Modules)
}

pub fn module_table_with(p: &Profile, view: View) -> ModuleTable {
    let total = p.total_ns().max(1);
    // The recorder charges a helper's code to the module that called it; per file, the call
    // tree moves that time back to the helper.
    let moved = why::helper_time(p);
    let own = |f: &FileRow| match view {
        View::Modules => f.self_ns,
        View::ByFile => {
            let i = f.id as usize;
            (f.self_ns + moved.own_code[i]).saturating_sub(moved.helpers[i])
        }
    };
    let mut rows: Vec<ModuleRow> = p
        .files
        .iter()
        .skip(1)
        .filter(|f| !f.role.is_library())
        .filter(|f| match (view, f.role) {
            // A helper has a row only for the time no module was below it.
            (View::Modules, FileRole::Helper) => f.self_ns > 0,
            _ => own(f) > 0 || f.parses > 0 || f.root_evals > 0,
        })
        .map(|f| ModuleRow {
            file: f.id,
            path: f.path.clone(),
            role: f.role,
            self_ns: own(f),
            helpers_ns: match view {
                View::Modules => moved.helpers[f.id as usize],
                View::ByFile => 0,
            },
            inclusive_ns: f.inclusive_ns,
            share: own(f) as f64 / total as f64,
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
            slow: own(f) >= SLOW_NS,
            why: None,
        })
        .collect();
    rows.sort_by(|a, b| b.self_ns.cmp(&a.self_ns).then(a.path.cmp(&b.path)));
    if p.meta.source.is_plugin() {
        let explained: Vec<u32> = rows.iter().take(EXPLAINED).map(|r| r.file).collect();
        let mut whys = why::explain(p, view, &explained);
        for r in rows.iter_mut().take(EXPLAINED) {
            r.why = whys.remove(&r.file);
        }
    }
    ModuleTable {
        view,
        fast_count: rows.iter().filter(|r| r.self_ns < FAST_NS).count(),
        slow_count: rows.iter().filter(|r| r.slow).count(),
        rows,
        total_ns: p.total_ns(),
        evaluator_ns: p.files.first().map_or(0, own),
        library_ns: p
            .files
            .iter()
            .filter(|f| f.role.is_library())
            .map(own)
            .sum(),
        fast_threshold_ns: FAST_NS,
        slow_threshold_ns: SLOW_NS,
        classification: classification(p, &moved),
    }
}

fn ran(f: &FileRow) -> bool {
    f.parses > 0 || f.root_evals > 0 || f.self_ns > 0 || f.calls > 0
}

/// `moved`: the helper time the call tree moves between files (`why::helper_time`).
pub(crate) fn classification(p: &Profile, moved: &why::HelperTime) -> Classification {
    let mut counts: Vec<(FileRole, usize)> = Vec::new();
    for f in p.files.iter().skip(1).filter(|f| ran(f)) {
        match counts.iter_mut().find(|(r, _)| *r == f.role) {
            Some((_, n)) => *n += 1,
            None => counts.push((f.role, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.as_str().cmp(b.0.as_str())));
    let mut helpers: Vec<RolledUp> = p
        .files
        .iter()
        .filter(|f| f.role == FileRole::Helper && ran(f))
        .map(|f| RolledUp {
            path: f.path.clone(),
            why: f.role_why.clone(),
            rolled_up_ns: moved.own_code[f.id as usize],
            own_row_ns: f.self_ns,
        })
        .collect();
    helpers.sort_by(|a, b| {
        b.rolled_up_ns
            .cmp(&a.rolled_up_ns)
            .then(a.path.cmp(&b.path))
    });
    let matched = |frag: &str| {
        p.files
            .iter()
            .skip(1)
            .filter(|f| f.path.contains(frag))
            .count()
    };
    let overrides = p
        .meta
        .library_patterns
        .iter()
        .map(|f| ("--library", f))
        .chain(p.meta.module_patterns.iter().map(|f| ("--module", f)))
        // Profiles before roles recorded the default library fragments here: not the user's.
        .filter(|_| p.files.iter().all(|f| f.role != FileRole::Library))
        .map(|(flag, f)| Override {
            flag,
            fragment: f.clone(),
            matched: matched(f),
        })
        .collect();
    Classification {
        counts,
        helpers,
        overrides,
    }
}
