//! Before running nix: which Nix is it, and can it host the plugin?
//!
//! A C++ plugin binds to Nix's C++ symbols in the host process. Nix built with shared libraries
//! (nixpkgs, the official installer, Debian's 2.8) has them in its dynamic symbol table —
//! imported from `libnixexpr.so` or defined in the binary. Debian's 2.26 and 2.34 link Nix's
//! libraries statically and export none, so no plugin can load there. And a plugin only works
//! with the Nix version it was compiled against (C++ layouts change between releases).

use object::{Object, ObjectSection, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0} not found in PATH")]
    NotInPath(String),
    #[error("cannot run {path} --version: {source}")]
    Run {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("{path} --version printed no version ({output:?})")]
    NoVersion { path: PathBuf, output: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// The first `X.Y[.Z]` in a string (`nix (Nix) 2.34.8`, `2.8.0`, `2.26.3pre`).
    pub(crate) fn parse(s: &str) -> Option<Version> {
        s.split_whitespace().rev().find_map(|w| {
            let mut it = w.split('.');
            let num = |p: Option<&str>| -> Option<u32> {
                let d: String = p?.chars().take_while(|c| c.is_ascii_digit()).collect();
                d.parse().ok()
            };
            let major = num(it.next())?;
            let minor = num(it.next())?;
            Some(Version {
                major,
                minor,
                patch: num(it.next()).unwrap_or(0),
            })
        })
    }
    pub(crate) fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[derive(Debug, Clone)]
pub struct NixInfo {
    /// The binary, symlinks resolved (nix-instantiate is a link to nix).
    pub path: PathBuf,
    pub version: Version,
    /// `nix --version` as printed, e.g. `nix (Nix) 2.34.8`.
    pub version_line: String,
    /// Lix prints `(Lix, like Nix)`; its plugin API differs.
    pub is_lix: bool,
    /// Nix C++ symbols in the dynamic symbol table (defined or imported).
    pub exports_nix_symbols: bool,
}

/// Finds `name` in PATH unless it is a path already.
pub(crate) fn resolve(bin: &Path) -> Result<PathBuf, ProbeError> {
    if bin.components().count() > 1 {
        return Ok(bin.to_owned());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
        .ok_or_else(|| ProbeError::NotInPath(bin.display().to_string()))
}

/// Which nix `bin` is (version, Lix, Nix symbols exported). Running `nix --version` costs a
/// process start with all of Nix's shared libraries (~20 ms of CPU, as much as a whole
/// `nix-instantiate --eval -E 1`), so the answer is kept in `$XDG_CACHE_HOME/nixperf/nix-probe.json`
/// keyed by the binary's identity (path, device, inode, size, mtime, ctime) and
/// `LD_LIBRARY_PATH`: a replaced or upgraded binary is probed again.
pub fn probe(bin: &Path) -> Result<NixInfo, ProbeError> {
    let bin = resolve(bin)?;
    let real = std::fs::canonicalize(&bin).unwrap_or_else(|_| bin.clone());
    let key = cache::key(&bin, &real);
    if let Some((line, exports_nix_symbols)) = key.as_deref().and_then(cache::get)
        && let Some(version) = Version::parse(&line)
    {
        return Ok(NixInfo {
            path: real,
            version,
            is_lix: line.contains("Lix"),
            version_line: line,
            exports_nix_symbols,
        });
    }
    let info = probe_uncached(&bin, real)?;
    if let Some(k) = key {
        cache::put(&k, &info.version_line, info.exports_nix_symbols);
    }
    Ok(info)
}

fn probe_uncached(bin: &Path, real: PathBuf) -> Result<NixInfo, ProbeError> {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .map_err(|source| ProbeError::Run {
            path: bin.to_owned(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().next().unwrap_or("").trim().to_owned();
    let version = Version::parse(&line).ok_or_else(|| ProbeError::NoVersion {
        path: bin.to_owned(),
        output: format!("{}{}", text, String::from_utf8_lossy(&out.stderr))
            .trim()
            .to_owned(),
    })?;
    let read_err = |detail: String| ProbeError::Read {
        path: real.clone(),
        detail,
    };
    // Only the ELF headers and the dynamic symbol table are read, not the whole binary.
    let file = Blocks::open(&real).map_err(|e| read_err(e.to_string()))?;
    let exports_nix_symbols = has_nix_symbols(&object::ReadCache::new(file)).map_err(read_err)?;
    Ok(NixInfo {
        path: real,
        version,
        is_lix: line.contains("Lix"),
        version_line: line,
        exports_nix_symbols,
    })
}

/// The probe cache: one JSON object, key -> [version line, exports Nix symbols]. Best effort:
/// any error reads as a miss and a failed write is ignored; writes go through a temporary file
/// and a rename, so concurrent runs never see a torn file (the last writer wins).
mod cache {
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    /// Entries kept (the most recent); a machine has a handful of nix binaries.
    const MAX_ENTRIES: usize = 64;

    fn file() -> Option<PathBuf> {
        let dir = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })?;
        Some(dir.join("nixperf").join("nix-probe.json"))
    }

    pub(super) fn key(bin: &Path, real: &Path) -> Option<String> {
        let m = std::fs::metadata(real).ok()?;
        Some(format!(
            "{}|{}|{}:{}|{}|{}.{}|{}.{}|{}",
            bin.display(),
            real.display(),
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            std::env::var("LD_LIBRARY_PATH").unwrap_or_default()
        ))
    }

    type Entries = Vec<(String, String, bool)>;

    fn load(path: &Path) -> Entries {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub(super) fn get(key: &str) -> Option<(String, bool)> {
        get_in(&file()?, key)
    }

    pub(super) fn put(key: &str, line: &str, exports: bool) {
        if let Some(path) = file() {
            put_in(&path, key, line, exports);
        }
    }

    pub(super) fn get_in(path: &Path, key: &str) -> Option<(String, bool)> {
        load(path)
            .into_iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, line, exports)| (line, exports))
    }

    pub(super) fn put_in(path: &Path, key: &str, line: &str, exports: bool) {
        let mut entries = load(path);
        entries.retain(|(k, _, _)| k != key);
        entries.push((key.to_owned(), line.to_owned(), exports));
        let drop = entries.len().saturating_sub(MAX_ENTRIES);
        entries.drain(..drop);
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(".nix-probe.json.tmp-{}", std::process::id()));
        let Ok(json) = serde_json::to_vec(&entries) else {
            return;
        };
        if std::fs::write(&tmp, json).is_ok() && std::fs::rename(&tmp, path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// A file read in 64 KiB blocks that are kept. object's ReadCache asks for every symbol name
/// separately, a seek and a read each (~900 system calls for the plugin's 511 dynamic
/// symbols); through this they come from the one or two blocks that hold `.dynsym` and
/// `.dynstr`, and the rest of the file is never read.
struct Blocks {
    file: std::fs::File,
    len: u64,
    pos: u64,
    blocks: std::collections::HashMap<u64, Vec<u8>>,
}

impl Blocks {
    const SIZE: u64 = 64 * 1024;

    fn open(path: &Path) -> std::io::Result<Blocks> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Blocks {
            file,
            len,
            pos: 0,
            blocks: Default::default(),
        })
    }
}

impl std::io::Read for Blocks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let idx = self.pos / Self::SIZE;
        let start = idx * Self::SIZE;
        let block = match self.blocks.entry(idx) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut b = vec![0; (self.len - start).min(Self::SIZE) as usize];
                self.file.read_exact_at(&mut b, start)?;
                e.insert(b)
            }
        };
        let off = (self.pos - start) as usize;
        let n = buf.len().min(block.len() - off);
        buf[..n].copy_from_slice(&block[off..off + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Blocks {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            std::io::SeekFrom::Start(p) => Some(p),
            std::io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| std::io::Error::other("seek before the start"))?;
        Ok(self.pos)
    }
}

