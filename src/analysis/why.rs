//! Why a module is slow: which functions and call paths make up its cost, helpers included.
//!
//! The call tree carries a scope node wherever a file's code takes over the time without a call
//! (one of its thunks forced from elsewhere, its top-level expression: `FrameKind::Scope`), and
//! a lambda node wherever a file's function is called, so every node's owning module follows
//! from its path: the nearest scope or non-library lambda above it, helpers rolled up into the
//! module below them (as the recorder charges time).

use crate::profile::{FileRole, FrameKind, Profile};
use serde::Serialize;
use std::collections::HashMap;

/// Which table the time is attributed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    /// Helper libraries rolled up into the calling module.
    Modules,
    /// Every file's own code its own row (helpers too).
    ByFile,
}

/// Functions listed per module.
pub(crate) const HOTSPOTS: usize = 3;

/// A function as reports name it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FrameRef {
    pub kind: FrameKind,
    pub name: String,
    pub file: String,
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hotspot {
    pub function: FrameRef,
    /// Self time in this function while it ran for the module, with the builtins it called.
    pub self_ns: u64,
    /// Of the module's time seen in the call tree, 0..=1.
    pub share: f64,
    pub calls: u64,
    /// The callers on its heaviest path inside the module, nearest first (at most two).
    pub via: Vec<FrameRef>,
}

/// Where a module's time went, from the call tree.
#[derive(Debug, Clone, Serialize)]
pub struct Why {
    /// The module's time as the call tree sees it (close to its row's self time).
    pub total_ns: u64,
    /// In the module's own code: its lambdas, its thunks and top-level expression.
    pub own_code_ns: u64,
    /// In helper libraries' functions, called for this module.
    pub helpers_ns: u64,
    /// In nixpkgs' lib and Nix's own files, called for this module.
    pub library_ns: u64,
    /// In primops (builtins).
    pub primops_ns: u64,
    pub hotspots: Vec<Hotspot>,
}

/// The owning file of every call-tree node in this view (0: the evaluator).
pub(crate) fn node_owners(p: &Profile, view: View) -> Vec<u32> {
    let role = |f: u32| p.files.get(f as usize).map_or(FileRole::Data, |f| f.role);
    let mut owner = vec![0u32; p.nodes.len()];
    for i in 1..p.nodes.len() {
        let n = &p.nodes[i];
        let parent = owner[n.parent as usize];
        let f = &p.frames[n.frame as usize];
        let takes_over = match f.kind {
            FrameKind::Scope => true,
            FrameKind::Lambda => f.file != 0 && !role(f.file).is_library(),
            _ => false,
        };
        // A helper under a module never takes the time from it (in the module view).
        let helper_under_module =
            view == View::Modules && role(f.file) == FileRole::Helper && parent != 0;
        owner[i] = if !takes_over || helper_under_module {
            parent
        } else {
            f.file
        };
    }
    owner
}

/// Per file: the time of helper code that ran for it as a module (`helpers`, by module), and
/// the time a helper file's own code took for modules (`own_code`, by helper): the difference
/// between the module view and the per-file view, from the call tree.
pub(crate) struct HelperTime {
    pub helpers: Vec<u64>,
    pub own_code: Vec<u64>,
}

pub(crate) fn helper_time(p: &Profile) -> HelperTime {
    let modules = node_owners(p, View::Modules);
    let files = node_owners(p, View::ByFile);
    let mut t = HelperTime {
        helpers: vec![0; p.files.len()],
        own_code: vec![0; p.files.len()],
    };
    for (i, n) in p.nodes.iter().enumerate().skip(1) {
        let (m, f) = (modules[i] as usize, files[i] as usize);
        if m != f && m < t.helpers.len() && f < t.own_code.len() {
            t.helpers[m] += n.self_ns;
            t.own_code[f] += n.self_ns;
        }
    }
    t
}

fn frame_ref(p: &Profile, frame: u32) -> FrameRef {
    let f = &p.frames[frame as usize];
    FrameRef {
        kind: f.kind,
        name: f.name.clone(),
        file: if f.file == 0 && f.kind != FrameKind::Scope {
            String::new()
        } else {
            p.file_path(f.file).to_owned()
        },
        line: f.line,
        col: f.col,
    }
}

