//! Integrity of a profile file, checked before any number is read from it:
//!
//! - the file's length against its SQLite header (page size × page count): a profile cut by a
//!   few bytes is otherwise read without complaint;
//! - SQLite's `quick_check` (pages, b-trees, records);
//! - a SHA-256 of the whole logical content (every row of every table, the application id and
//!   schema version), written by `atomic::write_sqlite` into `nixperf_checksum` in the same
//!   transaction as the data: a flipped byte inside a value is caught. Profiles written before
//!   the checksum existed have no such table and skip this step.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::path::Path;

pub(crate) const CHECKSUM_TABLE: &str = "nixperf_checksum";

/// The file's length agrees with the page count its header declares (where the header's count
/// is valid: SQLite ≥ 3.7.0 keeps it when the change counters agree, which ours always do).
pub(crate) fn check_length(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    let mut h = [0u8; 100];
    if len < 100 || f.read_exact(&mut h).is_err() {
        return Err(format!("{len} bytes: shorter than an SQLite header"));
    }
    let page_size = match u16::from_be_bytes([h[16], h[17]]) {
        1 => 65536u64,
        n => n as u64,
    };
    let pages = u32::from_be_bytes([h[28], h[29], h[30], h[31]]) as u64;
    let counter = &h[24..28];
    let valid_for = &h[92..96];
    if counter != valid_for || pages == 0 {
        return Ok(()); // header count not maintained: nothing to compare
    }
    if len != page_size * pages {
        return Err(format!(
            "{len} bytes, but its header says {pages} pages of {page_size} bytes = {}",
            page_size * pages
        ));
    }
    Ok(())
}

pub(crate) fn quick_check(db: &Connection) -> Result<(), String> {
    let verdict: String = db
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(format!("quick_check: {verdict}"))
    }
}

/// SHA-256 (hex) of everything stored: pragmas, then each table (by name) row by row.
pub(crate) fn digest(db: &Connection) -> rusqlite::Result<String> {
    let mut h = Sha256::new();
    for pragma in ["application_id", "user_version"] {
        let v: i64 = db.pragma_query_value(None, pragma, |r| r.get(0))?;
        h.update(v.to_le_bytes());
    }
    let tables: Vec<String> = db
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             AND name != ?1 ORDER BY name",
        )?
        .query_map([CHECKSUM_TABLE], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for t in tables {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
        let mut st = db.prepare(&format!(
            "SELECT * FROM \"{}\" ORDER BY rowid",
            t.replace('"', "\"\"")
        ))?;
        let cols = st.column_count();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            for i in 0..cols {
                match r.get_ref(i)? {
                    ValueRef::Null => h.update([0u8]),
                    ValueRef::Integer(v) => {
                        h.update([1u8]);
                        h.update(v.to_le_bytes());
                    }
                    ValueRef::Real(v) => {
                        h.update([2u8]);
                        h.update(v.to_bits().to_le_bytes());
                    }
                    ValueRef::Text(b) | ValueRef::Blob(b) => {
                        h.update([3u8]);
                        h.update((b.len() as u64).to_le_bytes());
                        h.update(b);
                    }
                }
            }
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Stores the digest of what `db` holds (call last, inside the writing transaction).
pub(crate) fn seal(db: &Connection) -> rusqlite::Result<()> {
    let d = digest(db)?;
    db.execute_batch(&format!(
        "CREATE TABLE {CHECKSUM_TABLE} (sha256 TEXT NOT NULL)"
    ))?;
    db.execute(&format!("INSERT INTO {CHECKSUM_TABLE} VALUES (?1)"), [d])?;
    Ok(())
}

/// Checks the stored digest, if the file has one.
pub(crate) fn verify(db: &Connection) -> Result<(), String> {
    let has: bool = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [CHECKSUM_TABLE],
            |r| r.get::<_, i64>(0),
        )
        .map_err(|e| e.to_string())?
        > 0;
    if !has {
        return Ok(());
    }
    let stored: Option<String> = db
        .query_row(&format!("SELECT sha256 FROM {CHECKSUM_TABLE}"), [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| e.to_string())?;
    let actual = digest(db).map_err(|e| e.to_string())?;
    match stored {
        Some(s) if s == actual => Ok(()),
        _ => Err("checksum mismatch: the content changed after it was written".into()),
    }
}

/// All three checks, in order of cost.
pub(crate) fn check(path: &Path, db: &Connection) -> Result<(), String> {
    check_length(path)?;
    quick_check(db)?;
    verify(db)
}
