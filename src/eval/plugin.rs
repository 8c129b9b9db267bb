//! Locating the plugin: `NIXPERF_PLUGIN`, beside the executable (cargo's target dir), or in
//! `../lib/nixperf/` of an installed prefix; for another Nix version, the plugin built for it
//! (`target/nix-X.Y/release/`, `lib/nixperf/nix-X.Y/`).

use crate::nixprobe::{Version, plugin_nix_version};
use std::path::{Path, PathBuf};

pub(crate) const PLUGIN_FILE: &str = "libnixperf.so";

/// Why no plugin was found (one line).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NotFound(String);

pub(crate) fn find() -> Result<PathBuf, NotFound> {
    Ok(find_for(None)?.path)
}

/// A plugin found for a Nix version, with the version it was built for (read once: the .so
/// is tens of MB).
pub(crate) struct Found {
    pub path: PathBuf,
    /// The Nix version the plugin was built against; read only when `find_for` was given one.
    pub nix_version: Option<Version>,
}

/// The plugin for a Nix of version `nix`: `NIXPERF_PLUGIN` if set; else the first plugin built
/// for that version (major.minor) among the default places and the per-version ones —
/// `../nix-X.Y/release/` in cargo's target dir (scripts/build-plugin-for.sh) and
/// `../lib/nixperf/nix-X.Y/` of an installed prefix; else the default plugin, whose version
/// `nixprobe::plugin_blocker` then reports.
pub(crate) fn find_for(nix: Option<&Version>) -> Result<Found, NotFound> {
    let version_of = |p: &Path| nix.and_then(|_| plugin_nix_version(p).ok().flatten());
    if let Some(p) = std::env::var_os("NIXPERF_PLUGIN") {
        let path = PathBuf::from(p);
        if path.is_file() {
            let nix_version = version_of(&path);
            return Ok(Found { path, nix_version });
        }
        return Err(NotFound(format!(
            "NIXPERF_PLUGIN={} does not exist",
            path.display()
        )));
    }
    let exe = std::env::current_exe()
        .map_err(|e| NotFound(format!("cannot locate the nixperf executable: {e}")))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
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
    let found = |c: &PathBuf, nix_version| Found {
        path: c.canonicalize().unwrap_or_else(|_| c.clone()),
        nix_version,
    };
    let mut default = None;
    for (i, c) in candidates.iter().enumerate().filter(|(_, c)| c.is_file()) {
        let built_for = version_of(c);
        let matches = matches!((nix, built_for), (Some(v), Some(p)) if (p.major, p.minor) == (v.major, v.minor));
        if matches || (nix.is_none() && i < defaults) {
            return Ok(found(c, built_for));
        }
        if i < defaults && default.is_none() {
            default = Some(found(c, built_for));
        }
    }
    match default {
        Some(d) => Ok(d),
        None => Err(NotFound(format!(
            "plugin {PLUGIN_FILE} not found next to {} (build it with Nix headers present: scripts/setup-debian.sh, then cargo build --release), or set NIXPERF_PLUGIN",
            exe.display()
        ))),
    }
}