/// Itanium-mangled names in namespace `nix` start with `_ZN3nix`; `EvalState` members are what
/// the plugin needs. A statically linked Nix has none in `.dynsym`.
pub(crate) fn has_nix_symbols<'d, R: object::ReadRef<'d>>(elf: R) -> Result<bool, String> {
    let file = object::File::parse(elf).map_err(|e| format!("not an ELF file ({e})"))?;
    Ok(file.dynamic_symbols().any(|s| {
        s.name_bytes()
            .is_ok_and(|n| n.windows(14).any(|w| w == b"3nix9EvalState"))
    }))
}

/// The Nix version a plugin .so was compiled against (its `NIXPERF_NIX_VERSION` symbol), or
/// None for a plugin without it. Reads the ELF headers, the dynamic symbol table and the few
/// bytes of the string, not the whole file.
pub fn plugin_nix_version(plugin: &Path) -> Result<Option<Version>, String> {
    let f = Blocks::open(plugin).map_err(|e| e.to_string())?;
    let cache = object::ReadCache::new(f);
    let file = object::File::parse(&cache).map_err(|e| format!("not an ELF file ({e})"))?;
    // Defined symbols only: the names of the hundreds of Nix symbols the plugin imports are
    // never read.
    let Some(sym) = file
        .dynamic_symbols()
        .filter(|s| !s.is_undefined())
        .find(|s| s.name_bytes() == Ok(b"NIXPERF_NIX_VERSION"))
    else {
        return Ok(None);
    };
    let Some(idx) = sym.section_index() else {
        return Ok(None);
    };
    let section = file.section_by_index(idx).map_err(|e| e.to_string())?;
    // The string's own bytes, by file offset (data_range would read the whole .rodata).
    let Some((offset, size)) = section.file_range() else {
        return Ok(None);
    };
    let within = sym.address().wrapping_sub(section.address());
    let len = sym.size().max(1);
    if within.checked_add(len).is_none_or(|end| end > size) {
        return Err(format!(
            "NIXPERF_NIX_VERSION lies outside its section in {}",
            plugin.display()
        ));
    }
    let bytes = object::ReadRef::read_bytes_at(&cache, offset + within, len)
        .map_err(|()| format!("cannot read NIXPERF_NIX_VERSION from {}", plugin.display()))?;
    let s = String::from_utf8_lossy(bytes);
    Ok(Version::parse(s.trim_end_matches('\0')))
}

