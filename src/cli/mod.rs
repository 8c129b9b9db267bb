//! The command line: argument parsing and one module per subcommand. Errors surface here as
//! one line (`anyhow`), and the exit code says what happened.

mod build;
mod eval;
mod fallback;
mod plugin_path;
mod report;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nixperf",
    version,
    about = "Measure why Nix evaluations are slow: per-module cost, exact call counts, flamegraphs"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Profile an evaluation with the nixperf plugin loaded into nix.
    Eval(eval::EvalArgs),
    /// Read a profile: slow-module table, functions, folded stacks, flamegraph SVG.
    Report(report::ReportArgs),
    /// Print the path of the plugin (for `--option plugin-files`).
    PluginPath,
    /// Profile a nix build: phases, slowest derivations, critical path, max-jobs simulation.
    Build(build::BuildArgs),
}

pub fn main() -> ExitCode {
    // Behave like other Unix tools in a pipeline (`nixperf report | head`): die quietly on EPIPE.
    // SAFETY: setting a signal disposition before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(a) => eval::run(a),
        Command::Report(a) => report::run(a),
        Command::PluginPath => plugin_path::run(),
        Command::Build(a) => build::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nixperf: {e:#}");
            ExitCode::from(1)
        }
    }
}
