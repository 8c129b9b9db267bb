//! Settings analysis (`nixperf config`): the running Nix's effective settings against this
//! machine's hardware, recommendations with their predicted impact (from a recorded build
//! profile's simulation when one is given), printed as a nix.conf fragment and as NixOS
//! `nix.settings` lines.

pub(crate) mod advice;
pub(crate) mod hardware;
pub(crate) mod output;
pub(crate) mod settings;

pub(crate) use advice::{Advice, advise};
pub(crate) use hardware::Hardware;
pub(crate) use settings::NixSettings;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot run nix to read its settings: {0}")]
    NoNix(String),
    #[error("nix could not print its settings: {0}")]
    NixFailed(String),
    #[error("nix printed settings that are not JSON: {0}")]
    BadJson(String),
}
