//! Reads a profile, telling apart "not ours", "truncated/corrupt" and "too new".

use super::schema::{APPLICATION_ID, SCHEMA_VERSION};
use super::{
    CallNode, CallSite, ClockProbe, FileRole, FileRow, Finding, FindingKind, Frame, FrameKind, Ifd,
    Meta, Profile, ProfileError, RecursionFold, Source, Status,
};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::Path;

pub fn read(path: &Path) -> Result<Profile, ProfileError> {
    // Open fails late in SQLite; check the file exists and is readable first for a clear error.
    std::fs::File::open(path).map_err(|source| ProfileError::Open {
        path: path.to_owned(),
        source,
    })?;
    let corrupt = |e: rusqlite::Error| ProfileError::Corrupt {
        path: path.to_owned(),
        detail: e.to_string(),
    };
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(corrupt)?;
    let app_id: i32 = db
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                ProfileError::Foreign {
                    path: path.to_owned(),
                    detail: "not an SQLite database".into(),
                }
            }
            e => corrupt(e),
        })?;
    if app_id != APPLICATION_ID {
        return Err(ProfileError::Foreign {
            path: path.to_owned(),
            detail: format!("SQLite application_id {app_id:#x}"),
        });
    }
    let version: i64 = db
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(corrupt)?;
    if version > SCHEMA_VERSION {
        return Err(ProfileError::TooNew {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    super::integrity::check(path, &db).map_err(|detail| ProfileError::Corrupt {
        path: path.to_owned(),
        detail,
    })?;
    let profile = read_v1(&db, version).map_err(corrupt)?;
    validate(&profile).map_err(|detail| ProfileError::Corrupt {
        path: path.to_owned(),
        detail,
    })?;
    Ok(profile)
}

/// Cross-references must hold, so that analyses can index without checks.
fn validate(p: &Profile) -> Result<(), String> {
    let nfiles = p.files.len() as u32;
    for (i, f) in p.files.iter().enumerate() {
        if f.id != i as u32 {
            return Err(format!("file ids not dense at {i}"));
        }
    }
    for (i, fr) in p.frames.iter().enumerate() {
        if fr.file >= nfiles {
            return Err(format!("frame {i} names unknown file {}", fr.file));
        }
    }
    if p.nodes.is_empty() {
        return Err("call tree has no root".into());
    }
    for (i, n) in p.nodes.iter().enumerate().skip(1) {
        if n.parent as usize >= i || n.frame as usize >= p.frames.len() {
            return Err(format!("call node {i} has dangling references"));
        }
    }
    // A scope node counts no call; its clocked calls are its entries.
    for (i, n) in p.nodes.iter().enumerate().skip(1) {
        if n.clocked_calls > n.count && p.frames[n.frame as usize].kind != FrameKind::Scope {
            return Err(format!(
                "call node {i}: {} clocked calls of {} calls",
                n.clocked_calls, n.count
            ));
        }
    }
    if p.findings.iter().any(|f| f.file >= nfiles) || p.ifds.iter().any(|f| f.file >= nfiles) {
        return Err("finding names an unknown file".into());
    }
    for s in &p.call_sites {
        if s.node as usize >= p.nodes.len() || s.file >= nfiles {
            return Err(format!(
                "call site of node {} has dangling references",
                s.node
            ));
        }
    }
    Ok(())
}

/// Versions 1 and 2 (2 added `calls.clocked_calls`; in 1 every call was timed).
fn read_v1(db: &Connection, version: i64) -> rusqlite::Result<Profile> {
    let mut meta: HashMap<String, String> = HashMap::new();
    let mut st = db.prepare("SELECT key, value FROM meta")?;
    for row in st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (k, v) = row?;
        meta.insert(k, v);
    }
    let get = |k: &str| meta.get(k).cloned().unwrap_or_default();
    let status = Status::parse(&get("status")).ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(0, "meta.status".into(), rusqlite::types::Type::Null)
    })?;
    let meta = Meta {
        status,
        reason: get("reason"),
        nix_version: get("nix_version"),
        nixperf_version: get("nixperf_version"),
        command: serde_json::from_str(&get("command")).unwrap_or_default(),
        started_at: get("started_at").parse().unwrap_or(0),
        wall_ns: get("wall_ns").parse().unwrap_or(0),
        library_patterns: serde_json::from_str(&get("library_patterns")).unwrap_or_default(),
        module_patterns: serde_json::from_str(&get("module_patterns")).unwrap_or_default(),
        evaluator_stats: serde_json::from_str(&get("evaluator_stats")).ok(),
        clock_probe: match (
            get("clock_probe_calls").parse(),
            get("clock_tiny_call_ns").parse(),
        ) {
            (Ok(calls), Ok(tiny_call_ns)) => ClockProbe {
                calls,
                tiny_call_ns,
            },
            _ => ClockProbe::default(),
        },
        recursion_fold: RecursionFold {
            depth: get("fold_depth").parse().unwrap_or(0),
            folds: get("fold_count").parse().unwrap_or(0),
            deepest_stack: get("deepest_stack").parse().unwrap_or(0),
        },
        source: match get("source").as_str() {
            "nix-eval-profiler" => Source::NixEvalProfiler {
                hz: get("sample_hz").parse().unwrap_or(0),
                why: get("source_why"),
            },
            _ => Source::Plugin,
        },
    };
    // Counts and times are never negative: a negative value is damage, not 2^64 - n.
    let u = |r: &rusqlite::Row, i| -> rusqlite::Result<u64> {
        let v = r.get::<_, i64>(i)?;
        u64::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, v))
    };

    // Before schema 3 a file was library or not, by path fragment.
    let roles = if version >= 3 {
        "role, role_why"
    } else {
        "CASE WHEN is_library THEN 'library' WHEN id = 0 THEN 'evaluator' ELSE 'module' END,
         CASE WHEN is_library THEN 'path matched a library fragment' ELSE '' END"
    };
    let mut st = db.prepare(&format!(
        "SELECT id, path, is_library, parse_ns, parses, imports, root_evals, whnf_ns, self_ns,
                inclusive_ns, calls, thunks, {roles} FROM files ORDER BY id"
    ))?;
    let files = st
        .query_map([], |r| {
            Ok(FileRow {
                id: r.get(0)?,
                path: r.get(1)?,
                is_library: r.get(2)?,
                role: FileRole::parse(&r.get::<_, String>(12)?).unwrap_or_default(),
                role_why: r.get(13)?,
                parse_ns: u(r, 3)?,
                parses: u(r, 4)?,
                imports: u(r, 5)?,
                root_evals: u(r, 6)?,
                whnf_ns: u(r, 7)?,
                self_ns: u(r, 8)?,
                inclusive_ns: u(r, 9)?,
                calls: u(r, 10)?,
                thunks: u(r, 11)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut st =
        db.prepare("SELECT kind, name, file_id, line, col, timed FROM frames ORDER BY id")?;
    let frames = st
        .query_map([], |r| {
            Ok(Frame {
                kind: FrameKind::parse(&r.get::<_, String>(0)?),
                name: r.get(1)?,
                file: r.get(2)?,
                line: r.get(3)?,
                col: r.get(4)?,
                timed: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut st = db.prepare(if version >= 2 {
        "SELECT parent, frame_id, count, inclusive_ns, self_ns, clocked_calls FROM calls ORDER BY id"
    } else {
        "SELECT parent, frame_id, count, inclusive_ns, self_ns, count FROM calls ORDER BY id"
    })?;
    let nodes = st
        .query_map([], |r| {
            Ok(CallNode {
                parent: r.get(0)?,
                frame: r.get(1)?,
                count: u(r, 2)?,
                clocked_calls: u(r, 5)?,
                inclusive_ns: u(r, 3)?,
                self_ns: u(r, 4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut st = db.prepare(
        "SELECT call_id, file_id, line, col, count FROM call_sites ORDER BY call_id, file_id, line, col",
    )?;
    let call_sites = st
        .query_map([], |r| {
            Ok(CallSite {
                node: r.get(0)?,
                file: r.get(1)?,
                line: r.get(2)?,
                col: r.get(3)?,
                count: u(r, 4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut st = db.prepare(
        "SELECT file_id, kind, line, col, depth, size, detail, count FROM findings ORDER BY id",
    )?;
    let findings = st
        .query_map([], |r| {
            let kind: String = r.get(1)?;
            Ok(Finding {
                file: r.get(0)?,
                kind: FindingKind::parse(&kind).ok_or_else(|| {
                    rusqlite::Error::InvalidColumnType(1, kind, rusqlite::types::Type::Text)
                })?,
                line: r.get(2)?,
                col: r.get(3)?,
                depth: r.get(4)?,
                size: r.get(5)?,
                detail: r.get(6)?,
                count: u(r, 7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut st = db.prepare(
        "SELECT primop, file_id, line, col, derivations, blocked_ns FROM ifd ORDER BY id",
    )?;
    let ifds = st
        .query_map([], |r| {
            Ok(Ifd {
                primop: r.get(0)?,
                file: r.get(1)?,
                line: r.get(2)?,
                col: r.get(3)?,
                derivations: r
                    .get::<_, String>(4)?
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                blocked_ns: u(r, 5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Profile {
        meta,
        files,
        frames,
        nodes,
        call_sites,
        findings,
        ifds,
    })
}
