//! The evaluation profile: the model every analysis reads, and its SQLite file format.
//!
//! One profile per evaluation, written once by the plugin when evaluation ends (never one
//! record per call). Times are nanoseconds.

pub(crate) mod atomic;
mod error;
pub(crate) mod integrity;
mod nix_folded;
mod read;
mod schema;
mod write;

pub use error::ProfileError;
pub use nix_folded::from_nix_folded;
pub use read::read;
pub use write::write;

use serde::Serialize;

/// How the evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Complete,
    Failed,
    Interrupted,
    /// The process ended without reporting how (e.g. `exit()` mid-evaluation).
    UnknownExit,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Complete => "complete",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::UnknownExit => "unknown-exit",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "complete" => Status::Complete,
            "failed" => Status::Failed,
            "interrupted" => Status::Interrupted,
            "unknown-exit" => Status::UnknownExit,
            _ => return None,
        })
    }
    /// Anything but a complete run is a partial profile.
    pub fn is_partial(self) -> bool {
        self != Status::Complete
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub status: Status,
    /// Why the profile is partial (first line of the error), empty when complete.
    pub reason: String,
    pub nix_version: String,
    pub nixperf_version: String,
    pub command: Vec<String>,
    /// Unix seconds when the plugin started recording.
    pub started_at: u64,
    /// Wall time from plugin load to the end of evaluation.
    pub wall_ns: u64,
    /// `--library` path fragments given (helper libraries added to the automatic
    /// classification). Profiles before schema 3: the library fragments in effect.
    pub library_patterns: Vec<String>,
    /// `--module` path fragments given (files that keep a row of their own).
    pub module_patterns: Vec<String>,
    /// Nix's own statistics of the run (NIX_SHOW_STATS JSON), when Nix wrote them (it does
    /// after a successful evaluation).
    pub evaluator_stats: Option<serde_json::Value>,
    /// Where the data came from (older profiles: the plugin).
    pub source: Source,
    /// When the plugin stopped reading the clock for a tiny function (its "~" times).
    pub clock_probe: ClockProbe,
    /// Recursion the plugin folded while recording (older profiles: none).
    pub recursion_fold: RecursionFold,
}

/// Where a profile goes when nobody says: the plugin's `nixperf-profile` setting's default
/// (through the bridge) and the default of `nixperf eval -o` and `nixperf report`.
pub const DEFAULT_PATH: &str = "nixperf-profile.db";

/// The plugin records call paths exactly to this many nodes; beyond, a call of a callee
/// already on the path goes back to that ancestor's node (src/recorder/call_tree.rs), so that
/// deep recursion costs nodes per distinct function, not per level. Reports collapse recursion
/// in a tree this deep (analysis/fold.rs): nobody reads such a flamegraph level by level.
pub const FOLD_DEPTH: u32 = 512;

/// Recursion folded while recording (`FOLD_DEPTH`): beyond `depth`
/// nodes, a call of a callee already on the path went back to that ancestor's node, `folds`
/// times (new paths not made). `deepest_stack`: the most timed calls active at once. All 0:
/// nothing folded (or a profile from before folding, or not from the plugin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RecursionFold {
    pub depth: u32,
    pub folds: u64,
    pub deepest_stack: u64,
}

impl RecursionFold {
    /// What a reader of the call tree must know, if anything was folded. (Its stacks are then
    /// collapsed too: the tree reaches `FOLD_DEPTH`.)
    pub fn note(&self) -> Option<String> {
        (self.folds > 0).then(|| {
            format!(
                "the call stack reached {} calls: recursion collapsed (folded while recording beyond depth {}; a function met again on its own stack is merged into its outer call)",
                crate::units::group(self.deepest_stack),
                self.depth
            )
        })
    }
}

/// The adaptive clock of the run (src/recorder/mod.rs): a function whose first `calls` calls
/// averaged under `tiny_call_ns` was counted without reading the clock from then on. Kept in
/// the profile so that reports name the values the run used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClockProbe {
    pub calls: u64,
    pub tiny_call_ns: f64,
}

impl Default for ClockProbe {
    /// The values of every profile written before they were recorded (schema 2 introduced
    /// the adaptive clock with these).
    fn default() -> Self {
        ClockProbe {
            calls: 256,
            tiny_call_ns: 500.0,
        }
    }
}

