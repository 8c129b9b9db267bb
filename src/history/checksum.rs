//! Checksums of what the history stores (schema 6, baselines from 7): SHA-256 over a canonical
//! encoding of a run's row and all its metrics, separately over the blob of its call tree, and
//! over each baseline row. SQLite's
//! `quick_check` only sees page structure: a bit flipped inside a stored value (a metric, a
//! target, a tree) would otherwise read back as another number.
//!
//! Two levels, so a list of runs is verified without reading every metric of every run:
//! `runs.metrics_checksum` is the SHA-256 of the run's metrics, and `runs.checksum` the SHA-256
//! of the run's columns *including* `metrics_checksum` — so `checksum` covers the row and all
//! its metrics. A row is verified against `checksum` whenever it is read; its metrics against
//! the (then verified) `metrics_checksum` whenever they are read.
//!
//! The encoding is unambiguous: a domain tag, the run id, then each value with a type byte
//! (NULL, integer, real as `to_bits`, text and blob length-prefixed) — the columns of the run
//! row in a fixed order; for the metrics each metric (a marker byte, name, value, unit) in name
//! order (the primary-key order SQLite reads them in: bytewise, as Rust orders strings), then
//! an end byte. Values are encoded as SQLite returns them, so recording (from memory) and
//! verifying (from the rows) hash the same bytes.

use super::{Metric, RunInfo};
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const RUN_DOMAIN: &[u8] = b"nixperf history run v1\0";
const METRICS_DOMAIN: &[u8] = b"nixperf history metrics v1\0";
const TREE_DOMAIN: &[u8] = b"nixperf history stack tree v1\0";
const BASELINE_DOMAIN: &[u8] = b"nixperf history baseline v1\0";

/// A checksum being computed: a run's row ([`RunHasher::run`], then [`RunHasher::info`] or
/// [`RunHasher::row`]) or its metrics ([`RunHasher::metrics`], then [`RunHasher::metric`]s),
/// then [`RunHasher::finish`].
pub(super) struct RunHasher(Sha256);

impl RunHasher {
    pub(super) fn run(run_id: i64) -> RunHasher {
        let mut h = Sha256::new();
        h.update(RUN_DOMAIN);
        h.update(run_id.to_le_bytes());
        RunHasher(h)
    }

    pub(super) fn metrics(run_id: i64) -> RunHasher {
        let mut h = Sha256::new();
        h.update(METRICS_DOMAIN);
        h.update(run_id.to_le_bytes());
        RunHasher(h)
    }

    fn value(&mut self, v: ValueRef<'_>) {
        let h = &mut self.0;
        match v {
            ValueRef::Null => h.update([0]),
            ValueRef::Integer(i) => {
                h.update([1]);
                h.update(i.to_le_bytes());
            }
            ValueRef::Real(f) => {
                h.update([2]);
                // SQLite stores an integral REAL as an integer and reads it back as +0.0 for
                // -0.0: hash what it will read.
                let f = if f == 0.0 { 0.0 } else { f };
                h.update(f.to_bits().to_le_bytes());
            }
            ValueRef::Text(t) => {
                h.update([3]);
                h.update((t.len() as u64).to_le_bytes());
                h.update(t);
            }
            ValueRef::Blob(b) => {
                h.update([4]);
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            }
        }
    }

