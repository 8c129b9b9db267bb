//! The build profile's SQLite file, in the evaluation profile's family (`src/profile/`): same
//! `application_id` ('nxpf'), a `meta` key/value table whose `kind` row says `build`, its own
//! `user_version`; written in one transaction to a temporary file, then renamed into place.

use super::BuildError;
use super::model::*;
use rusqlite::{Connection, OpenFlags, params};
use std::collections::HashMap;
use std::path::Path;

/// Same value as `profile::schema::APPLICATION_ID`: 'nxpf'.
pub(crate) const APPLICATION_ID: i32 = 0x6e78_7066;
/// 2: per-build CPU (cpu_ns, cores, demand, active_share), transfer errors, machine CPUs.
pub(crate) const BUILD_SCHEMA_VERSION: i64 = 2;
/// The build profile file's marker (its `meta` row `kind`), telling it from an evaluation
/// profile: a file-format constant, not the history's `RunKind` (whose `build` names runs).
pub(crate) const KIND: &str = "build";

const CREATE: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE derivations (
    id INTEGER PRIMARY KEY, drv_path TEXT NOT NULL, name TEXT NOT NULL,
    start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, log_lines INTEGER NOT NULL,
    outcome TEXT NOT NULL, machine TEXT NOT NULL, cpu_ns INTEGER, cores INTEGER,
    demand REAL, active_share REAL);
CREATE TABLE drv_phases (drv_id INTEGER NOT NULL, seq INTEGER NOT NULL, phase TEXT NOT NULL,
    start_ns INTEGER NOT NULL);
CREATE TABLE edges (input_id INTEGER NOT NULL, dependent_id INTEGER NOT NULL);
CREATE TABLE substitutions (
    id INTEGER PRIMARY KEY, store_path TEXT NOT NULL, substituter TEXT NOT NULL,
    start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, bytes INTEGER NOT NULL,
    outcome TEXT NOT NULL);
CREATE TABLE transfers (id INTEGER PRIMARY KEY, url TEXT NOT NULL, start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL, bytes INTEGER NOT NULL, errors INTEGER NOT NULL);
CREATE TABLE copies (id INTEGER PRIMARY KEY, store_path TEXT NOT NULL, src TEXT NOT NULL,
    dst TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL);
CREATE TABLE queries (id INTEGER PRIMARY KEY, store_path TEXT NOT NULL,
    substituter TEXT NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL);
CREATE TABLE errors (id INTEGER PRIMARY KEY, message TEXT NOT NULL);
CREATE TABLE samples (t_ns INTEGER NOT NULL, cpu TEXT NOT NULL, mem_used INTEGER NOT NULL,
    swap_used INTEGER NOT NULL, disk_read INTEGER NOT NULL, disk_written INTEGER NOT NULL,
    net_rx INTEGER NOT NULL, net_tx INTEGER NOT NULL);
";

pub(crate) fn write(path: &Path, p: &BuildProfile) -> Result<(), BuildError> {
    crate::profile::atomic::write_sqlite(path, APPLICATION_ID, BUILD_SCHEMA_VERSION, CREATE, |tx| {
        fill(tx, p)
    })
    .map_err(|detail| BuildError::Store {
        path: path.to_owned(),
        detail,
    })
}

