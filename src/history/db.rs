//! The history database: open (validate, then migrate), record runs, query them.
//!
//! Concurrency: WAL journal, a generous busy timeout and `BEGIN IMMEDIATE` for every write, so
//! concurrent `nixperf` processes queue for the write lock instead of failing, and a writer
//! killed mid-transaction leaves only an uncommitted WAL tail that SQLite discards.

use super::checksum::{self, RunHasher};
use super::error::HistoryError;
use super::schema::{APPLICATION_ID, BASELINE_CHECKSUMS, MIGRATIONS, SCHEMA_VERSION};
use super::stacks::RunStacks;
use super::{Metric, Run, RunInfo};
use crate::analysis::stacks::StackTree;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another to finish. Runs record in milliseconds; a minute covers
/// any realistic pile-up of concurrent writers.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct History {
    conn: Connection,
    path: PathBuf,
    /// The whole file passed `quick_check` in this process (else only the small tables did).
    fully_checked: Cell<bool>,
    /// Runs whose row this process verified, with their (so verified) `metrics_checksum`.
    /// Runs are never changed once recorded: each is verified once however often it is read.
    verified: RefCell<HashMap<i64, Option<Vec<u8>>>>,
    /// Runs whose metrics this process verified.
    verified_metrics: RefCell<HashSet<i64>>,
    /// `checksummed_from.first_run`: runs from this id on must have a checksum.
    checksummed_from: Cell<Option<i64>>,
}

/// Histories up to this size are checked whole on every open (~1-4 ms per MB here: ≤ ~60 ms);
/// bigger ones check the `runs` and `baselines` tables on open and the whole file before the
/// first write (a 10 000-run, 77 MB history: 275 ms, paid by writers, whose run took longer).
const FULL_CHECK_ON_OPEN_BYTES: u64 = 16 << 20;

/// Which runs to list.
#[derive(Debug, Default, Clone)]
pub struct RunFilter {
    pub host: Option<String>,
    pub target: Option<String>,
    pub kind: Option<super::RunKind>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Only runs with an id up to this one.
    pub max_id: Option<i64>,
    /// Most recent first, at most this many.
    pub limit: Option<usize>,
}

