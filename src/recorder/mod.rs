//! The in-process recorder that the plugin's C++ hooks feed (through `ffi`). It aggregates
//! calls into a call tree and time into per-file tables, and turns them into a
//! [`Profile`](crate::profile::Profile) when evaluation ends.

mod call_tree;
mod clock;
pub mod ffi;
mod files;
pub mod roles;

use crate::profile::{
    CallNode, CallSite, FileRow, Finding, FindingKind, Frame, FrameKind, Ifd, Meta, Profile, Status,
};
use call_tree::{CallTree, NO_OWNER, Site, UNDESCRIBED};
use clock::{Clock, ticks};
use ffi::{CallKind, Describe, ShapeKind, SiteFile};
use files::Files;
use rustc_hash::FxHashMap;
use std::path::PathBuf;

/// A function whose first `CLOCK_PROBE_CALLS` calls average under `TINY_CALL_NS` stops reading
/// the clock: its later calls are counted exactly and their time is extrapolated from those
/// (`clocked_calls` in the profile says how many were measured). Two TSC reads cost 40-80 ns on
/// the VMs we measured, more than such a call; timing it would mostly measure the clock and
/// inflate its callers.
pub const CLOCK_PROBE_CALLS: u64 = 256;
pub const TINY_CALL_NS: f64 = 500.0;

