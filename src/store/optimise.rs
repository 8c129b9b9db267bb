//! What `nix-store --optimise` would do, replayed without writing: walk the valid paths in
//! Nix's order (sorted by name, directory entries in `readdir` order), skip inodes already in
//! `.links`, hash each regular read-only file and symlink as a NAR, and count a file as
//! hard-linked when `.links` (as it would be by then) already holds its hash under another
//! inode. Nix reports the `st_size` of each replaced file; the disk gain is the blocks of each
//! inode whose every link gets replaced.

use super::nar;
use super::{StoreError, StoreLocation, db::StoreGraph};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::Path;

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub(crate) struct OptimiseEstimate {
    pub files_linked: u64,
    pub nix_reported_bytes: u64,
    pub disk_bytes: u64,
    /// Files hashed and their bytes (the work done).
    pub files_hashed: u64,
    pub bytes_hashed: u64,
    /// 1.0 when every path was examined; else the sampled share the numbers were scaled from.
    pub sampled_fraction: f64,
}

struct State {
    /// `.links` name → inode.
    links: FxHashMap<String, u64>,
    /// Inodes linked into `.links` (Nix's `inodeHash`).
    linked: FxHashSet<u64>,
    /// Replaced entries per inode (for the disk gain).
    replaced: FxHashMap<u64, (u64, u64, u64)>,
    est: OptimiseEstimate,
}

/// `sample_every` = 1 examines every path; k > 1 examines every k-th and scales the result.
/// `byte_limit`: stop hashing after this many bytes and scale from the paths done (names are
/// hash-ordered, so a prefix is a random sample).
pub(crate) fn estimate(
    loc: &StoreLocation,
    g: &StoreGraph,
    sample_every: usize,
    byte_limit: u64,
    mut progress: impl FnMut(u64, u64),
) -> Result<OptimiseEstimate, StoreError> {
    let mut st = State {
        links: FxHashMap::default(),
        linked: FxHashSet::default(),
        replaced: FxHashMap::default(),
        est: OptimiseEstimate::default(),
    };
    if let Ok(rd) = std::fs::read_dir(loc.real_store_dir.join(".links")) {
        for e in rd.flatten() {
            st.links
                .insert(e.file_name().to_string_lossy().into_owned(), e.ino());
            st.linked.insert(e.ino());
        }
    }
    let mut order: Vec<u32> = (0..g.len() as u32).collect();
    order.sort_by(|&a, &b| g.names[a as usize].cmp(&g.names[b as usize]));
    let k = sample_every.max(1);
    let total = order.len().div_ceil(k) as u64;
    let mut done = 0u64;
    for &i in order.iter().step_by(k) {
        if st.est.bytes_hashed >= byte_limit {
            break;
        }
        let p = loc.real_store_dir.join(&g.names[i as usize]);
        if let Ok(m) = std::fs::symlink_metadata(&p) {
            visit(&mut st, &p, &m, true)?;
        }
        done += 1;
        progress(done, total);
    }
    for (_, (nlink, count, blocks)) in st.replaced.iter() {
        if count >= nlink {
            st.est.disk_bytes += blocks;
        }
    }
    let mut e = st.est;
    let examined = done as f64 / order.len().max(1) as f64;
    e.sampled_fraction = if done == total {
        1.0 / k as f64
    } else {
        examined
    };
    if e.sampled_fraction < 1.0 {
        let f = 1.0 / e.sampled_fraction.max(1e-9);
        let s = |x: u64| (x as f64 * f).round() as u64;
        e.files_linked = s(e.files_linked);
        e.nix_reported_bytes = s(e.nix_reported_bytes);
        e.disk_bytes = s(e.disk_bytes);
    }
    Ok(e)
}

fn visit(st: &mut State, path: &Path, m: &std::fs::Metadata, top: bool) -> Result<(), StoreError> {
    let io = |e| StoreError::Io {
        path: path.to_owned(),
        source: e,
    };
    if m.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(io)?
            .collect::<Result<_, _>>()
            .map_err(io)?;
        // readDirectoryIgnoringInodes: the listing drops entries already linked.
        entries.retain(|e| !st.linked.contains(&e.ino()));
        for e in entries {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).map_err(|e| StoreError::Io {
                path: p.clone(),
                source: e,
            })?;
            visit(st, &p, &m, false)?;
        }
        return Ok(());
    }
    let ft = m.file_type();
    if !(ft.is_file() || ft.is_symlink()) {
        return Ok(());
    }
    // Nix skips writable regular files as suspicious.
    if ft.is_file() && m.mode() & 0o200 != 0 {
        return Ok(());
    }
    if top && m.nlink() > 1 && st.linked.contains(&m.ino()) {
        return Ok(());
    }
    let Some(hash) = nar::file_nar_hash(path, m).map_err(io)? else {
        return Ok(());
    };
    st.est.files_hashed += 1;
    st.est.bytes_hashed += m.size();
    match st.links.get(&hash) {
        None => {
            st.links.insert(hash, m.ino());
            st.linked.insert(m.ino());
        }
        Some(&link_ino) if link_ino == m.ino() => {}
        Some(_) => {
            st.est.files_linked += 1;
            st.est.nix_reported_bytes += m.size();
            let r = st
                .replaced
                .entry(m.ino())
                .or_insert((m.nlink(), 0, m.blocks() * 512));
            r.1 += 1;
        }
    }
    Ok(())
}