/// Why this nix cannot host this plugin, or None when it can.
pub fn plugin_blocker(nix: &NixInfo, plugin_version: Option<Version>) -> Option<String> {
    if nix.is_lix {
        return Some(format!(
            "{} is Lix ({}); the plugin supports Nix only",
            nix.path.display(),
            nix.version_line
        ));
    }
    if !nix.exports_nix_symbols {
        return Some(format!(
            "{} (Nix {}) exports no Nix C++ symbols (Nix's libraries are linked in statically), so no plugin can load into it",
            nix.path.display(),
            nix.version
        ));
    }
    match plugin_version {
        Some(p) if (p.major, p.minor) != (nix.version.major, nix.version.minor) => Some(format!(
            "the plugin was built for Nix {p}, {} is Nix {} (build the plugin against it: see scripts/build-nix.sh, or set NIXPERF_PLUGIN)",
            nix.path.display(),
            nix.version
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = Version::parse("nix-instantiate (Nix) 2.34.8").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (2, 34, 8));
        assert_eq!(Version::parse("nix (Nix) 2.8.0").unwrap().minor, 8);
        assert_eq!(Version::parse("2.26.3pre20250101").unwrap().patch, 3);
        assert!(Version::parse("nix (Nix) unknown").is_none());
        assert!(Version::parse("2.30").unwrap().at_least(2, 30));
        assert!(!Version::parse("2.26.3").unwrap().at_least(2, 30));
    }

    #[test]
    fn static_binary_has_no_nix_symbols() {
        // This test binary itself is an ELF without Nix symbols.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(has_nix_symbols(&me[..]), Ok(false));
        assert!(has_nix_symbols(&b"#!/bin/sh\n"[..]).is_err());
        // The same answer through a ReadCache of blocks (what probe reads: headers and .dynsym
        // only), and the blocks give back the file's bytes.
        let f = Blocks::open(&std::env::current_exe().unwrap()).unwrap();
        assert_eq!(has_nix_symbols(&object::ReadCache::new(f)), Ok(false));
        use std::io::{Read, Seek, SeekFrom};
        let mut b = Blocks::open(&std::env::current_exe().unwrap()).unwrap();
        for at in [
            0u64,
            100,
            Blocks::SIZE - 3,
            5 * Blocks::SIZE + 17,
            me.len() as u64 - 10,
        ] {
            let mut buf = [0u8; 10];
            b.seek(SeekFrom::Start(at)).unwrap();
            b.read_exact(&mut buf).unwrap();
            assert_eq!(&buf[..], &me[at as usize..at as usize + 10]);
        }
        assert_eq!(b.seek(SeekFrom::End(0)).unwrap(), me.len() as u64);
        assert_eq!(b.read(&mut [0u8; 4]).unwrap(), 0);
    }

    #[test]
    fn probe_cache_is_keyed_by_the_binarys_identity() {
        let d = tempfile::tempdir().unwrap();
        let store = d.path().join("cache/nix-probe.json");
        let bin = d.path().join("nix");
        std::fs::write(&bin, "one").unwrap();
        let k1 = cache::key(&bin, &bin).unwrap();
        assert_eq!(cache::get_in(&store, &k1), None);
        cache::put_in(&store, &k1, "nix (Nix) 2.8.0", true);
        assert_eq!(
            cache::get_in(&store, &k1),
            Some(("nix (Nix) 2.8.0".to_owned(), true))
        );
        // Replaced (another inode, size, times): a miss, so it is probed again.
        std::fs::remove_file(&bin).unwrap();
        std::fs::write(&bin, "other").unwrap();
        let k2 = cache::key(&bin, &bin).unwrap();
        assert_ne!(k1, k2);
        assert_eq!(cache::get_in(&store, &k2), None);
        cache::put_in(&store, &k2, "nix (Nix) 2.34.8", false);
        assert_eq!(
            cache::get_in(&store, &k2),
            Some(("nix (Nix) 2.34.8".to_owned(), false))
        );
        // Rewritten in place: the times change the key as well.
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(&bin, "third").unwrap();
        assert_ne!(cache::key(&bin, &bin).unwrap(), k2);
        // Bounded; a corrupt file is a miss and is replaced on the next write.
        for i in 0..100 {
            cache::put_in(&store, &format!("k{i}"), "x 1.2", false);
        }
        assert_eq!(cache::get_in(&store, "k0"), None);
        assert!(cache::get_in(&store, "k99").is_some());
        std::fs::write(&store, "{not json").unwrap();
        assert_eq!(cache::get_in(&store, "k99"), None);
        cache::put_in(&store, "k", "nix (Nix) 2.8.0", true);
        assert!(cache::get_in(&store, "k").is_some());
    }
}
