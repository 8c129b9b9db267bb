//! `nixperf eval`: runs nix with the plugin loaded and the user's arguments passed through,
//! shows progress, then prints the summary of the profile it wrote.

use super::{fallback, plugin_path, report};
use crate::analysis::{findings, functions, modules};
use crate::nixprobe;
use crate::profile::{self, Profile};
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

#[derive(Args)]
pub struct EvalArgs {
    /// Nix file (or directory with default.nix) to evaluate.
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    /// Attribute path(s) to evaluate.
    #[arg(short = 'A', long = "attr")]
    pub attrs: Vec<String>,
    /// Pass `--arg NAME EXPR` to nix.
    #[arg(long, num_args = 2, value_names = ["NAME", "EXPR"], action = clap::ArgAction::Append)]
    pub arg: Vec<String>,
    /// Pass `--argstr NAME VALUE` to nix.
    #[arg(long, num_args = 2, value_names = ["NAME", "VALUE"], action = clap::ArgAction::Append)]
    pub argstr: Vec<String>,
    /// Evaluate this expression instead of a file.
    #[arg(short = 'E', long, conflicts_with = "file")]
    pub expr: Option<String>,
    /// Evaluate a flake output (`nix eval --json REF`).
    #[arg(long, conflicts_with_all = ["file", "expr"])]
    pub flake: Option<String>,
    /// Instantiate derivations (`nix-instantiate` without `--eval`), as `nixos-rebuild` does.
    #[arg(long)]
    pub instantiate: bool,
    /// Where to write the profile.
    #[arg(short = 'o', long, default_value = "nixperf-profile.db")]
    pub output: PathBuf,
    /// Path fragments of library files (their cost rolls up into the calling module).
    #[arg(long)]
    pub library: Option<String>,
    /// Show what nix prints on stdout (the evaluated value); hidden by default.
    #[arg(long)]
    pub show_output: bool,
    /// Directory holding the nix binaries to run (default: from PATH, or NIXPERF_NIX).
    #[arg(long, env = "NIXPERF_NIX")]
    pub nix: Option<PathBuf>,
    /// Rows in the summary table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Use Nix's built-in `--eval-profiler` (Nix >= 2.30) even if the plugin could load.
    /// Without this flag it is the fallback for a Nix that cannot load the plugin.
    #[arg(long)]
    pub builtin_profiler: bool,
    /// Sampling frequency of the built-in profiler: 0 counts every call (exact counts, no
    /// times); Nix's default is 99 (times from samples, counts unknown).
    #[arg(long, default_value_t = 0, value_name = "HZ")]
    pub builtin_frequency: u32,
    /// Also record Nix's own statistics (NIX_SHOW_STATS: values, envs, sets, GC heap). Free
    /// on Nix 2.8 and always recorded there; from Nix 2.26 on they cost a full garbage
    /// collection at the end (and atomic counters from 2.28), ~1.2x on module-heavy
    /// evaluations, so the plugin records them only with this flag (NIXPERF_NIX_STATS=1).
    #[arg(long)]
    pub nix_stats: bool,
    /// Everything after `--`: extra nix-instantiate arguments, or a whole nix command
    /// (`-- nix eval -f x.nix`).
    #[arg(last = true)]
    pub rest: Vec<String>,
}

