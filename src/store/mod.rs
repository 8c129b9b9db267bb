//! Store analysis (`nixperf store`): where the disk went and exactly what each cleanup command
//! frees.
//!
//! Data flows one way: `db` (read-only snapshot of Nix's SQLite DB → [`StoreGraph`]) and `roots`
//! (GC roots found as Nix's collector finds them) → `gc` (liveness, generations, what each command
//! deletes) → `files` (on-disk bytes of those paths, with Nix's own hard-link accounting) and
//! `optimise` (what `nix-store --optimise` would hard-link) → `analysis` (the breakdown and
//! advice) → `report` (text).

pub(crate) mod db;
pub(crate) mod files;
pub(crate) mod gc;
pub(crate) mod nar;
pub(crate) mod optimise;
pub(crate) mod roots;
pub(crate) mod text;
pub(crate) mod usage;

pub(crate) use usage::{StoreOptions, analyse};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("{path}: no Nix store database here (give --db or --state-dir)")]
    DbAbsent { path: PathBuf },
    #[error("{path}: store database is not readable: {detail}")]
    DbUnreadable { path: PathBuf, detail: String },
    #[error("{path}: store database is locked by another process (retry when nix is done)")]
    DbLocked { path: PathBuf },
    #[error("{path}: not a Nix store database: {detail}")]
    NotNixDb { path: PathBuf, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a local store lives. Nix names paths by the logical `store_dir`; on disk they are under
/// `real_store_dir` (the same unless it is a chroot store, `--store /root`).
#[derive(Debug, Clone)]
pub(crate) struct StoreLocation {
    pub store_dir: String,
    pub real_store_dir: PathBuf,
    pub state_dir: PathBuf,
    pub db: PathBuf,
}

impl StoreLocation {
    /// `root` is the chroot of a `local?root=DIR` store (empty for the system store).
    pub(crate) fn new(
        store_dir: &str,
        state_dir: &Path,
        db: Option<&Path>,
        root: Option<&Path>,
    ) -> StoreLocation {
        let under = |p: &Path| match root {
            Some(r) => r.join(p.strip_prefix("/").unwrap_or(p)),
            None => p.to_owned(),
        };
        let state_dir = under(state_dir);
        let store_dir = store_dir.trim_end_matches('/').to_owned();
        StoreLocation {
            real_store_dir: under(Path::new(&store_dir)),
            db: db
                .map(Path::to_owned)
                .unwrap_or_else(|| state_dir.join("db/db.sqlite")),
            store_dir,
            state_dir,
        }
    }

    /// The store path (`/nix/store/<hash>-<name>`) a target inside the store belongs to.
    pub(crate) fn to_store_base<'a>(&self, target: &'a str) -> Option<&'a str> {
        let rest = target.strip_prefix(&self.store_dir)?.strip_prefix('/')?;
        let base = rest.split('/').next()?;
        is_store_base(base).then_some(base)
    }
}

/// `<32 base-32 chars>-<name>` as Nix parses store path names.
pub(crate) fn is_store_base(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 33
        && b[32] == b'-'
        && b[..32].iter().all(|c| nar::BASE32_CHARS.contains(c))
        && b[33..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"+-._?=".contains(&c))
        && b[33] != b'.'
}

#[cfg(test)]
mod tests;
