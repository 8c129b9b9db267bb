//! Settings analysis (`nixperf config`): the running Nix's effective settings against this
//! machine's hardware, recommendations with their predicted impact (from a recorded build
//! profile's simulation when one is given), printed as a nix.conf fragment and as NixOS
//! `nix.settings` lines.

pub mod advice;
pub mod hardware;
pub mod output;
pub mod settings;

pub use advice::{Advice, Recommendation, advise};
pub use hardware::Hardware;
pub use settings::NixSettings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot run nix to read its settings: {0}")]
    NoNix(String),
    #[error("nix could not print its settings: {0}")]
    NixFailed(String),
    #[error("nix printed settings that are not JSON: {0}")]
    BadJson(String),
}
