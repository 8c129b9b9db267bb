//! Stacks for flamegraphs from a profile: a label per frame, a weight per node, and the
//! profile's call tree as a `StackTree` (plain, or by module), which `fold.rs` folds into
//! `a;b;c count` for inferno and other flamegraph tools. Counts are self nanoseconds (calls or
//! samples for a profile of Nix's built-in profiler).

use super::why::View;
use super::{paths, why};
use crate::profile::{FrameKind, Profile, Source};
use std::collections::HashMap;
use std::path::Path;

pub(crate) use super::fold::Collapse;
pub use super::fold::{Folded, StackNode, StackTree};

/// A frame label: `name file:line:col` for lambdas (the column tells a curried lambda from the
/// one it returns), `name (primop)` for primops, `«thunk» file` where a file's code took over
/// without a call.
pub(crate) fn frame_label(p: &Profile, frame: u32, base: Option<&Path>) -> String {
    let f = &p.frames[frame as usize];
    let label = match f.kind {
        // Nix's own profiler has no call site for calls made by builtins (`«none»:0`).
        FrameKind::Lambda if f.line == 0 => format!("{} (called by a builtin)", f.name),
        FrameKind::Lambda => format!(
            "{} {}:{}:{}",
            f.name,
            paths::display(p.file_path(f.file), base),
            f.line,
            f.col
        ),
        FrameKind::Primop => format!("{} (primop)", f.name.trim_start_matches("__")),
        FrameKind::Scope => format!("{} {}", f.name, paths::display(p.file_path(f.file), base)),
        _ => f.name.clone(),
    };
    // ';' separates frames in the folded format.
    label.replace(';', ":")
}

/// What a stack's weight counts: self nanoseconds (the plugin), calls (Nix's built-in profiler
/// counting every call: no times) or samples (Nix's built-in profiler at a frequency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Ns,
    Calls,
    Samples { period_ns: u64 },
}

impl Weight {
    pub fn of(p: &Profile) -> Weight {
        match p.meta.source {
            Source::NixEvalProfiler { hz: 0, .. } => Weight::Calls,
            Source::NixEvalProfiler { hz, .. } => Weight::Samples {
                period_ns: 1_000_000_000 / u64::from(hz),
            },
            Source::Plugin => Weight::Ns,
        }
    }
    /// The unit flamegraphs show.
    pub(crate) fn unit(self) -> &'static str {
        match self {
            Weight::Ns => "ns",
            Weight::Calls => "calls",
            Weight::Samples { .. } => "samples",
        }
    }
    pub(crate) fn of_node(self, n: &crate::profile::CallNode) -> u64 {
        match self {
            Weight::Ns => n.self_ns,
            Weight::Calls => n.count,
            Weight::Samples { period_ns } => (n.self_ns + period_ns / 2) / period_ns.max(1),
        }
    }
}

impl StackTree {
    /// The profile's call tree, one label per frame (`frame_label`).
    pub(crate) fn of_profile(p: &Profile, base: Option<&Path>) -> StackTree {
        let weight = Weight::of(p);
        let mut b = Builder::default();
        let label_of: Vec<u32> = (0..p.frames.len() as u32)
            .map(|f| b.label(frame_label(p, f, base)))
            .collect();
        // The profile reader checked that parents come first.
        for n in p.nodes.iter().skip(1) {
            b.nodes.push(StackNode {
                parent: n.parent,
                label: label_of[n.frame as usize],
                weight: weight.of_node(n),
            });
        }
        b.finish()
    }

    /// The module flamegraph's tree: the module that owns the time (helpers rolled up, see
    /// `why::node_owners`) at the bottom, then the frames from where it took over: module →
    /// helper → primop. Where another module takes over, its frames restart at that module.
    pub(crate) fn by_module(p: &Profile, base: Option<&Path>) -> StackTree {
        let weight = Weight::of(p);
        let owner = why::node_owners(p, View::Modules);
        let mut b = Builder::default();
        let label_of: Vec<u32> = (0..p.frames.len() as u32)
            .map(|f| b.label(frame_label(p, f, base)))
            .collect();
        let mut module_node: HashMap<u32, u32> = HashMap::new();
        // The new index of every profile node (0: the root).
        let mut new_index = vec![0u32; p.nodes.len()];
        for (i, n) in p.nodes.iter().enumerate().skip(1) {
            let parent = n.parent as usize;
            let new_parent = if parent == 0 || owner[parent] != owner[i] {
                let file = owner[i];
                match module_node.get(&file) {
                    Some(&m) => m,
                    None => {
                        let label = if file == 0 {
                            "\u{ab}evaluator\u{bb}".to_owned()
                        } else {
                            format!("[{}]", paths::display(p.file_path(file), base))
                                .replace(';', ":")
                        };
                        let label = b.label(label);
                        b.nodes.push(StackNode {
                            parent: 0,
                            label,
                            weight: 0,
                        });
                        let m = (b.nodes.len() - 1) as u32;
                        module_node.insert(file, m);
                        m
                    }
                }
            } else {
                new_index[parent]
            };
            b.nodes.push(StackNode {
                parent: new_parent,
                label: label_of[n.frame as usize],
                weight: weight.of_node(n),
            });
            new_index[i] = (b.nodes.len() - 1) as u32;
        }
        b.finish()
    }
}

/// Labels deduplicated: one id per distinct label, so that recursion is recognised by label.
/// Node indices are final: the root is node 0.
struct Builder {
    labels: Vec<String>,
    ids: HashMap<String, u32>,
    nodes: Vec<StackNode>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            labels: Vec::new(),
            ids: HashMap::new(),
            nodes: vec![StackNode {
                parent: 0,
                label: 0,
                weight: 0,
            }],
        }
    }
}

impl Builder {
    fn label(&mut self, s: String) -> u32 {
        if let Some(&id) = self.ids.get(&s) {
            return id;
        }
        let id = self.labels.len() as u32;
        self.ids.insert(s.clone(), id);
        self.labels.push(s);
        id
    }

    fn finish(self) -> StackTree {
        StackTree {
            labels: self.labels,
            nodes: self.nodes,
        }
    }
}

/// The profile's folded stacks: exact where they fit `EXACT_FOLDED_LIMIT`, recursion
/// collapsed where they do not (see `Collapse::Auto`).
pub fn folded(p: &Profile, base: Option<&Path>) -> Folded {
    StackTree::of_profile(p, base).fold(Collapse::Auto)
}

/// The module flamegraph's folded stacks (`StackTree::by_module`).
pub fn folded_by_module(p: &Profile, base: Option<&Path>) -> Folded {
    StackTree::by_module(p, base).fold(Collapse::Auto)
}
