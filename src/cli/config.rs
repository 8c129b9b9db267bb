//! `nixperf config`: effective build settings against the hardware, with recommendations as a
//! nix.conf fragment and NixOS `nix.settings` lines.

use crate::config::{self, Hardware, NixSettings};
use crate::store;
use anyhow::{Context, Result};
use clap::Args;
use comfy_table::Table;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub(super) struct ConfigArgs {
    /// A build profile recorded by `nixperf build` (build-profile.db): max-jobs from its
    /// simulation instead of rules of thumb.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Output: the report (text), a nix.conf fragment, NixOS lines, or JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// The store to size min-free from.
    #[command(flatten)]
    pub store: super::store::StoreLocationArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Format {
    Text,
    NixConf,
    Nixos,
    Json,
}

/// Weekly growth → min-free/max-free, from a quick DB-only store analysis (None if unreadable).
fn free_targets(a: &super::store::StoreLocationArgs) -> Option<(u64, u64)> {
    let loc = a.location();
    let g = store::db::read(&loc, Duration::from_millis(500)).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    let o = store::StoreOptions {
        gc: Default::default(),
        older_than_days: 30,
        now,
        runtime_roots: false,
        files: false,
        dedup: store::usage::Dedup::Off,
        dedup_limit: 0,
        top: 0,
        progress: false,
    };
    let r = store::analyse(&loc, &g, &o).ok()?;
    Some(store::text::free_targets(&r))
}

pub(super) fn run(a: ConfigArgs) -> Result<ExitCode> {
    let settings = NixSettings::load()?;
    let hw = Hardware::probe();
    let profile = match &a.profile {
        Some(p) => Some(
            crate::build::profile_db::read(p)
                .with_context(|| format!("reading {}", p.display()))?,
        ),
        None => None,
    };
    let adv = config::advise(&settings, &hw, profile.as_ref(), free_targets(&a.store));
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&adv)?),
        Format::NixConf => print!("{}", config::output::nix_conf(&adv)),
        Format::Nixos => print!("{}", config::output::nixos(&adv)),
        Format::Text => {
            println!(
                "Hardware: {} logical CPUs, {} physical cores, {:.1} GiB memory ({:.1} GiB available)",
                hw.logical_cpus,
                hw.physical_cores,
                hw.mem_total as f64 / (1u64 << 30) as f64,
                hw.mem_available as f64 / (1u64 << 30) as f64
            );
            let jobs = settings.u64("max-jobs").unwrap_or(1).max(1);
            println!(
                "Memory per job at max-jobs {jobs}: {:.1} GiB",
                hw.mem_total as f64 / jobs as f64 / (1u64 << 30) as f64
            );
            println!("Effective settings ({}):", settings.source);
            for (k, v) in &adv.effective {
                println!("  {k} = {v}");
            }
            if !adv.simulation.is_empty() {
                let row: Vec<String> = adv
                    .simulation
                    .iter()
                    .map(|(m, t)| format!("{m}: {:.2} s", *t as f64 / 1e9))
                    .collect();
                println!("Simulated build span by max-jobs: {}", row.join(", "));
            }
            let mut t = Table::new();
            t.set_header(vec![
                "setting",
                "current",
                "recommended",
                "predicted impact",
                "basis",
            ]);
            for r in &adv.recommendations {
                t.add_row(vec![
                    r.setting.clone(),
                    r.current.clone(),
                    r.recommended.clone(),
                    r.impact.clone(),
                    r.basis.clone(),
                ]);
            }
            println!("{t}");
            print!(
                "\n{}\n{}",
                config::output::nix_conf(&adv),
                config::output::nixos(&adv)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
