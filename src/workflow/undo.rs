//! Undo records: before `--apply` writes a file it copies the original beside the record; `nixperf
//! undo` puts it back byte for byte (or removes a file that did not exist), but only while the
//! file still holds what nixperf wrote, so a later hand edit is never clobbered silently.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub(crate) enum UndoError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a nixperf undo record: {detail}")]
    BadRecord { path: PathBuf, detail: String },
    #[error("no undo record in {0} (nothing was applied)")]
    Nothing(PathBuf),
    #[error("{path} changed since nixperf wrote it; not restoring (use --force to restore anyway)")]
    Changed { path: PathBuf },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UndoError + '_ {
    move |e| UndoError::Io {
        path: path.to_owned(),
        source: e,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileChange {
    pub path: PathBuf,
    /// The copy of the original; None: the file did not exist.
    pub backup: Option<PathBuf>,
    /// sha256 of what nixperf wrote.
    pub written_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UndoRecord {
    pub id: String,
    pub created: u64,
    pub files: Vec<FileChange>,
    /// Store commands run (garbage collection and optimisation cannot be undone; listed so the
    /// user knows what happened).
    pub commands: Vec<String>,
    #[serde(default)]
    pub undone: bool,
}

pub(crate) fn default_dir() -> PathBuf {
    crate::history::state_dir().join("undo")
}

fn sha256(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

impl UndoRecord {
    pub(crate) fn new() -> UndoRecord {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UndoRecord {
            id: format!(
                "{}-{:09}-{}",
                now.as_secs(),
                now.subsec_nanos(),
                std::process::id()
            ),
            created: now.as_secs(),
            files: Vec::new(),
            commands: Vec::new(),
            undone: false,
        }
    }

    /// Copies `path` (if it exists) into `dir` before it is overwritten.
    pub(crate) fn save_file(&mut self, dir: &Path, path: &Path) -> Result<(), UndoError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let backup = if path.exists() {
            let b = dir.join(format!("{}.{}.orig", self.id, self.files.len()));
            std::fs::copy(path, &b).map_err(io(path))?;
            Some(b)
        } else {
            None
        };
        self.files.push(FileChange {
            path: path.to_owned(),
            backup,
            written_sha256: String::new(),
        });
        Ok(())
    }

    pub(crate) fn written(&mut self, path: &Path, bytes: &[u8]) {
        if let Some(f) = self.files.iter_mut().rev().find(|f| f.path == path) {
            f.written_sha256 = sha256(bytes);
        }
    }

    fn file(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    /// Writes the record (atomically: a crash leaves the old record or the new one).
    pub(crate) fn store(&self, dir: &Path) -> Result<(), UndoError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let p = Self::file(dir, &self.id);
        let tmp = p.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("record serializes");
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &p).map_err(io(&p))
    }

    pub(crate) fn load(path: &Path) -> Result<UndoRecord, UndoError> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        serde_json::from_str(&text).map_err(|e| UndoError::BadRecord {
            path: path.to_owned(),
            detail: e.to_string(),
        })
    }
}

impl Default for UndoRecord {
    fn default() -> Self {
        Self::new()
    }
}

/// The newest record not yet undone.
pub(crate) fn latest(dir: &Path) -> Result<UndoRecord, UndoError> {
    let mut recs = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                recs.push(UndoRecord::load(&p)?);
            }
        }
    }
    recs.retain(|r| !r.undone && !r.files.is_empty());
    recs.sort_by(|a, b| a.id.cmp(&b.id));
    recs.pop().ok_or_else(|| UndoError::Nothing(dir.to_owned()))
}

/// Restores every file of `rec` (last written first), then marks the record undone.
pub(crate) fn undo(dir: &Path, mut rec: UndoRecord, force: bool) -> Result<Vec<String>, UndoError> {
    if !force {
        for f in &rec.files {
            let now = std::fs::read(&f.path).unwrap_or_default();
            if sha256(&now) != f.written_sha256 {
                return Err(UndoError::Changed {
                    path: f.path.clone(),
                });
            }
        }
    }
    let mut done = Vec::new();
    for f in rec.files.iter().rev() {
        match &f.backup {
            Some(b) => {
                std::fs::copy(b, &f.path).map_err(io(&f.path))?;
                done.push(format!("restored {}", f.path.display()));
            }
            None => {
                std::fs::remove_file(&f.path).map_err(io(&f.path))?;
                done.push(format!(
                    "removed {} (it did not exist before)",
                    f.path.display()
                ));
            }
        }
    }
    rec.undone = true;
    rec.store(dir)?;
    Ok(done)
}
