//! On-disk bytes of store paths, and what deleting a set of them frees.
//!
//! Two numbers per deletion, both exact for a quiescent store:
//! - `nix_reported`: what Nix prints ("N store paths deleted, X MiB freed"). Nix 2.8's
//!   `deletePath` adds a non-directory's `st_size` when its link count is 1 or 2 at the moment it
//!   unlinks it (2 is assumed to be "one more in `.links`"). An inode with `n` links of which
//!   `k` are deleted is therefore counted once for each of `n, n-1, …, n-k+1` that is ≤ 2.
//! - `disk`: allocated blocks really released: an inode goes when all its links go, or all but
//!   one in `.links` (the collector then removes that unused link); directories always go.

use super::{StoreError, StoreLocation};
use rustc_hash::{FxHashMap, FxHashSet};
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::Path;

#[derive(Debug, Default, Clone)]
pub(crate) struct Inodes {
    key: FxHashMap<(u64, u64), u32>,
    pub nlink: Vec<u64>,
    pub size: Vec<u64>,
    pub blocks: Vec<u64>,
    pub ino: Vec<u64>,
}

/// The files of one store path: non-directory entries (inode ids) and directory blocks.
#[derive(Debug, Default, Clone)]
pub(crate) struct PathFiles {
    pub inodes: Vec<u32>,
    pub dir_bytes: u64,
}

impl Inodes {
    fn intern(&mut self, m: &std::fs::Metadata) -> u32 {
        let k = (m.dev(), m.ino());
        if let Some(&i) = self.key.get(&k) {
            return i;
        }
        let i = self.nlink.len() as u32;
        self.key.insert(k, i);
        self.nlink.push(m.nlink());
        self.size.push(m.size());
        self.blocks.push(m.blocks() * 512);
        self.ino.push(m.ino());
        i
    }

    /// Walks one store path (no symlink following). A missing path gives empty files.
    pub(crate) fn walk(&mut self, path: &Path) -> Result<PathFiles, StoreError> {
        let mut pf = PathFiles::default();
        let m = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(pf),
            Err(e) => {
                return Err(StoreError::Io {
                    path: path.to_owned(),
                    source: e,
                });
            }
        };
        self.walk_meta(path, &m, &mut pf)?;
        Ok(pf)
    }

    fn walk_meta(
        &mut self,
        path: &Path,
        m: &std::fs::Metadata,
        pf: &mut PathFiles,
    ) -> Result<(), StoreError> {
        if m.is_dir() {
            pf.dir_bytes += m.blocks() * 512;
            let rd = std::fs::read_dir(path).map_err(|e| StoreError::Io {
                path: path.to_owned(),
                source: e,
            })?;
            for e in rd {
                let e = e.map_err(|e| StoreError::Io {
                    path: path.to_owned(),
                    source: e,
                })?;
                let p = e.path();
                let m = std::fs::symlink_metadata(&p).map_err(|e| StoreError::Io {
                    path: p.clone(),
                    source: e,
                })?;
                self.walk_meta(&p, &m, pf)?;
            }
        } else {
            pf.inodes.push(self.intern(m));
        }
        Ok(())
    }
}

/// Inode numbers of the entries of `<store>/.links`, and the blocks of those already unused
/// (one link left): every collection deletes them, so they add to its disk gain (Nix does not
/// count them in the number it prints).
pub(crate) fn links_inodes(loc: &StoreLocation) -> (FxHashSet<u64>, u64) {
    let mut s = FxHashSet::default();
    let mut unused = 0;
    if let Ok(rd) = std::fs::read_dir(loc.real_store_dir.join(".links")) {
        for e in rd.flatten() {
            s.insert(e.ino());
            if let Ok(m) = std::fs::symlink_metadata(e.path())
                && m.nlink() == 1
            {
                unused += m.blocks() * 512;
            }
        }
    }
    (s, unused)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Freed {
    pub nix_reported: u64,
    pub disk: u64,
}

/// What deleting all of `paths` frees (see the module comment).
pub(crate) fn freed<'a>(
    inodes: &Inodes,
    paths: impl IntoIterator<Item = &'a PathFiles>,
    links: &FxHashSet<u64>,
) -> Freed {
    let mut k: FxHashMap<u32, u64> = FxHashMap::default();
    let mut f = Freed::default();
    for p in paths {
        f.disk += p.dir_bytes;
        for &i in &p.inodes {
            *k.entry(i).or_default() += 1;
        }
    }
    for (&i, &k) in &k {
        let n = inodes.nlink[i as usize];
        let k = k.min(n);
        // Link counts seen at each unlink: n, n-1, …, n-k+1; Nix counts those ≤ 2.
        let lo = n - k + 1;
        let counted = (lo..=n.min(2)).count() as u64;
        f.nix_reported += counted * inodes.size[i as usize];
        if k == n || (k + 1 == n && links.contains(&inodes.ino[i as usize])) {
            f.disk += inodes.blocks[i as usize];
        }
    }
    f
}

/// Entries of the store directory that are not valid paths (the collector deletes them all).
pub(crate) fn stray_entries(loc: &StoreLocation, valid: &FxHashMap<String, u32>) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&loc.real_store_dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name != ".links" && !valid.contains_key(&name) {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}
