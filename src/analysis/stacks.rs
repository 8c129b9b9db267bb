//! Folded stacks (`a;b;c count`) from the call tree, for inferno and other flamegraph tools.
//! Counts are self nanoseconds (calls for a profile without times).

use super::modules::View;
use super::{paths, tree, why};
use crate::profile::{FrameKind, Profile, Source};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

/// A frame label: `name file:line:col` for lambdas (the column tells a curried lambda from the
/// one it returns), `name (primop)` for primops, `«thunk» file` where a file's code took over
/// without a call.
pub fn frame_label(p: &Profile, frame: u32, base: Option<&Path>) -> String {
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
    pub fn unit(self) -> &'static str {
        match self {
            Weight::Ns => "ns",
            Weight::Calls => "calls",
            Weight::Samples { .. } => "samples",
        }
    }
    fn of_node(self, n: &crate::profile::CallNode) -> u64 {
        match self {
            Weight::Ns => n.self_ns,
            Weight::Calls => n.count,
            Weight::Samples { period_ns } => (n.self_ns + period_ns / 2) / period_ns.max(1),
        }
    }
}

/// A profile from Nix's built-in profiler counting every call has no times: its stacks are
/// weighted by calls instead.
pub fn weights_are_calls(p: &Profile) -> bool {
    Weight::of(p) == Weight::Calls
}

/// Stacks with their weight (`Weight`), merged where call sites split nodes of the same label.
pub fn folded(p: &Profile, base: Option<&Path>) -> BTreeMap<String, u64> {
    let weight = Weight::of(p);
    let labels: Vec<String> = (0..p.frames.len() as u32)
        .map(|f| frame_label(p, f, base))
        .collect();
    let out = RefCell::new(BTreeMap::new());
    // The current path as a string, and where each level starts in it.
    let path = RefCell::new((String::new(), Vec::<usize>::new()));
    tree::walk(
        p,
        |i| {
            let n = &p.nodes[i];
            let (s, starts) = &mut *path.borrow_mut();
            starts.push(s.len());
            if !s.is_empty() {
                s.push(';');
            }
            s.push_str(&labels[n.frame as usize]);
            let w = weight.of_node(n);
            if w > 0 {
                *out.borrow_mut().entry(s.clone()).or_insert(0) += w;
            }
        },
        |_| {
            let (s, starts) = &mut *path.borrow_mut();
            if let Some(at) = starts.pop() {
                s.truncate(at);
            }
        },
    );
    out.into_inner()
}

/// The module flamegraph's stacks: the module that owns the time (helpers rolled up, see
/// `why::node_owners`) as the bottom frame, then the frames from where it took over: module →
/// helper → primop.
pub fn folded_by_module(p: &Profile, base: Option<&Path>) -> BTreeMap<String, u64> {
    let weight = Weight::of(p);
    let owner = why::node_owners(p, View::Modules);
    let labels: Vec<String> = (0..p.frames.len() as u32)
        .map(|f| frame_label(p, f, base))
        .collect();
    let module_label = |file: u32| {
        if file == 0 {
            "\u{ab}evaluator\u{bb}".to_owned()
        } else {
            format!("[{}]", paths::display(p.file_path(file), base)).replace(';', ":")
        }
    };
    let out = RefCell::new(BTreeMap::new());
    // The current path inside its module ("module;a;b"), and where each level starts in it.
    let path = RefCell::new((String::new(), Vec::<(usize, Option<String>)>::new()));
    tree::walk(
        p,
        |i| {
            let n = &p.nodes[i];
            let (s, starts) = &mut *path.borrow_mut();
            let parent = n.parent as usize;
            if parent == 0 || owner[parent] != owner[i] {
                // A new module takes over: the path restarts at it (restored on leave).
                let saved = std::mem::replace(s, module_label(owner[i]));
                starts.push((0, Some(saved)));
            } else {
                starts.push((s.len(), None));
            }
            s.push(';');
            s.push_str(&labels[n.frame as usize]);
            let w = weight.of_node(n);
            if w > 0 {
                *out.borrow_mut().entry(s.clone()).or_insert(0) += w;
            }
        },
        |_| {
            let (s, starts) = &mut *path.borrow_mut();
            match starts.pop() {
                Some((_, Some(saved))) => *s = saved,
                Some((at, None)) => s.truncate(at),
                None => {}
            }
        },
    );
    out.into_inner()
}

#[allow(dead_code)]
pub fn folded_text(p: &Profile, base: Option<&Path>) -> String {
    let mut s = String::new();
    for (stack, n) in folded(p, base) {
        s.push_str(&stack);
        s.push(' ');
        s.push_str(&n.to_string());
        s.push('\n');
    }
    s
}
