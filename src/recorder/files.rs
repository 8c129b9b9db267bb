//! Per-file accounting and the attribution ("owner") stack.
//!
//! The owner is the file whose code is running. It changes when a lambda of a file that is not
//! library code is called, when a thunk created in such a file is forced, and when a file's
//! top-level expression is evaluated. Library code (nixpkgs' lib/, Nix's own files) never
//! changes it, so it rolls up into the module that called it. Time is charged to the owner only
//! when the owner changes, so entering code of the same file costs no clock read.
//!
//! A helper library's code never takes over the time from a module: it is the module's cost
//! (`roles` says which files are helpers). With no module owning the time (the evaluator
//! forcing a helper's value), the helper owns it and keeps a row of its own; helpers it calls
//! then roll up into it. (The per-file view with helpers as rows of their own comes from the
//! call tree, see `analysis::modules::View::ByFile`.)

use super::clock::ticks;
use super::roles::{Classifier, Shape};
use crate::profile::FileRole;
use rustc_hash::FxHashMap;

/// File 0: the evaluator itself (work outside any file's code: printing, base environment).
pub const EVALUATOR_FILE: &str = "\u{ab}evaluator\u{bb}";

#[derive(Debug, Default, Clone)]
pub struct FileStats {
    pub path: String,
    pub role: FileRole,
    pub why: String,
    /// The role came from the path (Nix's files, nixpkgs' lib, `--library`/`--module`): the
    /// file's code does not change it.
    by_path: bool,
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
    pub classifier: Classifier,
    /// Whether a file other than Nix's own has been parsed (the first one is the entry).
    entry_seen: bool,
    // attribution
    current: u32,
    since: u64,
    /// The owner before each change.
    owner_stack: Vec<u32>,
    /// (file, start tick) of the top-level expressions being evaluated.
    root_starts: Vec<(u32, u64, bool)>,
}

impl Files {
    pub fn new(start_tick: u64) -> Files {
        let mut f = Files {
            stats: Vec::new(),
            by_path: FxHashMap::default(),
            classifier: Classifier::default(),
            entry_seen: false,
            current: 0,
            since: start_tick,
            owner_stack: Vec::with_capacity(1024),
            root_starts: Vec::new(),
        };
        f.intern(EVALUATOR_FILE);
        f.stats[0].role = FileRole::Evaluator;
        f.stats[0].why = "work outside any file's code".into();
        f.stats[0].by_path = true;
        f.stats[0].on_stack = 1;
        f.stats[0].incl_since = start_tick;
        f
    }

    pub fn intern(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.by_path.get(path) {
            return id;
        }
        let id = self.stats.len() as u32;
        let mut s = FileStats {
            path: path.to_owned(),
            why: "not parsed in this run".into(),
            ..Default::default()
        };
        if id != 0 {
            self.classify_by_path(&mut s);
        }
        self.stats.push(s);
        self.by_path.insert(path.to_owned(), id);
        id
    }

    fn classify_by_path(&mut self, s: &mut FileStats) {
        if let Some((role, why)) = self.classifier.by_path(&s.path) {
            s.role = role;
            s.why = why;
            s.by_path = true;
        } else {
            s.by_path = false;
            if s.role.is_library() || s.role == FileRole::Evaluator {
                s.role = FileRole::Data;
            }
        }
    }

    /// New `--library` / `--module` fragments (the plugin's settings, read at the first parse):
    /// files seen before are classified again.
    pub fn set_classifier(&mut self, c: Classifier) {
        self.classifier = c;
        let mut stats = std::mem::take(&mut self.stats);
        for s in stats.iter_mut().skip(1) {
            self.classify_by_path(s);
        }
        self.stats = stats;
    }

    /// A file was parsed and its value has this shape: unless its path decided, that decides.
    pub fn set_shape(&mut self, file: u32, shape: &Shape) {
        let Some(s) = self.stats.get_mut(file as usize) else {
            return;
        };
        if file == 0 {
            return;
        }
        let entry = !self.entry_seen && !s.role.is_library() && !s.path.starts_with('\u{ab}');
        if !s.role.is_library() && !s.path.starts_with('\u{ab}') {
            self.entry_seen = true;
        }
        if s.by_path {
            return;
        }
        let (role, why) = Classifier::by_shape(shape, entry, &s.path);
        s.role = role;
        s.why = why;
    }

    /// The file that owns the time now (0: none, the evaluator). Never a helper while a module
    /// owns it, so this is also the module the time is charged to.
    #[inline]
    pub fn owner_now(&self) -> u32 {
        self.current
    }

