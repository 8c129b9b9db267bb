//! The Rust↔C++ interface of the plugin. The C++ hooks (plugin/) only call into Rust; Rust never
//! calls C++. Every function here is infallible and never panics (a panic across this boundary
//! would abort nix), see `recorder::ffi`.
//!
//! Every Nix function call enters and leaves the call tree. That per-call path is C++
//! (`plugin/call_fast_path.hh`, inlined into the call hook) over memory the recorder owns and
//! lays out through the shared structs below; it calls into Rust only for what is rare: a new
//! call path, a new call site, a full stack, a change of attribution owner.
//!
//! Every code and constant both languages use is declared here once: cxx generates the C++
//! `enum class` (`nixperf/src/recorder/bridge.rs.h`, namespace `nixperf::rec`) and the Rust type.
//! The profile's own enums (`FrameKind`, `FindingKind`, `Status`) and `roles::ShapeKind` are
//! converted from these at the end of this file, and nowhere else.

// The implementations live in the including module (`src/recorder/ffi.rs`).
use super::*;
use crate::profile::FindingKind as ProfileFindingKind;
use crate::recorder::roles;

#[cxx::bridge(namespace = "nixperf::rec")]
pub(crate) mod ffi {
    /// What a call called, as the call hook names it (plugin/call_hook.cc). The profile's
    /// `FrameKind` adds `Scope`, which the recorder makes itself.
    #[repr(u8)]
    enum CallKind {
        Lambda = 0,
        Primop = 1,
        /// An attribute set with `__functor`.
        Functor = 2,
        /// Not a function (Nix throws), or a primop application whose primop is not found.
        Other = 3,
    }

    /// A static finding of the AST walk (plugin/findings.cc).
    #[repr(u8)]
    enum FindingKind {
        /// A `with` scope: `depth` is its nesting, `detail` what it opens.
        With = 0,
        /// A `rec` set: `size` is its attribute count.
        Rec = 1,
        /// A `let` with more bindings than `nixperf-let-threshold`: `size` is their count.
        Let = 2,
    }

    /// What a freshly parsed file's value is (plugin/file_shape.cc); `recorder::roles` decides
    /// from it whether the file is a module or a helper library.
    #[repr(u8)]
    enum ShapeKind {
        Data = 0,
        NixosModule = 1,
        Package = 2,
        Overlay = 3,
        FunctionSet = 4,
        Function = 5,
    }

    /// How the evaluation ended (plugin/exit_hook.cc), for `finish`.
    #[repr(u8)]
    enum ExitStatus {
        Complete = 0,
        Failed = 1,
        Interrupted = 2,
        /// The process ended without saying how.
        UnknownExit = 3,
    }

    /// What must be described after the fast path counted a call: bits of its `flags`
    /// (plugin/call_fast_path.hh). `tree_site` and `site_position` answer with one of them.
    /// (`Default`: what the bridge's functions answer once the recording has ended.)
    #[derive(Debug, Default)]
    #[repr(u8)]
    enum Describe {
        #[default]
        Nothing = 0,
        /// The node was just created: `call_describe` follows.
        NewNode = 1,
        /// The site's file key is not named yet: `site_file` follows.
        NewSiteFile = 2,
        /// The site is keyed by a position index not resolved yet: `site_position` follows.
        NewSitePos = 4,
    }

    // cxx has no shared constants: each sentinel below is the one variant of a shared enum of
    // the sentinel's integer type, so that its value is written here only and cxx puts it into
    // the generated header. Rust reads it as `Enum::Variant.repr`, C++ casts it once into a
    // constant (`fast::NO_OWNER`, `shim::SITE_BY_INDEX`, `fast::FRESH`).

    /// `TreeNode::owner` of a node whose callee changes no attribution owner (library code,
    /// primops), and the attribution tag of library code's AST nodes (plugin/vtable_patch.hh).
    #[repr(u32)]
    enum Owner {
        Nobody = 0xFFFF_FFFF,
    }

    /// The file key of a call site keyed by Nix's position index (`Site::pos`) instead of its
    /// file and line/column: from Nix 2.26 a position is an index into the evaluator's
    /// PosTable, which the hot path can key on without resolving it (plugin/shim.hh). (A
    /// `usize` key, but cxx_build 1.0 cannot write a `repr(usize)` enum: its value fits.)
    #[repr(u64)]
    enum SiteFile {
        ByIndex = 1,
    }

