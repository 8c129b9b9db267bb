//! nixperf: measures why Nix evaluations and builds are slow.
//!
//! Data flows one way: events (the plugin's hooks → [`recorder`]) → model ([`profile`]) →
//! analyses ([`analysis`]) → outputs ([`output`]). [`eval`] runs an evaluation under the
//! profiler (request → nix command → plugin or Nix's built-in profiler → profile); the CLI
//! ([`cli`]) turns arguments into requests, calls, prints, and never links Nix; the plugin cdylib
//! (this crate built with the C++ hooks of `plugin/`) does. `scripts/check-cycles.py` checks
//! that no two files of `src/` depend on each other.

pub mod analysis;
pub mod build;
pub mod cache;
pub mod child;
pub mod cli;
pub mod config;
pub mod eval;
pub mod exit;
pub mod history;
pub mod nixprobe;
pub mod output;
pub mod profile;
pub mod recorder;
pub mod store;
pub mod units;
pub mod workflow;
