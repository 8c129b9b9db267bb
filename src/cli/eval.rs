//! `nixperf eval`: runs nix with the plugin loaded and the user's arguments passed through,
//! shows progress, then prints the summary of the profile it wrote.

use super::run_output::RunOutput;
use super::{child, diagnose, fallback, plugin_path, report};
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
    /// Path fragments of files to treat as helper libraries (their cost rolls up into the
    /// module that called them), added to what nixperf recognises from the code. Repeat the
    /// flag or separate fragments with commas.
    #[arg(long, value_name = "FRAGMENT", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub library: Vec<String>,
    /// Path fragments of files to keep as modules with a row of their own, whatever their
    /// code looks like (e.g. a helper file you want to see by itself). Repeatable, commas.
    #[arg(long, value_name = "FRAGMENT", value_delimiter = ',', action = clap::ArgAction::Append)]
    pub module: Vec<String>,
    /// Evaluate read-only, as plain `nix-instantiate --eval` does: no derivation is written and
    /// import from derivation fails. By default `nixperf eval -f/-E` evaluates the way `nix
    /// eval` does (`--read-write-mode`: derivations written, IFD realised and timed).
    #[arg(long)]
    pub read_only: bool,
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

/// Runs nix as `nixperf eval` does (plugin or fallback): a `--nix` prefix's own configuration
/// (a prefix with `etc/nix/nix.conf`, from scripts/build-nix.sh or scripts/debian-nix-bin.sh,
/// has its own store and no substituters; used unless the caller chose NIX_CONF_DIR), no stdin,
/// the evaluated value on stdout only with --show-output, nix's messages on stderr (their tail
/// kept for the diagnosis), SIGINT/SIGTERM forwarded, nix killed if nixperf dies.
pub fn run_nix_process(a: &EvalArgs, bin: &Path, args: &[OsString]) -> Result<child::Finished> {
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
        });
    child::run(cmd).with_context(|| format!("cannot run {}", bin.display()))
}

/// The arguments that name files nix would read, checked before anything runs: a missing
/// `-f FILE` is one line here, not a nix error that looks like a plugin failure.
fn check_target(a: &EvalArgs) -> Result<()> {
    if let Some(f) = &a.file {
        let s = f.to_string_lossy();
        let lookup = s.starts_with('<') || s.contains("://");
        if !lookup && !f.exists() {
            bail!("-f {}: no such file or directory", f.display());
        }
    }
    Ok(())
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
    for (setting, fragments) in [
        ("nixperf-library", &a.library),
        ("nixperf-module", &a.module),
    ] {
        let fragments: Vec<&str> = fragments
            .iter()
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .collect();
        if !fragments.is_empty() {
            opts.extend([
                "--option".into(),
                setting.into(),
                fragments.join(",").into(),
            ]);
        }
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
        // As `nix eval` evaluates: derivations can be written and IFD realised.
        if !a.read_only {
            args.push("--read-write-mode".into());
        }
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
    /// With the plugin: the profile (already at `-o`), where it is, and nix's exit status.
    Plugin(Box<Profile>, PathBuf, std::process::ExitStatus),
    /// Nix cannot host the plugin: `fallback` profiled it (or said why not) and printed its
    /// report; the profile path (if written) and the exit code.
    Fallback(PathBuf, ExitCode),
}

/// Runs nix with the plugin (or the fallback when nix cannot load it). Every argument is
/// checked before anything is written; nix writes this run's own file, which is read and then
/// moved to `-o` (see `run_output`).
pub fn run_nix(a: &EvalArgs) -> Result<Ran> {
    // Which nix runs, and can it host the plugin? Decide before running or writing anything.
    let (bin, _) = command_with(a, Vec::new())?;
    check_target(a)?;
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
    let mut out = RunOutput::prepare(&a.output)?;
    if let Some(why) = blocker {
        let target = out.target.clone();
        drop(out);
        return Ok(Ran::Fallback(
            target.clone(),
            fallback::run(a, &nix, &why, &target)?,
        ));
    }
    let plugin = plugin?.path;
    let (bin, args) = build_command(a, &plugin, &out.tmp)?;

    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} evaluating with nixperf… {elapsed}").unwrap(),
    );
    spinner.enable_steady_tick(Duration::from_millis(120));
    let done = run_nix_process(a, &bin, &args);
    spinner.finish_and_clear();
    let done = done?;

    if !out.written() {
        bail!(
            "{}",
            diagnose::no_profile(&bin.display().to_string(), done.status, &done.stderr_tail)
        );
    }
    // Read this run's own file, then move it to -o (kept there even when unreadable, for
    // inspection; the error then names -o).
    let p = match profile::read(&out.tmp) {
        Ok(p) => {
            out.commit()?;
            p
        }
        Err(_) => {
            out.commit()?;
            profile::read(&out.target)?
        }
    };
    Ok(Ran::Plugin(Box::new(p), out.target.clone(), done.status))
}

pub fn run(a: EvalArgs) -> Result<ExitCode> {
    // The history record's git lookup runs while nix evaluates.
    let source = super::history::EvalSource::start(&a);
    let (p, output, status) = match run_nix(&a)? {
        Ran::Plugin(p, output, status) => (p, output, status),
        Ran::Fallback(_, code) => return Ok(code),
    };
    let base = print_eval_summary(&p, &output, a.top);
    super::history::record_eval(&a, &p, &output, base.as_deref(), source)?;
    Ok(exit_code(status))
}

/// nix's outcome as nixperf's: its exit code; 130 / 143 when nixperf or nix was interrupted.
pub fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = child::received() {
        return ExitCode::from((128 + sig).clamp(1, 255) as u8);
    }
    match (status.code(), status.signal()) {
        (Some(0), _) => ExitCode::SUCCESS,
        (Some(c), _) => ExitCode::from(c.clamp(1, 255) as u8),
        (None, Some(sig)) => ExitCode::from((128 + sig).clamp(1, 255) as u8),
        (None, None) => ExitCode::from(130),
    }
}

/// Where evaluation stopped because the store was read-only (import from derivation under
/// `--read-only` or a read-only `nix-instantiate --eval` given after `--`): what to do.
fn read_only_hint(reason: &str) -> Option<&'static str> {
    let r = reason.to_ascii_lowercase();
    (r.contains("read-only") || (r.contains(".drv") && r.contains("is not valid"))).then_some(
        "evaluation needed to build a derivation (import from derivation) in a read-only store: run without --read-only (nixperf eval -f/-E evaluates read-write by default), or pass --read-write-mode to nix-instantiate",
    )
}

/// What `nixperf eval` prints after either path (plugin or Nix's own profiler): the summary
/// tables and where the profile is. Returns the directory paths are shown relative to.
pub(super) fn print_eval_summary(p: &Profile, output: &Path, top: usize) -> Option<PathBuf> {
    let base = std::env::current_dir().ok();
    let mods = modules::module_table(p);
    let funcs = functions::function_table(p);
    let recs = findings::recommendations(p);
    report::print_summary(p, &mods, &funcs, &recs, top, base.as_deref());
    for w in mods.classification.warnings() {
        eprintln!("nixperf: warning: {w}");
    }
    if let Some(hint) = read_only_hint(&p.meta.reason) {
        eprintln!("nixperf: {hint}");
    }
    println!(
        "profile: {}  (nixperf report {} for the flamegraph)",
        output.display(),
        output.display()
    );
    base
}
