//! A read-only snapshot of Nix's store database (`db.sqlite`): valid paths with their NAR size,
//! registration time and deriver, the reference graph, and derivation outputs.
//!
//! Opened with `SQLITE_OPEN_READONLY` and read inside one short read transaction (three
//! sequential scans), so nix is never blocked: with the WAL journal Nix uses, readers and
//! writers do not wait on each other; with a rollback journal a writer waits at most for these
//! scans. A DB held by an exclusive writer makes us give up after a short busy timeout.

use super::{StoreError, StoreLocation};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use rustc_hash::FxHashMap;
use std::path::Path;
use std::time::Duration;

/// Paths are indexed 0..n; edges in CSR form (`refs_start[i]..refs_start[i+1]` into `refs`).
#[derive(Debug, Default, Clone)]
pub(crate) struct StoreGraph {
    /// Base names (`<hash>-<name>`), without the store dir.
    pub names: Vec<String>,
    pub nar_size: Vec<u64>,
    pub registered: Vec<i64>,
    /// `ValidPaths.deriver` when that derivation is itself valid.
    pub deriver: Vec<Option<u32>>,
    pub refs_start: Vec<u32>,
    pub refs: Vec<u32>,
    /// Valid outputs of each derivation (from `DerivationOutputs`), CSR.
    pub outs_start: Vec<u32>,
    pub outs: Vec<u32>,
    pub index: FxHashMap<String, u32>,
}

impl StoreGraph {
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
    pub(crate) fn references(&self, i: u32) -> &[u32] {
        &self.refs[self.refs_start[i as usize] as usize..self.refs_start[i as usize + 1] as usize]
    }
    pub(crate) fn outputs(&self, i: u32) -> &[u32] {
        &self.outs[self.outs_start[i as usize] as usize..self.outs_start[i as usize + 1] as usize]
    }
    pub(crate) fn is_drv(&self, i: u32) -> bool {
        self.names[i as usize].ends_with(".drv")
    }
    pub(crate) fn total_nar(&self) -> u64 {
        self.nar_size.iter().sum()
    }

    /// Builds the CSR graph from edge lists (used by the reader and by tests).
    pub(crate) fn from_parts(
        names: Vec<String>,
        nar_size: Vec<u64>,
        registered: Vec<i64>,
        deriver: Vec<Option<u32>>,
        refs: &[(u32, u32)],
        outs: &[(u32, u32)],
    ) -> StoreGraph {
        let n = names.len();
        let (refs_start, refs) = csr(n, refs);
        let (outs_start, outs) = csr(n, outs);
        let index = names
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        StoreGraph {
            names,
            nar_size,
            registered,
            deriver,
            refs_start,
            refs,
            outs_start,
            outs,
            index,
        }
    }
}

fn csr(n: usize, edges: &[(u32, u32)]) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0u32; n + 1];
    for &(a, _) in edges {
        start[a as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut out = vec![0u32; edges.len()];
    for &(a, b) in edges {
        out[fill[a as usize] as usize] = b;
        fill[a as usize] += 1;
    }
    (start, out)
}

fn map_err(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::DbLocked {
            path: path.to_owned(),
        },
        Some(ErrorCode::NotADatabase) => StoreError::NotNixDb {
            path: path.to_owned(),
            detail: "file is not an SQLite database".into(),
        },
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            StoreError::DbUnreadable {
                path: path.to_owned(),
                detail: e.to_string(),
            }
        }
        _ if e.to_string().contains("no such table") => StoreError::NotNixDb {
            path: path.to_owned(),
            detail: e.to_string(),
        },
        _ => StoreError::DbUnreadable {
            path: path.to_owned(),
            detail: e.to_string(),
        },
    }
}