/// Where a profile's data came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// The nixperf plugin: exact calls and times, per-file attribution, findings.
    Plugin,
    /// Nix's built-in `--eval-profiler flamegraph`, the fallback for a Nix that cannot load the
    /// plugin (`why`). Frames are call site + function name. `hz` 0: every call counted, no
    /// times; otherwise sampled at `hz` (times estimated from samples, calls unknown). No
    /// per-file attribution, thunks, parse times or findings.
    NixEvalProfiler { hz: u32, why: String },
}

impl Source {
    pub fn is_plugin(&self) -> bool {
        matches!(self, Source::Plugin)
    }
    /// One line for reports: what this profile can and cannot show.
    pub fn describe(&self) -> Option<String> {
        match self {
            Source::Plugin => None,
            Source::NixEvalProfiler { hz, why } => Some(format!(
                "FALLBACK: data from Nix's built-in --eval-profiler ({}) because {why}. Per-file attribution, parse/WHNF times, thunks and findings are UNAVAILABLE; function positions are call sites.",
                if *hz == 0 {
                    "every call counted exactly, no times".to_owned()
                } else {
                    format!("sampled at {hz} Hz: times estimated from samples, call counts unknown")
                }
            )),
        }
    }
}

/// What a file is for the slow-module table, decided once per file when it is parsed (from its
/// code: `recorder::roles`), or from where it lies for Nix's own files and nixpkgs' `lib/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileRole {
    /// File 0: work outside any file's code.
    Evaluator,
    /// The file the evaluation started in.
    Entry,
    /// A NixOS-style module (a function of `{ config, … }` or a set of imports/options/config).
    Module,
    /// A package file called through `callPackage` (`{ stdenv, … }: stdenv.mkDerivation …`).
    Package,
    /// An overlay (`final: prev: { … }`).
    Overlay,
    /// Any other value (data, an expression); not parsed in this run.
    #[default]
    Data,
    /// A helper library: a set of functions or a function. Its cost rolls up into the module
    /// that called it; with no module on the stack it keeps a row of its own.
    Helper,
    /// nixpkgs' `lib/` (recognised by its own files): never owns time, its cost is its caller's.
    NixpkgsLib,
    /// Nix's own files (`derivation.nix`, `call-flake.nix`): as nixpkgs' lib.
    NixInternal,
    /// A profile written before roles existed: library by path fragment.
    Library,
}

impl FileRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FileRole::Evaluator => "evaluator",
            FileRole::Entry => "entry",
            FileRole::Module => "module",
            FileRole::Package => "package",
            FileRole::Overlay => "overlay",
            FileRole::Data => "data",
            FileRole::Helper => "helper",
            FileRole::NixpkgsLib => "nixpkgs-lib",
            FileRole::NixInternal => "nix-internal",
            FileRole::Library => "library",
        }
    }
    pub fn parse(s: &str) -> Option<FileRole> {
        [
            FileRole::Evaluator,
            FileRole::Entry,
            FileRole::Module,
            FileRole::Package,
            FileRole::Overlay,
            FileRole::Data,
            FileRole::Helper,
            FileRole::NixpkgsLib,
            FileRole::NixInternal,
            FileRole::Library,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
    /// Never owns time: its AST is not instrumented, its cost is always its caller's.
    pub fn is_library(self) -> bool {
        matches!(
            self,
            FileRole::NixpkgsLib | FileRole::NixInternal | FileRole::Library
        )
    }
    /// Its cost rolls up into the calling module (helpers, and every library).
    pub fn rolls_up(self) -> bool {
        self == FileRole::Helper || self.is_library()
    }
}

/// Per source file. `self_ns` is module cost: time spent in code written in this file,
/// including its thunks forced from elsewhere and the library code it called (see README,
/// "Attribution model"). File 0 is the evaluator itself (work outside any file's code).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileRow {
    pub id: u32,
    pub path: String,
    pub is_library: bool,
    pub role: FileRole,
    /// Why the file has its role, in words (`set of 12 functions behind { lib }:`).
    pub role_why: String,
    pub parse_ns: u64,
    pub parses: u64,
    /// `import`s that reached this file through evalFile (cached ones included).
    pub imports: u64,
    /// Evaluations of the file's top-level expression (to weak head normal form).
    pub root_evals: u64,
    pub whnf_ns: u64,
    /// Time charged to this file's code while it owned the time. A helper library owns it only
    /// with no module below it; its code run for a module is that module's (the per-file view
    /// moves it back from the call tree: `analysis::modules::View::ByFile`).
    pub self_ns: u64,
    /// Time while this file's code was anywhere on the attribution stack.
    pub inclusive_ns: u64,
    /// Calls of lambdas defined in this file.
    pub calls: u64,
    /// Thunks created in this file and forced.
    pub thunks: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrameKind {
    Lambda,
    Primop,
    Functor,
    Other,
    /// Not a call: code of the frame's file starts running without a call of its own (one of
    /// its thunks forced from elsewhere, `«thunk»`, or its top-level expression, `«import»`),
    /// and the file takes over the time. Its node counts no calls (`count` 0); its
    /// `clocked_calls` are its entries.
    Scope,
}

impl FrameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FrameKind::Lambda => "lambda",
            FrameKind::Primop => "primop",
            FrameKind::Functor => "functor",
            FrameKind::Other => "other",
            FrameKind::Scope => "scope",
        }
    }
    pub fn parse(s: &str) -> FrameKind {
        match s {
            "lambda" => FrameKind::Lambda,
            "primop" => FrameKind::Primop,
            "functor" => FrameKind::Functor,
            "scope" => FrameKind::Scope,
            _ => FrameKind::Other,
        }
    }
}