    /// `tree_child`'s answer: the node id in the low 32 bits, `Fresh` set if it was just
    /// created by this call.
    #[repr(u64)]
    enum TreeChild {
        Fresh = 0x1_0000_0000,
    }
    /// One node of the call tree (one path of callees), as the C++ fast path reads and
    /// writes it on every call. Rust allocates nodes; C++ only counts into them.
    #[derive(Clone, Copy, Debug)]
    struct TreeNode {
        /// Callee keys of the children cached for a linear scan; 0 marks an empty slot.
        kid_keys: [usize; 4],
        kid_nodes: [u32; 4],
        parent: u32,
        /// File that owns the callee's body (non-library lambda), or u32::MAX.
        owner: u32,
        count: u64,
        /// Inclusive clock ticks of timed calls; of a recursive node (see `depth`) only its
        /// outermost activations count, so that nested time is not counted twice.
        ticks: u64,
        /// The first four call sites (file key, line << 32 | column) and their call counts;
        /// more sites are counted by Rust. (Measured on the bundled example: 3 sites carry a
        /// fifth of its calls; beyond 4 there are a handful.)
        site_files: [usize; 4],
        site_pos: [u64; 4],
        site_counts: [u64; 4],
        /// Index into the frame table, u32::MAX until described.
        frame: u32,
        /// False for a counted leaf, never pushed (see `recorder::untimed_primop`).
        timed: bool,
        /// Whether calls read the clock now: true until the first `HotState::probe_calls`
        /// clocked calls turn out tiny on average (then the node's time is extrapolated).
        clocked: bool,
        /// Calls that read the clock; `ticks` is their sum.
        clocked_calls: u64,
        /// Self ticks of clocked calls: each activation's time minus its callees'.
        self_ticks: u64,
        /// Activations of this node now on the stack: more than one only for a node that
        /// recursion re-entered (beyond `recorder::call_tree::FOLD_DEPTH`, a call of a callee
        /// already on the node's path goes back to that ancestor instead of a new node).
        active: u32,
        /// Nodes on the path from the root (the root: 0).
        depth: u32,
        /// To 256 bytes: a power of two makes indexing a shift (asserted in call_tree.rs).
        pad: [u64; 7],
    }

    /// An active call on the recorder's stack (timed calls only: untimed primops are
    /// counted as leaves and never pushed).
    #[derive(Clone, Copy, Debug, Default)]
    struct Activation {
        start: u64,
        /// Clock ticks of the callees' calls so far (the node's self time is the rest).
        child_ticks: u64,
        /// Where the call came from (IFD events report it).
        site_file: usize,
        site_pos: u64,
        /// The call read the clock (its node was `clocked`).
        clocked: bool,
        /// The call changed the attribution owner: `owner_leave` follows on exit.
        pushed_owner: bool,
        /// The node to return to: the caller's (not always the node's parent: a recursive
        /// call can go back to an ancestor). u32::MAX in a slot never used (so the deepest
        /// the stack has been is found at the end without a compare per call).
        caller: u32,
    }

    /// Where the fast path finds the tree. It lives in the recorder, which is never freed or
    /// moved; Rust updates the addresses whenever it grows the arrays.
    #[derive(Debug)]
    struct HotState {
        /// `*mut TreeNode`: the node array.
        nodes: usize,
        /// `*mut Activation`: the call stack, `capacity` slots of which `depth` are in use.
        stack: usize,
        depth: u32,
        capacity: u32,
        /// The innermost active node (0: none).
        top: u32,
        /// After this many clocked calls of a node, its clock stops if they took under
        /// `tiny_ticks` in all: two clock reads would cost more than such a call itself.
        probe_calls: u64,
        tiny_ticks: u64,
    }