fn fill(tx: &rusqlite::Transaction, p: &BuildProfile) -> rusqlite::Result<()> {
    let i = |x: u64| x as i64;
    {
        let m = &p.meta;
        let w = &p.warnings;
        let mut st = tx.prepare("INSERT INTO meta VALUES (?1, ?2)")?;
        let opt = |v: Option<String>| v.unwrap_or_default();
        for (k, v) in [
            ("kind", KIND.to_string()),
            ("status", m.status.as_str().to_string()),
            ("reason", m.reason.clone()),
            ("exit_code", opt(m.exit_code.map(|c| c.to_string()))),
            (
                "command",
                serde_json::to_string(&m.command).unwrap_or_default(),
            ),
            ("started_at", m.started_at.to_string()),
            ("wall_ns", m.wall_ns.to_string()),
            ("eval_end_ns", opt(m.eval_end_ns.map(|c| c.to_string()))),
            ("timed", (m.timed as u8).to_string()),
            ("nixperf_version", m.nixperf_version.clone()),
            ("warnings_malformed", w.malformed.to_string()),
            ("warnings_unknown_types", w.unknown_types.to_string()),
            ("warnings_out_of_order", w.out_of_order.to_string()),
            (
                "first_bad_line",
                opt(w.first_bad_line.map(|c| c.to_string())),
            ),
            ("first_bad_reason", w.first_bad_reason.clone()),
            ("sampler_cpu_ns", p.sampler_cpu_ns.to_string()),
            ("cpus", m.cpus.to_string()),
            ("unattributed_cpu_ns", m.unattributed_cpu_ns.to_string()),
        ] {
            st.execute(params![k, v])?;
        }
        let mut st =
            tx.prepare("INSERT INTO derivations VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)")?;
        let mut ph = tx.prepare("INSERT INTO drv_phases VALUES (?1,?2,?3,?4)")?;
        for (n, d) in p.derivations.iter().enumerate() {
            st.execute(params![
                n as i64,
                d.drv_path,
                d.name,
                i(d.start_ns),
                i(d.end_ns),
                i(d.log_lines),
                d.outcome.as_str(),
                d.machine,
                d.cpu_ns.map(i),
                d.cores,
                d.demand,
                d.active_share
            ])?;
            for (s, (name, t)) in d.phases.iter().enumerate() {
                ph.execute(params![n as i64, s as i64, name, i(*t)])?;
            }
        }
        let mut st = tx.prepare("INSERT INTO edges VALUES (?1,?2)")?;
        for &(a, b) in &p.edges {
            st.execute(params![a, b])?;
        }
        let mut st = tx.prepare("INSERT INTO substitutions VALUES (?1,?2,?3,?4,?5,?6,?7)")?;
        for (n, s) in p.substitutions.iter().enumerate() {
            st.execute(params![
                n as i64,
                s.store_path,
                s.substituter,
                i(s.start_ns),
                i(s.end_ns),
                i(s.bytes),
                s.outcome.as_str()
            ])?;
        }
        let mut st = tx.prepare("INSERT INTO transfers VALUES (?1,?2,?3,?4,?5,?6)")?;
        for (n, t) in p.transfers.iter().enumerate() {
            st.execute(params![
                n as i64,
                t.url,
                i(t.start_ns),
                i(t.end_ns),
                i(t.bytes),
                t.errors
            ])?;
        }
        let mut st = tx.prepare("INSERT INTO copies VALUES (?1,?2,?3,?4,?5,?6)")?;
        for (n, c) in p.copies.iter().enumerate() {
            st.execute(params![
                n as i64,
                c.store_path,
                c.from,
                c.to,
                i(c.start_ns),
                i(c.end_ns)
            ])?;
        }
        let mut st = tx.prepare("INSERT INTO queries VALUES (?1,?2,?3,?4,?5)")?;
        for (n, q) in p.queries.iter().enumerate() {
            st.execute(params![
                n as i64,
                q.store_path,
                q.substituter,
                i(q.start_ns),
                i(q.end_ns)
            ])?;
        }
        let mut st = tx.prepare("INSERT INTO errors VALUES (?1,?2)")?;
        for (n, e) in p.errors.iter().enumerate() {
            st.execute(params![n as i64, e])?;
        }
        let mut st = tx.prepare("INSERT INTO samples VALUES (?1,?2,?3,?4,?5,?6,?7,?8)")?;
        for s in &p.samples {
            st.execute(params![
                i(s.t_ns),
                serde_json::to_string(&s.cpu).unwrap_or_default(),
                i(s.mem_used),
                i(s.swap_used),
                i(s.disk_read),
                i(s.disk_written),
                i(s.net_rx),
                i(s.net_tx)
            ])?;
        }
    }
    Ok(())
}

/// Whether `path` is a build profile (any schema), so `nixperf report` can hand it over.
pub(crate) fn is_build_profile(path: &Path) -> bool {
    let Ok(db) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return false;
    };
    let app: Option<i32> = db
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .ok();
    app == Some(APPLICATION_ID)
        && db
            .query_row("SELECT value FROM meta WHERE key = 'kind'", [], |r| {
                r.get::<_, String>(0)
            })
            .is_ok_and(|k| k == KIND)
}

