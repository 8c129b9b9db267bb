//! Binary cache analysis (`nixperf cache`): for each substituter of the effective configuration,
//! `nix-cache-info`, latency, hit rate over a closure (one `.narinfo` request per path),
//! throughput over a bounded sample of NARs, failures and timeouts; signatures checked against
//! `trusted-public-keys`; a recommended order by measured speed.

pub(crate) mod http;
pub(crate) mod narinfo;
pub(crate) mod probe;
pub(crate) mod sig;
pub(crate) mod text;

pub(crate) use probe::{CacheReport, ProbeOptions, probe_all};

#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheError {
    #[error("no substituters configured (give --substituter URL)")]
    NoSubstituters,
    #[error("no paths to check: {0}")]
    NoPaths(String),
}