    /// The run row's columns, from memory, as `History::record` stores them (`command` is its
    /// JSON text). The same order as [`RunHasher::row`].
    fn info(&mut self, info: &RunInfo, command_json: &str, metrics_checksum: &[u8]) {
        fn opt(s: &Option<String>) -> ValueRef<'_> {
            s.as_deref()
                .map_or(ValueRef::Null, |s| ValueRef::Text(s.as_bytes()))
        }
        for v in [
            ValueRef::Integer(info.started_at),
            ValueRef::Text(info.kind.as_str().as_bytes()),
            ValueRef::Text(info.host.as_bytes()),
            ValueRef::Text(info.target.as_bytes()),
            ValueRef::Text(info.status.as_bytes()),
            ValueRef::Text(info.nix_version.as_bytes()),
            ValueRef::Text(info.nixperf_version.as_bytes()),
            opt(&info.git_rev),
            ValueRef::Text(command_json.as_bytes()),
            opt(&info.profile_path),
            opt(&info.flake_lock),
            ValueRef::Blob(metrics_checksum),
        ] {
            self.value(v);
        }
    }

    /// The run row's columns as read: columns `first..first + 12` of `r` are `started_at, kind,
    /// host, target, status, nix_version, nixperf_version, git_rev, command, profile_path,
    /// flake_lock, metrics_checksum`.
    pub(super) fn row(&mut self, r: &rusqlite::Row, first: usize) -> rusqlite::Result<()> {
        for i in first..first + 12 {
            self.value(r.get_ref(i)?);
        }
        Ok(())
    }

    /// One metric (name, value, unit), in name order.
    pub(super) fn metric(&mut self, name: ValueRef<'_>, value: ValueRef<'_>, unit: ValueRef<'_>) {
        self.0.update([1]);
        self.value(name);
        self.value(value);
        self.value(unit);
    }

    pub(super) fn finish(mut self) -> [u8; 32] {
        self.0.update([0]);
        self.0.finalize().into()
    }
}

/// The metrics `History::record` stores: finite values, the last of each name (`INSERT OR
/// REPLACE`), in name order.
pub(super) fn stored_metrics(metrics: &[Metric]) -> BTreeMap<&str, &Metric> {
    metrics
        .iter()
        .filter(|m| m.value.is_finite())
        .map(|m| (m.name.as_str(), m))
        .collect()
}

/// The checksums of run `id` as recorded: (`checksum`: its row, `metrics_checksum` included;
/// `metrics_checksum`: its stored metrics).
pub(super) fn of_record(
    id: i64,
    info: &RunInfo,
    command_json: &str,
    metrics: &[Metric],
) -> ([u8; 32], [u8; 32]) {
    let mut h = RunHasher::metrics(id);
    for m in stored_metrics(metrics).values() {
        h.metric(
            ValueRef::Text(m.name.as_bytes()),
            ValueRef::Real(m.value),
            ValueRef::Text(m.unit.as_str().as_bytes()),
        );
    }
    let metrics_sum = h.finish();
    let mut h = RunHasher::run(id);
    h.info(info, command_json, &metrics_sum);
    (h.finish(), metrics_sum)
}

/// The checksum of a baseline row (schema 7).
pub(super) fn of_baseline(host: &str, target: &str, run_id: i64, set_at: i64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(BASELINE_DOMAIN);
    for s in [host, target] {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s);
    }
    h.update(run_id.to_le_bytes());
    h.update(set_at.to_le_bytes());
    h.finalize().into()
}