pub(crate) fn read(path: &Path) -> Result<BuildProfile, BuildError> {
    std::fs::File::open(path).map_err(|e| BuildError::Log {
        path: path.to_owned(),
        source: e,
    })?;
    let bad = |detail: String| BuildError::BadProfile {
        path: path.to_owned(),
        detail,
    };
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| bad(e.to_string()))?;
    let app: i32 = db
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| bad(e.to_string()))?;
    if app != APPLICATION_ID {
        return Err(bad(format!(
            "not a nixperf profile (application_id {app:#x})"
        )));
    }
    let version: i64 = db
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| bad(e.to_string()))?;
    let kind: Option<String> = db
        .query_row("SELECT value FROM meta WHERE key = 'kind'", [], |r| {
            r.get(0)
        })
        .ok();
    if kind.as_deref() != Some(KIND) {
        return Err(bad("an evaluation profile, not a build profile".into()));
    }
    if version > BUILD_SCHEMA_VERSION {
        return Err(bad(format!(
            "build profile schema {version} is newer than this nixperf ({BUILD_SCHEMA_VERSION})"
        )));
    }
    if version < BUILD_SCHEMA_VERSION {
        return Err(bad(format!(
            "build profile schema {version} is older than this nixperf's ({BUILD_SCHEMA_VERSION}); rebuild it from its log with --replay"
        )));
    }
    // Length vs header, quick_check, content checksum: as for evaluation profiles.
    crate::profile::integrity::check(path, &db).map_err(bad)?;
    let p = read_v2(&db).map_err(|e| bad(e.to_string()))?;
    let Some(p) = p else {
        return Err(bad("an evaluation profile, not a build profile".into()));
    };
    let n = p.derivations.len() as u32;
    if p.edges.iter().any(|&(a, b)| a >= n || b >= n) {
        return Err(bad("an edge names an unknown derivation".into()));
    }
    Ok(p)
}

