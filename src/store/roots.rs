//! GC roots, found the way Nix 2.8's collector finds them (`findRootsNoTemp`, `findTempRoots`):
//! symlinks under `<state>/gcroots` and `<state>/profiles` pointing into the store, indirect
//! roots (a link pointing to a link outside the store that points into the store, as
//! `gcroots/auto/*` → `./result`), regular files named like store paths, live temporary roots
//! and runtime roots of running processes (`/proc`). Each root is then classified: a profile
//! generation (`<profile>-<N>-link`), a `result`-style indirect root, another gcroot, runtime.

use super::{StoreLocation, db::StoreGraph};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum RootKind {
    /// `<profile>-<number>-link`; `current` when `<profile>` points at it.
    Generation {
        profile: PathBuf,
        number: u64,
        current: bool,
        /// Seconds since the epoch (the link's mtime, as Nix dates generations).
        created: i64,
    },
    /// An indirect root outside the profiles, registered under `gcroots/auto` (`nix-build`'s
    /// `result`, `nix build`'s `result`, `--out-link`s, direnv's links…).
    Result { auto_link: PathBuf },
    /// Any other link or file under `gcroots` (e.g. `booted-system`, per-user roots).
    GcRoot,
    /// Referenced by a running process (`/proc/<pid>/…`) or a temporary root file.
    Runtime,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Root {
    /// The link that holds the path alive.
    pub link: PathBuf,
    /// The store path base name it roots.
    pub target: String,
    #[serde(skip)]
    pub index: u32,
    #[serde(flatten)]
    pub kind: RootKind,
}

/// All roots of the store, valid targets only (like Nix, which skips invalid ones).
pub(crate) fn find(loc: &StoreLocation, g: &StoreGraph, runtime: bool) -> Vec<Root> {
    let mut found: Vec<(PathBuf, String, bool)> = Vec::new();
    let auto = loc.state_dir.join("gcroots/auto");
    find_in(loc, &loc.state_dir.join("gcroots"), &auto, &mut found);
    find_in(loc, &loc.state_dir.join("profiles"), &auto, &mut found);
    let mut roots: Vec<Root> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (link, base, via_auto) in found {
        let Some(&index) = g.index.get(&base) else {
            continue;
        };
        if !seen.insert((link.clone(), index)) {
            continue;
        }
        let kind = classify(&link, via_auto.then_some(&auto));
        roots.push(Root {
            link,
            target: base,
            index,
            kind,
        });
    }
    if runtime {
        for (link, base) in runtime_roots(loc).into_iter().chain(temp_roots(loc)) {
            if let Some(&index) = g.index.get(&base)
                && seen.insert((link.clone(), index))
            {
                roots.push(Root {
                    link,
                    target: base,
                    index,
                    kind: RootKind::Runtime,
                });
            }
        }
    }
    roots
}

fn classify(link: &Path, auto: Option<&PathBuf>) -> RootKind {
    if let Some((profile, number)) = generation_of(link) {
        let current = std::fs::read_link(&profile)
            .ok()
            .and_then(|t| t.file_name().map(|f| f.to_owned()))
            == link.file_name().map(|f| f.to_owned());
        let created = std::fs::symlink_metadata(link)
            .map(|m| std::os::unix::fs::MetadataExt::mtime(&m))
            .unwrap_or(0);
        return RootKind::Generation {
            profile,
            number,
            current,
            created,
        };
    }
    match auto {
        Some(a) => RootKind::Result {
            auto_link: a.clone(),
        },
        None => RootKind::GcRoot,
    }
}

/// `DIR/NAME-N-link` where `DIR/NAME` is a symlink: (profile, N).
pub(crate) fn generation_of(link: &Path) -> Option<(PathBuf, u64)> {
    let name = link.file_name()?.to_str()?;
    let stem = name.strip_suffix("-link")?;
    let (profile, num) = stem.rsplit_once('-')?;
    let number = num.parse().ok()?;
    let profile = link.with_file_name(profile);
    std::fs::symlink_metadata(&profile)
        .ok()?
        .file_type()
        .is_symlink()
        .then_some((profile, number))
}

fn find_in(loc: &StoreLocation, path: &Path, auto: &Path, out: &mut Vec<(PathBuf, String, bool)>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    let ft = meta.file_type();
    if ft.is_dir() {
        let Ok(rd) = std::fs::read_dir(path) else {
            return;
        };
        for e in rd.flatten() {
            find_in(loc, &e.path(), auto, out);
        }
    } else if ft.is_symlink() {
        let Ok(target) = std::fs::read_link(path) else {
            return;
        };
        let t = target.to_string_lossy();
        if let Some(base) = loc.to_store_base(&t) {
            out.push((path.to_owned(), base.to_owned(), false));
        } else if !t.starts_with(&format!("{}/", loc.store_dir)) {
            // Indirect root: follow one more link, as Nix does.
            let abs = path.parent().unwrap_or(Path::new("/")).join(&target);
            let Ok(m2) = std::fs::symlink_metadata(&abs) else {
                return;
            };
            if !m2.file_type().is_symlink() {
                return;
            }
            if let Ok(t2) = std::fs::read_link(&abs)
                && let Some(base) = loc.to_store_base(&t2.to_string_lossy())
            {
                out.push((abs, base.to_owned(), path.starts_with(auto)));
            }
        }
    } else if ft.is_file()
        && let Some(name) = path.file_name().and_then(|n| n.to_str())
        && super::is_store_base(name)
    {
        out.push((path.to_owned(), name.to_owned(), false));
    }
}

/// Store paths mentioned by running processes, as Nix's `findRuntimeRoots` on Linux: links of
/// `exe`, `cwd`, `fd/*`, and store paths in `maps` and `environ` (our own process excluded),
/// and the kernel's helper paths (`/proc/sys/kernel/{modprobe,fbsplash,poweroff_cmd}`).
fn runtime_roots(loc: &StoreLocation) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let me = std::process::id().to_string();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    let mut add = |link: PathBuf, text: &str| {
        let needle = format!("{}/", loc.store_dir);
        let mut rest = text;
        while let Some(pos) = rest.find(&needle) {
            let after = &rest[pos + needle.len()..];
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || "+-._?=".contains(c)))
                .unwrap_or(after.len());
            let base = &after[..end];
            if super::is_store_base(base) {
                out.push((link.clone(), base.to_owned()));
            }
            rest = &after[end..];
        }
    };
    for f in ["modprobe", "fbsplash", "poweroff_cmd"] {
        let p = Path::new("/proc/sys/kernel").join(f);
        if let Ok(t) = std::fs::read_to_string(&p) {
            add(p, t.trim());
        }
    }
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str() else { continue };
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let dir = e.path();
        for l in ["exe", "cwd"] {
            if let Ok(t) = std::fs::read_link(dir.join(l)) {
                add(dir.join(l), &t.to_string_lossy());
            }
        }
        if let Ok(fds) = std::fs::read_dir(dir.join("fd")) {
            for fd in fds.flatten() {
                if let Ok(t) = std::fs::read_link(fd.path()) {
                    add(fd.path(), &t.to_string_lossy());
                }
            }
        }
        for f in ["maps", "environ"] {
            if let Ok(b) = std::fs::read(dir.join(f)) {
                add(dir.join(f), &String::from_utf8_lossy(&b));
            }
        }
    }
    out
}

/// `<state>/temproots/<pid>`: NUL-separated store paths of live nix processes.
fn temp_roots(loc: &StoreLocation) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(loc.state_dir.join("temproots")) else {
        return out;
    };
    for e in rd.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !Path::new("/proc").join(&pid).exists() {
            continue;
        }
        if let Ok(b) = std::fs::read(e.path()) {
            for p in String::from_utf8_lossy(&b).split('\0') {
                if let Some(base) = loc.to_store_base(p) {
                    out.push((e.path(), base.to_owned()));
                }
            }
        }
    }
    out
}
