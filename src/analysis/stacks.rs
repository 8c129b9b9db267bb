//! Folded stacks (`a;b;c count`) from the call tree, for inferno and other flamegraph tools.
//! Counts are self nanoseconds (calls for a profile without times).

use super::{paths, tree};
use crate::profile::{FrameKind, Profile, Source};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

/// A frame label: `name file:line` for lambdas, `name (primop)` for primops.
pub fn frame_label(p: &Profile, frame: u32, base: Option<&Path>) -> String {
    let f = &p.frames[frame as usize];
    let label = match f.kind {
        FrameKind::Lambda => format!(
            "{} {}:{}",
            f.name,
            paths::display(p.file_path(f.file), base),
            f.line
        ),
        FrameKind::Primop => format!("{} (primop)", f.name.trim_start_matches("__")),
        _ => f.name.clone(),
    };
    // ';' separates frames in the folded format.
    label.replace(';', ":")
}

/// A profile from Nix's built-in profiler counting every call has no times: its stacks are
/// weighted by calls instead.
pub fn weights_are_calls(p: &Profile) -> bool {
    matches!(p.meta.source, Source::NixEvalProfiler { hz: 0, .. })
}

/// Stacks with their self time (or calls, see `weights_are_calls`), merged where call sites
/// split nodes of the same label.
pub fn folded(p: &Profile, base: Option<&Path>) -> BTreeMap<String, u64> {
    let by_calls = weights_are_calls(p);
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
            let w = if by_calls { n.count } else { n.self_ns };
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
