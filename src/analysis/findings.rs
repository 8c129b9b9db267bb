//! Ranked recommendations from the findings of a profile: per module, which finding costs how
//! much (from the dynamic counts and the measured blocked time), the fix in one line, and the
//! estimated saving with the reasoning behind the number.

use crate::profile::{FindingKind, Profile};
use crate::units::group;
use serde::Serialize;

/// Extra cost of a variable lookup through a `with` over a lexical one, measured with
/// nix-tests/bench/with-lookup.nix on Nix 2.8 (3 M lookups: +68 instructions, +12 ns each).
pub const WITH_LOOKUP_NS: u64 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Impact {
    High,
    Medium,
    Low,
}

impl Impact {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Impact::High => "HIGH",
            Impact::Medium => "MEDIUM",
            Impact::Low => "LOW",
        }
    }

    /// HIGH: ≥ 1 s or ≥ 10 % of the evaluation; MEDIUM: ≥ 1 %; LOW: the rest.
    fn of(saving_ns: u64, total_ns: u64) -> Impact {
        let share = saving_ns as f64 / total_ns.max(1) as f64;
        if saving_ns >= 1_000_000_000 || share >= 0.10 {
            Impact::High
        } else if share >= 0.01 {
            Impact::Medium
        } else {
            Impact::Low
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub impact: Impact,
    pub kind: &'static str,
    pub file: String,
    pub line: u32,
    pub col: u32,
    /// What was found, with its measured numbers.
    pub issue: String,
    /// The fix, in one line.
    pub fix: String,
    pub saving_ns: u64,
    /// How the saving was estimated.
    pub reasoning: String,
    /// The module's own (attributed) time, for scale.
    pub module_self_ns: u64,
}

pub fn recommendations(p: &Profile) -> Vec<Recommendation> {
    let total = p.total_ns();
    let module_self = |file: u32| p.files.get(file as usize).map_or(0, |f| f.self_ns);
    let mut out = Vec::new();
    for f in &p.findings {
        let path = p.file_path(f.file).to_owned();
        let (issue, fix, saving, reasoning) = match f.kind {
            FindingKind::With => {
                let opens = if f.detail.is_empty() { "…" } else { f.detail.as_str() };
                let saving = f.count * WITH_LOOKUP_NS;
                (
                    format!(
                        "`with {opens};` (depth {}): {} variable lookups resolved through it",
                        f.depth,
                        group(f.count)
                    ),
                    format!(
                        "replace `with {opens};` with explicit `{opens}.name` or `inherit ({opens}) …;`"
                    ),
                    saving,
                    format!(
                        "{} dynamic lookups × {WITH_LOOKUP_NS} ns (measured extra cost of a `with` lookup over a lexical one)",
                        group(f.count)
                    ),
                )
            }
            FindingKind::Rec => (
                format!(
                    "`rec {{ }}` with {} attribute{}, evaluated {} time{}",
                    f.size,
                    if f.size == 1 { "" } else { "s" },
                    group(f.count),
                    if f.count == 1 { "" } else { "s" }
                ),
                "use `let … in { … }` instead of `rec { }` (lexical scope, no self-reference surprises, overridable)".to_owned(),
                0,
                "no measurable saving: a `rec` set costs about what the equivalent `let` costs; the gain is clarity".to_owned(),
            ),
            FindingKind::Let => (
                format!("`let` with {} bindings", f.size),
                "split the `let` into smaller named pieces or separate files".to_owned(),
                0,
                "no measurable saving: bindings are lazy; the finding is about readability".to_owned(),
            ),
        };
        out.push(Recommendation {
            impact: Impact::of(saving, total),
            kind: f.kind.as_str(),
            file: path,
            line: f.line,
            col: f.col,
            issue,
            fix,
            saving_ns: saving,
            reasoning,
            module_self_ns: module_self(f.file),
        });
    }
    for i in &p.ifds {
        out.push(Recommendation {
            impact: Impact::of(i.blocked_ns, total),
            kind: "ifd",
            file: p.file_path(i.file).to_owned(),
            line: i.line,
            col: i.col,
            issue: format!(
                "import from derivation: `{}` had to realise {} before evaluation could go on",
                i.primop,
                i.derivations.join(", ")
            ),
            fix: "avoid IFD: commit the generated file, or build it ahead and pass its path in"
                .to_owned(),
            saving_ns: i.blocked_ns,
            reasoning: "the measured time evaluation was blocked realising the derivation(s)"
                .to_owned(),
            module_self_ns: module_self(i.file),
        });
    }
    out.sort_by(|a, b| {
        a.impact
            .cmp(&b.impact)
            .then(b.saving_ns.cmp(&a.saving_ns))
            .then(a.file.cmp(&b.file))
            .then(a.line.cmp(&b.line))
    });
    out
}

/// The headline numbers of Nix's own statistics, if the run has them.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluatorStats {
    pub cpu_time_s: f64,
    pub function_calls: u64,
    pub primop_calls: u64,
    pub thunks: u64,
    pub values: u64,
    pub envs: u64,
    pub sets: u64,
    pub list_concats: u64,
    pub gc_heap_bytes: u64,
    pub gc_total_bytes: u64,
}

pub fn evaluator_stats(p: &Profile) -> Option<EvaluatorStats> {
    let s = p.meta.evaluator_stats.as_ref()?;
    let n = |path: &[&str]| {
        path.iter()
            .try_fold(s, |v, k| v.get(k))
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
    };
    Some(EvaluatorStats {
        cpu_time_s: s.get("cpuTime").and_then(|v| v.as_f64()).unwrap_or(0.0),
        function_calls: n(&["nrFunctionCalls"]),
        primop_calls: n(&["nrPrimOpCalls"]),
        thunks: n(&["nrThunks"]),
        values: n(&["values", "number"]),
        envs: n(&["envs", "number"]),
        sets: n(&["sets", "number"]),
        list_concats: n(&["list", "concats"]),
        gc_heap_bytes: n(&["gc", "heapSize"]),
        gc_total_bytes: n(&["gc", "totalBytes"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_thresholds_and_grouping() {
        assert_eq!(Impact::of(2_000_000_000, u64::MAX), Impact::High);
        assert_eq!(Impact::of(10, 100), Impact::High);
        assert_eq!(Impact::of(5, 100), Impact::Medium);
        assert_eq!(Impact::of(0, 100), Impact::Low);
        assert_eq!(group(4210), "4,210");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000_000), "1,000,000");
    }
}
