//! nixperf: measures why Nix evaluations and builds are slow.
//!
//! Data flows one way: events (the plugin's hooks → [`recorder`]) → model ([`profile`]) →
//! analyses ([`analysis`]) → outputs ([`output`]). The CLI ([`cli`]) drives it and never links
//! Nix; the plugin cdylib (this crate built with the C++ hooks of `plugin/`) does.

pub mod analysis;
pub mod build;
pub mod cache;
pub mod cli;
pub mod config;
pub mod history;
pub mod nixprobe;
pub mod output;
pub mod profile;
pub mod recorder;
pub mod store;
pub mod workflow;