/// The checksum of run `id`'s encoded call tree.
pub(super) fn of_tree(run_id: i64, blob: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(TREE_DOMAIN);
    h.update(run_id.to_le_bytes());
    h.update((blob.len() as u64).to_le_bytes());
    h.update(blob);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::super::stacks::RunStacks;
    use super::super::{History, HistoryError, Metric, RunFilter, RunInfo, RunKind, Unit};
    use crate::analysis::stacks::{StackNode, StackTree};
    use std::path::Path;

    fn info(target: &str) -> RunInfo {
        RunInfo {
            started_at: 1_700_000_000,
            kind: RunKind::Eval,
            host: "h".into(),
            target: target.into(),
            status: "complete".into(),
            nix_version: "2.28".into(),
            nixperf_version: "0.1".into(),
            git_rev: Some("abc".into()),
            flake_lock: None,
            command: vec!["nixperf".into(), "eval".into()],
            profile_path: None,
        }
    }

    fn tree() -> StackTree {
        let node = |parent, label, weight| StackNode {
            parent,
            label,
            weight,
        };
        StackTree::from_parts(
            vec!["main".into(), "f a.nix:1:1".into()],
            vec![node(0, 0, 0), node(0, 0, 5), node(1, 1, 7)],
        )
        .unwrap()
    }

    fn metrics(x: f64) -> Vec<Metric> {
        vec![
            Metric::new("eval.wall_s", 2.5 * x, Unit::Seconds),
            Metric::new("eval.zero", -0.0, Unit::Count),
            Metric::new("eval.integral", 3.0, Unit::Count),
            Metric::new("eval.huge", 1.7e308, Unit::Bytes),
            Metric::new("eval.tiny", 5e-324, Unit::Ratio),
            Metric::new("eval.nan", f64::NAN, Unit::Count),
            Metric::new("é ünïcode\0name", 1.0, Unit::from("widgets")),
            Metric::new("eval.wall_s", 4.5 * x, Unit::Seconds), // replaces the first
            Metric::new("module:m.nix", 0.25, Unit::Seconds),
        ]
    }

    /// Three runs (the second with a stack tree), its path.
    fn history(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("h.db");
        let mut h = History::open(&path).unwrap();
        for (i, t) in ["a", "b", "c"].iter().enumerate() {
            let st = (i == 1).then(tree);
            h.record(&info(t), &metrics(i as f64 + 1.0), st.as_ref())
                .unwrap();
        }
        path
    }

    /// Everything the readers return, or the first error.
    fn read_all(path: &Path) -> Result<String, HistoryError> {
        let h = History::open_existing(path)?;
        Ok(read_rows(path)? + &format!("{:?}", h.series("eval.wall_s", &RunFilter::default())?))
    }

    /// [`read_all`] but the trend series.
    fn read_rows(path: &Path) -> Result<String, HistoryError> {
        let h = History::open_existing(path)?;
        let mut out = String::new();
        for r in h.runs(&RunFilter::default())? {
            let one = h.run(r.id)?;
            let st = match h.stacks(r.id)? {
                Some(RunStacks::Tree(t)) => format!("{t:?}"),
                s => format!("{}", s.is_some()),
            };
            out += &format!("{one:?} {:?} {st}\n", h.metrics(r.id)?);
        }
        out += &format!("{:?}", h.latest_per_target()?);
        Ok(out)
    }

    fn corrupt(r: Result<impl std::fmt::Debug, HistoryError>, run: i64) {
        match r {
            Err(e @ HistoryError::Corrupt { .. }) => {
                let s = e.to_string();
                assert!(s.contains(&format!("run #{run}")), "{s}");
                assert!(!s.contains('\n'), "{s}");
            }
            other => panic!("expected corrupt run #{run}, got {other:?}"),
        }
    }

    #[test]
    fn recorded_runs_read_back_verified() {
        let dir = tempfile::tempdir().unwrap();
        let path = history(dir.path());
        read_all(&path).unwrap();
        let h = History::open_existing(&path).unwrap();
        let m = h.metrics(2).unwrap();
        let get = |n: &str| m.iter().find(|m| m.name == n).unwrap().value;
        assert_eq!(get("eval.wall_s"), 9.0);
        assert_eq!(get("eval.tiny"), 5e-324);
        assert_eq!(get("eval.huge"), 1.7e308);
        assert!(m.iter().all(|m| m.name != "eval.nan"));
        let r = h.verify_all().unwrap();
        assert_eq!((r.verified, r.unverified, r.failed.len()), (3, 0, 0));
    }

    #[test]
    fn changed_values_are_corrupt_not_other_numbers() {
        for (sql, run) in [
            "UPDATE metrics SET value = 9.000000000000002 WHERE run_id = 2 AND name = 'eval.wall_s'",
            "UPDATE metrics SET unit = 'bytes' WHERE run_id = 2 AND name = 'eval.wall_s'",
            "UPDATE metrics SET name = 'eval.wall_t' WHERE run_id = 2 AND name = 'eval.wall_s'",
            "DELETE FROM metrics WHERE run_id = 2 AND name = 'eval.tiny'",
            "INSERT INTO metrics VALUES (2, 'eval.extra', 1, 's')",
            "UPDATE runs SET target = 'B' WHERE id = 2",
            "UPDATE runs SET started_at = started_at + 1 WHERE id = 2",
            "UPDATE runs SET git_rev = NULL WHERE id = 2",
            "UPDATE runs SET checksum = NULL WHERE id = 2",
            "UPDATE runs SET metrics_checksum = NULL WHERE id = 2",
            "UPDATE runs SET checksum = zeroblob(32) WHERE id = 2",
            "UPDATE stack_trees SET tree = CAST(tree || x'00' AS BLOB) WHERE run_id = 2",
            "UPDATE stack_trees SET checksum = NULL WHERE run_id = 2",
        ]
        .map(|s| (s, 2))
        {
            let dir = tempfile::tempdir().unwrap();
            let path = history(dir.path());
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
            corrupt(read_all(&path), run);
            let h = History::open_existing(&path).unwrap();
            if sql.contains("stack_trees") {
                corrupt(h.stacks(2), 2);
            } else if sql.contains("metrics ") {
                // The row is intact (it reads); its metrics are not.
                corrupt(h.metrics(2), 2);
                corrupt(h.series("eval.integral", &RunFilter::default()), 2);
            } else {
                corrupt(h.run(2), 2);
                corrupt(h.runs(&RunFilter::default()), 2);
                corrupt(h.latest_per_target(), 2);
                corrupt(h.metrics(2), 2);
            }
            // The other runs still read.
            h.run(1).unwrap();
            h.metrics(3).unwrap();
            let r = h.verify_all().unwrap();
            assert_eq!(r.failed.len(), 1, "{sql}: {:?}", r.failed);
            assert!(r.failed[0].contains("run #2"), "{sql}: {:?}", r.failed);
        }
    }

    /// A flipped byte anywhere in the file: every read either fails or returns exactly what was
    /// recorded, never another number.
    #[test]
    fn flipped_bytes_never_read_as_other_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = history(dir.path());
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;")
                .unwrap();
        }
        let want = read_all(&path).unwrap();
        // A flipped key of `stack_trees` files the tree under another run: run 2 then reads
        // as having no stacks (no wrong number; see the report of this change).
        let want_no_tree = want.replace(&format!("{:?}", tree()), "false");
        let bytes = std::fs::read(&path).unwrap();
        let flip = dir.path().join("flip.db");
        let (mut rejected, mut same) = (0, 0);
        for at in (100..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[at] ^= 0x04;
            if b == bytes {
                continue;
            }
            std::fs::write(&flip, &b).unwrap();
            match read_all(&flip) {
                Ok(got) => {
                    assert!(
                        got == want || got == want_no_tree,
                        "byte {at} read back as other data:\n{got}\nnot\n{want}"
                    );
                    same += 1;
                }
                Err(_) => rejected += 1,
            }
            let _ = std::fs::remove_file(flip.with_extension("db-wal"));
            let _ = std::fs::remove_file(flip.with_extension("db-shm"));
        }
        assert!(rejected > 0 && same > 0, "{rejected} rejected, {same} same");
    }

    /// A baseline pointing at another run, or changed otherwise, is reported, not compared
    /// against; baselines set under schema 6 get their checksum on migration.
    #[test]
    fn baselines_are_checked() {
        let set = |path: &Path, id: i64| {
            let mut h = History::open(path).unwrap();
            let run = h.run(id).unwrap();
            h.set_baseline(&run, 1_700_000_100).unwrap();
        };
        for sql in [
            "UPDATE baselines SET run_id = 1",
            "UPDATE baselines SET set_at = set_at + 1",
            "UPDATE baselines SET checksum = NULL",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = history(dir.path());
            set(&path, 2);
            let h = History::open_existing(&path).unwrap();
            assert_eq!(h.baseline("h", "b").unwrap(), Some(2));
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(sql)
                .unwrap();
            match h.baseline("h", "b") {
                Err(e @ HistoryError::Corrupt { .. }) => {
                    assert!(e.to_string().contains("the baseline of b on h"), "{e}")
                }
                other => panic!("{sql}: {other:?}"),
            }
            // Other targets' baselines are unaffected.
            assert_eq!(h.baseline("h", "a").unwrap(), None);
            // `history check` names it too.
            let report = h.verify_all().unwrap();
            assert_eq!(report.failed.len(), 1, "{sql}: {:?}", report.failed);
            assert!(report.failed[0].contains("the baseline of b on h"));
        }
        // Schema 6 → 7: the baseline set before keeps reading as the same run.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v6.db");
        old_history(
            &path,
            6,
            "UPDATE checksummed_from SET first_run = 2;
             INSERT INTO baselines VALUES ('old-host', 'old', 1, 1700000001);",
        );
        let h = History::open(&path).unwrap();
        assert_eq!(h.schema_version().unwrap(), crate::history::SCHEMA_VERSION);
        assert_eq!(h.baseline("old-host", "old").unwrap(), Some(1));
        assert!(h.verify_all().unwrap().failed.is_empty());
    }

    /// A history of schema `version` (its first `version` migrations) holding one run of
    /// 'old' on 'old-host', plus `sql`.
    fn old_history(path: &Path, version: usize, sql: &str) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(path).unwrap();
        for i in 0..version {
            c.execute_batch(crate::history::schema_migration(i))
                .unwrap();
        }
        c.execute_batch(&format!(
            "INSERT INTO runs (started_at, kind, host, target, status, nix_version,
                               nixperf_version, git_rev, command, profile_path)
             VALUES (1700000000, 'eval', 'old-host', 'old', 'complete', '2.8.0', '0.0.1',
                     NULL, '[\"nixperf\"]', NULL);
             {sql}
             PRAGMA application_id = 1853386856; PRAGMA user_version = {version};"
        ))
        .unwrap();
        c
    }

    /// A schema-5 history (no checksums) migrates; its runs read unverified, new runs verified.
    #[test]
    fn schema_5_runs_stay_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.db");
        {
            let c = old_history(
                &path,
                5,
                "INSERT INTO metrics VALUES (1, 'eval.wall_s', 2.5, 's');",
            );
            c.execute(
                "INSERT INTO stack_trees VALUES (1, ?1)",
                [crate::history::stack_codec::encode(&tree())],
            )
            .unwrap();
        }
        let mut h = History::open(&path).unwrap();
        assert_eq!(h.schema_version().unwrap(), crate::history::SCHEMA_VERSION);
        assert_eq!(h.run(1).unwrap().info.host, "old-host");
        assert_eq!(h.metrics(1).unwrap()[0].value, 2.5);
        assert!(matches!(h.stacks(1).unwrap(), Some(RunStacks::Tree(t)) if t == tree()));
        let id = h
            .record(&info("new"), &metrics(1.0), Some(&tree()))
            .unwrap();
        assert_eq!(id, 2);
        drop(h);
        read_all(&path).unwrap();
        let h = History::open_existing(&path).unwrap();
        let r = h.verify_all().unwrap();
        assert_eq!((r.verified, r.unverified, r.failed.len()), (1, 1, 0));
        // A run recorded after the migration without a checksum is damage, not an old run.
        drop(h);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("UPDATE runs SET checksum = NULL WHERE id = 2")
            .unwrap();
        corrupt(History::open_existing(&path).unwrap().run(2), 2);
    }
}