fn nix_bin(a: &EvalArgs, name: &str) -> PathBuf {
    match &a.nix {
        Some(dir) if dir.join("bin").join(name).exists() => dir.join("bin").join(name),
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

/// A Nix prefix of its own (scripts/build-nix.sh, scripts/debian-nix-bin.sh) carries its
/// configuration in `PREFIX/etc/nix` (its own store, no build users, no substituters): use it
/// unless the caller chose a configuration directory.
/// Runs nix as `nixperf eval` does (plugin or fallback): a `--nix` prefix's own configuration,
/// no stdin, the evaluated value on stdout only with --show-output, nix's messages on stderr.
pub fn run_nix_process(
    a: &EvalArgs,
    bin: &Path,
    args: &[OsString],
) -> Result<std::process::ExitStatus> {
    let mut cmd = Command::new(bin);
    if let Some(dir) = &a.nix {
        let conf = dir.join("etc/nix");
        if conf.join("nix.conf").is_file() && std::env::var_os("NIX_CONF_DIR").is_none() {
            cmd.env("NIX_CONF_DIR", conf);
        }
    }
    if a.nix_stats {
        cmd.env("NIXPERF_NIX_STATS", "1");
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(if a.show_output {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("cannot run {}", bin.display()))
}

/// The nix command line: the plugin options first (nix ignores `plugin-files` given after
/// other arguments), then what the user asked for.
pub fn build_command(
    a: &EvalArgs,
    plugin: &Path,
    output: &Path,
) -> Result<(PathBuf, Vec<OsString>)> {
    let opts: Vec<OsString> = vec![
        "--option".into(),
        "plugin-files".into(),
        plugin.into(),
        "--option".into(),
        "nixperf-profile".into(),
        output.into(),
    ];
    let mut opts = opts;
    if let Some(lib) = &a.library {
        opts.extend(["--option".into(), "nixperf-library".into(), lib.into()]);
    }
    command_with(a, opts)
}

/// The nix command line with `opts` (nix options) placed first.
pub fn command_with(a: &EvalArgs, opts: Vec<OsString>) -> Result<(PathBuf, Vec<OsString>)> {
    let pairs = |flag: &str, v: &[String]| -> Vec<OsString> {
        v.chunks(2)
            .flat_map(|c| {
                [
                    flag.into(),
                    c[0].clone().into(),
                    c.get(1).cloned().unwrap_or_default().into(),
                ]
            })
            .collect()
    };

    // `-- nix …` / `-- nix-instantiate …`: a whole command; insert our options after its name.
    if let Some(first) = a.rest.first() {
        let name = Path::new(first)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        if name == "nix" || name.starts_with("nix-") {
            let mut args = opts;
            args.extend(a.rest[1..].iter().map(OsString::from));
            let bin = if first.contains('/') {
                PathBuf::from(first)
            } else {
                nix_bin(a, first)
            };
            return Ok((bin, args));
        }
    }

    if let Some(flake) = &a.flake {
        let mut args = opts;
        args.extend(
            [
                "--extra-experimental-features",
                "nix-command flakes",
                "eval",
                "--json",
                flake,
            ]
            .map(OsString::from),
        );
        args.extend(pairs("--arg", &a.arg));
        args.extend(pairs("--argstr", &a.argstr));
        args.extend(a.rest.iter().map(OsString::from));
        return Ok((nix_bin(a, "nix"), args));
    }

    let mut args = opts;
    if !a.instantiate {
        args.extend(["--eval", "--strict"].map(OsString::from));
    }
    if let Some(e) = &a.expr {
        args.extend(["-E".into(), e.into()]);
    } else if let Some(f) = &a.file {
        args.push(f.into());
    } else if a.rest.is_empty() {
        bail!("nothing to evaluate: give -f FILE, -E EXPR, --flake REF or a nix command after --");
    }
    for attr in &a.attrs {
        args.extend(["-A".into(), attr.into()]);
    }
    args.extend(pairs("--arg", &a.arg));
    args.extend(pairs("--argstr", &a.argstr));
    args.extend(a.rest.iter().map(OsString::from));
    Ok((nix_bin(a, "nix-instantiate"), args))
}

/// How the evaluation was profiled.
pub enum Ran {
    /// With the plugin: the profile and nix's exit status.
    Plugin(PathBuf, std::process::ExitStatus),
    /// Nix cannot host the plugin: `fallback` profiled it (or said why not) and printed its
    /// report; the profile path (if written) and the exit code.
    Fallback(PathBuf, ExitCode),
}

/// Runs nix with the plugin (or the fallback when nix cannot load it).
pub fn run_nix(a: &EvalArgs) -> Result<Ran> {
    let output = std::path::absolute(&a.output)
        .with_context(|| format!("bad output path {}", a.output.display()))?;
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // A stale profile must not pass for this run's.
    match std::fs::remove_file(&output) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("cannot replace {}: {e}", output.display()),
    }
    // Which nix runs, and can it host the plugin? Decide before running anything.
    let (bin, _) = command_with(a, Vec::new())?;
    let nix = nixprobe::probe(&bin)?;
    let plugin = plugin_path::find_for(Some(&nix.version));
    let blocker = if a.builtin_profiler {
        Some("--builtin-profiler was given".to_owned())
    } else {
        match &plugin {
            Err(e) => Some(format!("{e:#}")),
            Ok(p) => nixprobe::plugin_blocker(&nix, p.nix_version),
        }
    };
    if let Some(why) = blocker {
        return Ok(Ran::Fallback(
            output.clone(),
            fallback::run(a, &nix, &why, &output)?,
        ));
    }
    let plugin = plugin?.path;
    let (bin, args) = build_command(a, &plugin, &output)?;

    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} evaluating with nixperf… {elapsed}").unwrap(),
    );
    spinner.enable_steady_tick(Duration::from_millis(120));
    let status = run_nix_process(a, &bin, &args)?;
    spinner.finish_and_clear();

    if !output.exists() {
        bail!(
            "{} exited ({status}) without writing a profile: the plugin did not load (see nix's messages above)",
            bin.display()
        );
    }
    Ok(Ran::Plugin(output, status))
}

pub fn run(a: EvalArgs) -> Result<ExitCode> {
    // The history record's git lookup runs while nix evaluates.
    let source = super::history::EvalSource::start(&a);
    let (output, status) = match run_nix(&a)? {
        Ran::Plugin(output, status) => (output, status),
        Ran::Fallback(_, code) => return Ok(code),
    };
    let p = profile::read(&output)?;
    let base = print_eval_summary(&p, &output, a.top);
    super::history::record_eval(&a, &p, &output, base.as_deref(), source)?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(c.clamp(1, 255) as u8),
        None => ExitCode::from(130),
    })
}

/// What `nixperf eval` prints after either path (plugin or Nix's own profiler): the summary
/// tables and where the profile is. Returns the directory paths are shown relative to.
pub(super) fn print_eval_summary(p: &Profile, output: &Path, top: usize) -> Option<PathBuf> {
    let base = std::env::current_dir().ok();
    let mods = modules::module_table(p);
    let funcs = functions::function_table(p);
    let recs = findings::recommendations(p);
    report::print_summary(p, &mods, &funcs, &recs, top, base.as_deref());
    println!(
        "profile: {}  (nixperf report {} for the flamegraph)",
        output.display(),
        output.display()
    );
    base
}
