//! An evaluation on a Nix that cannot load the plugin (statically linked Nix, another Nix
//! version than the plugin's, Lix): on Nix ≥ 2.30 profile with Nix's own `--eval-profiler
//! flamegraph` and import its folded stacks into the same profile format. Below 2.30 there is
//! nothing to fall back to: say so and fail, never write an empty profile.

use super::{EvalError, EvalRequest, command};
use crate::nixprobe::NixInfo;
use crate::profile::{self, Meta, Profile, Source, Status};
use std::ffi::OsString;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Whether this Nix has a built-in profiler to fall back to (`why`: why the plugin is not used).
pub(super) fn check_supported(nix: &NixInfo, why: &str) -> Result<(), EvalError> {
    if nix.version.at_least(2, 30) {
        return Ok(());
    }
    Err(EvalError::Unsupported(format!(
        "{why}; and Nix {} has no built-in profiler to fall back to (--eval-profiler needs Nix >= 2.30)",
        nix.version
    )))
}

/// Profiles with Nix's built-in profiler, writes the profile to `output`; the profile and nix's
/// exit status.
pub(super) fn run(
    r: &EvalRequest,
    nix: &NixInfo,
    why: &str,
    output: &Path,
) -> Result<(Profile, ExitStatus), EvalError> {
    check_supported(nix, why)?;
    let hz = r.builtin_frequency;
    let folded = output.with_file_name(format!(
        ".{}.nix-eval-profile.{}",
        output
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("profile"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&folded);
    let opts: Vec<OsString> = vec![
        "--option".into(),
        "eval-profiler".into(),
        "flamegraph".into(),
        "--option".into(),
        "eval-profiler-frequency".into(),
        hz.to_string().into(),
        "--option".into(),
        "eval-profile-file".into(),
        folded.clone().into(),
    ];
    let (bin, args) = command::with_options(r, opts)?;
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let t0 = Instant::now();
    let status = super::process::run_nix(r, &bin, &args)?.status;
    let wall_ns = t0.elapsed().as_nanos() as u64;
    let file = match std::fs::File::open(&folded) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EvalError::NoProfile(format!(
                "{} exited ({status}) without writing its --eval-profile-file: no profile",
                bin.display()
            )));
        }
        Err(e) => {
            return Err(EvalError::NoProfile(format!(
                "cannot read {}: {e}",
                folded.display()
            )));
        }
    };
    let _ = std::fs::remove_file(&folded);
    let (st, reason) = match status.code() {
        Some(0) => (Status::Complete, String::new()),
        Some(c) => (Status::Failed, format!("nix exited with status {c}")),
        None => (Status::Interrupted, format!("nix ended by {status}")),
    };
    let mut command = vec![bin.display().to_string()];
    command.extend(args.iter().map(|s| s.to_string_lossy().into_owned()));
    let meta = Meta {
        status: st,
        reason,
        nix_version: nix.version.to_string(),
        nixperf_version: env!("CARGO_PKG_VERSION").to_owned(),
        command,
        started_at,
        wall_ns,
        library_patterns: Vec::new(),
        module_patterns: Vec::new(),
        evaluator_stats: None,
        source: Source::NixEvalProfiler {
            hz,
            why: why.to_owned(),
        },
        clock_probe: Default::default(),
        recursion_fold: Default::default(),
    };
    let p = profile::from_nix_folded(std::io::BufReader::new(file), meta)?;
    profile::write(output, &p)?;
    Ok((p, status))
}
