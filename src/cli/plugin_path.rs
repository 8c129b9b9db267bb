//! Locating the plugin: `NIXPERF_PLUGIN`, beside the executable (cargo's target dir), or in
//! `../lib/nixperf/` of an installed prefix; for another Nix version, the plugin built for it
//! (`target/nix-X.Y/release/`, `lib/nixperf/nix-X.Y/`).

use crate::nixprobe::{Version, plugin_nix_version};
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;

pub const PLUGIN_FILE: &str = "libnixperf.so";

pub fn find() -> Result<PathBuf> {
    find_for(None)
}

/// The plugin for a Nix of version `nix`: `NIXPERF_PLUGIN` if set; else the first plugin built
/// for that version (major.minor) among the default places and the per-version ones —
/// `../nix-X.Y/release/` in cargo's target dir (scripts/build-plugin-for.sh) and
/// `../lib/nixperf/nix-X.Y/` of an installed prefix; else the default plugin, whose version
/// `nixprobe::plugin_blocker` then reports.
pub fn find_for(nix: Option<&Version>) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("NIXPERF_PLUGIN") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!("NIXPERF_PLUGIN={} does not exist", p.display());
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().unwrap_or(std::path::Path::new("."));
    let mut candidates = vec![
        dir.join(PLUGIN_FILE),
        dir.join("../lib/nixperf").join(PLUGIN_FILE),
        dir.join("..").join(PLUGIN_FILE),
    ];
    let defaults = candidates.len();
    if let Some(v) = nix {
        let sub = format!("nix-{}.{}", v.major, v.minor);
        candidates.push(dir.join("..").join(&sub).join("release").join(PLUGIN_FILE));
        candidates.push(dir.join("../lib/nixperf").join(&sub).join(PLUGIN_FILE));
    }
    let found: Vec<&PathBuf> = candidates.iter().filter(|c| c.is_file()).collect();
    let matching = found.iter().find(|c| {
        nix.is_some_and(|v| {
            plugin_nix_version(c)
                .ok()
                .flatten()
                .is_some_and(|p| (p.major, p.minor) == (v.major, v.minor))
        })
    });
    let default = found.iter().find(|c| candidates[..defaults].contains(c));
    if let Some(c) = matching.or(default) {
        return Ok(c.canonicalize().unwrap_or_else(|_| (*c).clone()));
    }
    bail!(
        "plugin {PLUGIN_FILE} not found next to {} (build it with Nix headers present: scripts/setup-debian.sh, then cargo build --release), or set NIXPERF_PLUGIN",
        exe.display()
    )
}

pub fn run() -> Result<ExitCode> {
    println!("{}", find()?.display());
    Ok(ExitCode::SUCCESS)
}