impl History {
    /// Opens (creating if needed) and migrates. Validates before writing anything, so a
    /// foreign, corrupt or newer database is reported and left untouched.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| HistoryError::Open {
                path: path.to_owned(),
                detail: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        let h = Self::connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        h.validate()?;
        h.prepare_for_writes()?;
        h.migrate()?;
        Ok(h)
    }

    /// Opens an existing history for reading (still migrating an older one, which is a write).
    pub(crate) fn open_existing(path: &Path) -> Result<History, HistoryError> {
        if !path.exists() {
            return Err(HistoryError::Missing {
                path: path.to_owned(),
            });
        }
        Self::open(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<History, HistoryError> {
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| HistoryError::Open {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| HistoryError::Open {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        // Readers walk whole histories (a trend reads one metric of every run, after checking
        // all their rows and metrics): a page cache of up to 64 MiB (filled as pages are read)
        // keeps the second pass from reading the file again.
        // Setting it reads the header: a file that is not SQLite fails here, and is named so.
        conn.execute_batch("PRAGMA cache_size = -65536")
            .map_err(|e| classify(path, e))?;
        Ok(History {
            conn,
            path: path.to_owned(),
            fully_checked: Cell::new(false),
            verified: RefCell::new(HashMap::new()),
            verified_metrics: RefCell::new(HashSet::new()),
            checksummed_from: Cell::new(None),
        })
    }

    fn err(&self, e: rusqlite::Error) -> HistoryError {
        classify(&self.path, e)
    }

    /// Reads only the header fields: a file that is not SQLite, a SQLite file of another
    /// program, or a newer schema is refused here, before any write.
    fn validate(&self) -> Result<(), HistoryError> {
        // One read transaction: the three values from one snapshot, not from either side of
        // another process's first migration.
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let app: i32 = tx
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let tables: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        drop(tx);
        if app == 0 && tables == 0 {
            return Ok(()); // new, empty database
        }
        if app != APPLICATION_ID {
            return Err(HistoryError::Foreign {
                path: self.path.clone(),
                detail: if app == super::PROFILE_APPLICATION_ID {
                    "it is a nixperf profile; the history is a separate file".into()
                } else {
                    format!("application_id {app:#x}")
                },
            });
        }
        if version > SCHEMA_VERSION {
            return Err(HistoryError::TooNew {
                path: self.path.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        if size(&self.path) + size(Path::new(&wal)) <= FULL_CHECK_ON_OPEN_BYTES {
            self.check_before_writing()
        } else {
            self.quick_check(Some("runs"))?;
            self.quick_check(Some("baselines"))
        }
    }

    /// The whole file passes `quick_check` before this process writes into it (once).
    fn check_before_writing(&self) -> Result<(), HistoryError> {
        if !self.fully_checked.get() {
            self.quick_check(None)?;
            self.fully_checked.set(true);
        }
        Ok(())
    }

    /// SQLite's structural check (pages, b-trees, records; not index contents) of the whole
    /// file or of one table: a history damaged mid-file is refused before anything reads wrong
    /// numbers from it or writes into it.
    fn quick_check(&self, table: Option<&str>) -> Result<(), HistoryError> {
        let exists = |t: &str| {
            self.conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [t],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n > 0)
                .map_err(|e| self.err(e))
        };
        let sql = match table {
            Some(t) if !exists(t)? => return Ok(()),
            Some(t) => format!("PRAGMA quick_check({t})"),
            None => "PRAGMA quick_check(1)".to_owned(),
        };
        let verdict: String = self
            .conn
            .query_row(&sql, [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if verdict != "ok" {
            return Err(HistoryError::Corrupt {
                path: self.path.clone(),
                detail: format!("quick_check: {}", verdict.lines().next().unwrap_or("")),
            });
        }
        Ok(())
    }

    fn prepare_for_writes(&self) -> Result<(), HistoryError> {
        // journal_mode=WAL needs a brief exclusive lock; when many processes create the database
        // at once the busy handler is not always consulted, so retry here.
        let mut tries = 0;
        loop {
            match self
                .conn
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
            {
                Ok(_) => break,
                Err(e) if is_busy(&e) && tries < 600 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(self.err(e)),
            }
        }
        // NORMAL is durable across process crashes in WAL mode (only a power loss can drop the
        // last commits), and much faster for many small runs.
        self.conn
            .execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            .map_err(|e| self.err(e))
    }

    fn migrate(&self) -> Result<(), HistoryError> {
        self.migrate_to(SCHEMA_VERSION)
    }

    /// Applies migrations up to `target` (tests create older schemas with it).
    pub(crate) fn migrate_to(&self, target: i64) -> Result<(), HistoryError> {
        let current: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if current >= target {
            return Ok(());
        }
        self.check_before_writing()?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        // Another process may have migrated while we waited for the lock.
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if current > SCHEMA_VERSION {
            return Err(HistoryError::TooNew {
                path: self.path.clone(),
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .take(target as usize)
            .skip(current as usize)
        {
            let failed = |e: rusqlite::Error| HistoryError::Sql {
                path: self.path.clone(),
                detail: format!("migration {}: {e}", i + 1),
            };
            tx.execute_batch(sql).map_err(failed)?;
            if i as i64 + 1 == BASELINE_CHECKSUMS {
                fill_baseline_checksums(&tx).map_err(failed)?;
            }
        }
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {target};"
        ))
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    pub(crate) fn schema_version(&self) -> Result<i64, HistoryError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Records one run with its metrics (and folded stacks for evaluations) in one
    /// transaction; returns its id.
    pub fn record(
        &mut self,
        info: &RunInfo,
        metrics: &[Metric],
        stacks: Option<&StackTree>,
    ) -> Result<i64, HistoryError> {
        self.record_with_hold(info, metrics, stacks, None)
    }

    /// Leaves the WAL for a later checkpoint when this connection closes, unless it has grown
    /// past `max_wal_bytes`. By default the last connection to close folds the WAL into the
    /// database file: two fsyncs (WAL, then database) and deleting the WAL, which then has to
    /// be created again (another fsync, of the directory) by the next write: 30-100 ms when the
    /// disk is busy, more than the rest of a small `nixperf eval`. With this, a run's commit
    /// costs no fsync (WAL, `synchronous=NORMAL`); the runs stay in `history.db-wal` until a
    /// command that does not defer (every other history command) or a WAL past the limit
    /// checkpoints. Any SQLite reader sees them; a copy of the history must take
    /// `history.db-wal` with it (or run `nixperf history check` first).
    pub(crate) fn defer_checkpoint(&self, max_wal_bytes: u64) -> Result<(), HistoryError> {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if size > max_wal_bytes {
            return Ok(());
        }
        self.conn
            .set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// `hold`: sleep inside the open transaction before committing (crash tests kill the
    /// process there).
    pub(crate) fn record_with_hold(
        &mut self,
        info: &RunInfo,
        metrics: &[Metric],
        stacks: Option<&StackTree>,
        hold: Option<Duration>,
    ) -> Result<i64, HistoryError> {
        self.check_before_writing()?;
        let path = self.path.clone();
        let e = |e| classify(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let command = serde_json::to_string(&info.command).unwrap_or_default();
        tx.execute(
            "INSERT INTO runs (started_at, kind, host, target, status, nix_version, nixperf_version,
                               git_rev, command, profile_path, flake_lock)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                info.started_at,
                info.kind,
                info.host,
                info.target,
                info.status,
                info.nix_version,
                info.nixperf_version,
                info.git_rev,
                command,
                info.profile_path,
                info.flake_lock,
            ],
        )
        .map_err(e)?;
        let id = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare("INSERT OR REPLACE INTO metrics (run_id, name, value, unit) VALUES (?1, ?2, ?3, ?4)")
                .map_err(e)?;
            for m in metrics.iter().filter(|m| m.value.is_finite()) {
                st.execute(params![id, m.name, m.value, m.unit])
                    .map_err(e)?;
            }
        }
        let (sum, metrics_sum) = checksum::of_record(id, info, &command, metrics);
        tx.execute(
            "UPDATE runs SET checksum = ?2, metrics_checksum = ?3 WHERE id = ?1",
            params![id, sum, metrics_sum],
        )
        .map_err(e)?;
        if let Some(t) = stacks {
            let tree = super::stack_codec::encode(t);
            tx.execute(
                "INSERT INTO stack_trees (run_id, tree, checksum) VALUES (?1, ?2, ?3)",
                params![id, tree, checksum::of_tree(id, &tree)],
            )
            .map_err(e)?;
        }
        if let Some(d) = hold {
            eprintln!("nixperf: holding the history transaction of run #{id} open");
            std::thread::sleep(d);
        }
        tx.commit().map_err(e)?;
        Ok(id)
    }

    pub(crate) fn run(&self, id: i64) -> Result<Run, HistoryError> {
        let row = self
            .conn
            .prepare_cached(&format!("{RUN_SELECT} WHERE id = ?1"))
            .and_then(|mut st| st.query_row([id], row_to_checked).optional())
            .map_err(|e| self.err(e))?
            .ok_or(HistoryError::NoRun(id))?;
        self.verify(row)
    }

    /// Runs matching `f`, most recent (highest id) first.
    pub(crate) fn runs(&self, f: &RunFilter) -> Result<Vec<Run>, HistoryError> {
        let mut sql = format!("{RUN_SELECT} WHERE 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut add = |cond: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&format!(" AND {cond} ?{}", args.len()));
        };
        if let Some(h) = &f.host {
            add("host =", h.clone().into());
        }
        if let Some(t) = &f.target {
            add("target =", t.clone().into());
        }
        if let Some(k) = &f.kind {
            add("kind =", k.as_str().to_owned().into());
        }
        if let Some(s) = f.since {
            add("started_at >=", s.into());
        }
        if let Some(m) = f.max_id {
            add("id <=", m.into());
        }
        sql.push_str(" ORDER BY id DESC");
        if let Some(l) = f.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(rusqlite::params_from_iter(args), row_to_checked)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        self.verified_runs(rows)
    }

    /// The runs of `rows` once each has matched its checksum.
    fn verified_runs(&self, rows: Vec<CheckedRow>) -> Result<Vec<Run>, HistoryError> {
        rows.into_iter().map(|r| self.verify(r)).collect()
    }

    /// `checksummed_from.first_run` (read once).
    fn checksummed_from(&self) -> Result<i64, HistoryError> {
        if let Some(v) = self.checksummed_from.get() {
            return Ok(v);
        }
        let v: i64 = self
            .conn
            .query_row("SELECT first_run FROM checksummed_from", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        self.checksummed_from.set(Some(v));
        Ok(v)
    }

    /// Checks run `id`'s row (already in `hasher`, with its `metrics_checksum`) against its
    /// checksum `stored`, unless this process already did. A run recorded before schema 6 has
    /// none and is read unverified.
    fn verify(&self, row: CheckedRow) -> Result<Run, HistoryError> {
        let (run, hasher, metrics_sum, stored) = row;
        if self.verified.borrow().contains_key(&run.id) {
            return Ok(run);
        }
        match self.check_row(run.id, hasher, stored)? {
            Checked::Ok | Checked::Unverified => {
                self.verified.borrow_mut().insert(run.id, metrics_sum);
                Ok(run)
            }
            Checked::Failed(detail) => Err(self.corrupt(detail)),
        }
    }

    fn corrupt(&self, detail: String) -> HistoryError {
        HistoryError::Corrupt {
            path: self.path.clone(),
            detail,
        }
    }

    fn check_row(
        &self,
        id: i64,
        hasher: RunHasher,
        stored: Option<Vec<u8>>,
    ) -> Result<Checked, HistoryError> {
        let Some(stored) = stored else {
            return Ok(if id < self.checksummed_from()? {
                Checked::Unverified
            } else {
                Checked::Failed(format!("run #{id}: its checksum is missing"))
            });
        };
        Ok(if hasher.finish()[..] == stored[..] {
            Checked::Ok
        } else {
            Checked::Failed(format!(
                "run #{id}: stored data does not match its checksum"
            ))
        })
    }

    /// The metrics of run `id`, in name order, checked against `metrics_sum` (its verified
    /// `metrics_checksum`; None: recorded before checksums).
    fn read_metrics(
        &self,
        id: i64,
        metrics_sum: Option<&[u8]>,
    ) -> Result<Result<Vec<Metric>, String>, HistoryError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT name, value, unit FROM metrics WHERE run_id = ?1 ORDER BY name")
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([id]).map_err(|e| self.err(e))?;
        let mut hasher = RunHasher::metrics(id);
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let v = |i| r.get_ref(i).map_err(|e| self.err(e));
            hasher.metric(v(0)?, v(1)?, v(2)?);
            let m = (|| {
                Ok(Metric {
                    name: r.get(0)?,
                    value: r.get(1)?,
                    unit: r.get(2)?,
                })
            })()
            .map_err(|e| self.err(e))?;
            out.push(m);
        }
        Ok(match metrics_sum {
            Some(s) if hasher.finish()[..] != s[..] => Err(format!(
                "run #{id}: stored data does not match its checksum (its metrics)"
            )),
            _ => Ok(out),
        })
    }

    /// Every run and call tree against its checksum (`nixperf history check`).
    pub(crate) fn verify_all(&self) -> Result<ChecksumReport, HistoryError> {
        let mut report = ChecksumReport::default();
        let mut st = self
            .conn
            .prepare(&format!("{RUN_SELECT} ORDER BY id"))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], row_to_checked)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        for (run, hasher, metrics_sum, stored) in rows {
            let row = self.check_row(run.id, hasher, stored)?;
            let metrics = match &row {
                Checked::Failed(_) => Ok(vec![]),
                _ => self.read_metrics(run.id, metrics_sum.as_deref())?,
            };
            match (row, metrics) {
                (Checked::Failed(d), _) | (_, Err(d)) => report.failed.push(d),
                (Checked::Ok, Ok(_)) => report.verified += 1,
                (Checked::Unverified, Ok(_)) => report.unverified += 1,
            }
        }
        let mut st = self
            .conn
            .prepare("SELECT run_id, tree, checksum FROM stack_trees ORDER BY run_id")
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (id, tree, sum): (i64, Vec<u8>, Option<Vec<u8>>) =
                (|| Ok::<_, rusqlite::Error>((r.get(0)?, r.get(1)?, r.get(2)?)))()
                    .map_err(|e| self.err(e))?;
            if let Err(d) = self.check_tree(id, &tree, sum.as_deref())? {
                report.failed.push(d);
            }
        }
        drop(rows);
        let mut st = self
            .conn
            .prepare("SELECT host, target, run_id, set_at, checksum FROM baselines ORDER BY host, target")
            .map_err(|e| self.err(e))?;
        let baselines = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get::<_, Option<Vec<u8>>>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        for (host, target, run_id, set_at, sum) in baselines {
            if let Err(d) = check_baseline(&host, &target, run_id, set_at, sum.as_deref()) {
                report.failed.push(d);
            }
        }
        Ok(report)
    }

    /// Ok(Err(detail)) when the tree of run `run_id` does not match its checksum.
    fn check_tree(
        &self,
        run_id: i64,
        tree: &[u8],
        stored: Option<&[u8]>,
    ) -> Result<Result<(), String>, HistoryError> {
        Ok(match stored {
            None if run_id < self.checksummed_from()? => Ok(()),
            None => Err(format!(
                "the stacks of run #{run_id}: their checksum is missing"
            )),
            Some(s) if s == checksum::of_tree(run_id, tree) => Ok(()),
            Some(_) => Err(format!(
                "the stacks of run #{run_id}: stored data does not match their checksum"
            )),
        })
    }

    pub(crate) fn latest(&self, f: &RunFilter) -> Result<Option<Run>, HistoryError> {
        let mut f = f.clone();
        f.limit = Some(1);
        Ok(self.runs(&f)?.into_iter().next())
    }

    pub(crate) fn count(&self) -> Result<i64, HistoryError> {
        self.conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The metrics of run `run_id` in name order (none for a run that does not exist), checked
    /// with its row against their checksums.
    pub(crate) fn metrics(&self, run_id: i64) -> Result<Vec<Metric>, HistoryError> {
        if !self.verified.borrow().contains_key(&run_id) {
            match self.run(run_id) {
                Err(HistoryError::NoRun(_)) => return Ok(vec![]),
                r => r.map(|_| ())?,
            }
        }
        let sum = self.verified.borrow().get(&run_id).cloned().flatten();
        let m = self
            .read_metrics(run_id, sum.as_deref())?
            .map_err(|d| self.corrupt(d))?;
        self.verified_metrics.borrow_mut().insert(run_id);
        Ok(m)
    }

    /// The stacks of an evaluation run: its tree, or the folded text of a run recorded before
    /// the history kept trees.
    pub(crate) fn stacks(&self, run_id: i64) -> Result<Option<RunStacks>, HistoryError> {
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT tree, checksum FROM stack_trees WHERE run_id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if let Some((b, sum)) = row {
            self.check_tree(run_id, &b, sum.as_deref())?
                .map_err(|detail| HistoryError::Corrupt {
                    path: self.path.clone(),
                    detail,
                })?;
            return super::stack_codec::decode(&b)
                .map(|t| Some(RunStacks::Tree(t)))
                .map_err(|detail| HistoryError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("the stacks of run #{run_id}: {detail}"),
                });
        }
        self.conn
            .query_row(
                "SELECT folded FROM stacks WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .optional()
            .map(|f| f.map(RunStacks::Folded))
            .map_err(|e| self.err(e))
    }

    /// (run id, started_at, value) of one metric over the runs `f` selects, oldest first.
    pub(crate) fn series(
        &self,
        name: &str,
        f: &RunFilter,
    ) -> Result<Vec<(i64, i64, f64)>, HistoryError> {
        // Driven by the runs (each row verified), each value read by primary key from the
        // table the checksums cover. Not from the name index: SQLite's quick_check does not
        // compare an index with its table, and a damaged entry there would chart another
        // number or drop a run from the trend unnoticed.
        let mut sql = String::from(
            "SELECT r.id, r.started_at, t.value FROM runs r
             LEFT JOIN metrics t NOT INDEXED ON t.run_id = r.id AND t.name = ?1
             WHERE 1",
        );
        let mut args: Vec<rusqlite::types::Value> = vec![name.to_owned().into()];
        let mut add = |cond: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&format!(" AND {cond} ?{}", args.len()));
        };
        if let Some(h) = &f.host {
            add("r.host =", h.clone().into());
        }
        if let Some(t) = &f.target {
            add("r.target =", t.clone().into());
        }
        if let Some(k) = &f.kind {
            add("r.kind =", k.as_str().to_owned().into());
        }
        if let Some(s) = f.since {
            add("r.started_at >=", s.into());
        }
        sql.push_str(" ORDER BY r.id");
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;

        let rows: Vec<(i64, i64, Option<f64>)> = st
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        // Every selected run is checked with all its metrics (once per run and process), also
        // those without this metric: a damaged name must not drop a run silently.
        self.verify_metrics_of(rows.iter().map(|s| s.0))?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, at, v)| Some((id, at, v?)))
            .collect())
    }

    /// Checks the rows and all the metrics of the runs `ids` against their checksums, in two
    /// range scans (a trend reads one metric of thousands of runs: one query per run would
    /// cost more than the trend).
    fn verify_metrics_of(&self, ids: impl Iterator<Item = i64>) -> Result<(), HistoryError> {
        let want: HashSet<i64> = {
            let done = self.verified_metrics.borrow();
            ids.filter(|id| !done.contains(id)).collect()
        };
        let (Some(&lo), Some(&hi)) = (want.iter().min(), want.iter().max()) else {
            return Ok(());
        };
        let mut st = self
            .conn
            .prepare_cached(&format!("{RUN_SELECT} WHERE id BETWEEN ?1 AND ?2"))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([lo, hi], row_to_checked)
            .map_err(|e| self.err(e))?;
        for r in rows {
            let r = r.map_err(|e| self.err(e))?;
            if want.contains(&r.0.id) {
                self.verify(r)?;
            }
        }
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT run_id, name, value, unit FROM metrics WHERE run_id BETWEEN ?1 AND ?2
                 ORDER BY run_id, name",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([lo, hi]).map_err(|e| self.err(e))?;
        let verified = self.verified.borrow().clone();
        let mut current: Option<(i64, RunHasher)> = None;
        let finish = |c: Option<(i64, RunHasher)>| -> Result<(), HistoryError> {
            if let Some((id, h)) = c {
                if let Some(Some(sum)) = verified.get(&id)
                    && h.finish()[..] != sum[..]
                {
                    return Err(self.corrupt(format!(
                        "run #{id}: stored data does not match its checksum (its metrics)"
                    )));
                }
                self.verified_metrics.borrow_mut().insert(id);
            }
            Ok(())
        };
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let id: i64 = r.get(0).map_err(|e| self.err(e))?;
            if !want.contains(&id) {
                continue;
            }
            if current.as_ref().is_none_or(|c| c.0 != id) {
                finish(current.take())?;
                current = Some((id, RunHasher::metrics(id)));
            }
            let v = |i| r.get_ref(i).map_err(|e| self.err(e));
            if let Some((_, h)) = current.as_mut() {
                h.metric(v(1)?, v(2)?, v(3)?);
            }
        }
        finish(current.take())?;
        // Runs without any metric left in the table (all of them deleted).
        for id in want {
            if !self.verified_metrics.borrow().contains(&id) {
                self.metrics(id)?;
            }
        }
        Ok(())
    }

    /// Metric names (with units) in the history, excluding per-module rows. Callers filter runs
    /// when they read each series. Walks the name index one distinct name at a time (a skip
    /// scan), so the cost grows with the number of names, not of recorded values.
    pub(crate) fn metric_names(
        &self,
        _f: &RunFilter,
    ) -> Result<Vec<(String, super::Unit)>, HistoryError> {
        let mut st = self
            .conn
            .prepare(
                "WITH RECURSIVE n(name) AS (
                     SELECT min(name) FROM metrics
                     UNION ALL
                     SELECT (SELECT min(name) FROM metrics WHERE name > n.name) FROM n
                     WHERE n.name IS NOT NULL)
                 SELECT n.name, (SELECT unit FROM metrics m WHERE m.name = n.name LIMIT 1)
                 FROM n WHERE n.name IS NOT NULL AND n.name NOT LIKE 'module:%'",
            )
            .map_err(|e| self.err(e))?;

        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    pub(crate) fn set_baseline(&mut self, run: &Run, now: i64) -> Result<(), HistoryError> {
        self.check_before_writing()?;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(&path, e))?;
        let sum = checksum::of_baseline(&run.info.host, &run.info.target, run.id, now);
        tx.execute(
            "INSERT OR REPLACE INTO baselines (host, target, run_id, set_at, checksum)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![run.info.host, run.info.target, run.id, now, sum],
        )
        .map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))
    }

    pub(crate) fn baseline(&self, host: &str, target: &str) -> Result<Option<i64>, HistoryError> {
        let row: Option<(i64, i64, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT run_id, set_at, checksum FROM baselines WHERE host = ?1 AND target = ?2",
                [host, target],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((run_id, set_at, sum)) = row else {
            return Ok(None);
        };
        check_baseline(host, target, run_id, set_at, sum.as_deref())
            .map_err(|d| self.corrupt(d))?;
        Ok(Some(run_id))
    }

    /// Full integrity check (slow on big histories; for `nixperf history check` and tests).
    pub(crate) fn integrity_check(&self) -> Result<String, HistoryError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }
}