    extern "Rust" {
        /// Address of the recorder's `HotState` (stable for the process).
        fn hot_state() -> usize;
        /// The child of the innermost node for callee `key`, created if new and cached in
        /// the parent's slots. Returns the node id, with `TreeChild::Fresh` set if it was just
        /// created (then `call_describe` follows).
        fn tree_child(key: usize) -> u64;
        /// Counts a call of `node` from a site that is not in its four slots. Returns
        /// `NewSiteFile` if the site's file key is unknown, `NewSitePos` if the site is keyed
        /// by a position index not resolved yet, else `Nothing`.
        fn tree_site(node: u32, file: usize, pos: u64) -> Describe;
        /// Doubles the stack (HotState's `stack` and `capacity` change).
        fn tree_grow_stack();
        /// A call of a lambda owned by `file` begins at `tick`: the attribution owner changes
        /// if it is another file. Returns whether it changed (then `owner_leave` follows).
        fn owner_enter(file: u32, tick: u64) -> bool;
        /// Back to the previous owner at `tick` (0: read the clock now).
        fn owner_leave(tick: u64);

        /// Interns a source file; the id is stable for the process.
        fn file_id(path: &str) -> u32;
        /// The shape of a freshly parsed file's value (plugin/file_shape.cc), from which the
        /// recorder decides whether the file is a module or a helper library. Sent before
        /// `file_is_library` is asked.
        fn file_shape(
            file: u32,
            kind: ShapeKind,
            functions: u32,
            reexports: u32,
            values: u32,
            module_keys: bool,
            detail: &str,
        );
        /// Whether the file is library code that never owns time (nixpkgs' lib/, Nix's own
        /// files): its AST is not instrumented and its cost is its caller's.
        fn file_is_library(file: u32) -> bool;
        /// Whether the file is a helper library: it takes over the time only when no module
        /// owns it (its thunks check `owner_cell` for that: a helper never owns the time while
        /// a module does, so any owner but the evaluator is a module).
        fn file_is_helper(file: u32) -> bool;
        /// Clock tick (TSC where available); C++ brackets parses with it.
        fn now() -> u64;
        fn file_parsed(file: u32, start_tick: u64);
        fn file_imported(file: u32);

        /// Address of the current attribution owner (a u32 file id) for the C++ fast path: a
        /// thunk of the file that already owns the time needs no call into Rust.
        fn owner_cell() -> usize;
        /// Thunks forced per file, counted on the C++ side, reported before `finish`.
        fn file_thunks(file: u32, count: u64);

        /// Entering code written in `file`: a file's top-level expression (`root`) or a thunk
        /// created there being forced. Returns whether `scope_exit` must follow (always for a
        /// root; for a thunk only when the attribution changed).
        fn scope_enter(file: u32, root: bool) -> bool;
        fn scope_exit(root: bool);

        /// After `tree_child` created the node just counted (before it is pushed): names its
        /// callee, which decides whether it is timed and which file owns it.
        fn call_describe(
            node: u32,
            kind: CallKind,
            name: &str,
            def_file: &str,
            def_line: u32,
            def_col: u32,
        );
        /// After `NewSiteFile`: names the file of the call site.
        fn site_file(key: usize, path: &str);
        /// The file key and `line << 32 | column` of the site at position `index` (sites keyed
        /// by index, Nix >= 2.26). Returns `NewSiteFile` if the file key is unknown.
        fn site_position(index: u64, file: usize, pos: u64) -> Describe;

        /// A static finding in `file` (see `FindingKind` for `depth`, `size`, `detail`).
        /// Returns its id (u32::MAX if not recorded).
        fn finding(
            file: u32,
            kind: FindingKind,
            line: u32,
            col: u32,
            depth: u32,
            size: u32,
            detail: &str,
        ) -> u32;
        /// Dynamic count of a finding: lookups through a `with`, evaluations of a `rec` set.
        fn finding_count(id: u32, count: u64);
        /// Import from derivation: realising `drvs` (space-separated) blocked evaluation since
        /// `start_tick`, inside the innermost call.
        fn ifd(drvs: &str, start_tick: u64);
        /// NIX_SHOW_STATS JSON of the same run.
        fn evaluator_stats(json: &str);

        /// The default of the `nixperf-profile` setting (plugin/plugin.cc): where the profile is
        /// written unless configured.
        fn default_profile_path() -> &'static str;
        /// Configuration from nix settings, read when evaluation starts: path fragments that
        /// make a file a helper library / a module, added to the automatic classification.
        fn configure(profile_path: &str, library_patterns: &str, module_patterns: &str);
        /// Ends the recording and writes the profile. Safe to call more than once (later calls
        /// do nothing).
        fn finish(status: ExitStatus, reason: &str);
    }
}

// The one place where the bridge's codes become the recorder's and the profile's own types. C++
// may pass any value of an enum's integer type: an unknown one maps to the nearest meaning
// (`Other`, `Data`, `UnknownExit`) or, for a finding, to none.

impl From<ffi::CallKind> for FrameKind {
    fn from(k: ffi::CallKind) -> FrameKind {
        match k {
            ffi::CallKind::Lambda => FrameKind::Lambda,
            ffi::CallKind::Primop => FrameKind::Primop,
            ffi::CallKind::Functor => FrameKind::Functor,
            _ => FrameKind::Other,
        }
    }
}

