//! What `nixperf analyze` writes: `performance-report.md` (summary, ranked recommendations, one
//! section per part that ran), `optimization-recommendations.md` (the problems alone, grouped
//! HIGH / MEDIUM / LOW), `build-metrics.json` (when a build ran) and `analysis.json` (all of it).

use super::problems::Problem;
use crate::analysis::findings::{self, Impact};
use crate::analysis::modules::ModuleRow;
use crate::build::BuildReport;
use crate::config::Advice;
use crate::store::usage::StoreReport;
use crate::units::fmt_bytes;
use crate::units::fmt_ns;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::{Path, PathBuf};

pub(crate) const ANALYSIS_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EvalSection {
    pub profile: String,
    pub total_ns: u64,
    pub partial: bool,
    /// Why the evaluation of the target failed (its partial profile is what is reported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub modules: Vec<ModuleRow>,
    pub recommendations: Vec<findings::Recommendation>,
}

/// Which parts `nixperf analyze` ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    Quick,
    Deep,
    Default,
    Suggest,
}

/// `analysis.json` (and the copies under `analyses/` that `--suggest` reads back): one type for
/// the writer and the reader. The reader takes the header and the problems; the sections are
/// written only (they are there for people and other tools).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Analysis {
    pub analysis_version: u32,
    pub mode: Mode,
    pub generated_at: u64,
    pub host: String,
    #[serde(skip_deserializing)]
    pub eval: Option<EvalSection>,
    #[serde(skip_deserializing)]
    pub build: Option<BuildReport>,
    #[serde(skip_deserializing)]
    pub store: Option<StoreReport>,
    #[serde(skip_deserializing)]
    pub config: Option<Advice>,
    pub problems: Vec<Problem>,
    /// Parts that did not run, and why.
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum AnalysisFileError {
    #[error("reading {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("{path}: not a nixperf analysis: {detail}")]
    Invalid { path: PathBuf, detail: String },
}

impl Analysis {
    /// The file's text (pretty JSON, fields in declaration order).
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an analysis serialises")
    }

    /// A recorded analysis: its header and problems (the sections are left out).
    pub(crate) fn read(path: &Path) -> Result<Analysis, AnalysisFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| AnalysisFileError::Read {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| AnalysisFileError::Invalid {
            path: path.to_owned(),
            detail: e.to_string(),
        })
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn count(p: &[Problem], i: Impact) -> usize {
    p.iter().filter(|x| x.impact == i).count()
}

pub(crate) fn recommendations_md(a: &Analysis) -> String {
    let mut s = String::from("# Optimization recommendations\n\n");
    if a.problems.is_empty() {
        s.push_str("No problems found in the parts that ran.\n");
    }
    for impact in [Impact::High, Impact::Medium, Impact::Low] {
        let group: Vec<&Problem> = a.problems.iter().filter(|p| p.impact == impact).collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {} impact ({})\n", impact.as_str(), group.len());
        for (i, p) in group.iter().enumerate() {
            let _ = writeln!(s, "{}. **[{}]** {}", i + 1, p.area, p.issue);
            let _ = writeln!(s, "   - fix: {}", p.fix);
            let _ = writeln!(s, "   - impact: {}", p.impact_note);
        }
        s.push('\n');
    }
    s
}

fn summary(a: &Analysis, s: &mut String) {
    s.push_str("## Executive summary\n\n");
    if let Some(e) = &a.eval {
        let top = e.modules.first();
        let _ = writeln!(
            s,
            "- **Evaluation**: {}{}{}",
            fmt_ns(e.total_ns),
            if e.partial {
                " (partial: the evaluation did not finish)"
            } else {
                ""
            },
            top.map(|m| format!(
                "; slowest module `{}` {} ({:.1} %)",
                m.path,
                fmt_ns(m.self_ns),
                m.share * 100.0
            ))
            .unwrap_or_default()
        );
    }
    if let Some(b) = &a.build {
        let _ = writeln!(
            s,
            "- **Build**: {} wall, {} derivations built ({} failed), critical path {}",
            fmt_ns(b.wall_ns),
            b.builds,
            b.builds_failed,
            fmt_ns(b.graph.critical_path_ns)
        );
    }
    if let Some(st) = &a.store {
        let gc = st.commands.first().map(|c| c.bytes_freed()).unwrap_or(0);
        let _ = writeln!(
            s,
            "- **Store**: {} paths, {} of NAR data; `nix-store --gc` frees {}",
            st.paths,
            fmt_bytes(st.nar_total),
            fmt_bytes(gc)
        );
    }
    if let Some(c) = &a.config {
        let n = c
            .recommendations
            .iter()
            .filter(|r| r.value.is_some())
            .count();
        let _ = writeln!(
            s,
            "- **Settings**: {n} change(s) recommended for {} CPUs / {} of memory",
            c.hardware.logical_cpus,
            fmt_bytes(c.hardware.mem_total)
        );
    }
    let _ = writeln!(
        s,
        "- **Problems**: {} HIGH, {} MEDIUM, {} LOW\n",
        count(&a.problems, Impact::High),
        count(&a.problems, Impact::Medium),
        count(&a.problems, Impact::Low)
    );
}

