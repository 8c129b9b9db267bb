//! nixperf: measures why Nix evaluations and builds are slow.
//!
//! Data flows one way: events (the plugin's hooks → [`recorder`]) → model ([`profile`]) →
//! analyses ([`analysis`]) → outputs ([`output`]). `eval` runs an evaluation under the
//! profiler (request → nix command → plugin or Nix's built-in profiler → profile); the CLI
//! ([`cli`]) turns arguments into requests, calls, prints, and never links Nix; the plugin cdylib
//! (this crate built with the C++ hooks of `plugin/`) does. `scripts/check-cycles.py` checks
//! that no two files of `src/` depend on each other.
//!
//! Items are `pub` only where something outside the crate (the `nixperf` binary, `tests/`,
//! `nix-tests/`, `examples/`) uses them; the rest is `pub(crate)`, `pub(super)` or
//! private (`unreachable_pub` says so when one is missed).

#![warn(unreachable_pub)]

pub mod analysis;
pub mod build;
pub(crate) mod cache;
pub(crate) mod child;
pub mod cli;
pub(crate) mod config;
pub(crate) mod eval;
pub(crate) mod exit;
pub mod history;
pub mod nixprobe;
pub mod output;
pub mod profile;
// lead is changing this module
#[allow(unreachable_pub)]
pub mod recorder;
pub(crate) mod store;
pub mod units;
pub mod workflow;
