//! Depth-first traversal of the call tree (iterative: recursion in Nix code makes deep trees).

use crate::profile::Profile;

/// Calls `enter(node)` before a node's children and `leave(node)` after them, for every node
/// but the root.
pub(crate) fn walk(p: &Profile, enter: impl FnMut(usize), leave: impl FnMut(usize)) {
    walk_parents(p.nodes.len(), |i| p.nodes[i].parent as usize, enter, leave)
}

/// `walk` over any tree of `n` nodes given by their parents (node 0 is the root), children in
/// index order.
pub(crate) fn walk_parents(
    n: usize,
    parent: impl Fn(usize) -> usize,
    mut enter: impl FnMut(usize),
    mut leave: impl FnMut(usize),
) {
    let mut first_child = vec![usize::MAX; n];
    let mut next_sibling = vec![usize::MAX; n];
    for i in (1..n).rev() {
        let parent = parent(i);
        next_sibling[i] = first_child[parent];
        first_child[parent] = i;
    }
    // (node, entered?)
    let mut stack: Vec<(usize, bool)> = Vec::new();
    let mut c = first_child[0];
    while c != usize::MAX {
        stack.push((c, false));
        c = next_sibling[c];
    }
    stack.reverse();
    while let Some((node, entered)) = stack.pop() {
        if entered {
            leave(node);
            continue;
        }
        enter(node);
        stack.push((node, true));
        let start = stack.len();
        let mut c = first_child[node];
        while c != usize::MAX {
            stack.push((c, false));
            c = next_sibling[c];
        }
        stack[start..].reverse();
    }
}
