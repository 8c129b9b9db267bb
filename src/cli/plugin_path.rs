//! Locating the plugin: `NIXPERF_PLUGIN`, beside the executable (cargo's target dir), or in
//! `../lib/nixperf/` of an installed prefix.

use anyhow::{Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;

pub const PLUGIN_FILE: &str = "libnixperf.so";

pub fn find() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("NIXPERF_PLUGIN") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!("NIXPERF_PLUGIN={} does not exist", p.display());
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().unwrap_or(std::path::Path::new("."));
    let candidates = [
        dir.join(PLUGIN_FILE),
        dir.join("../lib/nixperf").join(PLUGIN_FILE),
        dir.join("..").join(PLUGIN_FILE),
    ];
    for c in &candidates {
        if c.is_file() {
            return Ok(c.canonicalize().unwrap_or_else(|_| c.clone()));
        }
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
