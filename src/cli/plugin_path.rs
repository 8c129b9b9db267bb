//! `nixperf plugin-path`: where the plugin is (for `--option plugin-files`).

use anyhow::Result;
use std::process::ExitCode;

pub(super) fn run() -> Result<ExitCode> {
    println!("{}", crate::eval::plugin::find()?.display());
    Ok(ExitCode::SUCCESS)
}
