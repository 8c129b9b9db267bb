//! Binary cache analysis (`nixperf cache`): for each substituter of the effective configuration,
//! `nix-cache-info`, latency, hit rate over a closure (one `.narinfo` request per path),
//! throughput over a bounded sample of NARs, failures and timeouts; signatures checked against
//! `trusted-public-keys`; a recommended order by measured speed.

pub mod http;
pub mod narinfo;
pub mod probe;
pub mod report;
pub mod sig;

pub use probe::{CacheProbe, CacheReport, ProbeOptions, probe_all};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{0}: not a narinfo: {1}")]
    BadNarInfo(String, String),
    #[error("no substituters configured (give --substituter URL)")]
    NoSubstituters,
    #[error("no paths to check: {0}")]
    NoPaths(String),
}
