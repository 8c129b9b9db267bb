//! The command line: argument parsing and one module per subcommand. Errors surface here as
//! one line (`anyhow`), and the exit code says what happened.

mod analyze;
mod build;
mod cache;
mod compare;
mod config;
mod eval;
mod fleet;
mod history;
mod plugin_path;
mod predict;
mod report;
mod store;
mod track;
mod tracking_report;
mod undo;

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
    /// The history database [default: $XDG_STATE_HOME/nixperf/history.db].
    #[arg(long, global = true, env = "NIXPERF_HISTORY")]
    history: Option<std::path::PathBuf>,
    /// Do not record this run in the history.
    #[arg(long, global = true)]
    no_history: bool,
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
    /// Store breakdown and the exact bytes each cleanup command frees.
    Store(store::StoreArgs),
    /// Substituters: hit rate, latency, throughput, signatures, recommended order.
    Cache(cache::CacheArgs),
    /// Effective nix settings against the hardware, with nix.conf / NixOS recommendations.
    Config(config::ConfigArgs),
    /// The whole workflow: measure, find bottlenecks, recommend, report, apply safe fixes.
    Analyze(analyze::AnalyzeArgs),
    /// Restore the files the last `analyze --apply` changed.
    Undo(undo::UndoArgs),
    /// Predict a build's time from recorded durations and the scheduling model.
    Predict(predict::PredictArgs),
    /// The run history: list, show, record, import, check.
    History(history::HistoryArgs),
    /// Mark a run as the baseline of its host and target; export performance-baseline.json.
    Baseline(compare::BaselineArgs),
    /// Compare two runs (or two sets of repeat runs): change per metric, significance, modules
    /// that moved, differential flamegraph, alerts; exit 2 on a regression.
    Compare(compare::CompareArgs),
    /// Trend of each metric over time (`--since`, `--monthly`), an SVG chart per metric.
    Track(track::TrackArgs),
    /// Export the latest metrics (Prometheus text exposition, for node_exporter's textfile
    /// collector).
    Export(track::ExportArgs),
    /// Several hosts' reports or histories in one view, worst first.
    Fleet(fleet::FleetArgs),
}

pub fn main() -> ExitCode {
    // Behave like other Unix tools in a pipeline (`nixperf report | head`): die quietly on EPIPE.
    // SAFETY: setting a signal disposition before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    let loc = &crate::history::HistoryLocation::new(cli.history, cli.no_history);
    let result = match cli.command {
        Command::Eval(a) => eval::run(a, loc),
        Command::Report(a) => report::run(a, loc),
        Command::PluginPath => plugin_path::run(),
        Command::Build(a) => build::run(a, loc),
        Command::Store(a) => store::run(a),
        Command::Cache(a) => cache::run(a),
        Command::Config(a) => config::run(a),
        Command::Analyze(a) => analyze::run(a, loc),
        Command::Undo(a) => undo::run(a),
        Command::Predict(a) => predict::run(a, loc),
        Command::History(a) => history::run(a, loc),
        Command::Baseline(a) => compare::baseline(a, loc),
        Command::Compare(a) => compare::run(a, loc),
        Command::Track(a) => track::run(a, loc),
        Command::Export(a) => track::export(a, loc),
        Command::Fleet(a) => fleet::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nixperf: {e:#}");
            crate::exit::Exit::Failure.into()
        }
    }
}
