use std::path::PathBuf;

/// Everything that can go wrong with the history database. Each variant renders as one line
/// that names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{path}: cannot open history: {detail}")]
    Open { path: PathBuf, detail: String },
    #[error("{path}: not a nixperf history database ({detail}); nothing was changed")]
    Foreign { path: PathBuf, detail: String },
    #[error("{path}: history database is corrupt ({detail}); nothing was changed")]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{path}: history schema version {found} is newer than this nixperf understands ({supported}); upgrade nixperf (nothing was changed)"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{path}: no history yet (record a run with nixperf eval/build first)")]
    Missing { path: PathBuf },
    #[error("{path}: {detail}")]
    Sql { path: PathBuf, detail: String },
    #[error("the history has no runs yet: run nixperf eval or nixperf build first")]
    Empty,
    #[error("nothing to compare run #{run} with: no baseline and no earlier run of {target}")]
    NothingToCompare { run: i64, target: String },
    #[error("--no-history: this command needs the history")]
    Off,
    #[error("no run #{0} in the history")]
    NoRun(i64),
}