const RUN_SELECT: &str = "SELECT id, started_at, kind, host, target, status, nix_version,
    nixperf_version, git_rev, command, profile_path, flake_lock, metrics_checksum, checksum
    FROM runs";

/// Err(detail) when a baseline row does not match its checksum.
fn check_baseline(
    host: &str,
    target: &str,
    run_id: i64,
    set_at: i64,
    stored: Option<&[u8]>,
) -> Result<(), String> {
    if stored == Some(&checksum::of_baseline(host, target, run_id, set_at)[..]) {
        return Ok(());
    }
    Err(format!(
        "the baseline of {target} on {host}: stored data does not match its checksum \
         (`nixperf baseline RUN` sets it again)"
    ))
}

/// Gives every baseline row its checksum (migration 7, inside its transaction).
fn fill_baseline_checksums(tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
    let rows: Vec<(String, String, i64, i64)> = tx
        .prepare("SELECT host, target, run_id, set_at FROM baselines")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    for (host, target, run_id, set_at) in rows {
        tx.execute(
            "UPDATE baselines SET checksum = ?3 WHERE host = ?1 AND target = ?2",
            params![
                host,
                target,
                checksum::of_baseline(&host, &target, run_id, set_at)
            ],
        )?;
    }
    Ok(())
}

/// A run as read, its row hashed, its `metrics_checksum` and its `checksum`.
type CheckedRow = (Run, RunHasher, Option<Vec<u8>>, Option<Vec<u8>>);

