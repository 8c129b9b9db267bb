//! The history's schema as an ordered list of migrations. `PRAGMA user_version` is the number
//! of migrations applied; opening a database applies the missing ones in one transaction, so a
//! history written by an older nixperf keeps its runs. Never edit a migration once released:
//! append a new one.

/// `PRAGMA application_id`: 'nxph' (nixperf history), distinct from profiles' 'nxpf'.
pub(crate) const APPLICATION_ID: i32 = 0x6e78_7068;

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: runs and their metrics. The metrics table is generic (name, value, unit) so every
    // kind of run (eval, build, store, cache, …) records into it without a schema change.
    "
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        host TEXT NOT NULL,
        target TEXT NOT NULL,
        status TEXT NOT NULL,
        nix_version TEXT NOT NULL,
        nixperf_version TEXT NOT NULL,
        git_rev TEXT,
        command TEXT NOT NULL,
        profile_path TEXT);
    CREATE INDEX runs_host_target ON runs (host, target, id);
    CREATE TABLE metrics (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value REAL NOT NULL,
        unit TEXT NOT NULL,
        PRIMARY KEY (run_id, name)) WITHOUT ROWID;
    CREATE INDEX metrics_name ON metrics (name, run_id);
    ",
    // 2: baselines per host and target, and the folded stacks of evaluations (for differential
    // flamegraphs: the profile file a run links to may be overwritten by the next run).
    "
    CREATE TABLE baselines (
        host TEXT NOT NULL,
        target TEXT NOT NULL,
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        set_at INTEGER NOT NULL,
        PRIMARY KEY (host, target));
    CREATE TABLE stacks (
        run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
        folded TEXT NOT NULL);
    ",
    // 3: trends read one metric across all runs: cover the value in the name index so a
    // series is one index range scan, not a table lookup per run.
    "
    DROP INDEX metrics_name;
    CREATE INDEX metrics_name_run_value ON metrics (name, run_id, value);
    ",
    // 4: the locked inputs of a flake (`nixpkgs@<rev>,…`) beside the git revision.
    "
    ALTER TABLE runs ADD COLUMN flake_lock TEXT;
    ",
    // 5: an evaluation's stacks as its call tree (labels once, nodes as varints: see
    // stack_codec.rs), not folded text, which grows with depth × nodes (650 MB for a
    // 10 000-deep recursion). Runs recorded before keep their `stacks` rows.
    "
    CREATE TABLE stack_trees (
        run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
        tree BLOB NOT NULL);
    ",
    // 6: checksums (SHA-256, see checksum.rs) of each run (`checksum`: its row and, through
    // `metrics_checksum`, all its metrics) and of each stored call tree, verified on every
    // read: a flipped bit inside a stored value is reported, never read back as another
    // number. Runs and trees recorded before this migration keep NULL checksums: they stay
    // readable, unverified. `checksummed_from` holds
    // the first run id recorded with checksums: from there on a NULL checksum is itself damage.
    // The legacy `stacks` table (folded text, schema ≤ 4) stays unverified.
    "
    ALTER TABLE runs ADD COLUMN metrics_checksum BLOB;
    ALTER TABLE runs ADD COLUMN checksum BLOB;
    ALTER TABLE stack_trees ADD COLUMN checksum BLOB;
    CREATE TABLE checksummed_from (first_run INTEGER NOT NULL);
    INSERT INTO checksummed_from SELECT coalesce(max(id), 0) + 1 FROM runs;
    ",
    // 7: a checksum of each baseline (host, target, run, time set; see checksum.rs): a flipped
    // run id would compare against another run. The rows present are given theirs by
    // `History::migrate_to` in the same transaction (SQL has no SHA-256), so from here on a
    // NULL checksum is damage.
    "
    ALTER TABLE baselines ADD COLUMN checksum BLOB;
    ",
];

/// The migration (1-based) after which `baselines.checksum` must be filled by Rust.
pub(super) const BASELINE_CHECKSUMS: i64 = 7;

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
