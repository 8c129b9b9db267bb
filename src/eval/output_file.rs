//! The profile file of one `nixperf eval` run. nix writes to a file of this run only (beside the
//! target, so the final rename is atomic), and nixperf reads that file, never the shared `-o`
//! path: concurrent runs with one `-o` each read their own profile; the last to finish leaves
//! its profile at `-o`. Nothing at `-o` is deleted before the run has produced a replacement,
//! and a path that cannot be written is refused before nix runs.

use super::EvalError;
use std::path::{Path, PathBuf};

pub(super) struct OutputFile {
    /// Where the profile ends up (`-o`, absolute).
    pub target: PathBuf,
    /// Where nix writes it during this run.
    pub tmp: PathBuf,
    /// The profile could not be moved into place: keep it where it is.
    keep: bool,
}

impl OutputFile {
    /// Checks that `output` can be written (its directory exists or can be created, it is not a
    /// directory) by creating this run's empty file beside it.
    pub(super) fn prepare(output: &Path) -> Result<OutputFile, EvalError> {
        let target = std::path::absolute(output)
            .map_err(|e| EvalError::Output(format!("bad output path {}: {e}", output.display())))?;
        let Some(name) = target.file_name().and_then(|n| n.to_str()) else {
            return Err(EvalError::Output(format!(
                "-o {}: not a file name",
                output.display()
            )));
        };
        if target.is_dir() {
            return Err(EvalError::Output(format!(
                "-o {}: is a directory",
                output.display()
            )));
        }
        let dir = target.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(dir).map_err(|e| {
            EvalError::Output(format!(
                "-o {}: cannot create {}: {e}",
                output.display(),
                dir.display()
            ))
        })?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tmp = dir.join(format!(".{name}.run-{}-{nanos:09}", std::process::id()));
        std::fs::File::create_new(&tmp).map_err(|e| {
            EvalError::Output(format!("-o {}: cannot write there: {e}", output.display()))
        })?;
        Ok(OutputFile {
            target,
            tmp,
            keep: false,
        })
    }

    /// Whether nix wrote this run's profile (the plugin replaces the empty file whole).
    pub(super) fn written(&self) -> bool {
        std::fs::metadata(&self.tmp).is_ok_and(|m| m.len() > 0)
    }

    /// Moves this run's profile to `-o`.
    pub(super) fn commit(&mut self) -> Result<(), EvalError> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| {
            self.keep = true;
            EvalError::Output(format!(
                "cannot move the profile to {} (it stays at {}): {e}",
                self.target.display(),
                self.tmp.display()
            ))
        })
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // Only this run's own file, and only if it was not moved into place.
        if !self.keep {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
