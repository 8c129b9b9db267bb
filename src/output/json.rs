//! The `--json` report: everything the text report shows, machine-readable.

use crate::analysis::findings;
use crate::analysis::findings::{EvaluatorStats, Recommendation};
use crate::analysis::functions::FunctionRow;
use crate::analysis::modules::ModuleTable;
use crate::profile::{Finding, Ifd, Meta, Profile};
use serde::Serialize;

/// Bump when a field changes meaning or disappears.
pub(crate) const REPORT_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct EvalReport<'a> {
    pub report_version: u32,
    pub profile: &'a str,
    pub meta: &'a Meta,
    pub partial: bool,
    pub modules: &'a ModuleTable,
    pub functions: &'a [FunctionRow],
    pub recommendations: &'a [Recommendation],
    pub findings: &'a [Finding],
    pub ifd: &'a [Ifd],
    pub evaluator_stats: Option<EvaluatorStats>,
    pub flamegraph: Option<&'a str>,
    pub folded: Option<&'a str>,
    /// Set when the flamegraphs and stacks.folded collapse recursion (the call tree was too
    /// deep for exact folded stacks).
    pub stacks_note: Option<&'a str>,
}

impl<'a> EvalReport<'a> {
    /// The report of profile `p` (named `profile`) from its tables, without written files.
    pub fn new(
        profile: &'a str,
        p: &'a Profile,
        modules: &'a ModuleTable,
        functions: &'a [FunctionRow],
        recommendations: &'a [Recommendation],
    ) -> Self {
        EvalReport {
            report_version: REPORT_VERSION,
            profile,
            meta: &p.meta,
            partial: p.meta.status.is_partial(),
            modules,
            functions,
            recommendations,
            findings: &p.findings,
            ifd: &p.ifds,
            evaluator_stats: findings::evaluator_stats(p),
            flamegraph: None,
            folded: None,
            stacks_note: None,
        }
    }
}
