//! `nixperf undo`: restore the files the last `nixperf analyze --apply` changed.

use crate::workflow::undo;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(super) struct UndoArgs {
    /// Where undo records are [default: $XDG_STATE_HOME/nixperf/undo].
    #[arg(long)]
    pub undo_dir: Option<PathBuf>,
    /// A record file to undo instead of the latest.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Restore even if a file changed since nixperf wrote it.
    #[arg(long)]
    pub force: bool,
}

pub(super) fn run(a: UndoArgs) -> Result<ExitCode> {
    let dir = a.undo_dir.unwrap_or_else(undo::default_dir);
    let rec = match &a.record {
        Some(p) => undo::UndoRecord::load(p)?,
        None => undo::latest(&dir)?,
    };
    if !rec.commands.is_empty() {
        eprintln!(
            "nixperf: not undoable, ran: {} (store cleanups delete only unreachable paths)",
            rec.commands.join("; ")
        );
    }
    for line in undo::undo(&dir, rec, a.force)? {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
