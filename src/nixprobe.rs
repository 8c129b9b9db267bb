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
    pub fn parse(s: &str) -> Option<Version> {
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
    pub fn at_least(self, major: u32, minor: u32) -> bool {
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
pub fn resolve(bin: &Path) -> Result<PathBuf, ProbeError> {
    if bin.components().count() > 1 {
        return Ok(bin.to_owned());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
        .ok_or_else(|| ProbeError::NotInPath(bin.display().to_string()))
}

pub fn probe(bin: &Path) -> Result<NixInfo, ProbeError> {
    let bin = resolve(bin)?;
    let out = Command::new(&bin)
        .arg("--version")
        .output()
        .map_err(|source| ProbeError::Run {
            path: bin.clone(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().next().unwrap_or("").trim().to_owned();
    let version = Version::parse(&line).ok_or_else(|| ProbeError::NoVersion {
        path: bin.clone(),
        output: format!("{}{}", text, String::from_utf8_lossy(&out.stderr))
            .trim()
            .to_owned(),
    })?;
    let real = std::fs::canonicalize(&bin).unwrap_or_else(|_| bin.clone());
    let data = std::fs::read(&real).map_err(|e| ProbeError::Read {
        path: real.clone(),
        detail: e.to_string(),
    })?;
    let exports_nix_symbols = has_nix_symbols(&data).map_err(|detail| ProbeError::Read {
        path: real.clone(),
        detail,
    })?;
    Ok(NixInfo {
        path: real,
        version,
        is_lix: line.contains("Lix"),
        version_line: line,
        exports_nix_symbols,
    })
}

/// Itanium-mangled names in namespace `nix` start with `_ZN3nix`; `EvalState` members are what
/// the plugin needs. A statically linked Nix has none in `.dynsym`.
pub fn has_nix_symbols(elf: &[u8]) -> Result<bool, String> {
    let file = object::File::parse(elf).map_err(|e| format!("not an ELF file ({e})"))?;
    Ok(file.dynamic_symbols().any(|s| {
        s.name_bytes()
            .is_ok_and(|n| n.windows(14).any(|w| w == b"3nix9EvalState"))
    }))
}

/// The Nix version a plugin .so was compiled against (its `NIXPERF_NIX_VERSION` symbol), or
/// None for a plugin without it.
pub fn plugin_nix_version(plugin: &Path) -> Result<Option<Version>, String> {
    let data = std::fs::read(plugin).map_err(|e| e.to_string())?;
    let file = object::File::parse(&*data).map_err(|e| format!("not an ELF file ({e})"))?;
    let Some(sym) = file
        .dynamic_symbols()
        .find(|s| s.name() == Ok("NIXPERF_NIX_VERSION"))
    else {
        return Ok(None);
    };
    let Some(idx) = sym.section_index() else {
        return Ok(None);
    };
    let section = file.section_by_index(idx).map_err(|e| e.to_string())?;
    let bytes = section
        .data_range(sym.address(), sym.size().max(1))
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
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
        assert_eq!(has_nix_symbols(&me), Ok(false));
        assert!(has_nix_symbols(b"#!/bin/sh\n").is_err());
    }
}