fn read_v2(db: &Connection) -> rusqlite::Result<Option<BuildProfile>> {
    let mut meta: HashMap<String, String> = HashMap::new();
    let mut st = db.prepare("SELECT key, value FROM meta")?;
    for r in st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (k, v) = r?;
        meta.insert(k, v);
    }
    if meta.get("kind").map(String::as_str) != Some(KIND) {
        return Ok(None);
    }
    let g = |k: &str| meta.get(k).cloned().unwrap_or_default();
    let num = |k: &str| g(k).parse::<u64>().unwrap_or(0);
    let u = |r: &rusqlite::Row, i| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
    let bad_enum = |what: &str| {
        rusqlite::Error::InvalidColumnType(0, what.into(), rusqlite::types::Type::Text)
    };
    let mut derivations = Vec::new();
    let mut st = db.prepare(
        "SELECT drv_path, name, start_ns, end_ns, log_lines, outcome, machine, cpu_ns, cores, demand, active_share FROM derivations ORDER BY id",
    )?;
    for r in st.query_map([], |r| {
        Ok(Derivation {
            drv_path: r.get(0)?,
            name: r.get(1)?,
            start_ns: u(r, 2)?,
            end_ns: u(r, 3)?,
            phases: Vec::new(),
            log_lines: u(r, 4)?,
            outcome: Outcome::parse(&r.get::<_, String>(5)?).ok_or_else(|| bad_enum("outcome"))?,
            machine: r.get(6)?,
            cpu_ns: r.get::<_, Option<i64>>(7)?.map(|x| x as u64),
            cores: r.get(8)?,
            demand: r.get(9)?,
            active_share: r.get(10)?,
        })
    })? {
        derivations.push(r?);
    }
    let mut st =
        db.prepare("SELECT drv_id, phase, start_ns FROM drv_phases ORDER BY drv_id, seq")?;
    for r in st.query_map([], |r| {
        Ok((u(r, 0)? as usize, r.get::<_, String>(1)?, u(r, 2)?))
    })? {
        let (d, name, t) = r?;
        if let Some(d) = derivations.get_mut(d) {
            d.phases.push((name, t));
        }
    }
    let mut edges = Vec::new();
    let mut st = db.prepare("SELECT input_id, dependent_id FROM edges")?;
    for r in st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
        edges.push(r?);
    }
    let mut substitutions = Vec::new();
    let mut st = db.prepare(
        "SELECT store_path, substituter, start_ns, end_ns, bytes, outcome FROM substitutions ORDER BY id",
    )?;
    for r in st.query_map([], |r| {
        Ok(Substitution {
            store_path: r.get(0)?,
            substituter: r.get(1)?,
            start_ns: u(r, 2)?,
            end_ns: u(r, 3)?,
            bytes: u(r, 4)?,
            outcome: Outcome::parse(&r.get::<_, String>(5)?).ok_or_else(|| bad_enum("outcome"))?,
        })
    })? {
        substitutions.push(r?);
    }
    let mut transfers = Vec::new();
    let mut st =
        db.prepare("SELECT url, start_ns, end_ns, bytes, errors FROM transfers ORDER BY id")?;
    for r in st.query_map([], |r| {
        Ok(Transfer {
            url: r.get(0)?,
            start_ns: u(r, 1)?,
            end_ns: u(r, 2)?,
            bytes: u(r, 3)?,
            errors: r.get(4)?,
        })
    })? {
        transfers.push(r?);
    }
    let mut copies = Vec::new();
    let mut st =
        db.prepare("SELECT store_path, src, dst, start_ns, end_ns FROM copies ORDER BY id")?;
    for r in st.query_map([], |r| {
        Ok(Copy {
            store_path: r.get(0)?,
            from: r.get(1)?,
            to: r.get(2)?,
            start_ns: u(r, 3)?,
            end_ns: u(r, 4)?,
        })
    })? {
        copies.push(r?);
    }
    let mut queries = Vec::new();
    let mut st =
        db.prepare("SELECT store_path, substituter, start_ns, end_ns FROM queries ORDER BY id")?;
    for r in st.query_map([], |r| {
        Ok(Query {
            store_path: r.get(0)?,
            substituter: r.get(1)?,
            start_ns: u(r, 2)?,
            end_ns: u(r, 3)?,
        })
    })? {
        queries.push(r?);
    }
    let mut errors = Vec::new();
    let mut st = db.prepare("SELECT message FROM errors ORDER BY id")?;
    for r in st.query_map([], |r| r.get(0))? {
        errors.push(r?);
    }
    let mut samples = Vec::new();
    let mut st = db.prepare(
        "SELECT t_ns, cpu, mem_used, swap_used, disk_read, disk_written, net_rx, net_tx FROM samples ORDER BY t_ns",
    )?;
    for r in st.query_map([], |r| {
        Ok(Sample {
            t_ns: u(r, 0)?,
            cpu: serde_json::from_str(&r.get::<_, String>(1)?).unwrap_or_default(),
            mem_used: u(r, 2)?,
            swap_used: u(r, 3)?,
            disk_read: u(r, 4)?,
            disk_written: u(r, 5)?,
            net_rx: u(r, 6)?,
            net_tx: u(r, 7)?,
        })
    })? {
        samples.push(r?);
    }
    let opt = |k: &str| g(k).parse::<u64>().ok();
    Ok(Some(BuildProfile {
        meta: Meta {
            status: Status::parse(&g("status")).ok_or_else(|| bad_enum("status"))?,
            reason: g("reason"),
            exit_code: g("exit_code").parse().ok(),
            command: serde_json::from_str(&g("command")).unwrap_or_default(),
            started_at: num("started_at"),
            wall_ns: num("wall_ns"),
            eval_end_ns: opt("eval_end_ns"),
            timed: g("timed") == "1",
            nixperf_version: g("nixperf_version"),
            cpus: num("cpus") as u32,
            unattributed_cpu_ns: num("unattributed_cpu_ns"),
        },
        derivations,
        edges,
        substitutions,
        transfers,
        copies,
        queries,
        errors,
        warnings: Warnings {
            malformed: num("warnings_malformed"),
            unknown_types: num("warnings_unknown_types"),
            out_of_order: num("warnings_out_of_order"),
            first_bad_line: opt("first_bad_line"),
            first_bad_reason: g("first_bad_reason"),
        },
        samples,
        sampler_cpu_ns: num("sampler_cpu_ns"),
    }))
}