impl TryFrom<ffi::FindingKind> for ProfileFindingKind {
    type Error = ();
    fn try_from(k: ffi::FindingKind) -> Result<ProfileFindingKind, ()> {
        Ok(match k {
            ffi::FindingKind::With => ProfileFindingKind::With,
            ffi::FindingKind::Rec => ProfileFindingKind::Rec,
            ffi::FindingKind::Let => ProfileFindingKind::Let,
            _ => return Err(()),
        })
    }
}

impl From<ffi::ShapeKind> for roles::ShapeKind {
    fn from(k: ffi::ShapeKind) -> roles::ShapeKind {
        match k {
            ffi::ShapeKind::NixosModule => roles::ShapeKind::NixosModule,
            ffi::ShapeKind::Package => roles::ShapeKind::Package,
            ffi::ShapeKind::Overlay => roles::ShapeKind::Overlay,
            ffi::ShapeKind::FunctionSet => roles::ShapeKind::FunctionSet,
            ffi::ShapeKind::Function => roles::ShapeKind::Function,
            _ => roles::ShapeKind::Data,
        }
    }
}

impl From<ffi::ExitStatus> for Status {
    fn from(s: ffi::ExitStatus) -> Status {
        match s {
            ffi::ExitStatus::Complete => Status::Complete,
            ffi::ExitStatus::Failed => Status::Failed,
            ffi::ExitStatus::Interrupted => Status::Interrupted,
            _ => Status::UnknownExit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_converts_to_its_own_kind_and_an_unknown_one_to_the_fallback() {
        let calls = [
            (ffi::CallKind::Lambda, FrameKind::Lambda),
            (ffi::CallKind::Primop, FrameKind::Primop),
            (ffi::CallKind::Functor, FrameKind::Functor),
            (ffi::CallKind::Other, FrameKind::Other),
            (ffi::CallKind { repr: 200 }, FrameKind::Other),
        ];
        for (code, kind) in calls {
            assert_eq!(FrameKind::from(code), kind);
        }
        let findings = [
            (ffi::FindingKind::With, Ok(ProfileFindingKind::With)),
            (ffi::FindingKind::Rec, Ok(ProfileFindingKind::Rec)),
            (ffi::FindingKind::Let, Ok(ProfileFindingKind::Let)),
            (ffi::FindingKind { repr: 3 }, Err(())),
        ];
        for (code, kind) in findings {
            assert_eq!(ProfileFindingKind::try_from(code), kind);
        }
        let shapes = [
            (ffi::ShapeKind::Data, roles::ShapeKind::Data),
            (ffi::ShapeKind::NixosModule, roles::ShapeKind::NixosModule),
            (ffi::ShapeKind::Package, roles::ShapeKind::Package),
            (ffi::ShapeKind::Overlay, roles::ShapeKind::Overlay),
            (ffi::ShapeKind::FunctionSet, roles::ShapeKind::FunctionSet),
            (ffi::ShapeKind::Function, roles::ShapeKind::Function),
            (ffi::ShapeKind { repr: 6 }, roles::ShapeKind::Data),
        ];
        for (code, kind) in shapes {
            assert_eq!(roles::ShapeKind::from(code), kind);
        }
        let statuses = [
            (ffi::ExitStatus::Complete, Status::Complete),
            (ffi::ExitStatus::Failed, Status::Failed),
            (ffi::ExitStatus::Interrupted, Status::Interrupted),
            (ffi::ExitStatus::UnknownExit, Status::UnknownExit),
            (ffi::ExitStatus { repr: 7 }, Status::UnknownExit),
        ];
        for (code, status) in statuses {
            assert_eq!(Status::from(code), status);
        }
    }

    #[test]
    fn sentinels_keep_their_values() {
        // What profiles and the fast path were built on; the bridge is now their only home.
        assert_eq!(ffi::Owner::Nobody.repr, u32::MAX);
        assert_eq!(ffi::SiteFile::ByIndex.repr, 1);
        assert_eq!(ffi::TreeChild::Fresh.repr, 1 << 32);
        let flags = [
            ffi::Describe::NewNode.repr,
            ffi::Describe::NewSiteFile.repr,
            ffi::Describe::NewSitePos.repr,
        ];
        assert_eq!(flags, [1, 2, 4]);
        assert_eq!(ffi::Describe::default(), ffi::Describe::Nothing);
    }
}
