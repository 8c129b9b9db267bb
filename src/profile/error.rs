use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a nixperf profile ({detail})")]
    Foreign { path: PathBuf, detail: String },
    #[error("{path}: profile is truncated or corrupt ({detail})")]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{path}: profile schema version {found} is newer than this nixperf understands ({supported}); upgrade nixperf"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{path}: cannot write profile: {detail}")]
    Write { path: PathBuf, detail: String },
}