fn row_to_checked(r: &rusqlite::Row) -> rusqlite::Result<CheckedRow> {
    let run = row_to_run(r)?;
    let mut hasher = RunHasher::run(run.id);
    hasher.row(r, 1)?;
    Ok((run, hasher, r.get(12)?, r.get(13)?))
}

enum Checked {
    Ok,
    /// Recorded before schema 6: no checksum.
    Unverified,
    Failed(String),
}

/// What `nixperf history check` found: runs (with their metrics) and call trees.
#[derive(Debug, Default)]
pub(crate) struct ChecksumReport {
    pub verified: usize,
    pub unverified: usize,
    /// One line per run or tree that does not match its checksum.
    pub failed: Vec<String>,
}

fn row_to_run(r: &rusqlite::Row) -> rusqlite::Result<Run> {
    let command: String = r.get(9)?;
    Ok(Run {
        id: r.get(0)?,
        info: RunInfo {
            started_at: r.get(1)?,
            kind: r.get(2)?,
            host: r.get(3)?,
            target: r.get(4)?,
            status: r.get(5)?,
            nix_version: r.get(6)?,
            nixperf_version: r.get(7)?,
            git_rev: r.get(8)?,
            command: serde_json::from_str(&command).unwrap_or_else(|_| vec![command]),
            profile_path: r.get(10)?,
            flake_lock: r.get(11)?,
        },
    })
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

fn classify(path: &Path, e: rusqlite::Error) -> HistoryError {
    let detail = e.to_string();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => HistoryError::Foreign {
            path: path.to_owned(),
            detail: "not an SQLite file".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => HistoryError::Corrupt {
            path: path.to_owned(),
            detail,
        },
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            HistoryError::Open {
                path: path.to_owned(),
                detail,
            }
        }
        _ => HistoryError::Sql {
            path: path.to_owned(),
            detail,
        },
    }
}

impl History {
    /// The latest run of each (kind, host, target), most recent first.
    pub(crate) fn latest_per_target(&self) -> Result<Vec<Run>, HistoryError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "{RUN_SELECT} WHERE id IN (SELECT max(id) FROM runs GROUP BY kind, host, target)
                 ORDER BY id DESC"
            ))
            .map_err(|e| self.err(e))?;

        let rows = st
            .query_map([], row_to_checked)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        self.verified_runs(rows)
    }

    /// [`History::latest_per_target`] with each run's metrics.
    pub(crate) fn latest_per_target_with_metrics(
        &self,
    ) -> Result<Vec<(Run, Vec<Metric>)>, HistoryError> {
        self.latest_per_target()?
            .into_iter()
            .map(|r| {
                let m = self.metrics(r.id)?;
                Ok((r, m))
            })
            .collect()
    }
}

impl rusqlite::types::ToSql for super::Unit {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for super::Unit {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        v.as_str().map(super::Unit::from)
    }
}

/// Stored as its name (`eval`, `build`, …): the same text as before the enum.
impl rusqlite::types::ToSql for super::RunKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for super::RunKind {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        v.as_str().map(super::RunKind::from)
    }
}
