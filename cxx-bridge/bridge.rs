//! The Rust↔C++ interface of the plugin. The C++ hooks (plugin/) only call into Rust; Rust never
//! calls C++. Every function here is infallible and never panics (a panic across this boundary
//! would abort nix), see `recorder::ffi`.
//!
//! The two functions every Nix function call goes through, `nixperf_call_enter` and
//! `nixperf_call_exit`, are plain `extern "C"` (declared in `hot_path.h`): cxx's generated
//! wrappers add two calls and an unwind guard each way, ~13 % of the per-call instructions
//! measured with callgrind on fib 25. Their panic behaviour is the same (abort, never unwind).

// The implementations live in the including module (`src/recorder/ffi.rs`).
use super::*;

#[cxx::bridge(namespace = "nixperf::rec")]
pub(crate) mod ffi {
    extern "Rust" {
        /// Interns a source file; the id is stable for the process.
        fn file_id(path: &str) -> u32;
        /// Whether the file counts as library code (its cost rolls up into the caller's module).
        fn file_is_library(file: u32) -> bool;
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

        /// After `nixperf_call_enter` (hot_path.h) returned flag 1: names the callee of the call
        /// path just entered.
        fn call_describe(kind: u8, name: &str, def_file: &str, def_line: u32, def_col: u32);
        /// After `nixperf_call_enter` returned flag 2: names the file of the call site.
        fn site_file(key: usize, path: &str);

        /// A static finding in `file`: kind 0 `with` (depth = nesting, detail = what it opens),
        /// 1 `rec` set (size = attributes), 2 large `let` (size = bindings). Returns its id.
        fn finding(
            file: u32,
            kind: u8,
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

        /// Configuration from nix settings, read when evaluation starts.
        fn configure(profile_path: &str, library_patterns: &str);
        /// Ends the recording and writes the profile. `status`: 0 ok, 1 failed, 2 interrupted,
        /// 3 unknown exit. Safe to call more than once (later calls do nothing).
        fn finish(status: u8, reason: &str);
    }
}