/// Reads the store DB of `loc`. `busy` is how long to wait for a writer's lock.
pub(crate) fn read(loc: &StoreLocation, busy: Duration) -> Result<StoreGraph, StoreError> {
    let path = &loc.db;
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::DbAbsent { path: path.clone() });
        }
        Err(e) => {
            return Err(StoreError::DbUnreadable {
                path: path.clone(),
                detail: e.to_string(),
            });
        }
        Ok(m) if !m.is_file() => {
            return Err(StoreError::NotNixDb {
                path: path.clone(),
                detail: "not a regular file".into(),
            });
        }
        Ok(_) => {}
    }
    // Root may read a mode-000 file anyway; check like an unprivileged reader would not, but
    // surface a real open failure with a clear line.
    std::fs::File::open(path).map_err(|e| StoreError::DbUnreadable {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| map_err(path, e))?;
    conn.busy_timeout(busy).map_err(|e| map_err(path, e))?;
    read_conn(&conn, &loc.store_dir).map_err(|e| match e {
        ReadErr::Sql(e) => map_err(path, e),
        ReadErr::Foreign(p) => StoreError::NotNixDb {
            path: path.clone(),
            detail: format!(
                "it lists {p}, outside the store dir {} (give --store-dir)",
                loc.store_dir
            ),
        },
    })
}

enum ReadErr {
    Sql(rusqlite::Error),
    Foreign(String),
}
impl From<rusqlite::Error> for ReadErr {
    fn from(e: rusqlite::Error) -> Self {
        ReadErr::Sql(e)
    }
}

fn read_conn(conn: &Connection, store_dir: &str) -> Result<StoreGraph, ReadErr> {
    let prefix = format!("{store_dir}/");
    // One deferred read transaction: a consistent snapshot, released as soon as we are done.
    conn.execute_batch("BEGIN DEFERRED")?;
    let result = (|| -> Result<StoreGraph, ReadErr> {
        let mut names = Vec::new();
        let mut nar = Vec::new();
        let mut reg = Vec::new();
        let mut deriver_text: Vec<Option<String>> = Vec::new();
        let mut id_to_idx: Vec<u32> = Vec::new();
        let mut foreign: (usize, Option<String>) = (0, None);
        {
            let mut st = conn
                .prepare("SELECT id, path, narSize, registrationTime, deriver FROM ValidPaths")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                // Borrow the text: one allocation per path (its base name), not two.
                let path = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
                // A path outside the store dir: the wrong --store-dir if most are (checked
                // below), else a stray registration (seen: one path of another Nix's store),
                // which no GC of this store can reach: skipped.
                let Some(base) = path.strip_prefix(&prefix) else {
                    foreign.0 += 1;
                    foreign.1.get_or_insert_with(|| path.to_owned());
                    continue;
                };
                let idx = names.len() as u32;
                if id >= 0 {
                    let id = id as usize;
                    if id_to_idx.len() <= id {
                        id_to_idx.resize(id + 1, u32::MAX);
                    }
                    id_to_idx[id] = idx;
                }
                names.push(base.to_owned());
                nar.push(r.get::<_, Option<i64>>(2)?.unwrap_or(0).max(0) as u64);
                reg.push(r.get::<_, Option<i64>>(3)?.unwrap_or(0));
                deriver_text.push(r.get(4)?);
            }
        }
        if let (n, Some(first)) = foreign {
            if n >= names.len() {
                return Err(ReadErr::Foreign(first));
            }
            eprintln!("nixperf: skipped {n} registered path(s) outside {store_dir}, e.g. {first}");
        }
        let lookup = |id: i64| -> Option<u32> {
            id_to_idx
                .get(usize::try_from(id).ok()?)
                .copied()
                .filter(|&x| x != u32::MAX)
        };
        let mut refs = Vec::new();
        {
            let mut st = conn.prepare("SELECT referrer, reference FROM Refs")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                if let (Some(a), Some(b)) = (lookup(r.get(0)?), lookup(r.get(1)?)) {
                    refs.push((a, b));
                }
            }
        }
        let index: FxHashMap<&str, u32> = names
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i as u32))
            .collect();
        let by_path = |p: &str| p.strip_prefix(&prefix).and_then(|b| index.get(b).copied());
        let mut outs = Vec::new();
        {
            let mut st = conn.prepare("SELECT drv, path FROM DerivationOutputs")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let drv = lookup(r.get(0)?);
                let p = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
                if let (Some(d), Some(o)) = (drv, by_path(p)) {
                    outs.push((d, o));
                }
            }
        }
        let deriver = deriver_text
            .iter()
            .map(|d| d.as_deref().and_then(by_path))
            .collect();
        drop(index);
        Ok(StoreGraph::from_parts(
            names, nar, reg, deriver, &refs, &outs,
        ))
    })();
    let _ = conn.execute_batch("COMMIT");
    result
}
