//! What `nixperf analyze` looks at when the command line does not say: `nixperf.toml` in the
//! current directory (or `--config FILE`), so a repository can check in its own analysis
//! target and a timer can run `nixperf analyze` without arguments.
//!
//! ```toml
//! file = "nixos"             # or: flake = ".#nixosConfigurations.host.config.system.build.toplevel"
//! attrs = ["config"]
//! build = ["nix-build", "-A", "pkgs.hello"]
//! out_dir = "nixperf-out"
//! ```

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Target {
    pub file: Option<PathBuf>,
    pub attrs: Vec<String>,
    pub flake: Option<String>,
    pub build: Vec<String>,
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {detail}")]
pub(crate) struct TargetError {
    pub path: PathBuf,
    pub detail: String,
}

pub(crate) const DEFAULT_FILE: &str = "nixperf.toml";

/// `path` (must exist), else `./nixperf.toml` if present, else nothing. Relative paths in the
/// file are relative to the file's directory.
pub(crate) fn load(path: Option<&Path>) -> Result<Target, TargetError> {
    let (path, required) = match path {
        Some(p) => (p.to_owned(), true),
        None => (PathBuf::from(DEFAULT_FILE), false),
    };
    let err = |detail: String| TargetError {
        path: path.clone(),
        detail,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Target::default());
        }
        Err(e) => return Err(err(e.to_string())),
    };
    let mut t: Target = toml::from_str(&text).map_err(|e| err(e.message().to_owned()))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    for p in [&mut t.file, &mut t.out_dir].into_iter().flatten() {
        if p.is_relative() {
            *p = dir.join(&*p);
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_resolves_relative_paths() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("nixperf.toml");
        std::fs::write(
            &f,
            "file = \"nixos\"\nattrs = [\"config\"]\nbuild = [\"nix-build\", \"-A\", \"x\"]\n",
        )
        .unwrap();
        let t = load(Some(&f)).unwrap();
        assert_eq!(t.file, Some(d.path().join("nixos")));
        assert_eq!(t.attrs, vec!["config"]);
        assert_eq!(t.build, vec!["nix-build", "-A", "x"]);
    }

    #[test]
    fn typo_is_one_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("nixperf.toml");
        std::fs::write(&f, "fiel = \"x\"\n").unwrap();
        let e = load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("fiel") && e.lines().count() == 1, "{e}");
        assert!(load(Some(&d.path().join("absent.toml"))).is_err());
    }
}
