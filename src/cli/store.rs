//! `nixperf store`: the store breakdown and the exact bytes each cleanup command frees.

use crate::config::NixSettings;
use crate::store::{self, StoreLocation, StoreOptions, gc::GcSettings, usage::Dedup};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Where the store is; the same flags for every command that reads it (store, config, analyze).
#[derive(Args)]
pub(super) struct StoreLocationArgs {
    /// The logical store directory (as store paths are named).
    #[arg(long, env = "NIX_STORE_DIR", default_value = "/nix/store")]
    pub store_dir: String,
    /// Nix's state directory (db/, gcroots/, profiles/, temproots/).
    #[arg(long, env = "NIX_STATE_DIR", default_value = "/nix/var/nix")]
    pub state_dir: PathBuf,
    /// The store database [default: <state-dir>/db/db.sqlite]. Opened read-only.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Root of a chroot store (`--store local?root=DIR`): store and state dirs live under DIR.
    #[arg(long)]
    pub store_root: Option<PathBuf>,
}

impl StoreLocationArgs {
    pub(super) fn location(&self) -> StoreLocation {
        StoreLocation::new(
            &self.store_dir,
            &self.state_dir,
            self.db.as_deref(),
            self.store_root.as_deref(),
        )
    }
}

#[derive(Args)]
pub(super) struct StoreArgs {
    #[command(flatten)]
    pub at: StoreLocationArgs,
    /// N in `nix-collect-garbage --delete-older-than Nd`.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub older_than: u32,
    /// How to estimate `nix-store --optimise`.
    #[arg(long, value_enum, default_value = "full")]
    pub dedup: Dedup,
    /// Stop hashing for the `--optimise` estimate after this many bytes (then scale from the
    /// paths done, and say so).
    #[arg(long, default_value_t = 16 << 30)]
    pub dedup_limit: u64,
    /// Same as `--dedup quick`: hash a 10 % sample of paths and scale.
    #[arg(long)]
    pub quick: bool,
    /// Do not walk files (only NAR sizes from the DB; no disk bytes).
    #[arg(long)]
    pub no_files: bool,
    /// Ignore roots held by running processes (/proc) and temporary roots.
    #[arg(long)]
    pub no_runtime_roots: bool,
    /// Override `keep-derivations` [default: nix's effective setting].
    #[arg(long)]
    pub keep_derivations: Option<bool>,
    /// Override `keep-outputs` [default: nix's effective setting].
    #[arg(long)]
    pub keep_outputs: Option<bool>,
    /// How long to wait for a writer holding the DB lock, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub lock_timeout: u64,
    /// Rows in the result-link and dead-path lists.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The GC settings nix would use, unless given on the command line.
pub(super) fn gc_settings(kd: Option<bool>, ko: Option<bool>) -> GcSettings {
    let mut s = GcSettings::default();
    if kd.is_none() || ko.is_none() {
        match NixSettings::load() {
            Ok(n) => s = GcSettings::of(&n),
            Err(e) => eprintln!("nixperf: {e}; assuming keep-derivations=true, keep-outputs=false"),
        }
    }
    if let Some(v) = kd {
        s.keep_derivations = v;
    }
    if let Some(v) = ko {
        s.keep_outputs = v;
    }
    s
}

pub(super) fn run(a: StoreArgs) -> Result<ExitCode> {
    let loc = a.at.location();
    let t = std::time::Instant::now();
    let g = store::db::read(&loc, Duration::from_millis(a.lock_timeout))?;
    let db_read_ms = t.elapsed().as_secs_f64() * 1e3;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let o = StoreOptions {
        gc: gc_settings(a.keep_derivations, a.keep_outputs),
        older_than_days: a.older_than,
        now,
        runtime_roots: !a.no_runtime_roots,
        files: !a.no_files,
        dedup: if a.quick { Dedup::Quick } else { a.dedup },
        dedup_limit: a.dedup_limit,
        top: a.top,
        progress: !a.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let mut r = store::analyse(&loc, &g, &o)?;
    r.db_read_ms = db_read_ms;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", store::text::render_text(&r, a.top));
    }
    Ok(ExitCode::SUCCESS)
}
