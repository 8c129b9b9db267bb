//! Writes an evaluation profile (atomically, see `atomic`).

use super::schema::{APPLICATION_ID, CREATE, SCHEMA_VERSION};
use super::{Profile, ProfileError};
use rusqlite::params;
use std::path::Path;

pub fn write(path: &Path, p: &Profile) -> Result<(), ProfileError> {
    let err = |e: &dyn std::fmt::Display| ProfileError::Write {
        path: path.to_owned(),
        detail: e.to_string(),
    };
    super::atomic::write_sqlite(path, APPLICATION_ID, SCHEMA_VERSION, CREATE, |tx| {
        {
            let mut m = tx.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")?;
            let meta = &p.meta;
            let command = serde_json::to_string(&meta.command).unwrap_or_default();
            let patterns = serde_json::to_string(&meta.library_patterns).unwrap_or_default();
            let module_patterns = serde_json::to_string(&meta.module_patterns).unwrap_or_default();
            for (k, v) in [
                ("status", meta.status.as_str().to_string()),
                ("reason", meta.reason.clone()),
                ("nix_version", meta.nix_version.clone()),
                ("nixperf_version", meta.nixperf_version.clone()),
                ("command", command),
                ("started_at", meta.started_at.to_string()),
                ("wall_ns", meta.wall_ns.to_string()),
                ("library_patterns", patterns),
                ("module_patterns", module_patterns),
                ("clock_probe_calls", meta.clock_probe.calls.to_string()),
                (
                    "clock_tiny_call_ns",
                    meta.clock_probe.tiny_call_ns.to_string(),
                ),
                ("fold_depth", meta.recursion_fold.depth.to_string()),
                ("fold_count", meta.recursion_fold.folds.to_string()),
                ("deepest_stack", meta.recursion_fold.deepest_stack.to_string()),
                (
                    "evaluator_stats",
                    meta.evaluator_stats
                        .as_ref()
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                ),
            ] {
                m.execute(params![k, v])?;
            }
            if let super::Source::NixEvalProfiler { hz, why } = &meta.source {
                for (k, v) in [
                    ("source", "nix-eval-profiler".to_owned()),
                    ("sample_hz", hz.to_string()),
                    ("source_why", why.clone()),
                ] {
                    m.execute(params![k, v])?;
                }
            }
            let mut f = tx.prepare(
                "INSERT INTO files VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?;
            for r in &p.files {
                f.execute(params![
                    r.id,
                    r.path,
                    r.is_library,
                    r.parse_ns as i64,
                    r.parses as i64,
                    r.imports as i64,
                    r.root_evals as i64,
                    r.whnf_ns as i64,
                    r.self_ns as i64,
                    r.inclusive_ns as i64,
                    r.calls as i64,
                    r.thunks as i64,
                    r.role.as_str(),
                    r.role_why
                ])?;
            }
            let mut fr = tx.prepare("INSERT INTO frames VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
            for (i, r) in p.frames.iter().enumerate() {
                fr.execute(params![
                    i as i64,
                    r.kind.as_str(),
                    r.name,
                    r.file,
                    r.line,
                    r.col,
                    r.timed
                ])?;
            }
            let mut f =
                tx.prepare("INSERT INTO findings VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
            for (i, r) in p.findings.iter().enumerate() {
                f.execute(params![
                    i as i64,
                    r.file,
                    r.kind.as_str(),
                    r.line,
                    r.col,
                    r.depth,
                    r.size,
                    r.detail,
                    r.count as i64
                ])?;
            }
            let mut d = tx.prepare("INSERT INTO ifd VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
            for (i, r) in p.ifds.iter().enumerate() {
                d.execute(params![
                    i as i64,
                    r.primop,
                    r.file,
                    r.line,
                    r.col,
                    r.derivations.join(" "),
                    r.blocked_ns as i64
                ])?;
            }
            let mut s = tx.prepare("INSERT INTO call_sites VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for r in &p.call_sites {
                s.execute(params![r.node, r.file, r.line, r.col, r.count as i64])?;
            }
            let mut c = tx.prepare("INSERT INTO calls VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
            for (i, n) in p.nodes.iter().enumerate() {
                c.execute(params![
                    i as i64,
                    n.parent,
                    n.frame,
                    n.count as i64,
                    n.inclusive_ns as i64,
                    n.self_ns as i64,
                    n.clocked_calls as i64
                ])?;
            }
        }
        Ok(())
    })
    .map_err(|e| err(&e))
}
