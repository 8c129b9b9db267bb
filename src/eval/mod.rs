//! Running an evaluation under the profiler, below the CLI: a plain request (what to evaluate,
//! with which Nix, where the profile goes), the nix command line (`command`), the choice
//! between the plugin and Nix's built-in profiler (`prepare`), the nix process (`process`),
//! and this run's profile file (`output_file`). `nixperf eval` and `nixperf analyze` build an
//! `EvalRequest`, call `prepare` and `Prepared::run`, and print.

pub(crate) mod command;
mod diagnose;
mod fallback;
mod output_file;
pub(crate) mod plugin;
pub(crate) mod process;

use crate::nixprobe::{self, NixInfo, ProbeError};
use crate::profile::{self, Profile, ProfileError};
use output_file::OutputFile;
use std::path::PathBuf;
use std::process::ExitStatus;

pub(crate) use diagnose::partial as partial_diagnosis;
pub(crate) use process::exit_code;

/// What to evaluate and how; the CLI's flags without their presentation.
#[derive(Debug, Clone, Default)]
pub(crate) struct EvalRequest {
    /// Nix file (or directory with default.nix).
    pub file: Option<PathBuf>,
    /// An expression instead of a file.
    pub expr: Option<String>,
    /// A flake output (`nix eval --json REF`).
    pub flake: Option<String>,
    pub attrs: Vec<String>,
    /// `--arg NAME EXPR` pairs.
    pub args: Vec<(String, String)>,
    /// `--argstr NAME VALUE` pairs.
    pub argstrs: Vec<(String, String)>,
    /// `nix-instantiate` without `--eval`.
    pub instantiate: bool,
    /// Where the profile goes.
    pub output: PathBuf,
    /// Path fragments of helper libraries / of files kept as modules (`nixperf-library`,
    /// `nixperf-module`).
    pub library: Vec<String>,
    pub module: Vec<String>,
    /// Without `--read-write-mode`.
    pub read_only: bool,
    /// nix's stdout (the value) shown, else discarded.
    pub show_output: bool,
    /// A Nix prefix (its `bin/`, and its `etc/nix/nix.conf` if it has one).
    pub nix: Option<PathBuf>,
    /// Nix's built-in profiler even where the plugin could load, at this frequency (0: every
    /// call).
    pub builtin_profiler: bool,
    pub builtin_frequency: u32,
    /// Nix's own statistics (NIXPERF_NIX_STATS=1).
    pub nix_stats: bool,
    /// Extra nix arguments, or a whole nix command.
    pub rest: Vec<String>,
}

impl EvalRequest {
    /// The target an evaluation measured, as the history names it: `NIXPERF_TARGET`, else the
    /// file (absolute) with its attributes, the flake reference, or the expression.
    pub(crate) fn target_name(&self) -> String {
        if let Ok(t) = std::env::var("NIXPERF_TARGET")
            && !t.is_empty()
        {
            return t;
        }
        let mut t = if let Some(f) = &self.flake {
            format!("flake {f}")
        } else if let Some(e) = &self.expr {
            format!("expr {}", e.chars().take(80).collect::<String>())
        } else if let Some(f) = &self.file {
            std::path::absolute(f)
                .unwrap_or_else(|_| f.clone())
                .display()
                .to_string()
        } else {
            self.rest.join(" ")
        };
        for attr in &self.attrs {
            t.push_str(&format!(" -A {attr}"));
        }
        t
    }

