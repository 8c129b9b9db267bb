//! The functions the plugin's C++ hooks call (declared in `bridge.rs`, beside this file).
//!
//! Nix 2.8 evaluates on one thread, so the recorder is a process-global without locking. None
//! of these functions may panic: a panic here would abort nix. They only index vectors they own
//! (`get`, never a panicking index on input from C++); `finish` runs under `catch_unwind`.
//! The per-call path itself is C++ (`plugin/call_fast_path.hh`) over the tree's `HotState`.

#[path = "bridge.rs"]
mod bridge;
pub(crate) use bridge::ffi::{
    Activation, CallKind, Describe, ExitStatus, FindingKind, HotState, Owner, ShapeKind, SiteFile,
    TreeChild, TreeNode,
};

use super::Recorder;
use crate::profile::{self, FrameKind, Status};
use std::cell::UnsafeCell;

/// The recorder, created on first use and never freed (nix may call in until it exits).
/// After `finish` the pointer is null again and `FINISHED` keeps it that way.
struct Global(UnsafeCell<*mut Recorder>, UnsafeCell<bool>);
// SAFETY: only the evaluator thread calls in (see module docs).
unsafe impl Sync for Global {}

static STATE: Global = Global(
    UnsafeCell::new(std::ptr::null_mut()),
    UnsafeCell::new(false),
);

#[cold]
#[inline(never)]
fn start() -> *mut Recorder {
    // SAFETY: single evaluator thread.
    unsafe {
        if *STATE.1.get() {
            return std::ptr::null_mut();
        }
        let r = Box::into_raw(Box::new(Recorder::new()));
        *STATE.0.get() = r;
        r
    }
}

#[inline(always)]
fn with<R: Default>(f: impl FnOnce(&mut Recorder) -> R) -> R {
    // SAFETY: single evaluator thread, and no re-entrancy: none of the recorder's methods calls
    // back into nix, so no two &mut exist at once.
    unsafe {
        let mut r = *STATE.0.get();
        if r.is_null() {
            r = start();
            if r.is_null() {
                return R::default();
            }
        }
        f(&mut *r)
    }
}

/// The bridge's functions that are a method of the recorder with the same name and arguments:
/// each runs on the global recorder (`with`). Listed once here, declared once in the bridge
/// (which cxx_build reads as it is written, so it cannot come out of a macro), implemented once
/// on `Recorder`; a signature that disagrees with the bridge or the method does not compile.
macro_rules! forward_to_recorder {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;)*) => {
        $(
            pub fn $name($($arg: $ty),*) $(-> $ret)? {
                with(|r| r.$name($($arg),*))
            }
        )*
    };
}

forward_to_recorder! {
    fn hot_state() -> usize;
    fn tree_child(key: usize) -> u64;
    fn tree_site(node: u32, file: usize, pos: u64) -> Describe;
    fn tree_grow_stack();
    fn owner_enter(file: u32, tick: u64) -> bool;
    fn owner_leave(tick: u64);
    fn file_id(path: &str) -> u32;
    fn file_shape(
        file: u32,
        kind: ShapeKind,
        functions: u32,
        reexports: u32,
        values: u32,
        module_keys: bool,
        detail: &str,
    );
    fn file_is_library(file: u32) -> bool;
    fn file_is_helper(file: u32) -> bool;
    fn file_parsed(file: u32, start_tick: u64);
    fn file_imported(file: u32);
    fn owner_cell() -> usize;
    fn file_thunks(file: u32, count: u64);
    fn scope_enter(file: u32, root: bool) -> bool;
    fn scope_exit(root: bool);
    fn call_describe(
        node: u32,
        kind: CallKind,
        name: &str,
        def_file: &str,
        def_line: u32,
        def_col: u32,
    );
    fn site_file(key: usize, path: &str);
    fn site_position(index: u64, file: usize, pos: u64) -> Describe;
    fn finding(
        file: u32,
        kind: FindingKind,
        line: u32,
        col: u32,
        depth: u32,
        size: u32,
        detail: &str,
    ) -> u32;
    fn finding_count(id: u32, count: u64);
    fn ifd(drvs: &str, start_tick: u64);
    fn evaluator_stats(json: &str);
    fn configure(profile_path: &str, library_patterns: &str, module_patterns: &str);
}

pub fn now() -> u64 {
    super::clock::ticks()
}

pub fn default_profile_path() -> &'static str {
    crate::profile::DEFAULT_PATH
}

pub fn finish(status: ExitStatus, reason: &str) {
    // SAFETY: as in `with`; the recorder is taken out before anything else can run.
    let rec = unsafe {
        *STATE.1.get() = true;
        let r = std::mem::replace(&mut *STATE.0.get(), std::ptr::null_mut());
        if r.is_null() {
            return;
        }
        &mut *r
    };
    let status = Status::from(status);
    let reason = first_line(reason);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let p = rec.finish(status, &reason);
        profile::write(&rec.profile_path, &p)
    }));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("nixperf: {e}"),
        Err(_) => eprintln!("nixperf: internal error while writing the profile"),
    }
}

/// The first line of an error message, without terminal colour codes.
fn first_line(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI sequence: ESC [ params final-byte
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_owned()
}

/// The Nix version this plugin was compiled against, readable from the .so without loading it
/// (`nixprobe::plugin_nix_version`): the CLI never loads it into another Nix version, whose
/// C++ layouts differ.
#[cfg(nixperf_plugin)]
#[unsafe(no_mangle)]
pub static NIXPERF_NIX_VERSION: [u8; 16] = {
    let v = env!("NIXPERF_BUILT_NIX_VERSION").as_bytes();
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < v.len() && i < 15 {
        out[i] = v[i];
        i += 1;
    }
    out
};

#[cfg(test)]
mod tests {
    #[test]
    fn first_line_strips_colours() {
        assert_eq!(
            super::first_line("\x1b[31;1merror:\x1b[0m boom\n   at x"),
            "error: boom"
        );
    }
}