fn eval_section(e: &EvalSection, s: &mut String) {
    let _ = writeln!(
        s,
        "## Evaluation\n\nProfile: `{}`; flamegraph: `flamegraph.svg`.\n",
        e.profile
    );
    s.push_str("| module | self | share | calls | thunks |\n|---|---:|---:|---:|---:|\n");
    for m in e.modules.iter().take(10) {
        let _ = writeln!(
            s,
            "| `{}`{} | {} | {:.1} % | {} | {} |",
            cell(&m.path),
            if m.slow { " **SLOW**" } else { "" },
            fmt_ns(m.self_ns),
            m.share * 100.0,
            m.calls,
            m.thunks
        );
    }
    s.push('\n');
}

fn build_section(b: &BuildReport, s: &mut String) {
    let _ = writeln!(s, "## Build\n\n`{}`\n", cell(&b.command.join(" ")));
    s.push_str("| phase | wall (exclusive) | share |\n|---|---:|---:|\n");
    for p in &b.phases {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} % |",
            p.phase.as_str(),
            fmt_ns(p.exclusive_ns),
            p.share * 100.0
        );
    }
    s.push_str("\n| slowest derivation | wall |\n|---|---:|\n");
    for d in b.slowest.iter().take(10) {
        let _ = writeln!(s, "| {} | {} |", cell(&d.name), fmt_ns(d.wall_ns));
    }
    let _ = writeln!(
        s,
        "\nCritical path ({}): {}\n",
        fmt_ns(b.graph.critical_path_ns),
        b.graph.critical_path.join(" → ")
    );
    if !b.simulation.rows.is_empty() {
        s.push_str("| max-jobs | simulated build time |\n|---:|---:|\n");
        for r in &b.simulation.rows {
            let _ = writeln!(
                s,
                "| {} | {} |",
                r.max_jobs,
                fmt_ns(r.critical_path_order_ns)
            );
        }
        s.push('\n');
    }
}

fn store_section(st: &StoreReport, s: &mut String) {
    let _ = writeln!(
        s,
        "## Store\n\n{} paths, {} of NAR data.\n",
        st.paths,
        fmt_bytes(st.nar_total)
    );
    s.push_str("| category | paths | NAR bytes |\n|---|---:|---:|\n");
    for c in &st.breakdown {
        let _ = writeln!(s, "| {} | {} | {} |", c.name, c.paths, fmt_bytes(c.nar));
    }
    s.push_str("\n| command | paths deleted | frees |\n|---|---:|---:|\n");
    for c in &st.commands {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} |",
            cell(&c.command),
            c.paths_deleted,
            fmt_bytes(c.bytes_freed())
        );
    }
    if let Some(o) = &st.optimise {
        let _ = writeln!(
            s,
            "| `nix-store --optimise` | {} files linked | {} |",
            o.files_linked,
            fmt_bytes(o.disk_bytes)
        );
    }
    s.push('\n');
}

fn config_section(c: &Advice, s: &mut String) {
    s.push_str("## Settings\n\n| setting | current | recommended | predicted impact |\n|---|---|---|---|\n");
    for r in &c.recommendations {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            r.setting,
            cell(&r.current),
            cell(&r.recommended),
            cell(&r.impact)
        );
    }
    s.push('\n');
}

pub(crate) fn performance_report_md(a: &Analysis, command: &str) -> String {
    let mut s = String::from("# Nix performance report\n\n");
    let _ = writeln!(s, "Host `{}`, `{command}`.\n", a.host);
    summary(a, &mut s);
    s.push_str(
        recommendations_md(a)
            .replacen("# Optimization recommendations", "## Recommendations", 1)
            .replace("\n## ", "\n### ")
            .as_str(),
    );
    if let Some(e) = &a.eval {
        eval_section(e, &mut s);
    }
    if let Some(b) = &a.build {
        build_section(b, &mut s);
    }
    if let Some(st) = &a.store {
        store_section(st, &mut s);
    }
    if let Some(c) = &a.config {
        config_section(c, &mut s);
    }
    if !a.skipped.is_empty() {
        s.push_str("## Not analyzed\n\n");
        for k in &a.skipped {
            let _ = writeln!(s, "- {k}");
        }
    }
    s
}