/// Explains the modules `files` (file ids) in `view`.
pub(crate) fn explain(p: &Profile, view: View, files: &[u32]) -> HashMap<u32, Why> {
    let owner = node_owners(p, view);
    let role = |f: u32| p.files.get(f as usize).map_or(FileRole::Data, |f| f.role);
    // Per (module, frame): self time, calls, and the heaviest node.
    let mut per: HashMap<(u32, u32), (u64, u64, usize, u64)> = HashMap::new();
    let mut out: HashMap<u32, Why> = files
        .iter()
        .map(|&f| {
            (
                f,
                Why {
                    total_ns: 0,
                    own_code_ns: 0,
                    helpers_ns: 0,
                    library_ns: 0,
                    primops_ns: 0,
                    hotspots: Vec::new(),
                },
            )
        })
        .collect();
    for (i, n) in p.nodes.iter().enumerate().skip(1) {
        let m = owner[i];
        let Some(w) = out.get_mut(&m) else { continue };
        let f = &p.frames[n.frame as usize];
        w.total_ns += n.self_ns;
        match f.kind {
            FrameKind::Scope => w.own_code_ns += n.self_ns,
            FrameKind::Lambda if f.file == m => w.own_code_ns += n.self_ns,
            FrameKind::Lambda if role(f.file) == FileRole::Helper => w.helpers_ns += n.self_ns,
            FrameKind::Lambda if role(f.file).is_library() || f.file == 0 => {
                w.library_ns += n.self_ns
            }
            FrameKind::Lambda => w.own_code_ns += n.self_ns,
            _ => w.primops_ns += n.self_ns,
        }
        // A builtin's time goes to the function that called it (inside the module): the code
        // a user would change. Its calls are counted where the function is.
        let at = charged_to(p, &owner, i);
        let e = per.entry((m, p.nodes[at].frame)).or_insert((0, 0, at, 0));
        e.0 += n.self_ns;
        if at == i {
            e.1 += n.count;
        }
        if n.self_ns > e.3 {
            e.2 = at;
            e.3 = n.self_ns;
        }
    }
    // (self ns, calls, heaviest node, its self ns) per frame of a module.
    type FrameCost = (u64, u64, usize, u64);
    let mut by_module: HashMap<u32, Vec<(u32, FrameCost)>> = HashMap::new();
    for ((m, frame), v) in per {
        by_module.entry(m).or_default().push((frame, v));
    }
    for (m, mut frames) in by_module {
        let Some(w) = out.get_mut(&m) else { continue };
        frames.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
        for (frame, (self_ns, calls, heaviest, _)) in frames.into_iter().take(HOTSPOTS) {
            if self_ns == 0 {
                break;
            }
            w.hotspots.push(Hotspot {
                function: frame_ref(p, frame),
                self_ns,
                share: self_ns as f64 / w.total_ns.max(1) as f64,
                calls: if p.frames[frame as usize].kind == FrameKind::Scope {
                    0
                } else {
                    calls
                },
                via: callers(p, &owner, heaviest),
            });
        }
    }
    out
}

/// The node whose function a node's time counts for: itself if it is a lambda or a scope, else
/// the nearest such caller in the same module (a builtin called from the module's code directly
/// stays itself).
fn charged_to(p: &Profile, owner: &[u32], i: usize) -> usize {
    let mut c = i;
    loop {
        let kind = p.frames[p.nodes[c].frame as usize].kind;
        if matches!(kind, FrameKind::Lambda | FrameKind::Scope) {
            return c;
        }
        let parent = p.nodes[c].parent as usize;
        if parent == 0 || owner[parent] != owner[i] {
            return i;
        }
        c = parent;
    }
}

/// Up to two callers of node `i` on its path inside the same module (lambdas and primops; the
/// path stops where the module took over).
fn callers(p: &Profile, owner: &[u32], i: usize) -> Vec<FrameRef> {
    let mut out = Vec::new();
    let mut c = i;
    while out.len() < 2 {
        let kind = p.frames[p.nodes[c].frame as usize].kind;
        let parent = p.nodes[c].parent as usize;
        if kind == FrameKind::Scope || parent == 0 || owner[parent] != owner[i] {
            break;
        }
        c = parent;
        out.push(frame_ref(p, p.nodes[c].frame));
    }
    out
}
