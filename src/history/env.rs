//! Facts about the environment a run happened in: host name, the git revision of the evaluated
//! tree, the Nix version, the time.

use std::path::Path;
use std::process::{Command, Stdio};

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `HEAD` of the git work tree holding `path` (a file or directory), with `-dirty` when the
/// tree has uncommitted changes; None outside git or without git installed.
pub(crate) fn git_revision(path: &Path) -> Option<String> {
    let dir = if path.is_dir() {
        path.to_owned()
    } else {
        path.parent()?.to_owned()
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".").to_owned()
    } else {
        dir
    };
    let rev = git(&dir, &["rev-parse", "HEAD"])?;
    let dirty = git(
        &dir,
        &["status", "--porcelain", "--untracked-files=no", "."],
    )
    .is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{rev}-dirty") } else { rev })
}

/// `nix --version`'s number (`2.8.0`), or empty when nix is not runnable.
pub(crate) fn nix_version(nix: &str) -> String {
    Command::new(nix)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .last()
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

/// The locked inputs of the flake.lock in `path` (a file's directory) or the nearest directory
/// above it: `input@rev` (12 characters of the git revision, else of the NAR hash), sorted.
pub(crate) fn flake_lock(path: &Path) -> Option<String> {
    let start = std::path::absolute(path).ok()?;
    let mut dir = if start.is_dir() {
        start.as_path()
    } else {
        start.parent()?
    };
    let text = loop {
        match std::fs::read_to_string(dir.join("flake.lock")) {
            Ok(t) => break t,
            Err(_) => dir = dir.parent()?,
        }
    };
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let root = v.get("root")?.as_str()?;
    let mut inputs: Vec<String> = v
        .get("nodes")?
        .as_object()?
        .iter()
        .filter(|(name, _)| name.as_str() != root)
        .filter_map(|(name, node)| {
            let locked = node.get("locked")?;
            let id = locked
                .get("rev")
                .and_then(|r| r.as_str())
                .or_else(|| locked.get("narHash").and_then(|h| h.as_str()))?;
            let id = id.trim_start_matches("sha256-");
            Some(format!("{name}@{}", &id[..id.len().min(12)]))
        })
        .collect();
    inputs.sort();
    Some(inputs.join(","))
}

/// The target a build measured: `NIXPERF_TARGET`, else `build` and its command line (the same
/// name `predict` records its prediction under, so a build finds it).
pub(crate) fn build_target(cmd: &[String]) -> String {
    std::env::var("NIXPERF_TARGET")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("build {}", cmd.join(" ")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn flake_lock_inputs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("flake.lock"),
            r#"{"nodes":{"nixpkgs":{"locked":{"rev":"0123456789abcdef0123","type":"github"}},
               "src":{"locked":{"narHash":"sha256-AAAABBBBCCCCDDDD=","type":"path"}},
               "root":{"inputs":{"nixpkgs":"nixpkgs","src":"src"}}},"root":"root","version":7}"#,
        )
        .unwrap();
        assert_eq!(
            super::flake_lock(&dir.path().join("sub")).as_deref(),
            Some("nixpkgs@0123456789ab,src@AAAABBBBCCCC")
        );
        let none = tempfile::tempdir().unwrap();
        assert_eq!(super::flake_lock(none.path()), None);
    }
}
