//! Per-file accounting and the attribution ("owner") stack.
//!
//! The owner is the file whose code is running. It changes when a non-library lambda is
//! called, when a thunk created in a non-library file is forced, and when a file's top-level
//! expression is evaluated. Library code never changes it, so it rolls up into the module that
//! called it. Time is charged to the owner only when the owner changes, so entering code of the
//! same file costs no clock read.

use super::clock::ticks;
use super::library::LibraryMatcher;
use rustc_hash::FxHashMap;

/// File 0: the evaluator itself (work outside any file's code: printing, base environment).
pub const EVALUATOR_FILE: &str = "\u{ab}evaluator\u{bb}";

#[derive(Debug, Default, Clone)]
pub struct FileStats {
    pub path: String,
    pub is_library: bool,
    pub parse_ticks: u64,
    pub parses: u64,
    pub imports: u64,
    pub root_evals: u64,
    pub root_ticks: u64,
    pub self_ticks: u64,
    pub incl_ticks: u64,
    pub thunks: u64,
    on_stack: u32,
    incl_since: u64,
}

pub struct Files {
    pub stats: Vec<FileStats>,
    by_path: FxHashMap<String, u32>,
    pub library: LibraryMatcher,
    // attribution
    current: u32,
    since: u64,
    owner_stack: Vec<u32>,
    /// (file, start tick) of the top-level expressions being evaluated.
    root_starts: Vec<(u32, u64, bool)>,
}

impl Files {
    pub fn new(start_tick: u64) -> Files {
        let mut f = Files {
            stats: Vec::new(),
            by_path: FxHashMap::default(),
            library: LibraryMatcher::default(),
            current: 0,
            since: start_tick,
            owner_stack: Vec::with_capacity(1024),
            root_starts: Vec::new(),
        };
        f.intern(EVALUATOR_FILE);
        f.stats[0].on_stack = 1;
        f.stats[0].incl_since = start_tick;
        f
    }

    pub fn intern(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.by_path.get(path) {
            return id;
        }
        let id = self.stats.len() as u32;
        self.stats.push(FileStats {
            path: path.to_owned(),
            is_library: id != 0 && self.library.is_library(path),
            ..Default::default()
        });
        self.by_path.insert(path.to_owned(), id);
        id
    }

    pub fn set_library(&mut self, m: LibraryMatcher) {
        for (i, s) in self.stats.iter_mut().enumerate() {
            s.is_library = i != 0 && m.is_library(&s.path);
        }
        self.library = m;
    }

    /// Where the current owner lives; stable because the recorder is boxed and never moves.
    pub fn owner_cell(&self) -> usize {
        &self.current as *const u32 as usize
    }

    #[inline]
    pub fn is_library(&self, file: u32) -> bool {
        self.stats.get(file as usize).is_none_or(|s| s.is_library)
    }

    /// Code of `file` starts running. Returns whether the owner changed (then, and only then,
    /// `leave_owner` must follow). `tick` if the caller has one; read only on a change.
    #[inline]
    pub fn enter_owner(&mut self, file: u32, tick: Option<u64>) -> bool {
        let cur = self.current;
        if file == cur || file as usize >= self.stats.len() {
            return false;
        }
        let t = tick.unwrap_or_else(ticks);
        self.stats[cur as usize].self_ticks += t.wrapping_sub(self.since);
        self.since = t;
        let s = &mut self.stats[file as usize];
        if s.on_stack == 0 {
            s.incl_since = t;
        }
        s.on_stack += 1;
        self.owner_stack.push(cur);
        self.current = file;
        true
    }

    /// Returns to the owner before the matching `enter_owner` that returned true.
    #[inline]
    pub fn leave_owner(&mut self, tick: Option<u64>) {
        let Some(prev) = self.owner_stack.pop() else {
            return;
        };
        let cur = self.current;
        let t = tick.unwrap_or_else(ticks);
        let s = &mut self.stats[cur as usize];
        s.self_ticks += t.wrapping_sub(self.since);
        s.on_stack = s.on_stack.saturating_sub(1);
        if s.on_stack == 0 {
            s.incl_ticks += t.wrapping_sub(s.incl_since);
        }
        self.since = t;
        self.current = prev;
    }

    /// A file's top-level expression (`root`) or a thunk made in it starts evaluating.
    /// Returns whether `scope_exit` must follow: always for a root (its time to WHNF is
    /// measured), for a thunk only when the owner changed.
    #[inline]
    pub fn scope_enter(&mut self, file: u32, root: bool) -> bool {
        let Some(s) = self.stats.get_mut(file as usize) else {
            return false;
        };
        if root {
            s.root_evals += 1;
            let library = s.is_library;
            let t = ticks();
            let changed = !library && self.enter_owner(file, Some(t));
            self.root_starts.push((file, t, changed));
            true
        } else {
            // Thunks are counted on the C++ side (see `file_thunks`).
            self.enter_owner(file, None)
        }
    }

    #[inline]
    pub fn scope_exit(&mut self, root: bool) {
        if root {
            let t = ticks();
            if let Some((file, start, changed)) = self.root_starts.pop() {
                if changed {
                    self.leave_owner(Some(t));
                }
                self.stats[file as usize].root_ticks += t.wrapping_sub(start);
            }
        } else {
            self.leave_owner(None);
        }
    }

    /// Closes everything still open at `tick` (end of recording) and charges the rest.
    pub fn close(&mut self, tick: u64) {
        while !self.owner_stack.is_empty() {
            self.leave_owner(Some(tick));
        }
        let cur = self.current as usize;
        self.stats[cur].self_ticks += tick.wrapping_sub(self.since);
        self.since = tick;
        for s in &mut self.stats {
            if s.on_stack > 0 {
                s.incl_ticks += tick.wrapping_sub(s.incl_since);
                s.on_stack = 0;
            }
        }
    }
}
