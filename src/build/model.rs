//! The build profile: what one nix command built, fetched and copied, and when. Times are ns since
//! the command started (receive times of the log lines). Analyses (phases, graph, simulation)
//! derive from this; the SQLite file stores exactly this.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Succeeded,
    Failed,
    Interrupted,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "succeeded" => Status::Succeeded,
            "failed" => Status::Failed,
            "interrupted" => Status::Interrupted,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Built,
    Failed,
    /// Started but never stopped: the command died or the log is truncated.
    Unfinished,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Built => "built",
            Outcome::Failed => "failed",
            Outcome::Unfinished => "unfinished",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "built" => Outcome::Built,
            "failed" => Outcome::Failed,
            "unfinished" => Outcome::Unfinished,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meta {
    pub status: Status,
    /// First error message (ANSI stripped), or why the profile is failed.
    pub reason: String,
    pub exit_code: Option<i32>,
    pub command: Vec<String>,
    /// Unix seconds; 0 when unknown (a plain Nix log).
    pub started_at: u64,
    pub wall_ns: u64,
    /// End of evaluation: the first realisation activity (see `phases`).
    pub eval_end_ns: Option<u64>,
    /// False for a plain `--log-format internal-json` log without receive stamps: times are 0.
    pub timed: bool,
    pub nixperf_version: String,
    /// CPUs of the machine that ran the build (0: unknown, a plain log).
    pub cpus: u32,
    /// CPU time of build processes that could not be tied to a derivation (builds shorter than
    /// one sampler tick).
    pub unattributed_cpu_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derivation {
    pub drv_path: String,
    /// The name part of the store path (`diamond-a`).
    pub name: String,
    pub start_ns: u64,
    pub end_ns: u64,
    /// SetPhase results: phase name and when it began (a phase ends where the next begins).
    pub phases: Vec<(String, u64)>,
    pub log_lines: u64,
    pub outcome: Outcome,
    /// Remote builder, empty when local.
    pub machine: String,
    /// CPU time of the builder's process tree (`buildcpu`); `None` when not measured.
    pub cpu_ns: Option<u64>,
    /// `cores` (NIX_BUILD_CORES) the build was given; `None` when not measured.
    pub cores: Option<u32>,
    /// Average runnable threads of the build while any was runnable (sampled at 4 Hz).
    pub demand: Option<f64>,
    /// Share of the build's wall time with a runnable thread (the rest is I/O, sleep, waiting).
    pub active_share: Option<f64>,
}

impl Derivation {
    pub(crate) fn wall_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Substitution {
    pub store_path: String,
    pub substituter: String,
    pub start_ns: u64,
    pub end_ns: u64,
    /// Bytes of the NAR download (the FileTransfer that belonged to this substitution).
    pub bytes: u64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transfer {
    pub url: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub bytes: u64,
    /// "unable to download" messages about this URL (each retry and the final one).
    pub errors: u32,
}

impl Transfer {
    /// A substituter lookup rather than a download of contents: `<cache>/nix-cache-info` or
    /// `<cache>/<hash>.narinfo`. Nix does these before it knows what to build; an unreachable
    /// cache spends its retries here.
    pub(crate) fn is_query(&self) -> bool {
        self.url.ends_with("/nix-cache-info") || self.url.ends_with(".narinfo")
    }
    /// The cache URL of a query transfer (the URL without its last component).
    pub(crate) fn cache_url(&self) -> &str {
        self.url.rsplit_once('/').map_or(&*self.url, |(a, _)| a)
    }
}

/// A CopyPath that is not part of a substitution (`nix copy`, remote builders).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Copy {
    pub store_path: String,
    pub from: String,
    pub to: String,
    pub start_ns: u64,
    pub end_ns: u64,
}

/// A narinfo lookup (QueryPathInfo) on one substituter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    pub store_path: String,
    pub substituter: String,
    pub start_ns: u64,
    pub end_ns: u64,
}

/// Lines that could not be used; never fatal.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Warnings {
    pub malformed: u64,
    pub unknown_types: u64,
    pub out_of_order: u64,
    pub first_bad_line: Option<u64>,
    pub first_bad_reason: String,
}

impl Warnings {
    pub fn total(&self) -> u64 {
        self.malformed + self.unknown_types + self.out_of_order
    }
    pub(crate) fn note(&mut self, line: u64, reason: impl FnOnce() -> String) {
        if self.first_bad_line.is_none() {
            self.first_bad_line = Some(line);
            self.first_bad_reason = reason();
        }
    }
}

/// One `/proc` sample; counters are deltas since the previous sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sample {
    pub t_ns: u64,
    /// Busy share of each CPU over the interval, 0..=1.
    pub cpu: Vec<f32>,
    pub mem_used: u64,
    pub swap_used: u64,
    pub disk_read: u64,
    pub disk_written: u64,
    pub net_rx: u64,
    pub net_tx: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildProfile {
    pub meta: Meta,
    pub derivations: Vec<Derivation>,
    /// Dependency edges among `derivations`: (input index, dependent index).
    pub edges: Vec<(u32, u32)>,
    pub substitutions: Vec<Substitution>,
    pub transfers: Vec<Transfer>,
    pub copies: Vec<Copy>,
    pub queries: Vec<Query>,
    pub errors: Vec<String>,
    pub warnings: Warnings,
    pub samples: Vec<Sample>,
    /// CPU time the resource sampler itself used, to show it costs < 1 %.
    pub sampler_cpu_ns: u64,
}

/// `/nix/store/<hash>-name(.drv)` → `name`.
pub(crate) fn store_name(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = base.strip_suffix(".drv").unwrap_or(base);
    match base.split_once('-') {
        Some((h, n)) if h.len() == 32 => n,
        _ => base,
    }
}
