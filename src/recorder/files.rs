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
    root_starts: Vec<(u32, u64)>,
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

    #[inline]
    pub fn is_library(&self, file: u32) -> bool {
        self.stats.get(file as usize).is_none_or(|s| s.is_library)
    }

    /// Code of `file` starts running (`tick` if the caller has one; read lazily otherwise).
    #[inline]
    pub fn push_owner(&mut self, file: u32, tick: Option<u64>) {
        let cur = self.current;
        self.owner_stack.push(cur);
        if file != cur && (file as usize) < self.stats.len() {
            let t = tick.unwrap_or_else(ticks);
            self.stats[cur as usize].self_ticks += t.wrapping_sub(self.since);
            self.since = t;
            let s = &mut self.stats[file as usize];
            if s.on_stack == 0 {
                s.incl_since = t;
            }
            s.on_stack += 1;
            self.current = file;
        }
    }

    /// Pushes the current owner again: keeps push/pop balanced when the owner does not change.
    #[inline]
    pub fn push_same(&mut self) {
        self.owner_stack.push(self.current);
    }

    #[inline]
    pub fn pop_owner(&mut self, tick: Option<u64>) {
        let Some(prev) = self.owner_stack.pop() else {
            return;
        };
        let cur = self.current;
        if prev != cur {
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
    }

    /// A file's top-level expression (or a thunk made in it) starts evaluating.
    #[inline]
    pub fn scope_enter(&mut self, file: u32, root: bool) {
        if root {
            let t = ticks();
            self.root_starts.push((file, t));
            if let Some(s) = self.stats.get_mut(file as usize) {
                s.root_evals += 1;
            }
            if self.is_library(file) {
                self.push_same();
            } else {
                self.push_owner(file, Some(t));
            }
        } else {
            if let Some(s) = self.stats.get_mut(file as usize) {
                s.thunks += 1;
            }
            self.push_owner(file, None);
        }
    }

    #[inline]
    pub fn scope_exit(&mut self, root: bool) {
        if root {
            let t = ticks();
            self.pop_owner(Some(t));
            if let Some((file, start)) = self.root_starts.pop() {
                if let Some(s) = self.stats.get_mut(file as usize) {
                    s.root_ticks += t.wrapping_sub(start);
                }
            }
        } else {
            self.pop_owner(None);
        }
    }

    /// Closes everything still open at `tick` (end of recording) and charges the rest.
    pub fn close(&mut self, tick: u64) {
        while !self.owner_stack.is_empty() {
            self.pop_owner(Some(tick));
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