    /// The source tree evaluated (for its git revision and flake.lock).
    pub(crate) fn source_tree(&self) -> PathBuf {
        self.file
            .clone()
            .or_else(|| {
                self.flake
                    .as_ref()
                    .map(|f| PathBuf::from(f.split('#').next().unwrap_or(".")))
            })
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Why an evaluation could not be profiled; each renders as one line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EvalError {
    /// The request itself is wrong (nothing to evaluate, a missing file).
    #[error("{0}")]
    Usage(String),
    /// `-o` cannot be written, or the profile cannot be moved there.
    #[error("{0}")]
    Output(String),
    #[error("cannot run {}", bin.display())]
    Spawn {
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// Nix ran and left no profile: the diagnosed cause.
    #[error("{0}")]
    NoProfile(String),
    /// Neither the plugin nor Nix's built-in profiler can profile this Nix.
    #[error("cannot profile: {0}")]
    Unsupported(String),
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

/// How the evaluation was profiled: the profile (at `path`, the request's output), and nix's
/// exit status.
pub(crate) struct Ran {
    pub profile: Profile,
    pub path: PathBuf,
    pub status: ExitStatus,
    /// Set when Nix's built-in profiler was used instead of the plugin: why.
    pub fallback: Option<String>,
}

/// An evaluation ready to run: the Nix chosen and probed, the profiler chosen, `-o` checked.
pub(crate) struct Prepared<'r> {
    request: &'r EvalRequest,
    nix: NixInfo,
    /// The plugin to load, or why Nix's built-in profiler is used instead.
    profiler: Result<PathBuf, String>,
    out: OutputFile,
}

/// Decides, before running or writing anything, which nix runs and whether it can host the
/// plugin; checks every argument.
pub(crate) fn prepare(r: &EvalRequest) -> Result<Prepared<'_>, EvalError> {
    let (bin, _) = command::with_options(r, Vec::new())?;
    command::check_target(r)?;
    let nix = nixprobe::probe(&bin)?;
    let plugin = plugin::find_for(Some(&nix.version));
    let profiler = if r.builtin_profiler {
        Err("--builtin-profiler was given".to_owned())
    } else {
        match plugin {
            Err(e) => Err(e.to_string()),
            Ok(p) => match nixprobe::plugin_blocker(&nix, p.nix_version) {
                Some(why) => Err(why),
                None => Ok(p.path),
            },
        }
    };
    if let Err(why) = &profiler {
        fallback::check_supported(&nix, why)?;
    }
    let out = OutputFile::prepare(&r.output)?;
    Ok(Prepared {
        request: r,
        nix,
        profiler,
        out,
    })
}

impl Prepared<'_> {
    /// Why the plugin will not be used (Nix's built-in profiler will), if so.
    pub(crate) fn fallback_reason(&self) -> Option<&str> {
        self.profiler.as_ref().err().map(String::as_str)
    }

    /// Runs nix with the plugin, or with Nix's built-in profiler. nix writes this run's own
    /// file, which is read and then moved to `-o` (see `output_file`).
    pub(crate) fn run(self) -> Result<Ran, EvalError> {
        let Prepared {
            request: r,
            nix,
            profiler,
            mut out,
        } = self;
        let plugin = match profiler {
            Ok(p) => p,
            Err(why) => {
                let target = out.target.clone();
                drop(out);
                let (profile, status) = fallback::run(r, &nix, &why, &target)?;
                return Ok(Ran {
                    profile,
                    path: target,
                    status,
                    fallback: Some(why),
                });
            }
        };
        let (bin, args) = command::with_plugin(r, &plugin, &out.tmp)?;
        let done = process::run_nix(r, &bin, &args)?;
        if !out.written() {
            return Err(EvalError::NoProfile(diagnose::no_profile(
                &bin.display().to_string(),
                done.status,
                &done.stderr_tail,
            )));
        }
        // Read this run's own file, then move it to -o (kept there even when unreadable, for
        // inspection; the error then names -o).
        let profile = match profile::read(&out.tmp) {
            Ok(p) => {
                out.commit()?;
                p
            }
            Err(_) => {
                out.commit()?;
                profile::read(&out.target)?
            }
        };
        Ok(Ran {
            profile,
            path: out.target.clone(),
            status: done.status,
            fallback: None,
        })
    }
}

/// Where evaluation stopped because the store was read-only (import from derivation under
/// `--read-only` or a read-only `nix-instantiate --eval` given after `--`): what to do.
pub(crate) fn read_only_hint(reason: &str) -> Option<&'static str> {
    let r = reason.to_ascii_lowercase();
    (r.contains("read-only") || (r.contains(".drv") && r.contains("is not valid"))).then_some(
        "evaluation needed to build a derivation (import from derivation) in a read-only store: run without --read-only (nixperf eval -f/-E evaluates read-write by default), or pass --read-write-mode to nix-instantiate",
    )
}