/// A function: lambda (name + definition position) or primop (name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Frame {
    pub kind: FrameKind,
    pub name: String,
    pub file: u32,
    pub line: u32,
    pub col: u32,
    /// False for constant-cost primops that are counted but not timed (their own time is in
    /// the caller's self time).
    pub timed: bool,
}

/// A node of the call tree: one path of functions. Node 0 is the root (no frame).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallNode {
    pub parent: u32,
    pub frame: u32,
    pub count: u64,
    /// Calls whose time was measured; fewer than `count` when the function's first calls were
    /// tiny and the rest were counted only (its times are then scaled to all calls).
    /// 0 for untimed primops.
    pub clocked_calls: u64,
    pub inclusive_ns: u64,
    pub self_ns: u64,
}

/// Where the calls of a node came from, with how many each.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallSite {
    pub node: u32,
    pub file: u32,
    pub line: u32,
    pub col: u32,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    With,
    Rec,
    Let,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::With => "with",
            FindingKind::Rec => "rec",
            FindingKind::Let => "let",
        }
    }
    pub fn parse(s: &str) -> Option<FindingKind> {
        Some(match s {
            "with" => FindingKind::With,
            "rec" => FindingKind::Rec,
            "let" => FindingKind::Let,
            _ => return None,
        })
    }
}

/// A construct found in a parsed file, with what the evaluation did with it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub file: u32,
    pub kind: FindingKind,
    pub line: u32,
    pub col: u32,
    /// `with`: nesting depth (1 = outermost); others: enclosing `with` depth.
    pub depth: u32,
    /// `rec`: attributes; `let`: bindings.
    pub size: u32,
    /// `with`: the expression it opens.
    pub detail: String,
    /// `with`: variable lookups resolved through it (innermost scope); `rec`: evaluations.
    pub count: u64,
}

/// Import from derivation: evaluation blocked on realising derivation outputs.
#[derive(Debug, Clone, Serialize)]
pub struct Ifd {
    /// The primop being called (import, readFile, pathExists, …).
    pub primop: String,
    pub file: u32,
    pub line: u32,
    pub col: u32,
    pub derivations: Vec<String>,
    pub blocked_ns: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub meta: Meta,
    pub files: Vec<FileRow>,
    pub frames: Vec<Frame>,
    pub nodes: Vec<CallNode>,
    pub call_sites: Vec<CallSite>,
    pub findings: Vec<Finding>,
    pub ifds: Vec<Ifd>,
}

impl Profile {
    pub fn file_path(&self, id: u32) -> &str {
        self.files
            .get(id as usize)
            .map(|f| f.path.as_str())
            .unwrap_or("?")
    }
    /// Total evaluation time: everything attributed to some file (or to the evaluator).
    pub fn total_ns(&self) -> u64 {
        self.files.iter().map(|f| f.self_ns).sum()
    }
}
