//! `nixperf cache`: substituters of the effective configuration probed over a closure.

use crate::cache::{self, CacheError, ProbeOptions};
use crate::config::NixSettings;
use anyhow::{Context, Result};
use clap::Args;
use std::process::{Command, ExitCode};
use std::time::Duration;

#[derive(Args)]
pub(super) struct CacheArgs {
    /// Store paths whose closure to check [default: /run/current-system, else the default
    /// profile, else ~/.nix-profile].
    #[arg(long, num_args = 1.., conflicts_with = "installable")]
    pub paths: Vec<String>,
    /// An installable (`nix path-info --derivation` syntax): check the outputs of every
    /// derivation in its closure (what a build of it may fetch).
    #[arg(long)]
    pub installable: Option<String>,
    /// Evaluate the installable from this Nix file (`nix path-info -f FILE ATTR`).
    #[arg(long, requires = "installable")]
    pub file: Option<String>,
    /// Substituters to probe instead of the configured ones (repeatable).
    #[arg(long = "substituter")]
    pub substituters: Vec<String>,
    /// Per-request timeout in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout: u64,
    /// NARs fetched per cache to measure throughput.
    #[arg(long, default_value_t = 5)]
    pub nar_samples: usize,
    /// Byte budget for those NARs, per cache.
    #[arg(long, default_value_t = 64 << 20)]
    pub nar_bytes: u64,
    /// Concurrent narinfo requests per cache [default: one per 8 closure paths, 8 to 64].
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Overall deadline for probing every cache, in seconds: paths not queried by then are
    /// reported as such.
    #[arg(long, default_value_t = 60)]
    pub deadline: u64,
    /// A build profile from `nixperf build`: also show what its substitutions measured.
    #[arg(long)]
    pub profile: Option<std::path::PathBuf>,
    #[arg(long)]
    pub json: bool,
}

fn run_lines(cmd: &mut Command) -> Result<Vec<String>> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect())
}

fn closure(a: &CacheArgs) -> Result<Vec<String>> {
    if let Some(inst) = &a.installable {
        let drvs = run_lines(
            Command::new("nix")
                .args(["--extra-experimental-features", "nix-command flakes"])
                .args(["path-info", "--derivation", "-r"])
                .args(a.file.iter().flat_map(|f| ["-f", f.as_str()]))
                .arg(inst),
        )?;
        let drvs: Vec<&String> = drvs.iter().filter(|p| p.ends_with(".drv")).collect();
        let mut outs = run_lines(
            Command::new("nix-store")
                .args(["-q", "--outputs"])
                .args(drvs),
        )?;
        outs.sort();
        outs.dedup();
        return Ok(outs);
    }
    let roots: Vec<String> = if !a.paths.is_empty() {
        a.paths.clone()
    } else {
        let home = std::env::var("HOME").unwrap_or_default();
        let cands = [
            "/run/current-system".to_owned(),
            "/nix/var/nix/profiles/default".to_owned(),
            format!("{home}/.nix-profile"),
        ];
        let Some(c) = cands.iter().find(|c| std::path::Path::new(c).exists()) else {
            return Err(CacheError::NoPaths(
                "no /run/current-system or profile here; give --paths or --installable".into(),
            )
            .into());
        };
        vec![c.clone()]
    };
    run_lines(Command::new("nix-store").arg("-qR").args(&roots))
}

pub(super) fn run(a: CacheArgs) -> Result<ExitCode> {
    let settings = NixSettings::load()?;
    let subs = if a.substituters.is_empty() {
        settings.list("substituters")
    } else {
        a.substituters.clone()
    };
    if subs.is_empty() {
        return Err(CacheError::NoSubstituters.into());
    }
    let keys = settings.list("trusted-public-keys");
    let paths = closure(&a)?;
    if paths.is_empty() {
        return Err(CacheError::NoPaths("the closure is empty".into()).into());
    }
    let store_dir = settings
        .text("store")
        .filter(|s| s.starts_with('/'))
        .or_else(|| std::env::var("NIX_STORE_DIR").ok())
        .unwrap_or_else(|| {
            paths[0]
                .rsplit_once('/')
                .map(|x| x.0.to_owned())
                .unwrap_or_else(|| "/nix/store".into())
        });
    let o = ProbeOptions {
        timeout: Duration::from_millis(a.timeout),
        deadline: Duration::from_secs(a.deadline),
        latency_samples: 5,
        threads: a.threads,
        nar_samples: a.nar_samples,
        nar_bytes: a.nar_bytes,
    };
    let mut r = cache::probe_all(&subs, &keys, &paths, &store_dir, &o);
    if let Some(p) = &a.profile {
        let bp = crate::build::profile_db::read(p)
            .with_context(|| format!("reading {}", p.display()))?;
        // The build report's per-substituter rows: narinfo queries, substitutions, bytes,
        // busy time of the downloads as nix itself logged them.
        r.observed = crate::build::build_report(&bp, 0).substituters;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", cache::text::render_text(&r));
    }
    Ok(ExitCode::SUCCESS)
}