    #[inline]
    pub fn is_helper(&self, file: u32) -> bool {
        self.stats
            .get(file as usize)
            .is_some_and(|s| s.role == FileRole::Helper)
    }

    /// Where the current owner lives; stable because the recorder is boxed and never moves.
    pub fn owner_cell(&self) -> usize {
        &self.current as *const u32 as usize
    }

    #[inline]
    pub fn is_library(&self, file: u32) -> bool {
        self.stats
            .get(file as usize)
            .is_none_or(|s| s.role.is_library())
    }

    /// Charges the time since the last change to the current owner.
    #[inline]
    fn charge(&mut self, t: u64) {
        self.stats[self.current as usize].self_ticks += t.wrapping_sub(self.since);
        self.since = t;
    }

    /// Code of `file` starts running. Returns whether the owner changed (then, and only then,
    /// `leave_owner` must follow). `tick` if the caller has one; read only on a change.
    #[inline]
    pub fn enter_owner(&mut self, file: u32, tick: Option<u64>) -> bool {
        self.enter_owner_at(file, tick).is_some()
    }

    /// As `enter_owner`, returning the tick of the change.
    #[inline]
    pub fn enter_owner_at(&mut self, file: u32, tick: Option<u64>) -> Option<u64> {
        let cur = self.current;
        if file == cur || file as usize >= self.stats.len() {
            return None;
        }
        // A helper's code is the module's that owns the time, if one does: no change at all
        // (cheap: its lambdas and thunks check this before calling in, see `owner_cell`).
        if cur != 0 && self.stats[file as usize].role == FileRole::Helper {
            return None;
        }
        let t = tick.unwrap_or_else(ticks);
        self.charge(t);
        let s = &mut self.stats[file as usize];
        if s.on_stack == 0 {
            s.incl_since = t;
        }
        s.on_stack += 1;
        self.owner_stack.push(cur);
        self.current = file;
        Some(t)
    }

    /// Returns to the owner before the matching `enter_owner` that returned true.
    #[inline]
    pub fn leave_owner(&mut self, tick: Option<u64>) -> u64 {
        let t = tick.unwrap_or_else(ticks);
        let Some(prev) = self.owner_stack.pop() else {
            return t;
        };
        self.charge(t);
        let s = &mut self.stats[self.current as usize];
        s.on_stack = s.on_stack.saturating_sub(1);
        if s.on_stack == 0 {
            s.incl_ticks += t.wrapping_sub(s.incl_since);
        }
        self.current = prev;
        t
    }

    /// A file's top-level expression (`root`) or a thunk made in it starts evaluating.
    /// Returns whether `scope_exit` must follow (always for a root: its time to WHNF is
    /// measured; for a thunk only when the owner changed), and the tick of the owner change if
    /// there was one.
    #[inline]
    pub fn scope_enter(&mut self, file: u32, root: bool) -> (bool, Option<u64>) {
        let Some(s) = self.stats.get_mut(file as usize) else {
            return (false, None);
        };
        if root {
            s.root_evals += 1;
            let library = s.role.is_library();
            let t = ticks();
            let changed = if library {
                None
            } else {
                self.enter_owner_at(file, Some(t))
            };
            self.root_starts.push((file, t, changed.is_some()));
            (true, changed)
        } else {
            // Thunks are counted on the C++ side (see `file_thunks`).
            let changed = self.enter_owner_at(file, None);
            (changed.is_some(), changed)
        }
    }

    /// Returns the tick at which the owner changed back, if it did.
    #[inline]
    pub fn scope_exit(&mut self, root: bool) -> Option<u64> {
        if root {
            let t = ticks();
            let (file, start, changed) = self.root_starts.pop()?;
            if changed {
                self.leave_owner(Some(t));
            }
            self.stats[file as usize].root_ticks += t.wrapping_sub(start);
            changed.then_some(t)
        } else {
            Some(self.leave_owner(None))
        }
    }

    /// Closes everything still open at `tick` (end of recording) and charges the rest.
    pub fn close(&mut self, tick: u64) {
        while !self.owner_stack.is_empty() {
            self.leave_owner(Some(tick));
        }
        self.charge(tick);
        for s in &mut self.stats {
            if s.on_stack > 0 {
                s.incl_ticks += tick.wrapping_sub(s.incl_since);
                s.on_stack = 0;
            }
        }
    }
}
