//! Profiles (evaluation and build) are written whole or not at all: built in one transaction in a
//! temporary SQLite file beside the target, without a journal, then renamed into place. A reader
//! never sees half a profile, and an existing profile is replaced whole. The content is sealed
//! with a checksum (`integrity`).

use rusqlite::{Connection, Transaction};
use std::path::Path;

/// Creates `path` with `schema` and what `fill` inserts; the error is the failure's text.
pub(crate) fn write_sqlite(
    path: &Path,
    application_id: i32,
    version: i64,
    schema: &str,
    fill: impl FnOnce(&Transaction) -> rusqlite::Result<()>,
) -> Result<(), String> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("profile"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| -> rusqlite::Result<()> {
        let mut db = Connection::open(&tmp)?;
        db.pragma_update(None, "journal_mode", "OFF")?;
        db.pragma_update(None, "synchronous", "OFF")?;
        db.pragma_update(None, "application_id", application_id)?;
        db.pragma_update(None, "user_version", version)?;
        let tx = db.transaction()?;
        tx.execute_batch(schema)?;
        fill(&tx)?;
        // Last, over everything stored: readers detect any changed byte of content.
        super::integrity::seal(&tx)?;
        tx.commit()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.to_string());
    }
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}