pub struct Recorder {
    clock: Clock,
    started_at: u64,
    tree: CallTree,
    frames: Vec<Frame>,
    frame_ids: FxHashMap<Frame, u32>,
    files: Files,
    /// Nix's interned file-name addresses of call sites → our file ids.
    site_files: FxHashMap<usize, u32>,
    /// Sites keyed by position index (`SITE_BY_INDEX`, Nix >= 2.26) → their file key and
    /// line/column, resolved once per position.
    site_positions: FxHashMap<u64, Site>,
    findings: Vec<Finding>,
    /// IFD events: (call node, call site, derivations, blocked ticks).
    ifds: Vec<(u32, Site, Vec<String>, u64)>,
    evaluator_stats: Option<serde_json::Value>,
    /// Where `finish` writes; from the `nixperf-profile` setting.
    pub profile_path: PathBuf,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        let clock = Clock::start();
        let files = Files::new(clock.start_tick());
        let mut tree = CallTree::default();
        let tiny_ticks =
            (CLOCK_PROBE_CALLS as f64 * TINY_CALL_NS * Clock::quick_ticks_per_ns()) as u64;
        tree.set_clock_probe(CLOCK_PROBE_CALLS, tiny_ticks);
        Recorder {
            clock,
            started_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            tree,
            frames: Vec::new(),
            frame_ids: FxHashMap::default(),
            files,
            site_files: FxHashMap::from_iter([(0, 0)]),
            site_positions: FxHashMap::default(),
            findings: Vec::new(),
            ifds: Vec::new(),
            evaluator_stats: None,
            profile_path: PathBuf::from(crate::profile::DEFAULT_PATH),
        }
    }

    pub fn configure(&mut self, profile_path: &str, library: &str, module: &str) {
        if !profile_path.is_empty() {
            self.profile_path = PathBuf::from(profile_path);
        }
        self.files
            .set_classifier(roles::Classifier::new(library, module));
    }

    #[allow(clippy::too_many_arguments)]
    pub fn file_shape(
        &mut self,
        file: u32,
        kind: ShapeKind,
        functions: u32,
        reexports: u32,
        values: u32,
        module_keys: bool,
        params: &str,
    ) {
        let shape = roles::Shape {
            kind: kind.into(),
            functions,
            reexports,
            values,
            module_keys,
            params: params.to_owned(),
        };
        self.files.set_shape(file, &shape);
    }

    pub fn file_id(&mut self, path: &str) -> u32 {
        self.files.intern(path)
    }

    pub fn file_is_library(&self, file: u32) -> bool {
        self.files.is_library(file)
    }

    pub fn file_parsed(&mut self, file: u32, start_tick: u64) {
        let t = ticks();
        if let Some(s) = self.files.stats.get_mut(file as usize) {
            s.parses += 1;
            s.parse_ticks += t.wrapping_sub(start_tick);
        }
    }

    pub fn file_imported(&mut self, file: u32) {
        if let Some(s) = self.files.stats.get_mut(file as usize) {
            s.imports += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn finding(
        &mut self,
        file: u32,
        kind: ffi::FindingKind,
        line: u32,
        col: u32,
        depth: u32,
        size: u32,
        detail: &str,
    ) -> u32 {
        let Ok(kind) = FindingKind::try_from(kind) else {
            return u32::MAX;
        };
        if file as usize >= self.files.stats.len() {
            return u32::MAX;
        }
        self.findings.push(Finding {
            file,
            kind,
            line,
            col,
            depth,
            size,
            detail: detail.to_owned(),
            count: 0,
        });
        (self.findings.len() - 1) as u32
    }

    pub fn finding_count(&mut self, id: u32, count: u64) {
        if let Some(f) = self.findings.get_mut(id as usize) {
            f.count += count;
        }
    }

    pub fn ifd(&mut self, drvs: &str, start_tick: u64) {
        let t = ticks();
        let site = self.tree.innermost().map_or_else(Site::default, |a| Site {
            file: a.site_file,
            pos: a.site_pos,
        });
        self.ifds.push((
            self.tree.top(),
            site,
            drvs.split_whitespace().map(str::to_owned).collect(),
            t.wrapping_sub(start_tick),
        ));
    }

    pub fn evaluator_stats(&mut self, json: &str) {
        self.evaluator_stats = serde_json::from_str(json).ok();
    }

    pub fn owner_cell(&self) -> usize {
        self.files.owner_cell()
    }

    pub fn file_is_helper(&self, file: u32) -> bool {
        self.files.is_helper(file)
    }

    pub fn file_thunks(&mut self, file: u32, count: u64) {
        if let Some(s) = self.files.stats.get_mut(file as usize) {
            s.thunks += count;
        }
    }

    /// Code of `file` starts running without a call (a thunk of it forced, or its top-level
    /// expression). When the attribution owner changes, the call tree gets a scope node for it,
    /// so that every call below knows which module it ran for (`FrameKind::Scope`).
    #[inline]
    pub fn scope_enter(&mut self, file: u32, root: bool) -> bool {
        let (follow, changed) = self.files.scope_enter(file, root);
        if let Some(t) = changed {
            let key = scope_key(file, root);
            let node = self.tree.enter_scope(key, t);
            if node.1 {
                self.describe_scope(node.0, file, root);
            }
        }
        follow
    }

    #[inline]
    pub fn scope_exit(&mut self, root: bool) {
        if let Some(t) = self.files.scope_exit(root) {
            self.tree.exit(t);
        }
    }

    #[cold]
    fn describe_scope(&mut self, node: u32, file: u32, root: bool) {
        let frame = Frame {
            kind: FrameKind::Scope,
            name: if root {
                "\u{ab}import\u{bb}"
            } else {
                "\u{ab}thunk\u{bb}"
            }
            .to_owned(),
            file,
            line: 0,
            col: 0,
            timed: true,
        };
        let id = self.frame_id(frame);
        if let Some(n) = self.tree.nodes.get_mut(node as usize) {
            n.frame = id;
        }
    }

    fn frame_id(&mut self, frame: Frame) -> u32 {
        let next = self.frames.len() as u32;
        let frame_id = *self.frame_ids.entry(frame.clone()).or_insert(next);
        if frame_id == next {
            self.frames.push(frame);
        }
        frame_id
    }

    /// The address of the tree's hot state, for the C++ fast path.
    pub fn hot_state(&mut self) -> usize {
        &mut self.tree.hot as *mut _ as usize
    }

    pub fn tree_child(&mut self, key: usize) -> u64 {
        self.tree.child(key)
    }

    /// `Site::file` of a site keyed by Nix's position index (`Site::pos`) instead of its file
    /// and line/column (the bridge's `SiteFile::ByIndex`).
    pub const SITE_BY_INDEX: usize = SiteFile::ByIndex.repr as usize;

    /// Counts a call of `node` from a site the fast path did not find in the node's slots:
    /// `NewSiteFile` if the site's file is not named yet, `NewSitePos` if its position index
    /// is not resolved yet.
    pub fn tree_site(&mut self, node: u32, file: usize, pos: u64) -> Describe {
        let new = self.tree.count_site(node, Site { file, pos });
        if !new {
            Describe::Nothing
        } else if file == Self::SITE_BY_INDEX {
            if self.site_positions.contains_key(&pos) {
                Describe::Nothing
            } else {
                Describe::NewSitePos
            }
        } else if !self.site_files.contains_key(&file) {
            Describe::NewSiteFile
        } else {
            Describe::Nothing
        }
    }

    /// Resolves the site at position `index`: its file key and `line << 32 | column`. Returns
    /// `NewSiteFile` if the file key is not named yet.
    pub fn site_position(&mut self, index: u64, file: usize, pos: u64) -> Describe {
        self.site_positions.insert(index, Site { file, pos });
        if self.site_files.contains_key(&file) {
            Describe::Nothing
        } else {
            Describe::NewSiteFile
        }
    }

    /// A site's file id, line and column.
    fn resolve_site(&self, site: Site) -> (u32, u32, u32) {
        let site = if site.file == Self::SITE_BY_INDEX {
            self.site_positions
                .get(&site.pos)
                .copied()
                .unwrap_or_default()
        } else {
            site
        };
        (
            self.site_files.get(&site.file).copied().unwrap_or(0),
            (site.pos >> 32) as u32,
            site.pos as u32,
        )
    }

    pub fn tree_grow_stack(&mut self) {
        self.tree.grow_stack();
    }

    pub fn owner_enter(&mut self, file: u32, tick: u64) -> bool {
        self.files.enter_owner(file, (tick != 0).then_some(tick))
    }

    pub fn owner_leave(&mut self, tick: u64) {
        self.files.leave_owner((tick != 0).then_some(tick));
    }

    pub fn site_file(&mut self, key: usize, path: &str) {
        let id = if path.is_empty() {
            0
        } else {
            self.files.intern(path)
        };
        self.site_files.insert(key, id);
    }

    /// Names a node just created (first call on this path), before it is pushed: its frame,
    /// whether it is timed and which file owns it.
    pub fn call_describe(
        &mut self,
        node: u32,
        kind: CallKind,
        name: &str,
        def_file: &str,
        def_line: u32,
        def_col: u32,
    ) {
        let kind = FrameKind::from(kind);
        if node as usize >= self.tree.nodes.len() {
            return;
        }
        let file = if def_file.is_empty() {
            0
        } else {
            self.files.intern(def_file)
        };
        let name = if name.is_empty() && kind == FrameKind::Lambda {
            "\u{ab}lambda\u{bb}"
        } else {
            name
        };
        let timed = !(kind == FrameKind::Primop && untimed_primop(name));
        let frame = Frame {
            kind,
            name: name.to_owned(),
            file,
            line: def_line,
            col: def_col,
            timed,
        };
        let frame_id = self.frame_id(frame);
        // Library code never takes over the time; a helper's only where no module owns it (a
        // node's path fixes that: every change of owner is a node on it).
        let owner = if kind == FrameKind::Lambda
            && file != 0
            && !self.files.is_library(file)
            && !(self.files.is_helper(file) && self.files.owner_now() != 0)
        {
            file
        } else {
            NO_OWNER
        };
        let n = &mut self.tree.nodes[node as usize];
        n.frame = frame_id;
        n.timed = timed;
        n.owner = owner;
    }

    /// Ends recording: closes what is still open and builds the profile.
    pub fn finish(&mut self, status: Status, reason: &str) -> Profile {
        let end = ticks();
        let mut status = status;
        let mut reason = reason.to_owned();
        let open = self.tree.depth();
        while let Some(a) = self.tree.exit(end) {
            if a.pushed_owner {
                self.files.leave_owner(Some(end));
            }
        }
        if open > 0 && status == Status::Complete {
            status = Status::UnknownExit;
            reason = format!("{open} calls still open when recording ended");
        }
        self.files.close(end);
        let ns = self.clock.ns_per_tick();
        let to_ns = |t: u64| (t as f64 * ns) as u64;

        let mut calls_per_file = vec![0u64; self.files.stats.len()];
        let (incl_ticks, self_ticks) = self.tree.times();
        let nodes: Vec<CallNode> = self
            .tree
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let frame = if n.frame == UNDESCRIBED { 0 } else { n.frame };
                if i > 0
                    && let Some(f) = self.frames.get(frame as usize)
                    && f.kind == FrameKind::Lambda
                {
                    calls_per_file[f.file as usize] += n.count;
                }
                CallNode {
                    parent: n.parent,
                    frame,
                    count: n.count,
                    clocked_calls: n.clocked_calls,
                    inclusive_ns: to_ns(incl_ticks[i]),
                    self_ns: to_ns(self_ticks[i]),
                }
            })
            .collect();
        let mut call_sites: Vec<CallSite> = self
            .tree
            .sites()
            .map(|(node, site, count)| {
                let (file, line, col) = self.resolve_site(site);
                CallSite {
                    node,
                    file,
                    line,
                    col,
                    count,
                }
            })
            .collect();
        call_sites.sort_by_key(|s| (s.node, s.file, s.line, s.col));
        let ifds = self
            .ifds
            .iter()
            .map(|(node, site, drvs, ticks)| {
                let frame = self
                    .tree
                    .nodes
                    .get(*node as usize)
                    .map_or(UNDESCRIBED, |n| n.frame);
                let (file, line, col) = self.resolve_site(*site);
                Ifd {
                    primop: self
                        .frames
                        .get(frame as usize)
                        .map_or_else(|| "?".to_owned(), |f| f.name.clone()),
                    file,
                    line,
                    col,
                    derivations: drvs.clone(),
                    blocked_ns: to_ns(*ticks),
                }
            })
            .collect();
        let mut frames = self.frames.clone();
        if frames.is_empty() {
            frames.push(Frame {
                kind: FrameKind::Other,
                name: "\u{ab}none\u{bb}".into(),
                file: 0,
                line: 0,
                col: 0,
                timed: true,
            });
        }
        let files = self
            .files
            .stats
            .iter()
            .enumerate()
            .map(|(i, s)| FileRow {
                id: i as u32,
                path: s.path.clone(),
                is_library: s.role.is_library(),
                role: s.role,
                role_why: s.why.clone(),
                parse_ns: to_ns(s.parse_ticks),
                parses: s.parses,
                imports: s.imports,
                root_evals: s.root_evals,
                whnf_ns: to_ns(s.root_ticks),
                self_ns: to_ns(s.self_ticks),
                inclusive_ns: to_ns(s.incl_ticks),
                calls: calls_per_file[i],
                thunks: s.thunks,
            })
            .collect();
        Profile {
            meta: Meta {
                status,
                reason,
                nix_version: option_env!("NIXPERF_BUILT_NIX_VERSION")
                    .unwrap_or("unknown")
                    .to_owned(),
                nixperf_version: env!("CARGO_PKG_VERSION").to_owned(),
                command: std::env::args().collect(),
                started_at: self.started_at,
                wall_ns: to_ns(end.wrapping_sub(self.clock.start_tick())),
                library_patterns: self.files.classifier.library.clone(),
                module_patterns: self.files.classifier.module.clone(),
                evaluator_stats: self.evaluator_stats.clone(),
                source: crate::profile::Source::Plugin,
                clock_probe: crate::profile::ClockProbe {
                    calls: CLOCK_PROBE_CALLS,
                    tiny_call_ns: TINY_CALL_NS,
                },
                recursion_fold: crate::profile::RecursionFold {
                    depth: if self.tree.folds > 0 {
                        crate::profile::FOLD_DEPTH
                    } else {
                        0
                    },
                    folds: self.tree.folds,
                    deepest_stack: self.tree.deepest() as u64,
                },
            },
            files,
            frames,
            nodes,
            call_sites,
            findings: self.findings.clone(),
            ifds,
        }
    }
}

/// The call-tree key of a scope node: callee keys are aligned addresses (and 1, 2), so an odd
/// key with these low bits never collides with one.
fn scope_key(file: u32, root: bool) -> usize {
    ((file as usize) << 3) | if root { 5 } else { 3 }
}

/// Primops of constant, tiny cost (arithmetic, comparisons, type tests, O(1) accessors) are
/// counted exactly but not timed: two clock reads cost ~40 ns on the machines we measured,
/// several times the primop itself, and these are most of the calls in arithmetic-heavy code.
/// They are counted leaves (never pushed): their own time stays in the caller's self time, and
/// whatever they force (thunks, lambdas) is timed in its own frames under the caller.
pub fn untimed_primop(name: &str) -> bool {
    matches!(
        name.trim_start_matches("__"),
        "sub"
            | "mul"
            | "div"
            | "lessThan"
            | "bitAnd"
            | "bitOr"
            | "bitXor"
            | "ceil"
            | "floor"
            | "isAttrs"
            | "isBool"
            | "isFloat"
            | "isFunction"
            | "isInt"
            | "isList"
            | "isNull"
            | "isPath"
            | "isString"
            | "typeOf"
            | "elemAt"
            | "head"
            | "length"
            | "hasAttr"
    )
}
